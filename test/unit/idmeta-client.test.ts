import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdmetaClient, type IdmetaClientOptions } from '../../lambda/adapters/idmeta-client.ts';
import type { TokenSource } from '../../lambda/adapters/token-source.ts';
import {
  ConfigError,
  DeadlineExceededError,
  IdmetaCheckFailedError,
  IdmetaError,
  IdmetaProtocolError,
  IdmetaRequestError,
  IdmetaTimeoutError,
  IdmetaTokenError,
  IdmetaUnavailableError,
} from '../../lambda/core/errors.ts';
import type { FacematchCheckInput, IdmetaAttemptEvent } from '../../lambda/core/ports.ts';
import {
  type FakeHttpServer,
  type FakeReply,
  json,
  refusedUrl,
  startFakeHttp,
} from '../support/fake-http.ts';
import { VERIFIED_ANSWER } from '../support/idmeta-answers.ts';

const NIK = '3201125206930001';
const NAME = 'Siti Nurhaliza Rahmawati';
const TOKEN = '20|xXGKfirstTokenValue';
const NEW_TOKEN = '21|secondTokenValue';
const TEMPLATE_ID = 'tpl-trust-flow-1';
const VERIFICATION_ID = 'ver-0001';

// A view in the middle of a larger buffer: the encoder must honour byteOffset and length.
const BACKING = new Uint8Array([0xaa, 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0xbb]);
const SELFIE_BYTES = BACKING.subarray(1, 9);
const SELFIE_BASE64 = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]).toString(
  'base64',
);

const INPUT: FacematchCheckInput = {
  verificationId: VERIFICATION_ID,
  templateId: TEMPLATE_ID,
  nik: NIK,
  name: NAME,
  dateOfBirth: { year: 1993, month: 6, day: 12 },
  selfie: { bytes: SELFIE_BYTES, mime: 'image/jpeg' },
};

const OK: FakeReply = json(200, VERIFIED_ANSWER);
/** An error body that echoes personal data, as an undocumented API might. */
const echo = (status: number, headers: Record<string, string> = {}): FakeReply =>
  json(status, { message: `NIK ${NIK} ${NAME} token ${TOKEN}` }, headers);

const PERSONAL = [NIK, NAME, TOKEN, NEW_TOKEN, SELFIE_BASE64];

let server: FakeHttpServer;
let events: IdmetaAttemptEvent[];
let sleeps: number[];
let tokens: { get: ReturnType<typeof vi.fn>; refresh: ReturnType<typeof vi.fn> };

function client(overrides: Partial<IdmetaClientOptions> = {}): IdmetaClient {
  return new IdmetaClient({
    baseUrl: server.url,
    tokenSource: tokens as unknown as TokenSource,
    timeoutMs: 2_000,
    maxAttempts: 3,
    dobFormat: 'DD-MM-YYYY',
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onAttempt: (event) => events.push(event),
    ...overrides,
  });
}

const budget = (ms = 10_000) => ({ deadline: Date.now() + ms });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function expectNothingPersonal(error: unknown): void {
  const texts = [
    String(error),
    JSON.stringify(error),
    error instanceof Error ? (error.stack ?? '') : '',
    JSON.stringify(events),
  ];
  for (const text of texts) {
    for (const secret of PERSONAL) expect(text).not.toContain(secret);
  }
}

beforeAll(async () => {
  server = await startFakeHttp();
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  events = [];
  sleeps = [];
  tokens = {
    get: vi.fn(async () => TOKEN),
    refresh: vi.fn(async () => NEW_TOKEN),
  };
});

describe('IdmetaClient.facematch: the request', () => {
  it('posts the documented JSON body with bearer token and JSON headers', async () => {
    // Prepare
    server.script([OK]);

    // Act
    const result = await client().facematch(INPUT, budget());

    // Assess
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/api/v1/verification/dukcapilfacematch');
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toBe(
      JSON.stringify({
        date_of_birth: '12-06-1993',
        name: NAME,
        nik: NIK,
        selfie_image: `data:image/jpeg;base64,${SELFIE_BASE64}`,
        template_id: TEMPLATE_ID,
        verification_id: VERIFICATION_ID,
      }),
    );
    expect(result).toMatchObject({ outcome: 'VERIFIED', faceSimilarity: 99.8 });
    expect(result.matches).toMatchObject({ nik: true, name: true, date_of_birth: true });
    expect(events).toEqual([
      {
        operation: 'dukcapilfacematch',
        attempt: 1,
        httpStatus: 200,
        durationMs: expect.any(Number),
        outcome: 'ok',
      },
    ]);
  });

  it('sends YYYY-MM-DD and a PNG data URI when so configured, under a base path', async () => {
    server.script([OK]);
    const png = { bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), mime: 'image/png' as const };

    await client({ dobFormat: 'YYYY-MM-DD', baseUrl: `${server.url}/` }).facematch(
      { ...INPUT, dateOfBirth: { year: 1993, month: 1, day: 2 }, selfie: png },
      budget(),
    );

    const body = JSON.parse(server.requests[0]?.body ?? '{}');
    expect(server.requests[0]?.path).toBe('/api/v1/verification/dukcapilfacematch');
    expect(body.date_of_birth).toBe('1993-01-02');
    expect(body.selfie_image).toBe('data:image/png;base64,iVBORw==');
  });
});

describe('IdmetaClient: retries', () => {
  it('503 then 200: two calls, success, one full-jitter backoff', async () => {
    server.script([echo(503), OK]);

    const result = await client({ baseDelayMs: 200 }).facematch(INPUT, budget());

    expect(result.outcome).toBe('VERIFIED');
    expect(server.requests).toHaveLength(2);
    expect(sleeps).toEqual([100]); // random 0.5 x min(5000, 200 x 2^0)
    expect(events.map((e) => [e.attempt, e.httpStatus, e.outcome, e.errorCode])).toEqual([
      [1, 503, 'retry', 'IDMETA_UNAVAILABLE'],
      [2, 200, 'ok', undefined],
    ]);
  });

  it('drains the unread error body so the keep-alive socket is reused', async () => {
    // Large enough that undici has not buffered it all: left unread, the socket would be lost.
    const big = { status: 503, body: 'x'.repeat(48 * 1024) };
    server.script([big, big, OK]);
    // A real backoff is never zero; a few milliseconds let undici put the socket back.
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

    await client({ random: () => 0.1, baseDelayMs: 100, sleep }).facematch(INPUT, budget());

    const ports = server.requests.map((request) => request.clientPort);
    expect(new Set(ports).size).toBe(1);
  });

  it('grows the backoff exponentially, capped by maxDelayMs', async () => {
    server.script([echo(502), echo(504), echo(503), echo(503), OK]);

    await client({ maxAttempts: 5, random: () => 1, baseDelayMs: 100, maxDelayMs: 300 }).facematch(
      INPUT,
      budget(),
    );

    expect(sleeps).toEqual([100, 200, 300, 300]);
    expect(server.requests).toHaveLength(5);
  });

  it('429 with Retry-After: 1 waits 1000 ms instead of the backoff', async () => {
    server.script([echo(429, { 'retry-after': '1' }), OK]);

    await client().facematch(INPUT, budget());

    expect(sleeps).toEqual([1000]);
    expect(server.requests).toHaveLength(2);
  });

  it('honours Retry-After as an HTTP-date', async () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    server.script([echo(429, { 'retry-after': 'Wed, 01 Jan 2025 00:00:02 GMT' }), OK]);

    await client({ now: () => now }).facematch(INPUT, { deadline: now + 60_000 });

    expect(sleeps).toEqual([2000]);
  });

  it('really waits for Retry-After: 1 with the default sleep', async () => {
    server.script([echo(429, { 'retry-after': '1' }), OK]);
    const real = new IdmetaClient({
      baseUrl: server.url,
      tokenSource: tokens as unknown as TokenSource,
      timeoutMs: 2_000,
      maxAttempts: 2,
      dobFormat: 'DD-MM-YYYY',
    });

    await real.facematch(INPUT, budget());

    const [first, second] = server.requests;
    expect(second && first ? second.at - first.at : 0).toBeGreaterThanOrEqual(950);
    expect(second && first ? second.at - first.at : Infinity).toBeLessThan(3_000);
  });

  it('exhausted 429/5xx: IdmetaUnavailableError with the last status, maxAttempts calls', async () => {
    server.script([echo(503), echo(429), echo(502)]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaUnavailableError);
    expect(error).toMatchObject({ httpStatus: 502, transient: true });
    expect(server.requests).toHaveLength(3);
    expect(events.map((e) => e.outcome)).toEqual(['retry', 'retry', 'error']);
    expectNothingPersonal(error);
  });

  it('408 then 200: retried (the request was not processed), Retry-After not honoured', async () => {
    server.script([echo(408, { 'retry-after': '30' }), OK]);

    const result = await client({ baseDelayMs: 200 }).facematch(INPUT, budget());

    expect(result.outcome).toBe('VERIFIED');
    expect(server.requests).toHaveLength(2);
    expect(sleeps).toEqual([100]); // the backoff, not the 30 s of a Retry-After
    expect(events.map((e) => [e.attempt, e.httpStatus, e.outcome, e.errorCode])).toEqual([
      [1, 408, 'retry', 'IDMETA_UNAVAILABLE'],
      [2, 200, 'ok', undefined],
    ]);
  });

  it('408 on every attempt: transient IdmetaUnavailableError, not IDMETA_REQUEST_REJECTED', async () => {
    server.script([echo(408), echo(408), echo(408)]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaUnavailableError);
    expect(error).toMatchObject({ httpStatus: 408, transient: true });
    expect(server.requests).toHaveLength(3);
    expectNothingPersonal(error);
  });

  it('connection refused: retried, then IdmetaUnavailableError without a status', async () => {
    const error = await rejection(
      client({ baseUrl: await refusedUrl() }).facematch(INPUT, budget()),
    );

    expect(error).toBeInstanceOf(IdmetaUnavailableError);
    expect((error as IdmetaUnavailableError).httpStatus).toBeUndefined();
    expect(String(error)).toContain('ECONNREFUSED');
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.httpStatus === undefined)).toBe(true);
    expect(sleeps).toHaveLength(2);
    expectNothingPersonal(error);
  });

  it('a connection closed without an answer is retried', async () => {
    server.script([{ destroy: true }, OK]);

    const result = await client().facematch(INPUT, budget());

    expect(result.outcome).toBe('VERIFIED');
    expect(server.requests).toHaveLength(2);
  });

  it('hangs past timeoutMs: IdmetaTimeoutError after maxAttempts calls', async () => {
    server.script([{ hang: true }]);

    const started = Date.now();
    const error = await rejection(
      client({ timeoutMs: 100, maxAttempts: 2 }).facematch(INPUT, budget()),
    );

    expect(error).toBeInstanceOf(IdmetaTimeoutError);
    expect(error).toMatchObject({ code: 'IDMETA_TIMEOUT', status: 504, transient: true });
    expect(server.requests).toHaveLength(2);
    expect(events.map((e) => [e.outcome, e.errorCode])).toEqual([
      ['retry', 'IDMETA_TIMEOUT'],
      ['error', 'IDMETA_TIMEOUT'],
    ]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('cuts the attempt timeout to the deadline', async () => {
    server.script([{ hang: true }]);

    const started = Date.now();
    const error = await rejection(
      client({ timeoutMs: 10_000, minAttemptMs: 100 }).facematch(INPUT, budget(300)),
    );

    expect(error).toBeInstanceOf(IdmetaTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(server.requests).toHaveLength(1);
  });

  it('a caller abort ends the call without a retry', async () => {
    server.script([{ hang: true }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    const error = await rejection(
      client().facematch(INPUT, { deadline: Date.now() + 10_000, signal: controller.signal }),
    );

    expect(error).toBeInstanceOf(IdmetaTimeoutError);
    expect(server.requests).toHaveLength(1);
    expect(events.map((e) => e.outcome)).toEqual(['error']);
  });
});

describe('IdmetaClient: the deadline', () => {
  it('too close before the first attempt: DeadlineExceededError and no request', async () => {
    server.script([OK]);

    const error = await rejection(client({ minAttemptMs: 1_000 }).facematch(INPUT, budget(999)));

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(server.requests).toHaveLength(0);
    expect(events).toHaveLength(0);
  });

  it('an already aborted signal: DeadlineExceededError and no request', async () => {
    server.script([OK]);

    const error = await rejection(
      client().facematch(INPUT, { deadline: Date.now() + 10_000, signal: AbortSignal.abort() }),
    );

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(server.requests).toHaveLength(0);
  });

  it('stops retrying when backoff plus minAttemptMs would pass the deadline', async () => {
    // A clock that only moves when the client sleeps, so the arithmetic is exact.
    let clock = 1_000_000;
    server.script([echo(503)]);

    const error = await rejection(
      client({
        now: () => clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
        random: () => 1,
        baseDelayMs: 1_000,
        minAttemptMs: 1_000,
        maxAttempts: 5,
      }).facematch(INPUT, { deadline: clock + 2_500 }),
    );

    // Attempt 1 at 0 ms, wait 1000, attempt 2 at 1000 ms; 2000 more + 1000 would end past 2500.
    expect(error).toBeInstanceOf(IdmetaUnavailableError);
    expect(error).not.toBeInstanceOf(DeadlineExceededError);
    expect((error as IdmetaUnavailableError).httpStatus).toBe(503);
    expect(server.requests).toHaveLength(2);
    expect(sleeps).toEqual([1_000]);
    expect(events.map((e) => e.outcome)).toEqual(['retry', 'error']);
  });

  it('does not wait for a Retry-After that ends past the deadline', async () => {
    server.script([echo(429, { 'retry-after': '30' }), OK]);

    const error = await rejection(client().facematch(INPUT, budget(5_000)));

    expect(error).toBeInstanceOf(IdmetaUnavailableError);
    expect((error as IdmetaUnavailableError).httpStatus).toBe(429);
    expect(sleeps).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });
});

describe('IdmetaClient: answers that are not retried', () => {
  it.each([400, 404, 422])('%i: one call, IdmetaRequestError', async (status) => {
    server.script([echo(status), OK]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaRequestError);
    expect(error).toMatchObject({ httpStatus: status, code: 'IDMETA_REQUEST_REJECTED' });
    expect(server.requests).toHaveLength(1);
    expect(events.map((e) => [e.httpStatus, e.outcome])).toEqual([[status, 'error']]);
    expectNothingPersonal(error);
  });

  it('403: one call, IdmetaRequestError, no token re-read', async () => {
    server.script([echo(403), OK]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaRequestError);
    expect(tokens.refresh).not.toHaveBeenCalled();
    expect(server.requests).toHaveLength(1);
  });

  it('500: one call, transient IdmetaUnavailableError (no immediate second paid call)', async () => {
    server.script([echo(500), OK]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaUnavailableError);
    expect(error).toMatchObject({ httpStatus: 500, transient: true });
    expect(server.requests).toHaveLength(1);
  });

  it('a redirect is not followed: one call, IdmetaRequestError', async () => {
    server.script([{ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaRequestError);
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['malformed JSON', { status: 200, body: `{"nik": "${NIK}", "status": ` }],
    ['HTML', { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>OK</html>' }],
    ['JSON of the wrong shape', json(200, { status: 'VERIFIED', data: { nik: NIK } })],
  ])('%s on 200: one call, IdmetaProtocolError', async (_name, reply) => {
    server.script([reply, OK]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaProtocolError);
    expect((error as IdmetaProtocolError).httpStatus).toBe(200);
    expect(server.requests).toHaveLength(1);
    expect(events.map((e) => [e.outcome, e.errorCode])).toEqual([
      ['error', 'IDMETA_PROTOCOL_ERROR'],
    ]);
    expectNothingPersonal(error);
  });

  it('a 200 saying the check failed: IdmetaCheckFailedError, one call', async () => {
    server.script([
      json(200, { status: false, message: `${NIK} ${NAME}`, result: { success: false } }),
    ]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaCheckFailedError);
    expect(server.requests).toHaveLength(1);
    expectNothingPersonal(error);
  });
});

describe('IdmetaClient: the token', () => {
  it('401 then success with the re-read token: refresh called once', async () => {
    server.script([echo(401), OK]);

    const result = await client().facematch(INPUT, budget());

    expect(result.outcome).toBe('VERIFIED');
    expect(tokens.refresh).toHaveBeenCalledTimes(1);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${TOKEN}`,
      `Bearer ${NEW_TOKEN}`,
    ]);
    expect(sleeps).toEqual([]);
    expect(events.map((e) => [e.attempt, e.httpStatus, e.outcome, e.errorCode])).toEqual([
      [1, 401, 'retry', 'IDMETA_TOKEN_REJECTED'],
      [2, 200, 'ok', undefined],
    ]);
  });

  it('401 twice: IdmetaTokenError after exactly two calls', async () => {
    server.script([echo(401), echo(401), OK]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBeInstanceOf(IdmetaTokenError);
    expect(error).toMatchObject({ httpStatus: 401, transient: false });
    expect(server.requests).toHaveLength(2);
    expect(tokens.refresh).toHaveBeenCalledTimes(1);
    expectNothingPersonal(error);
  });

  it('the retry after a token re-read does not count against maxAttempts', async () => {
    server.script([echo(401), OK]);

    const result = await client({ maxAttempts: 1 }).facematch(INPUT, budget());

    expect(result.outcome).toBe('VERIFIED');
    expect(server.requests).toHaveLength(2);
  });

  it('a token source failure propagates untouched and nothing is sent', async () => {
    const failure = new ConfigError('secret x is empty');
    tokens.get.mockRejectedValueOnce(failure);
    server.script([OK]);

    const error = await rejection(client().facematch(INPUT, budget()));

    expect(error).toBe(failure);
    expect(server.requests).toHaveLength(0);
  });
});

describe('IdmetaClient: create and finalize', () => {
  it('createVerification posts template_id and metadata.reference, returns verification.id', async () => {
    server.script([json(201, { verification: { id: 'v-42', status: 99 } })]);

    const id = await client().createVerification(
      { templateId: TEMPLATE_ID, reference: 'ref-1' },
      budget(),
    );

    expect(id).toBe('v-42');
    const [request] = server.requests;
    expect(request?.path).toBe('/api/v1/verification/create-verification');
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.body).toBe(
      JSON.stringify({ template_id: TEMPLATE_ID, metadata: { reference: 'ref-1' } }),
    );
    expect(events[0]?.operation).toBe('create-verification');
  });

  it('createVerification leaves metadata out without a reference', async () => {
    server.script([json(200, { verification: { id: 7 } })]);

    const id = await client().createVerification({ templateId: TEMPLATE_ID }, budget());

    expect(id).toBe('7');
    expect(server.requests[0]?.body).toBe(JSON.stringify({ template_id: TEMPLATE_ID }));
  });

  it('createVerification without an id: IdmetaProtocolError', async () => {
    server.script([json(200, { verification: {} })]);
    await expect(
      client().createVerification({ templateId: TEMPLATE_ID }, budget()),
    ).rejects.toBeInstanceOf(IdmetaProtocolError);
  });

  it('finalizeVerification posts both ids and tolerates any 2xx body', async () => {
    server.script([{ status: 200, body: 'not even json' }]);

    await client().finalizeVerification(
      { templateId: TEMPLATE_ID, verificationId: VERIFICATION_ID },
      budget(),
    );

    const [request] = server.requests;
    expect(request?.path).toBe('/api/v1/verification/finalize-verification');
    expect(request?.body).toBe(
      JSON.stringify({ template_id: TEMPLATE_ID, verification_id: VERIFICATION_ID }),
    );
    expect(events.map((e) => [e.operation, e.outcome])).toEqual([['finalize-verification', 'ok']]);
  });

  it('finalizeVerification retries a 503 like every call', async () => {
    server.script([echo(503), json(200, { status: 2, finalized: true })]);

    await client().finalizeVerification(
      { templateId: TEMPLATE_ID, verificationId: VERIFICATION_ID },
      budget(),
    );

    expect(server.requests).toHaveLength(2);
  });
});

describe('IdmetaClient: hygiene', () => {
  it('an onAttempt hook that throws does not change the outcome', async () => {
    server.script([OK]);

    const result = await client({
      onAttempt: () => {
        throw new Error('metrics down');
      },
    }).facematch(INPUT, budget());

    expect(result.outcome).toBe('VERIFIED');
  });

  it('no error or event of any failure carries the NIK, name, token or selfie', async () => {
    const scenarios: FakeReply[][] = [
      [echo(400)],
      [echo(401), echo(401)],
      [echo(403)],
      [echo(500)],
      [echo(503)],
      [{ status: 200, body: `<html>${NIK}</html>` }],
      [json(200, { status: false, result: { data: { error_message: NIK, reason_code: 'E1' } } })],
    ];
    for (const replies of scenarios) {
      server.script(replies);
      const error = await rejection(client().facematch(INPUT, budget()));
      expect(error).toBeInstanceOf(IdmetaError);
      expectNothingPersonal(error);
    }
    expect(events.length).toBeGreaterThan(scenarios.length);
  });

  it.each([
    ['a bad base URL', { baseUrl: 'not a url' }],
    ['a non-http base URL', { baseUrl: 'ftp://example.com' }],
    ['zero attempts', { maxAttempts: 0 }],
    ['fractional attempts', { maxAttempts: 1.5 }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['an unknown date format', { dobFormat: 'MM/DD/YYYY' as 'DD-MM-YYYY' }],
  ])('refuses %s at construction', (_name, overrides) => {
    expect(() => client(overrides)).toThrow(ConfigError);
  });
});

describe('IdmetaClient.facematch: undocumented match fields', () => {
  it('drops them and tells onUnknownFields how many, never which', async () => {
    // Prepare
    const answer = structuredClone(VERIFIED_ANSWER);
    Object.assign(answer.result.data, { [NIK]: true, [NAME.replaceAll(' ', '_')]: true });
    server.script([json(200, answer)]);
    const counts: unknown[][] = [];

    // Act
    const result = await client({ onUnknownFields: (...args) => counts.push(args) }).facematch(
      INPUT,
      budget(),
    );

    // Assess
    expect(counts).toEqual([[2]]);
    expect(JSON.stringify(result)).not.toContain(NIK);
    expect(JSON.stringify(result)).not.toContain('Siti');
  });
});
