/**
 * Hostile input (issue 5), fuzzed with fast-check through the handlers on the production
 * composition root (dynalite, s3rver, the IDmeta simulator): request bodies, ids, names and
 * images at the API; object keys and user metadata at the S3 entrance. Every input gets its
 * documented 4xx (or is acknowledged, or ends FAILED with a reason, on the queue), never a 5xx;
 * a refusal calls no IDmeta endpoint and writes nothing (the refusal table stays empty); and the
 * handlers keep serving afterwards. The file's whole log output is scanned at the end for the
 * valid-shaped NIKs and names it sent, and for the IDmeta token.
 *
 * Known-value cases live in test/unit/request.test.ts and selfie.test.ts; these properties are
 * the same rules met by inputs nobody thought of, end to end.
 */
import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../lambda/handlers/api-handler.ts';
import { createSelfieUploadedHandler } from '../../lambda/handlers/selfie-uploaded-handler.ts';
import { logger } from '../../lambda/observability.ts';
import type { Runtime } from '../../lambda/runtime.ts';
import { DEFAULT_SIM_TOKEN } from '../../local/idmeta-simulator/server.ts';
import {
  captureOutput,
  getVerificationEvent,
  type OutputCapture,
  postVerificationEvent,
  s3NotificationBody,
  sqsEvent,
  uploadMetadata,
} from '../support/events.ts';
import {
  type ApiHandler,
  agus,
  agusIdentity,
  agusSelfie,
  headerOf,
  invokeApi,
  invokeQueue,
  type QueueHandler,
  recordingSelfieStore,
  withSelfies,
} from '../support/faults.ts';
import { makeJpeg, makePng, makePngHeader } from '../support/images.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

/** Large enough that a 10 000-level JSON document fits the body limit and is really parsed. */
const SELFIE_MAX_BYTES = 1024 * 1024;
const MAX_RECEIVE_COUNT = 3;

/** A real GIF header on real image bytes: refused 415 after every field was found valid. */
const GIF_SELFIE = `data:image/jpeg;base64,${Buffer.concat([
  Buffer.from('GIF89a', 'latin1'),
  makeJpeg(320, 320),
]).toString('base64')}`;

// ---------------------------------------------------------------------------------------------
// Oracles: the contract's rules restated here, independently of lambda/core.

/**
 * DESIGN.md: letters, digits and _ . : - (first a letter or digit), at most 128, no "..", and
 * (README) no run of 16 digits: an id carrying a NIK would be logged in clear.
 */
const isSafeId = (id: string): boolean =>
  id.length <= 128 &&
  /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(id) &&
  !id.includes('..') &&
  !/\d{16}/.test(id);

/** `incoming/<safe id>.<jpg|jpeg|png>` (any case): the only key `selfie_s3_key` may name. */
const SELFIE_KEY = /^incoming\/(.+)\.(?:[jJ][pP][gG]|[jJ][pP][eE][gG]|[pP][nN][gG])$/;
const idOfSelfieKey = (key: string): string | null => {
  const id = SELFIE_KEY.exec(key)?.[1];
  return id !== undefined && isSafeId(id) ? id : null;
};

/**
 * `incoming/<safe id>.<extension>`: the keys the S3 entrance reads (the presigned POST lets the
 * uploader choose the extension; the bytes decide the type).
 */
const UPLOAD_KEY = /^incoming\/(.+)\.[A-Za-z0-9]{1,8}$/;
const idOfUploadKey = (key: string): string | null => {
  const id = UPLOAD_KEY.exec(key)?.[1];
  return id !== undefined && isSafeId(id) ? id : null;
};

/** S3 URL-encodes keys in notifications, a space as `+`; null when the escape is malformed. */
const decodeNotificationKey = (key: string): string | null => {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return null;
  }
};

/** Control and format characters: never part of a name, wherever they sit inside it. */
const CONTROL = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

// ---------------------------------------------------------------------------------------------
// What the fuzzing sends that looks like a person: every one of these is looked for in the logs.

const sentNiks = new Set<string>([agus.nik]);
const sentNames = new Set<string>([agus.name]);
/** A name is worth looking for in the logs when it cannot be mistaken for a word or a hex id. */
const rememberName = (name: string) => {
  const trimmed = name.trim();
  if (trimmed.length >= 8 && /\s/.test(trimmed) && !CONTROL.test(trimmed)) sentNames.add(trimmed);
};

const pad = (value: number, length = 2) => String(value).padStart(length, '0');

const NAME_PARTS = [
  'Budi',
  'Sari',
  'Wulan',
  'Agung',
  'Dewi',
  'Putu',
  'Nyoman',
  'Rahmawati',
  'Hendrawan',
  'Kusumo',
  'Santoso',
  'Pratama',
  'Lestari',
  'Ayu',
  'Ketut',
];

/** Names as registries hold them: two to four parts. */
const personName = fc
  .array(fc.constantFrom(...NAME_PARTS), { minLength: 2, maxLength: 4 })
  .map((parts) => parts.join(' '));

/** A structurally valid identity (the NIK's DDMMYY agrees with the date of birth) nobody holds. */
const validIdentity = fc
  .record({
    province: fc.integer({ min: 11, max: 94 }),
    regency: fc.integer({ min: 1, max: 79 }),
    district: fc.integer({ min: 1, max: 50 }),
    born: fc.date({
      min: new Date('1940-01-01T00:00:00Z'),
      max: new Date('2005-12-31T00:00:00Z'),
      noInvalidDate: true,
    }),
    female: fc.boolean(),
    serial: fc.integer({ min: 1, max: 9999 }),
    name: personName,
  })
  .map(({ province, regency, district, born, female, serial, name }) => {
    const day = born.getUTCDate();
    const month = born.getUTCMonth() + 1;
    const year = born.getUTCFullYear();
    const nik =
      `${pad(province)}${pad(regency)}${pad(district)}` +
      `${pad(day + (female ? 40 : 0))}${pad(month)}${pad(year % 100)}${pad(serial, 4)}`;
    return { nik, name, date_of_birth: `${pad(day)}-${pad(month)}-${year}` };
  });

// ---------------------------------------------------------------------------------------------

let t: TestRuntime;
/** API runtime on a table of its own: refused requests must leave it empty. */
let refusals: Runtime;
let refusalsTable: string;
let apiHandler: ApiHandler;
/** Every key the API's selfie store was asked to read. */
let apiReads: string[];
let output: OutputCapture;

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

const callApi = (event: APIGatewayProxyEvent) => invokeApi(apiHandler, event);

/**
 * A refusal as DESIGN.md writes it: one of `statuses`, an RFC 9457 problem, and never an echo of
 * what was sent (`secrets`: the values a problem detail must not quote).
 */
function expectRefusal(
  result: APIGatewayProxyResult,
  statuses: number[],
  secrets: string[] = [],
): Problem {
  expect(result.statusCode).toBeLessThan(500);
  expect(statuses).toContain(result.statusCode);
  expect(headerOf(result, 'content-type')).toBe('application/problem+json');
  const problem = JSON.parse(result.body) as Problem;
  expect(problem.status).toBe(result.statusCode);
  expect(problem.code).toMatch(/^[A-Z_]+$/);
  expect(result.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  for (const secret of secrets) {
    if (secret.trim().length >= 6) expect(result.body).not.toContain(secret);
  }
  return problem;
}

const pathsOf = (problem: Problem) => (problem.errors ?? []).map((issue) => issue.path);

const scan = async (tableName: string) =>
  (await t.localAws.documentClient.send(new ScanCommand({ TableName: tableName }))).Items ?? [];

/** Ids of the valid requests sent after each fuzz run; the only records the table may hold. */
const SERVING_PREFIX = 'hostile-ok-';

/** The fuzzed handler still serves a valid request after a fuzz run, with one paid call. */
async function expectStillServing(): Promise<void> {
  const id = `${SERVING_PREFIX}${randomUUID().slice(0, 8)}`;
  const result = await invokeApi(
    apiHandler,
    postVerificationEvent({
      verification_id: id,
      ...agusIdentity,
      selfie_image: agusSelfie.dataUri,
    }),
  );
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body)).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
}

beforeAll(async () => {
  output = captureOutput();
  t = await startTestRuntime({ quiet: false, env: { SELFIE_MAX_BYTES: String(SELFIE_MAX_BYTES) } });
  // Every line the handlers can write: the scan at the end must see them all.
  logger.setLogLevel('DEBUG');
  refusalsTable = await t.createTable();
  const recording = recordingSelfieStore(t.runtime.deps.selfies);
  apiReads = recording.reads;
  refusals = withSelfies(
    t.createRuntime({ env: { VERDICT_TABLE_NAME: refusalsTable } }),
    recording,
  );
  apiHandler = createApiHandler(refusals);
});

afterAll(async () => {
  await t?.stop();
  output?.restore();
});

describe('the API refuses hostile bodies with a 4xx, calls nothing and writes nothing', () => {
  beforeEach(() => {
    t.simulator.resetCalls();
  });

  afterEach(async () => {
    expect(t.simulator.calls()).toEqual([]);
    const written = (await scan(refusalsTable)).filter(
      (item) => !String(item.verification_id).startsWith(SERVING_PREFIX),
    );
    expect(written).toEqual([]);
    await expectStillServing();
  });

  it('answers 400 to any JSON value that is not a verification request', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        // Act
        const result = await callApi(postVerificationEvent(JSON.stringify(value)));

        // Assess
        expect(expectRefusal(result, [400]).code).toBe('INVALID_REQUEST');
      }),
      { numRuns: 150 },
    );
  });

  it('answers 400 to any text that is not JSON, plain or base64-encoded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.boolean(),
        async (text, base64) => {
          // Act
          const result = await callApi(
            postVerificationEvent(base64 ? Buffer.from(text).toString('base64') : text, {
              isBase64Encoded: base64,
            }),
          );

          // Assess
          expect(['INVALID_REQUEST', 'MALFORMED_JSON']).toContain(
            expectRefusal(result, [400]).code,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('answers 400, not a stack overflow, to JSON nested 10 000 and 300 000 levels deep', async () => {
    // Prepare: JSON.parse copes with this depth; anything recursive over it would not.
    const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const person = JSON.stringify({ ...agusIdentity, selfie_image: GIF_SELFIE }).slice(1, -1);
    const bodies = [
      { body: deepArray(10_000), path: '' },
      { body: deepObject(10_000), path: 'nik' },
      { body: deepArray(300_000), path: '' },
      { body: `{${person},"verification_id":${deepArray(10_000)}}`, path: 'verification_id' },
      { body: `{${person},"name":${deepObject(10_000)}}`, path: 'name' },
      { body: `{${person},"selfie_image":${deepArray(10_000)}}`, path: 'selfie_image' },
    ];

    for (const { body, path } of bodies) {
      // Act
      const result = await callApi(postVerificationEvent(body));

      // Assess
      const problem = expectRefusal(result, [400]);
      expect(pathsOf(problem)).toContain(path);
    }

    // An unknown key is ignored, however deep: the request is judged on its fields (a GIF: 415).
    const ignored = await callApi(postVerificationEvent(`{${person},"x":${deepObject(10_000)}}`));
    expect(expectRefusal(ignored, [415]).code).toBe('SELFIE_UNSUPPORTED_TYPE');
  });

  it('answers 400 or 413 to huge strings in every field', async () => {
    // Prepare: 512 KiB fits the body limit (and is parsed); 8 MiB does not.
    const fields = ['verification_id', 'template_id', 'nik', 'name', 'date_of_birth'] as const;
    for (const field of fields) {
      for (const size of [512 * 1024, 8 * 1024 * 1024]) {
        const huge = `${'4'.repeat(size - 1)}x`;

        // Act
        const result = await callApi(
          postVerificationEvent({
            ...agusIdentity,
            selfie_image: agusSelfie.dataUri,
            [field]: huge,
          }),
        );

        // Assess
        const problem = expectRefusal(result, size > SELFIE_MAX_BYTES * 2 ? [413] : [400]);
        if (result.statusCode === 400) expect(new Set(pathsOf(problem))).toEqual(new Set([field]));
        else expect(problem.code).toBe('BODY_TOO_LARGE');
      }
    }
  });

  it('names the field of any wrong-typed value in errors[]', async () => {
    const fields = [
      'verification_id',
      'template_id',
      'nik',
      'name',
      'date_of_birth',
      'selfie_image',
      'selfie_s3_key',
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fields),
        fc.jsonValue().filter((value) => typeof value !== 'string'),
        async (field, value) => {
          // Act
          const result = await callApi(
            postVerificationEvent({
              verification_id: `hostile-${randomUUID().slice(0, 8)}`,
              ...agusIdentity,
              ...(field === 'selfie_s3_key' ? {} : { selfie_image: agusSelfie.dataUri }),
              [field]: value,
            }),
          );

          // Assess
          const problem = expectRefusal(result, [400]);
          expect(problem.code).toBe('INVALID_REQUEST');
          expect(pathsOf(problem)).toContain(field);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('refuses names with control characters, and never echoes a name', async () => {
    const controls = ['\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u007f', '\u200b', '\u202e'];
    const name = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      personName,
      fc
        .tuple(personName, fc.constantFrom(...controls), personName)
        .map(([before, control, after]) => `${before}${control}${after}`),
    );
    await fc.assert(
      fc.asyncProperty(name, async (candidate) => {
        // Act: a GIF selfie, so a name that passes is refused 415 one step later, unpaid.
        const result = await callApi(
          postVerificationEvent({ ...agusIdentity, name: candidate, selfie_image: GIF_SELFIE }),
        );

        // Assess
        const problem = expectRefusal(result, [400, 415], [candidate.trim()]);
        if (result.statusCode === 400) expect(pathsOf(problem)).toEqual(['name']);
        if (CONTROL.test(candidate.trim())) expect(result.statusCode).toBe(400);
        if (result.statusCode === 415) rememberName(candidate);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses traversal, separators, "..", NUL and very long ids, in the body and in the GET path', async () => {
    const hostileIds = fc.oneof(
      fc.constantFrom(
        '../x',
        '..',
        'a..b',
        'a/b',
        'incoming/a',
        'a\\b',
        'a\u0000b',
        '%2e%2e%2fx',
        '.hidden',
        '-leading',
        ' a',
        'a b',
        '',
        'x'.repeat(129),
        'x'.repeat(100_000),
        'ok-id',
        'a.b:c_d-e',
      ),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.stringMatching(/^[A-Za-z0-9_.:/\\%-]{1,40}$/),
      fc.string({ unit: 'grapheme-ascii', minLength: 120, maxLength: 140 }),
    );
    await fc.assert(
      fc.asyncProperty(hostileIds, async (id) => {
        // Act
        const posted = await callApi(
          postVerificationEvent({ verification_id: id, ...agusIdentity, selfie_image: GIF_SELFIE }),
        );
        const fetched = await callApi(getVerificationEvent(id));

        // Assess: a safe id passes to the next check (the GIF: 415; GET: 404).
        if (isSafeId(id)) {
          expectRefusal(posted, [415]);
          expect(expectRefusal(fetched, [404]).code).toBe('VERIFICATION_NOT_FOUND');
        } else {
          expect(pathsOf(expectRefusal(posted, [400]))).toContain('verification_id');
          expect(pathsOf(expectRefusal(fetched, [400]))).toEqual(['verification_id']);
        }
      }),
      { numRuns: 150 },
    );
  });

  // BUG: verification_id is opaque to the service, yet it is logged with every line of the
  // invocation (logger.appendKeys), stored as the table's key and named in S3 keys. A caller that
  // uses the person's NIK as the id, or embeds it ("kyc-3174051403880012"), puts the NIK in clear
  // into the logs, the table's keys and the bucket. Expected: such an id is refused 400 like any
  // other invalid verification_id (e.g. no run of 16 digits in safeIdSchema).
  it('refuses a verification_id that carries a NIK, which would otherwise be logged in clear', async () => {
    for (const id of [agus.nik, `kyc-${agus.nik}`]) {
      // Act: a GIF selfie, so nothing is paid or written while the bug stands.
      const result = await callApi(
        postVerificationEvent({ verification_id: id, ...agusIdentity, selfie_image: GIF_SELFIE }),
      );

      // Assess
      expect(pathsOf(expectRefusal(result, [400]))).toContain('verification_id');
    }
  });

  it('refuses empty, truncated, polyglot and absurdly sized images before any call', async () => {
    // Prepare
    const jpeg = makeJpeg(320, 320);
    const png = makePng(320, 320);
    /** A PNG whose IHDR declares 100000 x 100000 pixels (its CRC no longer matches: unchecked). */
    const hugePng = Buffer.from(png);
    hugePng.writeUInt32BE(100_000, 16);
    hugePng.writeUInt32BE(100_000, 20);
    /** A JPEG whose SOF0 declares 65000 x 65000. */
    const hugeJpeg = Buffer.from(jpeg);
    const sof = hugeJpeg.indexOf(Buffer.from([0xff, 0xc0]));
    hugeJpeg.writeUInt16BE(65_000, sof + 5);
    hugeJpeg.writeUInt16BE(65_000, sof + 7);
    const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    const cases: Array<{ label: string; selfie: string; status: number; code: string }> = [
      { label: 'empty', selfie: '', status: 400, code: 'SELFIE_UNREADABLE' },
      {
        label: 'an empty data URI',
        selfie: 'data:image/jpeg;base64,',
        status: 400,
        code: 'SELFIE_UNREADABLE',
      },
      {
        label: 'a truncated JPEG',
        selfie: base64(jpeg.subarray(0, jpeg.length >> 1)),
        status: 400,
        code: 'SELFIE_UNREADABLE',
      },
      {
        label: 'a truncated PNG',
        selfie: base64(png.subarray(0, png.length - 20)),
        status: 400,
        code: 'SELFIE_UNREADABLE',
      },
      {
        label: 'a GIF header on a JPEG body',
        selfie: base64(Buffer.concat([Buffer.from('GIF89a'), jpeg])),
        status: 415,
        code: 'SELFIE_UNSUPPORTED_TYPE',
      },
      {
        label: 'JPEG magic and garbage',
        selfie: base64(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(4096, 0x5a)])),
        status: 400,
        code: 'SELFIE_UNREADABLE',
      },
      {
        // The PNG parser reads the JPEG's bytes where IHDR's size would be: absurd, refused.
        label: 'PNG magic on a JPEG body',
        selfie: base64(Buffer.concat([png.subarray(0, 8), jpeg])),
        status: 400,
        code: 'SELFIE_DIMENSIONS_INVALID',
      },
      {
        label: 'a PNG declaring 100000 x 100000 pixels',
        selfie: `data:image/png;base64,${base64(hugePng)}`,
        status: 400,
        code: 'SELFIE_DIMENSIONS_INVALID',
      },
      {
        // Within maxDimension a side, 800 MB inflated: SELFIE_MAX_PIXELS refuses it unread.
        label: 'a 10000 x 10000 16-bit RGBA PNG (a decompression bomb)',
        selfie: base64(makePngHeader(10_000, 10_000, { bitDepth: 16, colourType: 6 })),
        status: 400,
        code: 'SELFIE_TOO_MANY_PIXELS',
      },
      {
        label: 'a 16-bit RGB PNG',
        selfie: base64(makePngHeader(640, 480, { bitDepth: 16, colourType: 2 })),
        status: 400,
        code: 'SELFIE_PNG_FORMAT_UNSUPPORTED',
      },
      {
        label: 'a JPEG declaring 65000 x 65000 pixels',
        selfie: base64(hugeJpeg),
        status: 400,
        code: 'SELFIE_DIMENSIONS_INVALID',
      },
      {
        label: 'an SVG',
        selfie: `data:image/svg+xml;base64,${base64(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))}`,
        status: 415,
        code: 'SELFIE_UNSUPPORTED_TYPE',
      },
      {
        label: 'a data URI that is not an image',
        selfie: `data:text/html;base64,${base64(jpeg)}`,
        status: 400,
        code: 'SELFIE_UNREADABLE',
      },
      { label: 'not base64', selfie: '!!!!', status: 400, code: 'SELFIE_UNREADABLE' },
    ];

    for (const { label, selfie, status, code } of cases) {
      // Act
      const result = await callApi(
        postVerificationEvent({ ...agusIdentity, selfie_image: selfie }),
      );

      // Assess
      expect({ label, code: expectRefusal(result, [status]).code }).toEqual({ label, code });
    }

    // And any bytes behind any magic.
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          Buffer.from([0xff, 0xd8, 0xff]),
          png.subarray(0, 8),
          Buffer.from('GIF89a'),
          Buffer.alloc(0),
        ),
        fc.uint8Array({ maxLength: 2048 }),
        async (magic, rest) => {
          const result = await callApi(
            postVerificationEvent({
              ...agusIdentity,
              selfie_image: base64(Buffer.concat([magic, rest])),
            }),
          );
          expectRefusal(result, [400, 413, 415]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never lets selfie_s3_key read outside incoming/<its own id>.<ext>', async () => {
    // Prepare: real selfies a hostile key would like to reach.
    const victim = `hostile-victim-${randomUUID().slice(0, 8)}`;
    for (const key of [`private/${victim}.jpg`, `incoming/${victim}.jpg`, 'secret.jpg']) {
      await t.localAws.s3Client.send(
        new PutObjectCommand({ Bucket: t.localAws.bucket, Key: key, Body: agusSelfie.bytes }),
      );
    }
    apiReads.length = 0;
    const owners = ['hostile-a', 'hostile-b.c', 'hostile:d'];
    const id = fc.constantFrom(...owners);
    const keyOf = fc.oneof(
      fc.constantFrom(
        (own: string) => `incoming/${own}.jpg`,
        (own: string) => `incoming/${own}.PNG`,
        (own: string) => `incoming/${own}.gif`,
        (own: string) => `incoming/../private/${own}.jpg`,
        (own: string) => `incoming/./${own}.jpg`,
        (own: string) => `incoming//${own}.jpg`,
        (own: string) => `/incoming/${own}.jpg`,
        (own: string) => `INCOMING/${own}.jpg`,
        (own: string) => `incoming%2F${own}.jpg`,
        (own: string) => `incoming\\${own}.jpg`,
        (own: string) => `incoming/${own}.jpg\u0000.png`,
        (own: string) => `incoming/${own}.jpg/../../secret.jpg`,
        (own: string) => `incoming/${own}/../${victim}.jpg`,
        (_own: string) => `incoming/${victim}.jpg`,
        (_own: string) => `private/${victim}.jpg`,
        (_own: string) => 'secret.jpg',
      ),
      fc.string({ maxLength: 60 }).map((text) => (_own: string) => text),
      fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom('jpg', 'jpeg', 'png')).map(
        ([text, ext]) =>
          (own: string) =>
            `incoming/${own}${text}.${ext}`,
      ),
    );

    await fc.assert(
      fc.asyncProperty(id, keyOf, async (own, makeKey) => {
        // Act
        const key = makeKey(own);
        const result = await callApi(
          postVerificationEvent({ verification_id: own, ...agusIdentity, selfie_s3_key: key }),
        );

        // Assess: only its own key is ever looked up (and it does not exist: 400 NOT_FOUND).
        const problem = expectRefusal(result, [400]);
        if (idOfSelfieKey(key) === own) expect(problem.code).toBe('SELFIE_NOT_FOUND');
        else expect(pathsOf(problem)).toContain('selfie_s3_key');
      }),
      { numRuns: 150 },
    );
    expect(apiReads.length).toBeGreaterThan(0);
    for (const key of apiReads) {
      expect(owners, key).toContain(idOfSelfieKey(key));
      expect(key).not.toContain(victim);
    }
  });
});

describe('the S3 entrance processes only incoming/<safe id>.<ext>', () => {
  let keysTable: string;
  let keys: Runtime;
  let handler: QueueHandler;
  let reads: string[];

  beforeAll(async () => {
    keysTable = await t.createTable();
    const recording = recordingSelfieStore(t.runtime.deps.selfies);
    reads = recording.reads;
    keys = withSelfies(
      t.createRuntime({ busyWaitMs: 0, env: { VERDICT_TABLE_NAME: keysTable } }),
      recording,
    );
    handler = createSelfieUploadedHandler(keys, { maxReceiveCount: MAX_RECEIVE_COUNT });
  });

  beforeEach(() => {
    t.simulator.resetCalls();
  });

  it('acknowledges every notification key, and reads or records only the ones of that shape', async () => {
    const notificationKey = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc
        .tuple(
          fc.constantFrom('incoming/', 'incoming', '/incoming/', 'Incoming/', '', 'incoming/a/'),
          fc.stringMatching(/^[A-Za-z0-9_.:%+/\\-]{0,24}$/),
          fc.constantFrom('.jpg', '.jpeg', '.png', '.JPG', '.gif', '', '.jpg.exe', '%2Ejpg'),
        )
        .map(([prefix, middle, suffix]) => `${prefix}${middle}${suffix}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(notificationKey, { minLength: 1, maxLength: 3 }),
        async (notified) => {
          // Prepare
          reads.length = 0;

          // Act
          const response = await invokeQueue(
            handler,
            sqsEvent([{ body: s3NotificationBody(notified) }]),
          );

          // Assess: acknowledged; exactly the well-shaped keys were read, each ending FAILED (there
          // is no such object).
          expect(response).toEqual({ batchItemFailures: [] });
          const wellShaped = notified
            .map(decodeNotificationKey)
            .filter((key): key is string => key !== null && idOfUploadKey(key) !== null);
          expect(new Set(reads)).toEqual(new Set(wellShaped));
          for (const key of wellShaped) {
            const record = await keys.deps.store.get(idOfUploadKey(key) ?? '');
            expect(record, key).toMatchObject({ status: 'FAILED', reasons: ['SELFIE_NOT_FOUND'] });
          }
          const items = await scan(keysTable);
          for (const item of items) {
            expect(isSafeId(String(item.verification_id))).toBe(true);
            expect(item).toMatchObject({ status: 'FAILED', error: { code: 'SELFIE_NOT_FOUND' } });
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(t.simulator.calls().filter((call) => call.endpoint === 'dukcapilfacematch')).toEqual([]);
  });

  // An upload as incoming/<id>.JPG (a camera's file name, dropped by a lender's backend; our forms
  // now sign incoming/<id>.jpg exactly) once left the verification PENDING with no error until its
  // TTL: the handler ignored the key. It must say what became of its selfie.
  it('does not leave a PENDING verification silently waiting when its upload used a key it ignores', async () => {
    // Prepare: POST without a selfie, then the object put under an upper-case extension.
    const id = `hostile-upload-${randomUUID().slice(0, 8)}`;
    const pending = await invokeApi(
      createApiHandler(t.runtime),
      postVerificationEvent({ verification_id: id, ...agusIdentity }),
    );
    expect(pending.statusCode).toBe(202);
    const key = `incoming/${id}.JPG`;
    await t.localAws.s3Client.send(
      new PutObjectCommand({ Bucket: t.localAws.bucket, Key: key, Body: agusSelfie.bytes }),
    );

    // Act
    const response = await invokeQueue(
      createSelfieUploadedHandler(t.createRuntime({ busyWaitMs: 0 })),
      sqsEvent([{ body: s3NotificationBody([key]) }]),
    );

    // Assess: the verification says what became of its selfie.
    expect(response).toEqual({ batchItemFailures: [] });
    const record = await t.runtime.deps.store.get(id);
    expect(record?.status === 'PENDING' && record.error === undefined).toBe(false);
  });

  it('acknowledges any message body, and records nothing for one that names no object', async () => {
    // Prepare
    const before = (await scan(keysTable)).length;
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc
        .array(fc.oneof(fc.jsonValue(), fc.record({ eventName: fc.string(), s3: fc.jsonValue() })))
        .map((Records) => JSON.stringify({ Records })),
    );

    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        // Act
        const response = await invokeQueue(handler, sqsEvent([{ body: text }]));

        // Assess
        expect(response).toEqual({ batchItemFailures: [] });
      }),
      { numRuns: 150 },
    );
    expect(await scan(keysTable)).toHaveLength(before);
  });
});

describe('the S3 entrance refuses hostile object metadata with a FAILED record', () => {
  let queue: Runtime;
  let handler: QueueHandler;
  let metadataByKey: Map<string, Record<string, string>>;

  beforeAll(() => {
    const recording = recordingSelfieStore(t.runtime.deps.selfies);
    metadataByKey = recording.metadataByKey;
    queue = withSelfies(t.createRuntime({ busyWaitMs: 0 }), recording);
    handler = createSelfieUploadedHandler(queue, { maxReceiveCount: MAX_RECEIVE_COUNT });
  });

  beforeEach(() => {
    t.simulator.resetCalls();
  });

  /** Puts a real selfie under a fresh key and delivers its notification; returns the record. */
  async function upload(metadata: Record<string, string>, viaS3: boolean) {
    const id = `hostile-md-${randomUUID().slice(0, 12)}`;
    const key = `incoming/${id}.jpg`;
    await t.localAws.s3Client.send(
      new PutObjectCommand({
        Bucket: t.localAws.bucket,
        Key: key,
        Body: agusSelfie.bytes,
        ...(viaS3 ? { Metadata: metadata } : {}),
      }),
    );
    if (!viaS3) metadataByKey.set(key, metadata);
    const response = await invokeQueue(handler, sqsEvent([{ body: s3NotificationBody([key]) }]));
    expect(response).toEqual({ batchItemFailures: [] });
    return { id, record: await queue.deps.store.get(id) };
  }

  it('ends FAILED with a reason for any printable metadata S3 can carry, without a call', async () => {
    // S3 user metadata is US-ASCII in HTTP headers: printable, no leading or trailing spaces.
    const value = fc
      .string({ unit: 'grapheme-ascii', maxLength: 40 })
      .map((text) => text.trim())
      .filter((text) => text !== '');
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { nik: value, name: value, 'date-of-birth': value, 'template-id': value },
          { requiredKeys: [] },
        ),
        async (metadata) => {
          // Act
          const { record } = await upload(metadata, true);

          // Assess
          expect(record).toMatchObject({ status: 'FAILED', decision: null, nik_masked: '' });
          expect(['INVALID_REQUEST', 'NIK_DOB_MISMATCH', 'MISSING_IDENTITY']).toContain(
            record?.error?.code,
          );
          const stored = JSON.stringify(record);
          for (const text of Object.values(metadata)) {
            if (text.length >= 8) expect(stored).not.toContain(text);
          }
        },
      ),
      { numRuns: 30 },
    );
    expect(t.simulator.calls()).toEqual([]);
  });

  it('ends a decompression-bomb PNG upload FAILED without a call', async () => {
    // Prepare: a valid identity, a 10000 x 10000 16-bit RGBA PNG of a few hundred bytes
    const id = `hostile-bomb-${randomUUID().slice(0, 8)}`;
    const key = `incoming/${id}.png`;
    await t.localAws.s3Client.send(
      new PutObjectCommand({
        Bucket: t.localAws.bucket,
        Key: key,
        Body: makePngHeader(10_000, 10_000, { bitDepth: 16, colourType: 6 }),
        Metadata: uploadMetadata(agus),
      }),
    );

    // Act
    const response = await invokeQueue(handler, sqsEvent([{ body: s3NotificationBody([key]) }]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await queue.deps.store.get(id)).toMatchObject({
      status: 'FAILED',
      error: { code: 'SELFIE_TOO_MANY_PIXELS' },
    });
    expect(t.simulator.calls()).toEqual([]);
  });

  it('ends FAILED for any invalid name beside a valid NIK, and pays once for a valid one', async () => {
    const name = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      personName,
      personName.map((text) => encodeURIComponent(text)),
      fc.constantFrom('%', '%E0%A4%A', '%00', 'a%0Ab', '%F0%9F%98%80'),
    );
    let completed = 0;
    await fc.assert(
      fc.asyncProperty(validIdentity, name, async (person, candidate) => {
        // Prepare
        sentNiks.add(person.nik);

        // Act
        const { id, record } = await upload(
          { nik: person.nik, name: candidate, 'date-of-birth': person.date_of_birth },
          false,
        );

        // Assess: a valid name goes to IDmeta (the NIK is registered nowhere: REJECTED).
        if (record?.status === 'COMPLETED') {
          completed += 1;
          rememberName(decodeURIComponent(candidate));
          expect(record).toMatchObject({ decision: 'REJECTED', attempts: 1 });
        } else {
          expect(record).toMatchObject({
            status: 'FAILED',
            error: { code: 'INVALID_REQUEST' },
            nik_masked: '',
          });
          expect(record?.error?.message).toContain('metadata.name');
        }
        expect(JSON.stringify(record)).not.toContain(person.nik);
        const calls = t.simulator.calls().filter((call) => call.verificationId === id);
        expect(calls).toHaveLength(record?.status === 'COMPLETED' ? 1 : 0);
      }),
      { numRuns: 30 },
    );
    expect(completed).toBeGreaterThan(0);
  });
});

describe('a verification id answers only the request it was given (issue 11)', () => {
  /** The production handler on the main table, where the first request's verdict is kept. */
  let handler: ApiHandler;

  beforeAll(() => {
    handler = createApiHandler(t.runtime);
  });

  beforeEach(() => {
    t.simulator.resetCalls();
  });

  const paidCalls = (id: string) =>
    t.simulator
      .calls()
      .filter((call) => call.endpoint === 'dukcapilfacematch' && call.verificationId === id);

  it('answers 409 naming the fields to the same id and NIK with another name and face, and pays nothing', async () => {
    // Prepare: APPROVED for Agus and his selfie
    const id = `hostile-bind-${randomUUID().slice(0, 8)}`;
    const first = await invokeApi(
      handler,
      postVerificationEvent({
        verification_id: id,
        ...agusIdentity,
        selfie_image: agusSelfie.dataUri,
      }),
    );
    expect(JSON.parse(first.body)).toMatchObject({ decision: 'APPROVED' });
    const forged = `data:image/jpeg;base64,${makeJpeg(320, 320, 5).toString('base64')}`;
    sentNames.add('Siti Nurhaliza Rahma');

    // Act: an attacker who knows the id and the NIK, with another name and face
    const forgedResult = await invokeApi(
      handler,
      postVerificationEvent({
        verification_id: id,
        ...agusIdentity,
        name: 'Siti Nurhaliza Rahma',
        selfie_image: forged,
      }),
    );
    const replay = await invokeApi(
      handler,
      postVerificationEvent({
        verification_id: id,
        ...agusIdentity,
        selfie_image: agusSelfie.dataUri,
      }),
    );

    // Assess
    const problem = expectRefusal(forgedResult, [409], ['Siti Nurhaliza Rahma']);
    expect(problem.code).toBe('VERIFICATION_ID_CONFLICT');
    expect(pathsOf(problem)).toEqual(['name', 'selfie_image']);
    expect(replay.statusCode).toBe(200);
    expect(headerOf(replay, 'facematch-replayed')).toBe('true');
    expect(paidCalls(id)).toHaveLength(1);
  });

  it('lets a POST without selfie take over an upload that named nobody, as a POST with one would (finding 6)', async () => {
    // Prepare: an upload without identity ends FAILED / MISSING_IDENTITY
    const id = `hostile-anon-${randomUUID().slice(0, 8)}`;
    const key = `incoming/${id}.jpg`;
    await t.localAws.s3Client.send(
      new PutObjectCommand({ Bucket: t.localAws.bucket, Key: key, Body: agusSelfie.bytes }),
    );
    const queueHandler = createSelfieUploadedHandler(t.runtime, { maxReceiveCount: 3 });
    await invokeQueue(queueHandler, sqsEvent([{ body: s3NotificationBody([key]) }]));
    expect(await t.runtime.deps.store.get(id)).toMatchObject({
      status: 'FAILED',
      error: { code: 'MISSING_IDENTITY' },
    });

    // Act
    const opened = await invokeApi(
      handler,
      postVerificationEvent({ verification_id: id, ...agusIdentity }),
    );

    // Assess: PENDING for Agus, with a form for his own upload
    expect(opened.statusCode).toBe(202);
    expect(JSON.parse(opened.body)).toMatchObject({
      status: 'PENDING',
      nik_masked: expect.stringMatching(/^\d{4}\*{8}\d{4}$/),
      upload: { fields: { key } },
    });
    expect(await t.runtime.deps.store.get(id)).not.toHaveProperty('lease_owner');
    expect(paidCalls(id)).toHaveLength(0);
  });

  it('answers 409 to a second POST without selfie naming another person for a PENDING id, with no form', async () => {
    // Prepare
    const id = `hostile-bind-${randomUUID().slice(0, 8)}`;
    const opened = await invokeApi(
      handler,
      postVerificationEvent({ verification_id: id, ...agusIdentity }),
    );
    expect(opened.statusCode).toBe(202);

    // Act
    const other = await invokeApi(
      handler,
      postVerificationEvent({ verification_id: id, ...agusIdentity, name: 'Siti Nurhaliza Rahma' }),
    );

    // Assess
    const problem = expectRefusal(other, [409], ['Siti Nurhaliza Rahma']);
    expect(pathsOf(problem)).toEqual(['name']);
    expect(other.body).not.toContain('upload');
  });
});

describe('the local S3 judges a presigned POST form as S3 does, before writing a byte', () => {
  interface Form {
    url: string;
    fields: Record<string, string>;
  }
  let api: ApiHandler;

  /** The API's own form for a fresh id (POST without a selfie), as a client receives it. */
  async function formFor(label: string): Promise<{ id: string; form: Form }> {
    const id = `hostile-form-${label}-${randomUUID().slice(0, 8)}`;
    const result = await invokeApi(
      api,
      postVerificationEvent({ verification_id: id, ...agusIdentity }),
    );
    expect(result.statusCode).toBe(202);
    return { id, form: (JSON.parse(result.body) as { upload: Form }).upload };
  }

  /** Posts `fields` (in this order) and then the file, as a browser would. */
  async function post(url: string, fields: Array<[string, string]>, file: Uint8Array) {
    const body = new FormData();
    for (const [name, value] of fields) body.append(name, value);
    body.append('file', new Blob([file], { type: 'image/jpeg' }), 'selfie.jpg');
    const response = await fetch(url, { method: 'POST', body });
    return { status: response.status, text: await response.text() };
  }

  const exists = async (key: string) =>
    t.localAws.s3Client.send(new HeadObjectCommand({ Bucket: t.localAws.bucket, Key: key })).then(
      () => true,
      () => false,
    );
  const s3Code = (text: string) => /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  const policyOf = (form: Form) =>
    JSON.parse(Buffer.from(form.fields.Policy ?? '', 'base64').toString('utf8')) as {
      expiration: string;
      conditions: unknown[];
    };

  beforeAll(() => {
    api = createApiHandler(t.runtime);
  });

  it('stores the upload of an untouched form under its key (the control case)', async () => {
    // Prepare
    const { id, form } = await formFor('ok');

    // Act
    const response = await post(form.url, Object.entries(form.fields), agusSelfie.bytes);

    // Assess
    expect(response.status).toBe(204);
    expect(await exists(`incoming/${id}.jpg`)).toBe(true);
  });

  it("refuses a form for one verification (atk) writing another's key (victim): 403, nothing written", async () => {
    // Prepare: the victim has a PENDING verification waiting for its own upload.
    const { form } = await formFor('atk');
    const { id: victim } = await formFor('victim');
    const victimKey = `incoming/${victim}.jpg`;

    // Act
    const response = await post(
      form.url,
      Object.entries({ ...form.fields, key: victimKey }),
      agusSelfie.bytes,
    );

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('AccessDenied');
    expect(response.text).toContain('Policy Condition failed');
    expect(await exists(victimKey)).toBe(false);
    expect((await t.runtime.deps.store.get(victim))?.status).toBe('PENDING');
  });

  it.each([
    [
      'an expired policy',
      async () =>
        t.runtime.deps.selfies.createUpload({
          key: `incoming/hostile-expired-${randomUUID().slice(0, 8)}.jpg`,
          maxBytes: SELFIE_MAX_BYTES,
          expiresInSeconds: -1,
          metadata: { 'verification-id': 'x' },
        }),
      (fields: Record<string, string>) => Object.entries(fields),
      403,
      'AccessDenied',
    ],
    [
      'a tampered policy (a larger size range, signature unchanged)',
      async () => (await formFor('tampered')).form,
      (fields: Record<string, string>) => {
        const policy = JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8'));
        policy.conditions = policy.conditions.map((condition: unknown) =>
          Array.isArray(condition) && condition[0] === 'content-length-range'
            ? ['content-length-range', 1, 1024 * 1024 * 1024]
            : condition,
        );
        const Policy = Buffer.from(JSON.stringify(policy)).toString('base64');
        return Object.entries({ ...fields, Policy });
      },
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'a policy signed with another secret',
      async () => (await formFor('forged')).form,
      (fields: Record<string, string>) =>
        Object.entries({ ...fields, 'X-Amz-Signature': 'ab'.repeat(32) }),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'the signed metadata left out',
      async () => (await formFor('nometa')).form,
      (fields: Record<string, string>) =>
        Object.entries(fields).filter(([name]) => !name.startsWith('x-amz-meta-')),
      403,
      'AccessDenied',
    ],
    [
      'unsigned metadata added (a NIK naming someone else)',
      async () => (await formFor('extra')).form,
      (fields: Record<string, string>) => [
        ...Object.entries(fields),
        ['x-amz-meta-nik', agus.nik] as [string, string],
      ],
      403,
      'AccessDenied',
    ],
    [
      'a second key field after the signed one',
      async () => (await formFor('twokeys')).form,
      (fields: Record<string, string>) => [
        ...Object.entries(fields),
        ['key', 'incoming/hostile-other.jpg'] as [string, string],
      ],
      400,
      'InvalidArgument',
    ],
    [
      'a Content-Type that is not an image',
      async () => (await formFor('type')).form,
      (fields: Record<string, string>) =>
        Object.entries({ ...fields, 'Content-Type': 'text/html' }),
      403,
      'AccessDenied',
    ],
  ])("refuses %s with S3's error, and writes nothing", async (_case, make, alter, status, code) => {
    // Prepare
    const form = await make();

    // Act
    const response = await post(form.url, alter(form.fields), agusSelfie.bytes);

    // Assess
    expect(response.status).toBe(status);
    expect(s3Code(response.text)).toBe(code);
    expect(response.text).not.toContain(agus.nik);
    expect(await exists(form.fields.key ?? '')).toBe(false);
    expect(await exists('incoming/hostile-other.jpg')).toBe(false);
  });

  it('refuses a file over the signed size range with EntityTooLarge, and an empty one with EntityTooSmall', async () => {
    // Prepare
    const { id, form } = await formFor('size');
    expect(policyOf(form).conditions).toContainEqual(['content-length-range', 1, SELFIE_MAX_BYTES]);

    // Act
    const large = await post(
      form.url,
      Object.entries(form.fields),
      new Uint8Array(SELFIE_MAX_BYTES + 1),
    );
    const empty = await post(form.url, Object.entries(form.fields), new Uint8Array(0));

    // Assess
    expect([large.status, s3Code(large.text)]).toEqual([400, 'EntityTooLarge']);
    expect([empty.status, s3Code(empty.text)]).toEqual([400, 'EntityTooSmall']);
    expect(await exists(`incoming/${id}.jpg`)).toBe(false);
  });

  it('refuses any change to any signed field, and stores nothing', async () => {
    // Prepare: one real form; every run changes one field's value (Content-Type to a non-image).
    const { form } = await formFor('fuzz');
    const names = Object.keys(form.fields);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
        async (name, value) => {
          const changed = name === 'Content-Type' ? `text/${value}` : value;
          fc.pre(changed !== form.fields[name]);

          // Act
          const response = await post(
            form.url,
            Object.entries({ ...form.fields, [name]: changed }),
            agusSelfie.bytes,
          );

          // Assess
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          expect(s3Code(response.text)).toMatch(/^[A-Za-z]+$/);
        },
      ),
      { numRuns: 60 },
    );
    expect(await exists(form.fields.key ?? '')).toBe(false);
  });
});

describe('the logs of every fuzz run', () => {
  it('hold none of the NIKs and names sent, nor the IDmeta token', () => {
    // Prepare: the scan must see what it scans.
    const text = output.text();
    expect(text).toContain('"message":"verification recorded"');
    expect(sentNiks.size).toBeGreaterThan(10);
    expect(sentNames.size).toBeGreaterThan(10);

    // Assess
    const lowered = text.toLowerCase();
    for (const nik of sentNiks) expect(text).not.toContain(nik);
    for (const name of sentNames) {
      expect(lowered).not.toContain(name.toLowerCase());
      expect(text).not.toContain(encodeURIComponent(name));
    }
    expect(text).not.toContain(DEFAULT_SIM_TOKEN);
    expect(text).not.toContain(agusSelfie.bytes.toString('base64').slice(0, 40));
  });
});
