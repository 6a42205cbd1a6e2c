import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictRecord } from '../../lambda/core/types.ts';
import {
  type AwsCredentials,
  createApiClient,
  type FetchInit,
  isLoopbackHost,
  regionFromHost,
} from '../../local/cli/api-client.ts';
import {
  describeMatches,
  EXIT,
  exitCodeFor,
  type ReceivedRecord,
  renderProblem,
  renderRecord,
  report,
} from '../../local/cli/output.ts';
import { sniffImage } from '../../local/cli/selfie-file.ts';
import { runCli } from '../../local/cli.ts';
import { captureCliOutput } from '../support/cli.ts';
import { type FakeHttpServer, json, startFakeHttp } from '../support/fake-http.ts';
import { makeJpeg, makePng } from '../support/images.ts';

// --- helpers -------------------------------------------------------------------------------

const capture = captureCliOutput;

function record(overrides: Partial<VerdictRecord> = {}): VerdictRecord {
  return {
    verification_id: 'v-1',
    template_id: 'local-trust-flow',
    status: 'COMPLETED',
    decision: 'APPROVED',
    reasons: [],
    face_similarity: 97.4,
    matches: { nik: true, name: true, date_of_birth: true },
    risk_rating: 'LOW',
    idmeta: null,
    nik_masked: '3174********0012',
    source: 'api',
    attempts: 1,
    created_at: '2024-01-02T03:04:05.000Z',
    updated_at: '2024-01-02T03:04:06.000Z',
    completed_at: '2024-01-02T03:04:06.000Z',
    expires_at: 1_735_000_000,
    ...overrides,
  };
}

interface Recorded {
  url: string;
  init: FetchInit;
}

/** A fetch that records what it was asked and answers a canned response. */
function fakeFetch(answer: () => Response = () => jsonResponse(200, record())) {
  const calls: Recorded[] = [];
  const fetch = async (url: string, init: FetchInit) => {
    calls.push({ url, init });
    return answer();
  };
  return { fetch, calls };
}

const jsonResponse = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

const STATIC: AwsCredentials = { accessKeyId: 'AKID', secretAccessKey: 'SECRET' };
const SIGNING_DATE = new Date('2024-01-02T03:04:05Z');
const API = 'https://abc123.execute-api.ap-southeast-3.amazonaws.com/prod';

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data).digest();

/**
 * SigV4 computed from the AWS documentation with node:crypto, independently of the signer
 * under test: the canonical request is rebuilt from what was actually sent.
 */
function expectedAuthorization(options: {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array | string;
  credentials: AwsCredentials;
  region: string;
}): string {
  const url = new URL(options.url);
  const headers = Object.fromEntries(
    Object.entries(options.headers).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  const authorization = headers.authorization ?? '';
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1] ?? '';
  const amzDate = headers['x-amz-date'] ?? '';
  const shortDate = amzDate.slice(0, 8);
  // Every service but S3 encodes each path segment twice.
  const canonicalUri = url.pathname
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  const canonicalQuery = [...url.searchParams]
    .map(([name, value]) => [encodeURIComponent(name), encodeURIComponent(value)])
    .sort(([a = '', x = ''], [b = '', y = '']) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((name) => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [
    options.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    sha256Hex(options.body),
  ].join('\n');
  const scope = `${shortDate}/${options.region}/execute-api/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(
      hmac(hmac(`AWS4${options.credentials.secretAccessKey}`, shortDate), options.region),
      'execute-api',
    ),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${options.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

let dir: string;
let pngPath: string;
let jpegPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'facematch-cli-'));
  pngPath = join(dir, 'selfie.png');
  jpegPath = join(dir, 'selfie.jpg');
  await writeFile(pngPath, makePng(64, 64));
  await writeFile(jpegPath, makeJpeg(64, 64));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const verifyArgs = (...extra: string[]) => [
  'verify',
  '--nik',
  '3174051403880012',
  '--name',
  'Agus Wibisono Hartanto',
  '--dob',
  '14-03-1988',
  '--selfie',
  pngPath,
  ...extra,
];

/** A fetch that fails the test: the command must stop before the network. */
const noNetwork = async (): Promise<Response> => {
  throw new Error('no request expected');
};

// --- arguments -----------------------------------------------------------------------------

describe('arguments', () => {
  it.each([[[]], [['--help']], [['-h']], [['help']]])(
    '%j prints the usage, exit 0',
    async (argv) => {
      const { io, out } = capture();
      expect(await runCli(argv, io)).toBe(0);
      expect(out.stdout).toContain('usage: facematch <command>');
      expect(out.stdout).toContain('5  no decision yet');
      expect(out.stderr).toBe('');
    },
  );

  it.each([
    [['verify', '--help'], 'usage: facematch verify'],
    [['verify', '-h', '--bogus'], 'usage: facematch verify'],
    [['get', '--help'], 'usage: facematch get ID'],
    [['help', 'get'], 'usage: facematch get ID'],
    [['serve', '--help'], 'usage: facematch serve'],
  ])('%j prints the command usage, exit 0', async (argv, usage) => {
    const { io, out } = capture();
    expect(await runCli(argv, io)).toBe(0);
    expect(out.stdout.startsWith(usage)).toBe(true);
    expect(out.stderr).toBe('');
  });

  it.each([
    [['frobnicate'], 'error: unknown command "frobnicate"', 'usage: facematch <command>'],
    [['help', 'nope'], 'error: unknown command "nope"', 'usage: facematch <command>'],
    [
      ['verify', '--nik', '3174051403880012', '--selfie', 'x.jpg', '--bogus'],
      "error: Unknown option '--bogus'",
      'usage: facematch verify',
    ],
    [['verify', '--nik'], "Option '--nik <value>' argument missing", 'usage: facematch verify'],
    [
      ['verify', '--nik', '3174051403880012'],
      'error: missing required options: --name, --dob, --selfie',
      'usage: facematch verify',
    ],
    [['verify', '--nik', '1', 'extra'], "Unexpected argument 'extra'", 'usage: facematch verify'],
    [['get'], 'error: missing the verification ID', 'usage: facematch get ID'],
    [['get', 'a', 'b'], 'error: one verification ID at a time (got 2)', 'usage: facematch get ID'],
    [['get', 'a', '--json=x'], "error: Option '--json' does not take an argument", 'facematch get'],
    [['serve', '--port', '1'], "error: Unknown option '--port'", 'usage: facematch serve'],
  ])('%j is refused with a message and the usage, exit 1', async (argv, message, usage) => {
    const { io, out } = capture();
    expect(await runCli(argv, io, { fetch: noNetwork })).toBe(EXIT.ERROR);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain(usage);
    expect(out.stdout).toBe('');
  });

  it('never echoes the NIK in an argument error', async () => {
    const { io, out } = capture();
    await runCli(['verify', '--nik', '3201019912990001', '--bogus'], io);
    expect(out.stderr).not.toContain('3201019912990001');
  });

  it('refuses bad endpoints before reading the selfie', async () => {
    for (const [endpoint, message] of [
      ['not a url', 'is not a URL'],
      ['ftp://example.com', 'must be an http or https URL'],
      ['http://api.example.com', 'refusing to send a SigV4-signed request over plain http'],
      ['https://api.example.com', 'set AWS_REGION'],
    ] as const) {
      const { io, out } = capture();
      const code = await runCli(verifyArgs('--endpoint', endpoint), io, {
        env: {},
        fetch: noNetwork,
        credentials: STATIC,
      });
      expect(code).toBe(EXIT.ERROR);
      expect(out.stderr).toContain(message);
    }
  });
});

describe('the identity from a file or stdin (issue 11, finding 9)', () => {
  const identity = {
    nik: '3174051403880012',
    name: 'Agus Wibisono Hartanto',
    date_of_birth: '14-03-1988',
  };
  const fileArgs = (source: string, ...extra: string[]) => [
    'verify',
    '--identity-file',
    source,
    '--selfie',
    pngPath,
    ...extra,
  ];
  const sentBody = (calls: Recorded[]) =>
    JSON.parse(Buffer.from(calls[0]?.init.body as Uint8Array).toString('utf8')) as Record<
      string,
      unknown
    >;

  it('sends NIK, name and date of birth from a JSON file, none of them in argv', async () => {
    // Prepare
    const path = join(dir, 'identity.json');
    await writeFile(path, JSON.stringify({ ...identity, note: 'ignored' }));
    const { fetch, calls } = fakeFetch();
    const { io } = capture();

    // Act
    const code = await runCli(fileArgs(path), io, { fetch });

    // Assess
    expect(code).toBe(0);
    expect(sentBody(calls)).toMatchObject(identity);
    expect(sentBody(calls)).not.toHaveProperty('note');
  });

  it('reads them from stdin with "-"', async () => {
    // Prepare
    const { fetch, calls } = fakeFetch();
    const { io } = capture();

    // Act
    const code = await runCli(fileArgs('-'), io, {
      fetch,
      readStdin: async () => JSON.stringify(identity),
    });

    // Assess
    expect(code).toBe(0);
    expect(sentBody(calls)).toMatchObject(identity);
  });

  it.each([
    ['not JSON', `nik=${identity.nik}`, 'is not JSON'],
    ['an array', '[]', 'must be a JSON object'],
    [
      'missing fields',
      JSON.stringify({ nik: identity.nik }),
      'needs a non-empty string for: name, date_of_birth',
    ],
  ])(
    'refuses a file that is %s, before sending and without quoting it',
    async (_label, text, message) => {
      // Prepare
      const path = join(dir, `identity-${randomUUID()}.json`);
      await writeFile(path, text);
      const { io, out } = capture();

      // Act
      const code = await runCli(fileArgs(path), io, { fetch: noNetwork });

      // Assess
      expect(code).toBe(EXIT.ERROR);
      expect(out.stderr).toContain(message);
      expect(out.stderr).not.toContain(identity.nik);
    },
  );

  it('refuses --identity-file beside --nik, and a missing file', async () => {
    const both = capture();
    expect(await runCli(fileArgs('-', '--nik', identity.nik), both.io, { fetch: noNetwork })).toBe(
      EXIT.ERROR,
    );
    expect(both.out.stderr).toContain('--identity-file and --nik exclude each other');
    const missing = capture();
    expect(await runCli(fileArgs(join(dir, 'nope.json')), missing.io, { fetch: noNetwork })).toBe(
      EXIT.ERROR,
    );
    expect(missing.out.stderr).toContain('does not exist');
  });

  it('says so in --help', async () => {
    const { io, out } = capture();
    await runCli(['verify', '--help'], io);
    expect(out.stdout).toContain('--identity-file FILE');
    expect(out.stdout).toContain('shell history');
  });

  it('prints "replayed" for the stored answer of an identical earlier request', async () => {
    // Prepare
    const { fetch } = fakeFetch(
      () =>
        new Response(JSON.stringify(record()), {
          status: 200,
          headers: { 'content-type': 'application/json', 'facematch-replayed': 'true' },
        }),
    );
    const { io, out } = capture();

    // Act
    const code = await runCli(verifyArgs(), io, { fetch });

    // Assess
    expect(code).toBe(0);
    expect(out.stdout).toContain('replayed');
  });
});

describe('the selfie file', () => {
  it('is refused when missing, too large, empty or not JPEG/PNG, before sending', async () => {
    const big = join(dir, 'big.jpg');
    await writeFile(big, makeJpeg(8, 8));
    await truncate(big, 5 * 1024 * 1024 + 1);
    const empty = join(dir, 'empty.png');
    await writeFile(empty, '');
    const gif = join(dir, 'selfie.gif');
    await writeFile(gif, 'GIF89a....');
    const text = join(dir, 'selfie.txt');
    await writeFile(text, 'hello');
    for (const [path, message] of [
      [join(dir, 'nope.jpg'), `selfie file not found: ${join(dir, 'nope.jpg')}`],
      [big, 'is 5.0 MiB; the limit is 5.0 MiB'],
      [empty, 'is empty'],
      [gif, 'is a GIF image; facematch accepts JPEG or PNG'],
      [text, 'is not a JPEG or PNG image'],
      [dir, 'is not a file'],
    ] as const) {
      const { io, out } = capture();
      const argv = verifyArgs().map((arg) => (arg === pngPath ? path : arg));
      expect(await runCli(argv, io, { fetch: noNetwork })).toBe(EXIT.ERROR);
      expect(out.stderr).toContain(message);
    }
  });

  it('a file of exactly 5 MiB is accepted', async () => {
    const edge = join(dir, 'edge.jpg');
    await writeFile(edge, makeJpeg(8, 8));
    await truncate(edge, 5 * 1024 * 1024);
    const { fetch, calls } = fakeFetch();
    const { io } = capture();
    const argv = verifyArgs().map((arg) => (arg === pngPath ? edge : arg));
    expect(await runCli(argv, io, { fetch })).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('knows JPEG and PNG by their magic bytes', () => {
    expect(sniffImage(makeJpeg(8, 8))).toBe('image/jpeg');
    expect(sniffImage(makePng(8, 8))).toBe('image/png');
    expect(sniffImage(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toEqual({ other: 'a WebP image' });
    expect(sniffImage(Buffer.from('\0\0\0\x18ftypheic'))).toEqual({
      other: 'a HEIC/HEIF/AVIF image',
    });
    expect(sniffImage(Buffer.from('{}'))).toBeNull();
  });
});

// --- output --------------------------------------------------------------------------------

describe('exit codes', () => {
  it.each([
    [{ status: 'COMPLETED', decision: 'APPROVED' }, 0],
    [{ status: 'COMPLETED', decision: 'REVIEW' }, 3],
    [{ status: 'COMPLETED', decision: 'REJECTED' }, 4],
    [{ status: 'PENDING', decision: null }, 5],
    [{ status: 'PROCESSING', decision: null }, 5],
    [{ status: 'FAILED', decision: null }, 1],
    [{ status: 'COMPLETED', decision: null }, 1],
    [{ status: 'COMPLETED', decision: 'MAYBE' }, 1],
  ])('%j -> %i', (value, code) => {
    expect(exitCodeFor(value)).toBe(code);
  });
});

describe('rendering', () => {
  it('shows decision, reasons, similarity, masked NIK, id and status', () => {
    const text = renderRecord(
      record({ decision: 'REVIEW', reasons: ['NAME_MISMATCH', 'RISK_HIGH'] }) as ReceivedRecord,
    );
    expect(text).toMatch(/^decision\s+REVIEW$/m);
    expect(text).toMatch(/^reasons\s+NAME_MISMATCH, RISK_HIGH$/m);
    expect(text).toMatch(/^face similarity\s+97.4%$/m);
    expect(text).toMatch(/^matches\s+nik yes, name yes, date_of_birth yes$/m);
    expect(
      describeMatches({
        nik: true,
        name: false,
        date_of_birth: null,
        address: true,
        rt: false,
        rw: null,
      }),
    ).toBe('nik yes, name NO, date_of_birth -, others: 1 yes, rt NO, 1 not returned');
    expect(text).toMatch(/^NIK\s+3174\*{8}0012$/m);
    expect(text).toMatch(/^verification id\s+v-1$/m);
    expect(text).toMatch(/^status\s+COMPLETED$/m);
  });

  it('shows a pending record, its upload and a failed record’s error', () => {
    const pending = renderRecord({
      ...record({ status: 'PENDING', decision: null, face_similarity: null, matches: {} }),
      upload: { url: 'http://127.0.0.1:4569/facematch-selfies', expires_at: '2024-01-02T04:00Z' },
    } as ReceivedRecord);
    expect(pending).toMatch(/^decision\s+none yet$/m);
    expect(pending).toMatch(/^face similarity\s+-$/m);
    expect(pending).toMatch(/^upload to\s+http:\/\/127.0.0.1:4569\/facematch-selfies$/m);
    const failed = renderRecord(
      record({
        status: 'FAILED',
        decision: null,
        error: { code: 'MISSING_IDENTITY', message: 'no identity' },
      }) as ReceivedRecord,
    );
    expect(failed).toMatch(/^error\s+MISSING_IDENTITY: no identity$/m);
  });

  it('never prints a full NIK nor terminal control characters', () => {
    const text = renderRecord(
      record({ nik_masked: '3174051403880012', reasons: ['X\u001b[31mRED'] }) as ReceivedRecord,
    );
    expect(text).not.toContain('3174051403880012');
    expect(text).toContain('3174********0012');
    expect(text).not.toContain('\u001b');
  });

  it('--json prints the body exactly as received and nothing else', () => {
    const raw = '{"verification_id":"v-1","status":"COMPLETED","decision":"REJECTED", "extra":1}';
    const { io, out } = capture();
    const code = report(
      { status: 200, statusText: 'OK', contentType: 'application/json', text: raw },
      io,
      {
        json: true,
      },
    );
    expect(code).toBe(4);
    expect(out.stdout).toBe(`${raw}\n`);
    expect(out.stderr).toBe('');
  });

  it('renders a problem with each errors[] entry on stderr, and with --json the document on stdout, exit 1', () => {
    const problem = {
      type: 'urn:facematch:problem:validation-failed',
      title: 'Bad Request',
      status: 400,
      detail: 'the request has invalid fields',
      errors: [
        { path: 'nik', message: 'must be 16 digits' },
        { path: 'date_of_birth', message: 'must be DD-MM-YYYY or YYYY-MM-DD' },
        { path: '', message: 'a JSON object is required' },
      ],
    };
    const { io, out } = capture();
    const response = {
      status: 400,
      statusText: 'Bad Request',
      contentType: 'application/problem+json',
      text: JSON.stringify(problem),
    };
    expect(report(response, io, { json: true })).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual(problem);
    expect(out.stderr).toBe(
      [
        'error: HTTP 400 Bad Request: the request has invalid fields',
        '  nik: must be 16 digits',
        '  date_of_birth: must be DD-MM-YYYY or YYYY-MM-DD',
        '  (body): a JSON object is required',
        '',
      ].join('\n'),
    );
  });

  it('renders API Gateway refusals and non-JSON errors', () => {
    expect(
      renderProblem({
        status: 403,
        statusText: 'Forbidden',
        contentType: 'application/json',
        text: '{"message":"Missing Authentication Token"}',
      }),
    ).toBe('error: HTTP 403 Forbidden: Missing Authentication Token\n');
    expect(
      renderProblem({
        status: 502,
        statusText: 'Bad Gateway',
        contentType: 'text/html',
        text: '<html>oops</html>',
      }),
    ).toBe('error: HTTP 502 Bad Gateway: <html>oops</html>\n');
  });

  it('with --json, leaves stdout empty for an error that is not JSON (a proxy page)', () => {
    const { io, out } = capture();
    const response = {
      status: 502,
      statusText: 'Bad Gateway',
      contentType: 'text/html',
      text: '<html>oops</html>',
    };
    expect(report(response, io, { json: true })).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('HTTP 502 Bad Gateway');
  });

  it('a 200 that is not a record is an error', () => {
    const { io, out } = capture();
    const response = { status: 200, statusText: 'OK', contentType: 'text/html', text: '<html>' };
    expect(report(response, io, { json: false })).toBe(1);
    expect(out.stderr).toContain('not a verification record');
  });
});

// --- the API client and SigV4 --------------------------------------------------------------

describe('SigV4', () => {
  const body = { nik: '3174051403880012', name: 'A', date_of_birth: '14-03-1988' };

  it('signs a request to a deployed stage over the exact bytes sent', async () => {
    const { fetch, calls } = fakeFetch();
    const client = createApiClient({
      endpoint: `${API}/`,
      fetch,
      credentials: STATIC,
      now: () => SIGNING_DATE,
    });
    expect(client.signingRegion).toBe('ap-southeast-3');
    await client.postVerification(body);
    const [call] = calls;
    if (!call) throw new Error('no request');
    expect(call.url).toBe(`${API}/verifications`);
    const headers = call.init.headers;
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKID\/20240102\/ap-southeast-3\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    const signed = /SignedHeaders=([^,]+)/.exec(headers.authorization ?? '')?.[1]?.split(';');
    expect(signed).toEqual(expect.arrayContaining(['host', 'content-type', 'x-amz-date']));
    expect(headers['x-amz-date']).toBe('20240102T030405Z');
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-amz-security-token']).toBeUndefined();
    expect(headers.host).toBeUndefined(); // fetch sets it from the URL
    const sent = call.init.body ?? new Uint8Array();
    expect(JSON.parse(new TextDecoder().decode(sent))).toEqual(body);

    // Independent computation, from the AWS documentation and node:crypto.
    const host = new URL(API).host;
    expect(headers.authorization).toBe(
      expectedAuthorization({
        method: 'POST',
        url: call.url,
        headers: { ...headers, host },
        body: sent,
        credentials: STATIC,
        region: 'ap-southeast-3',
      }),
    );
    // And the same as SignatureV4 used directly on that request.
    const direct = await new SignatureV4({
      service: 'execute-api',
      region: 'ap-southeast-3',
      credentials: STATIC,
      sha256: Sha256,
    }).sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: host,
        path: '/prod/verifications',
        query: {},
        headers: { host, accept: headers.accept ?? '', 'content-type': 'application/json' },
        body: sent,
      },
      { signingDate: SIGNING_DATE },
    );
    expect(headers.authorization).toBe(direct.headers.authorization);
  });

  it('the signature changes with the body', async () => {
    const { fetch, calls } = fakeFetch();
    const client = createApiClient({
      endpoint: API,
      fetch,
      credentials: STATIC,
      now: () => SIGNING_DATE,
    });
    await client.postVerification(body);
    await client.postVerification({ ...body, name: 'B' });
    const [first, second] = calls.map((call) => call.init.headers.authorization);
    expect(first).toBeDefined();
    expect(first).not.toBe(second);
  });

  it('signs GET with the encoded id, the stage and the endpoint query', async () => {
    const { fetch, calls } = fakeFetch();
    const client = createApiClient({
      endpoint: `${API}?b=2&a=x y`,
      fetch,
      credentials: STATIC,
      now: () => SIGNING_DATE,
    });
    await client.getVerification('demo:1');
    const [call] = calls;
    if (!call) throw new Error('no request');
    expect(call.url).toBe(`${API}/verifications/demo%3A1?b=2&a=x%20y`);
    expect(call.init.body).toBeUndefined();
    expect(call.init.headers['content-type']).toBeUndefined();
    expect(call.init.headers.authorization).toBe(
      expectedAuthorization({
        method: 'GET',
        url: call.url,
        headers: { ...call.init.headers, host: new URL(API).host },
        body: '',
        credentials: STATIC,
        region: 'ap-southeast-3',
      }),
    );
  });

  it('sends and signs the session token of temporary credentials', async () => {
    const { fetch, calls } = fakeFetch();
    const credentials = { ...STATIC, sessionToken: 'SESSION-TOKEN' };
    const client = createApiClient({ endpoint: API, fetch, credentials: async () => credentials });
    await client.postVerification(body);
    const headers = calls[0]?.init.headers ?? {};
    expect(headers['x-amz-security-token']).toBe('SESSION-TOKEN');
    expect(headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
  });

  it.each(['http://127.0.0.1:3000', 'http://localhost:3000/', 'http://[::1]:3000'])(
    'does not sign loopback %s',
    async (endpoint) => {
      const { fetch, calls } = fakeFetch();
      let asked = false;
      const client = createApiClient({
        endpoint,
        fetch,
        credentials: async () => {
          asked = true;
          return STATIC;
        },
      });
      expect(client.signingRegion).toBeNull();
      await client.postVerification(body);
      const headers = calls[0]?.init.headers ?? {};
      expect(headers.authorization).toBeUndefined();
      expect(headers['x-amz-date']).toBeUndefined();
      expect(asked).toBe(false);
    },
  );

  it('takes the region from the host, else AWS_REGION', () => {
    expect(regionFromHost('abc.execute-api.ap-southeast-3.amazonaws.com')).toBe('ap-southeast-3');
    expect(regionFromHost('abc-vpce-1.execute-api.us-east-1.vpce.amazonaws.com')).toBe('us-east-1');
    expect(regionFromHost('api.example.co.id')).toBeNull();
    const custom = createApiClient({
      endpoint: 'https://api.example.co.id/v1',
      env: { AWS_REGION: 'ap-southeast-1' },
      credentials: STATIC,
    });
    expect(custom.signingRegion).toBe('ap-southeast-1');
    expect(isLoopbackHost('127.1.2.3')).toBe(true);
    expect(isLoopbackHost('[::ffff:7f00:1]')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });

  it('reports missing credentials clearly', async () => {
    const client = createApiClient({
      endpoint: API,
      fetch: noNetwork,
      credentials: async () => {
        throw new Error('Could not load credentials from any providers');
      },
    });
    await expect(client.postVerification(body)).rejects.toThrow(
      /no AWS credentials to sign the request with .*Could not load credentials/,
    );
  });
});

// --- end to end against a real socket ------------------------------------------------------

describe('the CLI end to end', () => {
  let server: FakeHttpServer;
  const records: Record<string, VerdictRecord> = {
    'v-approve': record({ verification_id: 'v-approve' }),
    'v-review': record({
      verification_id: 'v-review',
      decision: 'REVIEW',
      reasons: ['FACE_SIMILARITY_BETWEEN_THRESHOLDS'],
    }),
    'v-reject': record({
      verification_id: 'v-reject',
      decision: 'REJECTED',
      reasons: ['NIK_NOT_FOUND'],
    }),
    'v-pending': record({ verification_id: 'v-pending', status: 'PENDING', decision: null }),
  };

  beforeAll(async () => {
    server = await startFakeHttp((request) => {
      if (request.method === 'GET') {
        const id = decodeURIComponent(request.path.split('/').pop() ?? '');
        const found = records[id];
        return found
          ? json(200, found)
          : json(
              404,
              { title: 'Not Found', status: 404, detail: `no verification ${id}` },
              { 'content-type': 'application/problem+json' },
            );
      }
      const parsed = JSON.parse(request.body) as { verification_id?: string };
      const found = records[parsed.verification_id ?? ''];
      if (found) return json(200, found);
      return {
        status: 400,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({
          type: 'urn:facematch:problem:validation-failed',
          title: 'Bad Request',
          status: 400,
          detail: 'the request has invalid fields',
          errors: [{ path: 'verification_id', message: 'not a known test id' }],
        }),
      };
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['v-approve', 0],
    ['v-review', 3],
    ['v-reject', 4],
  ])('verify %s --json: the record on stdout, exit %i', async (id, code) => {
    const { io, out } = capture();
    const exit = await runCli(
      verifyArgs('--verification-id', id, '--endpoint', server.url, '--json'),
      io,
    );
    expect(exit).toBe(code);
    expect(JSON.parse(out.stdout)).toEqual(records[id]);
    expect(out.stderr).toBe('');

    const sent = server.requests.at(-1);
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe('/verifications');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(sent?.headers.authorization).toBeUndefined();
    const payload = JSON.parse(sent?.body ?? '{}');
    expect(payload).toEqual({
      verification_id: id,
      nik: '3174051403880012',
      name: 'Agus Wibisono Hartanto',
      date_of_birth: '14-03-1988',
      selfie_image: `data:image/png;base64,${makePng(64, 64).toString('base64')}`,
    });
  });

  it('verify of a JPEG sends image/jpeg and the date as given; readable by default', async () => {
    const { io, out } = capture();
    const argv = verifyArgs('--verification-id', 'v-approve', '--endpoint', server.url)
      .map((arg) => (arg === pngPath ? jpegPath : arg))
      .map((arg) => (arg === '14-03-1988' ? '1988-03-14' : arg));
    expect(await runCli(argv, io)).toBe(0);
    const payload = JSON.parse(server.requests.at(-1)?.body ?? '{}');
    expect(payload.selfie_image).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    expect(payload.date_of_birth).toBe('1988-03-14');
    expect(out.stdout).toMatch(/^decision\s+APPROVED$/m);
    expect(out.stdout).toMatch(/^NIK\s+3174\*{8}0012$/m);
    expect(out.stdout).not.toContain('3174051403880012');
  });

  it('verify answered by a 400 problem: title, detail and errors on stderr, exit 1', async () => {
    const { io, out } = capture();
    const code = await runCli(
      verifyArgs('--verification-id', 'v-unknown', '--endpoint', server.url),
      io,
    );
    expect(code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      'error: HTTP 400 Bad Request: the request has invalid fields\n  verification_id: not a known test id\n',
    );
  });

  it('get: a pending record is exit 5, an unknown id exit 1 with the problem', async () => {
    const pending = capture();
    expect(await runCli(['get', 'v-pending', '--endpoint', server.url], pending.io)).toBe(5);
    expect(pending.out.stdout).toMatch(/^status\s+PENDING$/m);
    expect(server.requests.at(-1)?.path).toBe('/verifications/v-pending');

    const missing = capture();
    expect(await runCli(['get', 'nope:1', '--endpoint', server.url], missing.io)).toBe(1);
    expect(server.requests.at(-1)?.path).toBe('/verifications/nope%3A1');
    expect(missing.out.stderr).toBe('error: HTTP 404 Not Found: no verification nope:1\n');
  });

  it('takes FACEMATCH_ENDPOINT when --endpoint is not given', async () => {
    const { io, out } = capture();
    const code = await runCli(['get', 'v-review', '--json'], io, {
      env: { FACEMATCH_ENDPOINT: server.url },
    });
    expect(code).toBe(3);
    expect(JSON.parse(out.stdout).decision).toBe('REVIEW');
  });

  it('draws progress on stderr only when it is a terminal', async () => {
    const tty = capture(true);
    expect(await runCli(['get', 'v-approve', '--endpoint', server.url, '--json'], tty.io)).toBe(0);
    expect(tty.out.stderr).toContain('fetching');
    expect(tty.out.stderr.endsWith('\r\u001b[2K')).toBe(true);
    expect(JSON.parse(tty.out.stdout).decision).toBe('APPROVED');
  });

  it('a signed request arrives with the Host, headers and body it was signed over', async () => {
    const client = createApiClient({
      endpoint: `${server.url}/prod`,
      sign: true,
      env: { AWS_REGION: 'ap-southeast-3' },
      credentials: { ...STATIC, sessionToken: 'TOKEN' },
    });
    await client.postVerification({ verification_id: 'v-approve', name: 'Sigît' });
    const received = server.requests.at(-1);
    if (!received) throw new Error('no request');
    expect(received.path).toBe('/prod/verifications');
    expect(received.headers.authorization).toBe(
      expectedAuthorization({
        method: 'POST',
        url: `${server.url}${received.path}`,
        headers: received.headers,
        body: Buffer.from(received.body, 'utf8'),
        credentials: STATIC,
        region: 'ap-southeast-3',
      }),
    );
  });

  it('a refused connection is exit 1 with a hint', async () => {
    const closed = await startFakeHttp([]);
    const url = closed.url;
    await closed.close();
    const { io, out } = capture();
    expect(await runCli(['get', 'v-1', '--endpoint', url], io)).toBe(1);
    expect(out.stderr).toContain(`error: cannot reach ${url}/verifications/v-1: ECONNREFUSED`);
    expect(out.stderr).toContain('facematch serve');
  });
});
