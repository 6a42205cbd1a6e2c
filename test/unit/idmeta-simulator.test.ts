import { createHash } from 'node:crypto';
import { imageSize } from 'image-size';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  loadRegistry,
  nikProblem,
  referenceSelfie,
  type SimPerson,
} from '../../local/idmeta-simulator/registry.ts';
import {
  type IdmetaSimulator,
  parseFaultHeader,
  startIdmetaSimulator,
} from '../../local/idmeta-simulator/server.ts';

const TOKEN = 'sim-token';
const FACEMATCH = '/api/v1/verification/dukcapilfacematch';
const registry = loadRegistry();

const personByScenario = (text: string): SimPerson => {
  const person = registry.people.find((candidate) => candidate.scenario?.includes(text));
  if (person === undefined) throw new Error(`no registry person for "${text}"`);
  return person;
};
const agus = personByScenario('clean match');
const hendra = personByScenario('HIGH risk');

/** The keys of the doc's sample response, in its order. */
const DOC_DATA_KEYS = [
  'nik',
  'name',
  'date_of_birth',
  'selfie_image_percentage',
  'liveness_result',
  'liveness_fail_message',
  'no_kk',
  'mother_maiden_name',
  'place_of_birth',
  'address',
  'gender',
  'marital_status',
  'job_type',
  'province',
  'city',
  'district',
  'subdistrict',
  'rt',
  'rw',
  'uuid',
  'url',
  'reason_code',
  'error_message',
];

interface FacematchBody {
  status: string | boolean;
  message: string;
  result: { success: boolean; message: string; data: Record<string, unknown> | null };
  risk_rating: string | null;
  api_request_status: number;
}

/** A JPEG-looking selfie no registry person owns (the simulator only checks magic bytes). */
function unknownJpeg(seed: string): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
    createHash('sha256').update(seed).digest(),
  ]);
}

function requestFor(person: SimPerson, overrides: Record<string, unknown> = {}) {
  return {
    date_of_birth: person.date_of_birth,
    name: person.name,
    nik: person.nik,
    selfie_image: referenceSelfie(person.nik).dataUri,
    template_id: 'trust-flow-1',
    verification_id: 'ver-1',
    ...overrides,
  };
}

let sim: IdmetaSimulator;

async function post(
  path: string,
  body: unknown,
  options: { token?: string | null; headers?: Record<string, string>; base?: string } = {},
): Promise<Response> {
  const token = options.token === undefined ? TOKEN : options.token;
  return fetch(`${options.base ?? sim.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...options.headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function facematch(
  body: unknown,
  options?: Parameters<typeof post>[2],
): Promise<{ res: Response; json: FacematchBody }> {
  const res = await post(FACEMATCH, body, options);
  return { res, json: (await res.json()) as FacematchBody };
}

beforeAll(async () => {
  sim = await startIdmetaSimulator();
});

afterAll(async () => {
  await sim.close();
});

afterEach(() => {
  sim.clearFaults();
  sim.resetCalls();
  sim.setTokens([TOKEN]);
});

describe('the shipped registry', () => {
  it('holds 6-8 people with structurally valid NIKs that agree with their birth dates', () => {
    expect(registry.people.length).toBeGreaterThanOrEqual(6);
    expect(registry.people.length).toBeLessThanOrEqual(8);
    for (const person of registry.people) expect(nikProblem(person)).toBeNull();
    expect(new Set(registry.people.map((person) => person.nik)).size).toBe(registry.people.length);
  });

  it('encodes a woman with her birth day + 40 and has exactly one HIGH risk person', () => {
    const siti = registry.people.find((person) => person.name === 'Siti Rahayu Wulandari');
    expect(siti?.gender).toBe('PEREMPUAN');
    expect(siti?.nik.slice(6, 8)).toBe('61');
    expect(registry.people.filter((person) => person.risk_rating === 'HIGH')).toHaveLength(1);
  });

  it('records the true SHA-256 of every small synthetic reference image', () => {
    registry.people.forEach((person, index) => {
      person.reference_images.forEach((image, imageIndex) => {
        const selfie = referenceSelfie(index, imageIndex);
        expect(createHash('sha256').update(selfie.bytes).digest('hex')).toBe(image.sha256);
        expect(selfie.bytes.length).toBeLessThan(30 * 1024);
        const size = imageSize(selfie.bytes);
        expect(size.type).toBe(selfie.mime === 'image/png' ? 'png' : 'jpg');
        expect(size.width).toBeGreaterThanOrEqual(256);
        expect(size.height).toBeGreaterThanOrEqual(256);
      });
    });
  });

  it('finds a reference selfie by NIK as well as by index', () => {
    expect(referenceSelfie(agus.nik).path).toBe(
      referenceSelfie(registry.people.indexOf(agus)).path,
    );
    expect(() => referenceSelfie('9999999999999999')).toThrow();
  });
});

describe('authentication', () => {
  it('answers 401 Unauthenticated without a bearer token', async () => {
    const { res, json } = await facematch(requestFor(agus), { token: null });
    expect(res.status).toBe(401);
    expect(json).toEqual({ message: 'Unauthenticated.' });
  });

  it('answers 401 for a wrong token', async () => {
    const { res } = await facematch(requestFor(agus), { token: 'not-the-token' });
    expect(res.status).toBe(401);
  });

  it('accepts only the tokens set last (rotation via setTokens and /__sim/tokens)', async () => {
    sim.setTokens(['rotated-1']);
    expect((await post(FACEMATCH, requestFor(agus))).status).toBe(401);
    expect((await post(FACEMATCH, requestFor(agus), { token: 'rotated-1' })).status).toBe(200);

    const set = await fetch(`${sim.url}/__sim/tokens`, {
      method: 'POST',
      body: JSON.stringify({ tokens: ['rotated-2'] }),
    });
    expect(set.status).toBe(200);
    expect((await post(FACEMATCH, requestFor(agus), { token: 'rotated-1' })).status).toBe(401);
    expect((await post(FACEMATCH, requestFor(agus), { token: 'rotated-2' })).status).toBe(200);
  });
});

describe('validation', () => {
  it.each(['date_of_birth', 'name', 'nik', 'selfie_image', 'template_id', 'verification_id'])(
    'answers 422 naming %s when it is missing',
    async (field) => {
      const body: Record<string, unknown> = requestFor(agus);
      delete body[field];
      const res = await post(FACEMATCH, body);
      const json = (await res.json()) as { message: string; errors: Record<string, string[]> };
      expect(res.status).toBe(422);
      expect(Object.keys(json.errors)).toEqual([field]);
      expect(json.message).toBe(`The ${field.replaceAll('_', ' ')} field is required.`);
    },
  );

  it.each([
    ['nik', '317405140388001'],
    ['date_of_birth', '31-02-1988'],
    ['date_of_birth', '1988/03/14'],
    ['selfie_image', 'not base64!'],
    ['selfie_image', Buffer.from('plain text, not an image').toString('base64')],
    ['selfie_image', 'data:image/gif;base64,R0lGODlhAQABAAAAACw='],
    ['name', 42],
  ])('answers 422 for an invalid %s (%s)', async (field, value) => {
    const res = await post(FACEMATCH, requestFor(agus, { [field]: value }));
    const json = (await res.json()) as { errors: Record<string, string[]> };
    expect(res.status).toBe(422);
    expect(Object.keys(json.errors)).toEqual([field]);
  });

  it('answers 413 for a body over 10 MB', async () => {
    const selfie = 'A'.repeat(10 * 1024 * 1024 + 16);
    const res = await post(FACEMATCH, requestFor(agus, { selfie_image: selfie }));
    expect(res.status).toBe(413);
  });
});

describe('matching against the registry', () => {
  it('answers the doc shape for a registry person with their reference selfie', async () => {
    const { res, json } = await facematch(requestFor(agus));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(json)).toEqual([
      'status',
      'message',
      'result',
      'risk_rating',
      'api_request_status',
    ]);
    expect(Object.keys(json.result)).toEqual(['success', 'message', 'data']);
    expect(Object.keys(json.result.data ?? {})).toEqual(DOC_DATA_KEYS);
    expect(json).toMatchObject({
      status: 'VERIFIED',
      message: 'OK',
      result: {
        success: true,
        data: {
          nik: true,
          name: true,
          date_of_birth: true,
          selfie_image_percentage: '98.7',
          place_of_birth: true,
          rw: true,
          reason_code: '0',
          url: '',
          error_message: null,
        },
      },
      risk_rating: 'LOW',
      api_request_status: 1,
    });
    expect(json.result.data?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
  });

  it('answers a fresh uuid on every call', async () => {
    const first = await facematch(requestFor(agus));
    const second = await facematch(requestFor(agus));
    expect(first.json.result.data?.uuid).not.toBe(second.json.result.data?.uuid);
  });

  it('compares names after case-folding and collapsing whitespace', async () => {
    const name = `  ${agus.name.toUpperCase().replaceAll(' ', '   ')} `;
    const { json } = await facematch(requestFor(agus, { name }));
    expect(json.result.data?.name).toBe(true);
  });

  it('answers name false (still VERIFIED, same score) for another name', async () => {
    const { json } = await facematch(requestFor(agus, { name: 'Budi Nama Lain' }));
    expect(json.status).toBe('VERIFIED');
    expect(json.result.data).toMatchObject({
      nik: true,
      name: false,
      date_of_birth: true,
      selfie_image_percentage: '98.7',
    });
  });

  it('accepts both date formats and says false for another date', async () => {
    const [day, month, year] = agus.date_of_birth.split('-');
    const iso = await facematch(requestFor(agus, { date_of_birth: `${year}-${month}-${day}` }));
    const dmy = await facematch(requestFor(agus, { date_of_birth: `${day}-${month}-${year}` }));
    const other = await facematch(requestFor(agus, { date_of_birth: '01-01-1990' }));
    expect(iso.res.status).toBe(200);
    expect(iso.json.result.data?.date_of_birth).toBe(true);
    expect(dmy.json.result.data?.date_of_birth).toBe(true);
    expect(other.json.result.data?.date_of_birth).toBe(false);
  });

  it('answers REJECTED with nik false and nothing else for an unknown NIK', async () => {
    const { res, json } = await facematch(requestFor(agus, { nik: '3201010101900001' }));
    expect(res.status).toBe(200);
    expect(json.status).toBe('REJECTED');
    expect(json.result.success).toBe(true);
    expect(Object.keys(json.result.data ?? {})).toEqual(DOC_DATA_KEYS);
    expect(json.result.data).toMatchObject({
      nik: false,
      name: null,
      date_of_birth: null,
      selfie_image_percentage: null,
      place_of_birth: null,
      reason_code: '1',
    });
  });

  it('scores an unknown selfie low (5-40), deterministically, and rejects', async () => {
    const selfie = unknownJpeg('nobody').toString('base64');
    const first = await facematch(requestFor(agus, { selfie_image: selfie }));
    const second = await facematch(requestFor(agus, { selfie_image: selfie }));
    const score = Number(first.json.result.data?.selfie_image_percentage);
    expect(score).toBeGreaterThanOrEqual(5);
    expect(score).toBeLessThan(40);
    expect(second.json.result.data?.selfie_image_percentage).toBe(
      first.json.result.data?.selfie_image_percentage,
    );
    expect(first.json.status).toBe('REJECTED');
  });

  it("scores another registry person's selfie 12.4", async () => {
    const selfie = referenceSelfie(hendra.nik).dataUri;
    const { json } = await facematch(requestFor(agus, { selfie_image: selfie }));
    expect(json.result.data?.selfie_image_percentage).toBe('12.4');
    expect(json.status).toBe('REJECTED');
  });

  it('answers every registry person with their scenario (score, status, risk)', async () => {
    for (const person of registry.people) {
      for (const [imageIndex, image] of person.reference_images.entries()) {
        const selfie = referenceSelfie(person.nik, imageIndex);
        const { json } = await facematch(requestFor(person, { selfie_image: selfie.dataUri }));
        expect(json.result.data?.selfie_image_percentage).toBe(image.score);
        expect(json.status).toBe(Number(image.score) < 40 ? 'REJECTED' : 'VERIFIED');
        expect(json.risk_rating).toBe(person.risk_rating);
      }
    }
  });

  it('accepts a bare base64 PNG selfie', async () => {
    const andi = personByScenario('two reference selfies');
    const png = referenceSelfie(andi.nik, 1);
    expect(png.mime).toBe('image/png');
    const { json } = await facematch(
      requestFor(andi, { selfie_image: png.bytes.toString('base64') }),
    );
    expect(json.result.data?.selfie_image_percentage).toBe('88.6');
  });
});

describe('the verification lifecycle endpoints', () => {
  it('creates a verification with a string id and status 99', async () => {
    const res = await post('/api/v1/verification/create-verification', {
      template_id: 'trust-flow-1',
      metadata: { reference: 'abc' },
    });
    const json = (await res.json()) as { verification: { id: unknown; status: unknown } };
    expect(res.status).toBe(200);
    expect(json.verification.id).toMatch(/^sim-[0-9a-f-]{36}$/);
    expect(json.verification.status).toBe(99);
    expect(sim.calls()).toEqual([
      {
        endpoint: 'create-verification',
        verificationId: json.verification.id,
        httpStatus: 200,
        at: expect.any(Number),
      },
    ]);
  });

  it('finalizes with status 2 REVIEW_NEEDED', async () => {
    const res = await post('/api/v1/verification/finalize-verification', {
      template_id: 'trust-flow-1',
      verification_id: 'sim-1',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 2,
      status_message: 'REVIEW_NEEDED',
      finalized: true,
    });
  });

  it('needs the token and a template_id', async () => {
    const path = '/api/v1/verification/create-verification';
    expect((await post(path, { template_id: 't' }, { token: null })).status).toBe(401);
    expect((await post(path, {})).status).toBe(422);
  });
});

describe('scripted faults', () => {
  it('are consumed one per facematch call, in order, then answers are normal', async () => {
    sim.scriptFaults([{ status: 503 }, { status: 500 }]);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(FACEMATCH, requestFor(agus))).status);
    expect(statuses).toEqual([503, 500, 200]);
  });

  it('scoped to a verification_id are left for that id', async () => {
    sim.scriptFaults([{ status: 502 }], { verificationId: 'ver-b' });
    const a = await post(FACEMATCH, requestFor(agus, { verification_id: 'ver-a' }));
    const b = await post(FACEMATCH, requestFor(agus, { verification_id: 'ver-b' }));
    const again = await post(FACEMATCH, requestFor(agus, { verification_id: 'ver-b' }));
    expect([a.status, b.status, again.status]).toEqual([200, 502, 200]);
    expect(b.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('answer 429 with Retry-After', async () => {
    sim.scriptFaults([{ status: 429, retryAfter: 2 }]);
    const res = await post(FACEMATCH, requestFor(agus));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({ message: 'Too Many Attempts.' });
  });

  it('result-as-string answers a successful body whose result is a JSON string', async () => {
    sim.scriptFaults([{ body: 'result-as-string' }]);
    const { res, json } = await facematch(requestFor(agus));
    expect(res.status).toBe(200);
    expect(typeof json.result).toBe('string');
    const result = JSON.parse(json.result as unknown as string) as FacematchBody['result'];
    expect(result.success).toBe(true);
    expect(result.data?.selfie_image_percentage).toBe('98.7');
  });

  it('boolean-status answers a successful body with status true', async () => {
    sim.scriptFaults([{ body: 'boolean-status' }]);
    const { res, json } = await facematch(requestFor(agus));
    expect(res.status).toBe(200);
    expect(json.status).toBe(true);
    expect(json.result.data?.nik).toBe(true);
  });

  it('success-false answers 200 with status false and result.success false', async () => {
    sim.scriptFaults([{ body: 'success-false' }]);
    const { res, json } = await facematch(requestFor(agus));
    expect(res.status).toBe(200);
    expect(json.status).toBe(false);
    expect(json.result.success).toBe(false);
  });

  it('malformed-json and html answer 200 bodies that are not JSON', async () => {
    sim.scriptFaults([{ body: 'malformed-json' }, { body: 'html' }]);
    const malformed = await post(FACEMATCH, requestFor(agus));
    expect(malformed.status).toBe(200);
    expect(malformed.headers.get('content-type')).toBe('application/json');
    await expect(malformed.json()).rejects.toThrow();
    const html = await post(FACEMATCH, requestFor(agus));
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toMatch(/^<!DOCTYPE html>/);
  });

  it('latencyMs delays the answer', async () => {
    sim.scriptFaults([{ latencyMs: 250 }]);
    const started = Date.now();
    const res = await post(FACEMATCH, requestFor(agus));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it('can be scripted, listed and reset over HTTP', async () => {
    const queued = await fetch(`${sim.url}/__sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ faults: [{ status: 504 }], verification_id: 'ver-http' }),
    });
    expect(queued.status).toBe(200);
    const bad = await fetch(`${sim.url}/__sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ faults: [{ status: 'oops' }] }),
    });
    expect(bad.status).toBe(400);

    await post(FACEMATCH, requestFor(agus, { verification_id: 'ver-other' }));
    await post(FACEMATCH, requestFor(agus, { verification_id: 'ver-http' }));
    const listed = (await (await fetch(`${sim.url}/__sim/calls`)).json()) as {
      calls: { verificationId: string; httpStatus: number }[];
    };
    expect(listed.calls.map((call) => [call.verificationId, call.httpStatus])).toEqual([
      ['ver-other', 200],
      ['ver-http', 504],
    ]);

    await fetch(`${sim.url}/__sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ faults: [{ status: 500 }] }),
    });
    expect((await fetch(`${sim.url}/__sim/reset`, { method: 'POST' })).status).toBe(200);
    expect(sim.calls()).toEqual([]);
    expect((await post(FACEMATCH, requestFor(agus))).status).toBe(200);
  });
});

describe('the x-sim-fault header', () => {
  it('parses the compact vocabulary', () => {
    expect(parseFaultHeader('status=429;retry-after=1')).toEqual({ status: 429, retryAfter: 1 });
    expect(parseFaultHeader('hang')).toEqual({ hang: true });
    expect(parseFaultHeader('body=html, latency=300')).toEqual({ body: 'html', latencyMs: 300 });
    expect(() => parseFaultHeader('status=abc')).toThrow();
    expect(() => parseFaultHeader('explode')).toThrow();
  });

  it('applies to the one request without consuming scripted faults', async () => {
    sim.scriptFaults([{ status: 500 }]);
    const res = await post(FACEMATCH, requestFor(agus), {
      headers: { 'x-sim-fault': 'status=429;retry-after=1' },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await post(FACEMATCH, requestFor(agus))).status).toBe(500);
  });

  it('answers 400 for a header it does not understand', async () => {
    const res = await post(FACEMATCH, requestFor(agus), { headers: { 'x-sim-fault': 'nope' } });
    expect(res.status).toBe(400);
  });
});

describe('hang and close', () => {
  it('keeps the request open, and close() still finishes fast', async () => {
    const own = await startIdmetaSimulator();
    own.scriptFaults([{ hang: true }]);
    const pending = post(FACEMATCH, requestFor(agus), { base: own.url }).then(
      () => 'answered',
      () => 'failed',
    );
    await expect.poll(() => own.calls().length).toBe(1);
    expect(own.calls()[0]?.httpStatus).toBe(0);

    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('failed');
  });

  it('lets the client give up, and keeps answering others', async () => {
    sim.scriptFaults([{ hang: true }]);
    const gaveUp = fetch(`${sim.url}${FACEMATCH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(requestFor(agus)),
      signal: AbortSignal.timeout(150),
    });
    await expect(gaveUp).rejects.toThrow();
    expect((await post(FACEMATCH, requestFor(agus))).status).toBe(200);
  });
});

describe('the call log', () => {
  it('records endpoint, verification id and status, never a NIK or a name', async () => {
    await post(FACEMATCH, requestFor(agus, { verification_id: 'ver-log' }));
    await post(FACEMATCH, requestFor(hendra), { token: 'wrong' });
    await post('/api/v1/verification/nope', {});
    const calls = sim.calls();
    expect(calls.map((call) => [call.endpoint, call.httpStatus])).toEqual([
      ['dukcapilfacematch', 200],
      ['dukcapilfacematch', 401],
      ['other', 404],
    ]);
    expect(calls[0]?.verificationId).toBe('ver-log');
    const text = JSON.stringify(calls);
    for (const person of [agus, hendra]) {
      expect(text).not.toContain(person.nik);
      expect(text.toLowerCase()).not.toContain(person.name.toLowerCase());
    }
  });

  it('log lines carry no NIK or name', async () => {
    const lines: string[] = [];
    const own = await startIdmetaSimulator({ log: (line) => lines.push(line) });
    try {
      await post(FACEMATCH, requestFor(agus), { base: own.url });
      await post(FACEMATCH, requestFor(agus), {
        base: own.url,
        headers: { 'x-sim-fault': 'status=503' },
      });
    } finally {
      await own.close();
    }
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line).not.toContain(agus.nik);
      expect(line.toLowerCase()).not.toContain(agus.name.toLowerCase());
    }
  });
});

describe('options', () => {
  it.each(['0.0.0.0', '::', '192.168.1.10', 'example.com'])(
    'refuses to listen on non-loopback host %s',
    async (host) => {
      await expect(startIdmetaSimulator({ host })).rejects.toThrow(/loopback/);
    },
  );

  it('takes its tokens, registry and fault rate from options', async () => {
    const own = await startIdmetaSimulator({
      tokens: ['custom'],
      registry: { people: [agus] },
      faultRate: { probability: 1, status: 503 },
    });
    try {
      expect((await post(FACEMATCH, requestFor(agus), { base: own.url })).status).toBe(401);
      const res = await post(FACEMATCH, requestFor(agus), { base: own.url, token: 'custom' });
      expect(res.status).toBe(503);
    } finally {
      await own.close();
    }
  });

  it('answers from the given registry only', async () => {
    const own = await startIdmetaSimulator({ registry: { people: [agus] } });
    try {
      const res = await post(FACEMATCH, requestFor(hendra), { base: own.url });
      const json = (await res.json()) as FacematchBody;
      expect(json.result.data?.nik).toBe(false);
    } finally {
      await own.close();
    }
  });
});
