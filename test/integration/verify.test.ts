/**
 * verify() and the S3 path end to end with the real adapters, built by the production composition
 * root (`createRuntime(parseConfig(env))`): the DynamoDB verdict store on dynalite, the S3 selfie
 * store on s3rver, the real IdmetaClient against the IDmeta simulator, the real identity vault.
 * test/unit/verify.test.ts runs the same scenarios against in-memory fakes; here the decisions come
 * from the simulator's fictional registry and its reference selfies.
 *
 * Tests run one after another on shared servers; each uses a fresh verification id, and the
 * simulator's call log and fault queue are reset before each.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DeadlineExceededError,
  FacematchError,
  IdmetaTimeoutError,
  IdmetaTokenError,
  IdmetaUnavailableError,
  LeaseLostError,
  SelfieNotFoundError,
  SelfieTooLargeError,
  UnsupportedSelfieTypeError,
  ValidationError,
  VerificationInProgressError,
} from '../../lambda/core/errors.ts';
import { newRecord } from '../../lambda/core/record.ts';
import {
  markDeadLettered,
  startPendingVerification,
  verify,
  verifyUploadedSelfie,
} from '../../lambda/core/verify.ts';
import type { Runtime } from '../../lambda/runtime.ts';
import {
  loadRegistry,
  referenceSelfie,
  type SimPerson,
} from '../../local/idmeta-simulator/registry.ts';
import { DEFAULT_SIM_TOKEN, type SimCall } from '../../local/idmeta-simulator/server.ts';
import { uploadMetadata } from '../support/events.ts';
import { makePng } from '../support/images.ts';
import {
  apiRequest,
  RotatableSecret,
  startTestRuntime,
  TEST_TEMPLATE_ID,
  type TestRuntime,
  withTokenSource,
} from '../support/runtime.ts';

const SELFIE_MAX_BYTES = 1024 * 1024;

const REGISTRY = loadRegistry();
function registryPerson(nik: string): SimPerson {
  const person = REGISTRY.people.find((candidate) => candidate.nik === nik);
  if (person === undefined) throw new Error(`no registry person with NIK ${nik}`);
  return person;
}
const AGUS = registryPerson('3174051403880012'); // clean match, 98.7
const SITI = registryPerson('3273016107920003'); // a woman, clean match, 96.2
const HENDRA = registryPerson('3578020211790007'); // HIGH risk, 97.5
const NI_LUH = registryPerson('5171034901960021'); // face 72.0
const ANDI = registryPerson('7371113012850004'); // JPEG 91.3, PNG 88.6
const RINA = registryPerson('3374104505000009'); // face 31.5

interface Person {
  nik: string;
  name: string;
  date_of_birth: string;
}
/** Structurally valid (born 12-06-1993, serial 0001), but in no registry. */
const UNREGISTERED: Person = {
  nik: '3201011206930001',
  name: 'Budi Santoso Wijaya',
  date_of_birth: '12-06-1993',
};

let t: TestRuntime;
/** The queue Lambda's runtime on the same servers: a busy id goes straight back to the queue. */
let queue: Runtime;

const newId = (): string => `ver-${randomUUID()}`;
const budget = (ms = 20_000) => ({ deadline: Date.now() + ms });
const maskOf = (nik: string): string => `${nik.slice(0, 4)}********${nik.slice(-4)}`;

/** The POST /verifications body for a person, their first reference selfie inline. */
function bodyOf(person: Person, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    verification_id: newId(),
    nik: person.nik,
    name: person.name,
    date_of_birth: person.date_of_birth,
    ...('selfie_image' in overrides ? {} : { selfie_image: referenceSelfie(person.nik).dataUri }),
    ...overrides,
  };
}

const idOf = (body: Record<string, unknown>): string => String(body.verification_id);

function facematchCalls(verificationId?: string): SimCall[] {
  return t.simulator
    .calls()
    .filter(
      (call) =>
        call.endpoint === 'dukcapilfacematch' &&
        (verificationId === undefined || call.verificationId === verificationId),
    );
}

/** The raw DynamoDB item, internal attributes included. */
async function storedItem(verificationId: string): Promise<Record<string, unknown> | undefined> {
  const output = await t.localAws.documentClient.send(
    new GetCommand({ TableName: t.localAws.tableName, Key: { verification_id: verificationId } }),
  );
  return output.Item;
}

async function scanTable(tableName: string): Promise<Record<string, unknown>[]> {
  const output = await t.localAws.documentClient.send(new ScanCommand({ TableName: tableName }));
  return output.Items ?? [];
}

/** The error a promise rejects with; fails the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<FacematchError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof FacematchError)) throw new Error('expected a FacematchError rejection');
  return outcome;
}

function expectNoPersonalData(item: unknown, person: Person): void {
  const text = JSON.stringify(item);
  expect(text).not.toContain(person.nik);
  expect(text.toLowerCase()).not.toContain(person.name.toLowerCase());
}

async function putSelfie(
  key: string,
  bytes: Uint8Array,
  metadata?: Record<string, string>,
): Promise<void> {
  await t.localAws.s3Client.send(
    new PutObjectCommand({ Bucket: t.localAws.bucket, Key: key, Body: bytes, Metadata: metadata }),
  );
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await t.localAws.s3Client.send(new HeadObjectCommand({ Bucket: t.localAws.bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound') return false;
    throw error;
  }
}

beforeAll(async () => {
  // Exact reasons per registry answer: no signals (test/support/runtime.ts says why).
  t = await startTestRuntime({
    env: { SELFIE_MAX_BYTES: String(SELFIE_MAX_BYTES) },
    signals: false,
  });
  queue = t.createRuntime({ busyWaitMs: 0 });
});

afterAll(async () => {
  await t?.stop();
});

beforeEach(() => {
  t.simulator.resetCalls();
  t.simulator.clearFaults();
  t.simulator.setTokens([DEFAULT_SIM_TOKEN]);
});

describe('verify() decides from what the registry answers', () => {
  it.each([
    {
      label: 'a registry person with their reference selfie is APPROVED',
      person: AGUS,
      overrides: {},
      expected: { decision: 'APPROVED', reasons: ['ALL_CHECKS_PASSED'], face_similarity: 98.7 },
    },
    {
      label: 'a registry person with their PNG reference selfie is APPROVED',
      person: ANDI,
      overrides: { selfie_image: referenceSelfie(ANDI.nik, 1).dataUri },
      expected: { decision: 'APPROVED', reasons: ['ALL_CHECKS_PASSED'], face_similarity: 88.6 },
    },
    {
      label: 'the HIGH-risk person goes to REVIEW for HIGH_RISK',
      person: HENDRA,
      overrides: {},
      expected: {
        decision: 'REVIEW',
        reasons: ['HIGH_RISK'],
        face_similarity: 97.5,
        risk_rating: 'HIGH',
      },
    },
    {
      label: 'a face score of 72 goes to REVIEW as FACE_INCONCLUSIVE',
      person: NI_LUH,
      overrides: {},
      expected: { decision: 'REVIEW', reasons: ['FACE_INCONCLUSIVE'], face_similarity: 72 },
    },
    {
      label: 'a face score of 31.5 is REJECTED',
      person: RINA,
      overrides: {},
      expected: {
        decision: 'REJECTED',
        reasons: ['IDMETA_REJECTED', 'FACE_BELOW_THRESHOLD'],
        face_similarity: 31.5,
      },
    },
    {
      label: 'a structurally valid NIK that Dukcapil does not know is REJECTED as NIK_NOT_FOUND',
      person: UNREGISTERED,
      overrides: { selfie_image: referenceSelfie(AGUS.nik).dataUri },
      expected: {
        decision: 'REJECTED',
        reasons: ['IDMETA_REJECTED', 'NIK_NOT_FOUND'],
        face_similarity: null,
        matches: expect.objectContaining({ nik: false }),
      },
    },
    {
      label: 'a registry NIK under another name goes to REVIEW as NAME_MISMATCH',
      person: AGUS,
      overrides: { name: 'Agus Hartanto' },
      expected: {
        decision: 'REVIEW',
        reasons: ['NAME_MISMATCH'],
        face_similarity: 98.7,
        matches: expect.objectContaining({ nik: true, name: false, date_of_birth: true }),
      },
    },
  ])('$label', async ({ person, overrides, expected }) => {
    // Prepare
    const body = bodyOf(person, overrides);
    const id = idOf(body);

    // Act
    const { record, replayed } = await verify(
      apiRequest(body, t.runtime),
      t.runtime.deps,
      budget(),
    );

    // Assess
    expect(replayed).toBe(false);
    expect(record).toMatchObject({
      verification_id: id,
      template_id: TEST_TEMPLATE_ID,
      status: 'COMPLETED',
      source: 'api',
      attempts: 1,
      nik_masked: maskOf(person.nik),
      ...expected,
    });
    expect(record.error).toBeUndefined();
    expect(facematchCalls(id).map((call) => call.httpStatus)).toEqual([200]);
    // The caller brought its own id: finalising it is the caller's business.
    expect(t.simulator.calls().map((call) => call.endpoint)).toEqual(['dukcapilfacematch']);
    const item = await storedItem(id);
    expect(item).toMatchObject({ ...record });
    expect(item).not.toHaveProperty('lease_owner');
    expect(item).not.toHaveProperty('sealed_identity');
    expectNoPersonalData(item, { ...person, name: String(body.name) });
  });

  it('creates the IDmeta verification when the caller brings no id, and finalises it after the verdict', async () => {
    // Prepare
    const body = bodyOf(AGUS, { verification_id: undefined });

    // Act
    const { record } = await verify(apiRequest(body, t.runtime), t.runtime.deps, budget());

    // Assess
    expect(record.verification_id).toMatch(/^sim-/);
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 1 });
    expect(t.simulator.calls().map((call) => [call.endpoint, call.httpStatus])).toEqual([
      ['create-verification', 200],
      ['dukcapilfacematch', 200],
      ['finalize-verification', 200],
    ]);
    expect(facematchCalls(record.verification_id)).toHaveLength(1);
    const item = await storedItem(record.verification_id);
    expect(item).toMatchObject({ status: 'COMPLETED', idmeta_verification_owned: true });
    expectNoPersonalData(item, AGUS);
  });
});

describe('verify() pays IDmeta once per verification id', () => {
  it('makes one IDmeta call when 20 requests for one id arrive together, and gives all 20 its verdict', async () => {
    // Prepare: a slow answer, so every other request finds the id taken and waits for it.
    const body = bodyOf(AGUS);
    const id = idOf(body);
    t.simulator.scriptFaults([{ latencyMs: 300 }], { verificationId: id });
    const request = apiRequest(body, t.runtime);

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => verify(request, t.runtime.deps, budget())),
    );

    // Assess
    expect(facematchCalls(id)).toHaveLength(1);
    const paid = outcomes.filter((outcome) => !outcome.replayed);
    expect(paid).toHaveLength(1);
    const verdict = paid[0]?.record;
    expect(verdict).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 1 });
    for (const outcome of outcomes) expect(outcome.record).toEqual(verdict);
    const items = (await scanTable(t.localAws.tableName)).filter(
      (item) => item.verification_id === id,
    );
    expect(items).toHaveLength(1);
    expectNoPersonalData(items, AGUS);
  });

  it('takes over a verification whose worker died after claiming, once its lease has expired', async () => {
    // Prepare: the dead worker's claim, exactly as verify() writes it, with a 1-second lease; it
    // died before calling IDmeta.
    const body = bodyOf(SITI);
    const id = idOf(body);
    const claimedAt = Date.now();
    const leaseExpiresAt = claimedAt + 1_000;
    const claim = await t.runtime.deps.store.claim({
      fresh: {
        ...newRecord({
          verificationId: id,
          templateId: TEST_TEMPLATE_ID,
          nikMasked: maskOf(SITI.nik),
          nikHash: await t.runtime.deps.vault.hashNik(SITI.nik),
          source: 'api',
          status: 'PROCESSING',
          now: claimedAt,
          retentionDays: 30,
          idmetaVerificationOwned: false,
        }),
        attempts: 1,
        lease_owner: 'worker-that-died',
        lease_expires_at: leaseExpiresAt,
      },
      leaseOwner: 'worker-that-died',
      leaseExpiresAt,
      now: claimedAt,
    });
    expect(claim.kind).toBe('claimed');

    // Act: a queue worker (no waiting) during the lease, then an API request that waits it out.
    const whileLeased = verify(apiRequest(body, queue), queue.deps, budget());
    await expect(whileLeased).rejects.toBeInstanceOf(VerificationInProgressError);
    const { record } = await verify(apiRequest(body, t.runtime), t.runtime.deps, budget());

    // Assess
    expect(Date.now()).toBeGreaterThan(leaseExpiresAt);
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 2 });
    expect(facematchCalls(id).map((call) => call.httpStatus)).toEqual([200]);
    const item = await storedItem(id);
    expect(item).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(item).not.toHaveProperty('lease_owner');
    expectNoPersonalData(item, SITI);
  });

  it('lets a second worker finish when the first stalls inside IDmeta past its lease, and refuses the stalled worker’s late write', async () => {
    // Prepare: a worker frozen inside its IDmeta call for longer than its lease (a paused
    // container). The configuration refuses a lease shorter than the IDmeta budget, so the
    // 1-second lease is set on the runtime directly; IDmeta never answers the first call.
    const shortLease = t.createRuntime({ busyWaitMs: 0 });
    shortLease.deps.settings.leaseMs = 1_000;
    const body = bodyOf(AGUS);
    const id = idOf(body);
    const request = apiRequest(body, shortLease);
    t.simulator.scriptFaults([{ hang: true }], { verificationId: id });
    const stalledWorker = new AbortController();
    const stalled = verify(request, shortLease.deps, {
      ...budget(),
      signal: stalledWorker.signal,
    });
    stalled.catch(() => undefined); // assessed below
    while (facematchCalls(id).length === 0) await sleep(20);
    const leaseExpiresAt = Number((await storedItem(id))?.lease_expires_at);
    await sleep(Math.max(0, leaseExpiresAt - Date.now()) + 50);

    // Act
    const { record } = await verify(request, shortLease.deps, budget());
    stalledWorker.abort();

    // Assess: what is countable is what reached IDmeta. Two requests did: the stalled one was
    // never answered (it may still have been billed: only IDmeta knows), the second one was.
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 2 });
    expect(facematchCalls(id).map((call) => call.httpStatus)).toEqual([0, 200]);
    await expect(stalled).rejects.toBeInstanceOf(LeaseLostError);
    const item = await storedItem(id);
    expect(item).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 2 });
    expect(item).not.toHaveProperty('error');
    expect(facematchCalls(id)).toHaveLength(2);
  });
});

describe('verify() rides out IDmeta faults', () => {
  it('retries a 503 and completes with the second answer', async () => {
    // Prepare
    const body = bodyOf(AGUS);
    const id = idOf(body);
    t.simulator.scriptFaults([{ status: 503 }], { verificationId: id });

    // Act
    const { record } = await verify(apiRequest(body, t.runtime), t.runtime.deps, budget());

    // Assess
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 1 });
    expect(facematchCalls(id).map((call) => call.httpStatus)).toEqual([503, 200]);
    expectNoPersonalData(await storedItem(id), AGUS);
  });

  it('waits as long as a 429 Retry-After asks before trying again', async () => {
    // Prepare
    const body = bodyOf(AGUS);
    const id = idOf(body);
    t.simulator.scriptFaults([{ status: 429, retryAfter: 1 }], { verificationId: id });
    const started = Date.now();

    // Act
    const { record } = await verify(apiRequest(body, t.runtime), t.runtime.deps, budget());

    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 1 });
    const calls = facematchCalls(id);
    expect(calls.map((call) => call.httpStatus)).toEqual([429, 200]);
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('gives up on an IDmeta that never answers after IDMETA_TIMEOUT_MS per attempt, leaving the id for a retry', async () => {
    // Prepare
    const impatient = t.createRuntime({
      env: { IDMETA_TIMEOUT_MS: '200', IDMETA_MAX_ATTEMPTS: '2' },
    });
    const body = bodyOf(AGUS);
    const id = idOf(body);
    const request = apiRequest(body, impatient);
    t.simulator.scriptFaults([{ hang: true }, { hang: true }], { verificationId: id });
    const started = Date.now();

    // Act
    const timedOut = verify(request, impatient.deps, budget());

    // Assess
    await expect(timedOut).rejects.toBeInstanceOf(IdmetaTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(facematchCalls(id).map((call) => call.httpStatus)).toEqual([0, 0]);
    const released = await storedItem(id);
    expect(released).toMatchObject({
      status: 'PENDING',
      decision: null,
      attempts: 1,
      error: { code: 'IDMETA_TIMEOUT' },
    });
    expect(released).not.toHaveProperty('lease_owner');

    const { record } = await verify(request, impatient.deps, budget());
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 2 });
    expect(record.error).toBeUndefined();
    expect(facematchCalls(id).map((call) => call.httpStatus)).toEqual([0, 0, 200]);
  });

  it('re-reads a rotated token after a 401 and completes with it', async () => {
    // Prepare: the secret was rotated; the client still holds the old value.
    const secret = new RotatableSecret(DEFAULT_SIM_TOKEN);
    const deps = withTokenSource(t.runtime, secret);
    secret.stored = 'sim-token-rotated';
    t.simulator.setTokens(['sim-token-rotated']);
    const body = bodyOf(AGUS);
    const id = idOf(body);

    // Act
    const { record } = await verify(apiRequest(body, t.runtime), deps, budget());

    // Assess
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 1 });
    expect(secret.refreshes).toBe(1);
    expect(facematchCalls().map((call) => call.httpStatus)).toEqual([401, 200]);
    expect(facematchCalls(id)).toHaveLength(1); // a 401 is answered before the body is read
  });

  it('fails for good with IDMETA_TOKEN_REJECTED when a re-read token is refused too, and never calls again for that id', async () => {
    // Prepare: the token is revoked and the secret still holds it.
    const secret = new RotatableSecret(DEFAULT_SIM_TOKEN);
    const deps = withTokenSource(t.runtime, secret);
    t.simulator.setTokens(['a-token-nobody-has']);
    const body = bodyOf(AGUS);
    const id = idOf(body);
    const request = apiRequest(body, t.runtime);

    // Act
    const refused = verify(request, deps, budget());

    // Assess
    await expect(refused).rejects.toBeInstanceOf(IdmetaTokenError);
    expect(secret.refreshes).toBe(1);
    expect(facematchCalls().map((call) => call.httpStatus)).toEqual([401, 401]);
    const item = await storedItem(id);
    expect(item).toMatchObject({
      status: 'FAILED',
      decision: null,
      reasons: ['IDMETA_TOKEN_REJECTED'],
      error: { code: 'IDMETA_TOKEN_REJECTED' },
      attempts: 1,
    });
    expectNoPersonalData(item, AGUS);

    // Even once the operator has fixed the token, the id stays answered by its record.
    t.simulator.setTokens([DEFAULT_SIM_TOKEN]);
    const again = await verify(request, deps, budget());
    expect(again.replayed).toBe(true);
    expect(again.record).toMatchObject({
      status: 'FAILED',
      error: { code: 'IDMETA_TOKEN_REJECTED' },
    });
    expect(facematchCalls()).toHaveLength(2);
  });
});

describe('verify() refuses bad input before writing anything or calling IDmeta', () => {
  let runtime: Runtime;
  let tableName: string;

  beforeAll(async () => {
    tableName = await t.createTable();
    runtime = t.createRuntime({
      env: { VERDICT_TABLE_NAME: tableName, SELFIE_MAX_BYTES: String(SELFIE_MAX_BYTES) },
    });
  });

  const gif = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.alloc(64, 1)]);
  const oversized = Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
    Buffer.alloc(SELFIE_MAX_BYTES),
  ]);

  it.each([
    {
      label: 'a NIK issued for another birth date',
      overrides: { date_of_birth: '15-03-1988' },
      error: ValidationError,
      expected: { code: 'NIK_DOB_MISMATCH', status: 400 },
    },
    {
      label: 'a 16-digit NIK that starts with 0',
      overrides: { nik: '0174051403880012' },
      error: ValidationError,
      expected: {
        code: 'INVALID_REQUEST',
        status: 400,
        issues: [expect.objectContaining({ path: 'nik' })],
      },
    },
    {
      label: 'a date of birth in the future',
      overrides: { date_of_birth: '14-03-2099' },
      error: ValidationError,
      expected: {
        code: 'INVALID_REQUEST',
        status: 400,
        issues: [{ path: 'date_of_birth', message: 'must not be in the future' }],
      },
    },
    {
      label: 'a GIF selfie',
      overrides: { selfie_image: `data:image/gif;base64,${gif.toString('base64')}` },
      error: UnsupportedSelfieTypeError,
      expected: { code: 'SELFIE_UNSUPPORTED_TYPE', status: 415 },
    },
    {
      label: 'a selfie over SELFIE_MAX_BYTES',
      overrides: { selfie_image: `data:image/jpeg;base64,${oversized.toString('base64')}` },
      error: SelfieTooLargeError,
      expected: { code: 'SELFIE_TOO_LARGE', status: 413 },
    },
    {
      label: 'a 100x100 PNG',
      overrides: { selfie_image: makePng(100, 100).toString('base64') },
      error: ValidationError,
      expected: { code: 'SELFIE_TOO_SMALL', status: 400 },
    },
  ])('refuses $label', async ({ overrides, error, expected }) => {
    // Prepare
    const body = bodyOf(AGUS, overrides);

    // Act: the API entrance's order, parse then verify.
    const attempt = (async () => verify(apiRequest(body, runtime), runtime.deps, budget()))();

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(error);
    await expect(attempt).rejects.toMatchObject(expected);
    expect(await scanTable(tableName)).toEqual([]);
    expect(t.simulator.calls()).toEqual([]);
  });

  it('refuses a selfie_s3_key that names no object with SelfieNotFoundError', async () => {
    // Prepare
    const id = newId();
    const body = bodyOf(AGUS, {
      verification_id: id,
      selfie_image: undefined,
      selfie_s3_key: `incoming/${id}.jpg`,
    });

    // Act
    const attempt = verify(apiRequest(body, runtime), runtime.deps, budget());

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(SelfieNotFoundError);
    expect(await scanTable(tableName)).toEqual([]);
    expect(t.simulator.calls()).toEqual([]);
    const listed = await t.localAws.s3Client.send(
      new ListObjectsV2Command({ Bucket: t.localAws.bucket, Prefix: `incoming/${id}` }),
    );
    expect(listed.KeyCount ?? 0).toBe(0);
  });
});

describe('the S3 path against real objects', () => {
  /** POST without a selfie: the PENDING record and its presigned upload. */
  async function startPending(person: Person) {
    const body = bodyOf(person, { selfie_image: undefined });
    const outcome = await startPendingVerification(
      apiRequest(body, t.runtime),
      t.runtime.deps,
      budget(),
    );
    return { id: idOf(body), ...outcome };
  }

  /** What a phone does with the presigned POST. */
  async function upload(
    fields: Record<string, string>,
    url: string,
    bytes: Uint8Array,
  ): Promise<void> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob([bytes], { type: fields['Content-Type'] }), 'selfie');
    const response = await fetch(url, { method: 'POST', body: form });
    expect(response.status).toBe(204);
  }

  it('completes a PENDING verification from the uploaded object, then forgets the identity and deletes the selfie', async () => {
    // Prepare
    const pending = await startPending(SITI);
    expect(pending.record).toMatchObject({ status: 'PENDING', attempts: 0 });
    const pendingItem = await storedItem(pending.id);
    expect(pendingItem?.sealed_identity).toEqual(expect.any(String));
    expectNoPersonalData(pendingItem, SITI);
    const key = `incoming/${pending.id}.jpg`;
    expect(pending.upload?.fields.key).toBe(key);
    await upload(
      pending.upload?.fields ?? {},
      pending.upload?.url ?? '',
      referenceSelfie(SITI.nik).bytes,
    );

    // Act
    const { record, replayed } = await verifyUploadedSelfie(
      { key, verificationId: pending.id },
      queue.deps,
      budget(),
    );

    // Assess
    expect(replayed).toBe(false);
    expect(record).toMatchObject({
      status: 'COMPLETED',
      decision: 'APPROVED',
      reasons: ['ALL_CHECKS_PASSED'],
      face_similarity: 96.2,
      source: 's3',
      selfie_key: key,
      attempts: 1,
      nik_masked: maskOf(SITI.nik),
    });
    expect(facematchCalls(pending.id).map((call) => call.httpStatus)).toEqual([200]);
    const item = await storedItem(pending.id);
    expect(item).toMatchObject({ status: 'COMPLETED', source: 's3' });
    expect(item).not.toHaveProperty('sealed_identity');
    expectNoPersonalData(item, SITI);
    expect(await objectExists(key)).toBe(false);
  });

  it('takes the identity from percent-encoded object metadata when there is no PENDING record', async () => {
    // Prepare
    const id = newId();
    const key = `incoming/${id}.png`;
    await putSelfie(key, referenceSelfie(ANDI.nik, 1).bytes, {
      ...uploadMetadata(ANDI),
      'template-id': 'tf-batch',
    });

    // Act
    const { record } = await verifyUploadedSelfie(
      { key, verificationId: id },
      queue.deps,
      budget(),
    );

    // Assess
    expect(record).toMatchObject({
      status: 'COMPLETED',
      decision: 'APPROVED',
      face_similarity: 88.6,
      template_id: 'tf-batch',
      source: 's3',
      attempts: 1,
    });
    expect(facematchCalls(id)).toHaveLength(1);
    expectNoPersonalData(await storedItem(id), ANDI);
    expect(await objectExists(key)).toBe(false);
  });

  it('records FAILED MISSING_IDENTITY for an object with neither a PENDING record nor identity metadata', async () => {
    // Prepare
    const id = newId();
    const key = `incoming/${id}.jpg`;
    await putSelfie(key, referenceSelfie(AGUS.nik).bytes);

    // Act
    const { record } = await verifyUploadedSelfie(
      { key, verificationId: id },
      queue.deps,
      budget(),
    );

    // Assess
    expect(record).toMatchObject({
      status: 'FAILED',
      decision: null,
      reasons: ['MISSING_IDENTITY'],
      error: { code: 'MISSING_IDENTITY' },
      source: 's3',
      attempts: 1,
    });
    expect(t.simulator.calls()).toEqual([]);
    expect(await storedItem(id)).toMatchObject({ status: 'FAILED', nik_hash: '' });
  });

  it('hands a 503 storm back to the queue with the record PENDING, then marks it DEAD_LETTERED, and a redrive still completes it', async () => {
    // Prepare: more 503s than the client will try.
    const pending = await startPending(HENDRA);
    const key = `incoming/${pending.id}.jpg`;
    await putSelfie(key, referenceSelfie(HENDRA.nik).bytes);
    const maxAttempts = queue.config.idmeta.maxAttempts;
    t.simulator.scriptFaults(
      Array.from({ length: maxAttempts + 1 }, () => ({ status: 503 })),
      { verificationId: pending.id },
    );
    const object = { key, verificationId: pending.id };

    // Act
    const failing = verifyUploadedSelfie(object, queue.deps, budget());

    // Assess: transient, so thrown for SQS; the identity and the selfie stay for the retry.
    await expect(failing).rejects.toBeInstanceOf(IdmetaUnavailableError);
    expect(facematchCalls(pending.id).map((call) => call.httpStatus)).toEqual(
      Array.from({ length: maxAttempts }, () => 503),
    );
    const released = await storedItem(pending.id);
    expect(released).toMatchObject({
      status: 'PENDING',
      decision: null,
      attempts: 1,
      error: { code: 'IDMETA_UNAVAILABLE' },
    });
    expect(released?.sealed_identity).toEqual(expect.any(String));
    expect(released).not.toHaveProperty('lease_owner');
    expectNoPersonalData(released, HENDRA);
    expect(await objectExists(key)).toBe(true);

    // Act: the queue gave up on the message.
    const lastError = await rejectionOf(failing);
    const deadLettered = await markDeadLettered(pending.id, lastError, queue.deps);

    // Assess
    expect(deadLettered).toMatchObject({
      status: 'PENDING',
      error: { code: 'DEAD_LETTERED', message: expect.stringContaining('IDMETA_UNAVAILABLE') },
    });
    expect(await storedItem(pending.id)).toMatchObject({
      status: 'PENDING',
      error: { code: 'DEAD_LETTERED' },
      sealed_identity: expect.any(String),
    });
    expect(facematchCalls(pending.id)).toHaveLength(maxAttempts);

    // Act: an operator redrives the dead-letter queue once IDmeta is back.
    t.simulator.clearFaults();
    const { record } = await verifyUploadedSelfie(object, queue.deps, budget());

    // Assess
    expect(record).toMatchObject({
      status: 'COMPLETED',
      decision: 'REVIEW',
      reasons: ['HIGH_RISK'],
    });
    expect(record.error).toBeUndefined();
    expect(facematchCalls(pending.id)).toHaveLength(maxAttempts + 1);
    expect(await storedItem(pending.id)).not.toHaveProperty('sealed_identity');
  });

  // markDeadLettered() goes through store.claim(), whose takeover adds 1 to `attempts`: marking
  // is bookkeeping, not a try, so the count must stay what the tries made it.
  it('does not count marking a record dead-lettered as an attempt', async () => {
    // Prepare
    const pending = await startPending(AGUS);
    const key = `incoming/${pending.id}.jpg`;
    await putSelfie(key, referenceSelfie(AGUS.nik).bytes);
    t.simulator.scriptFaults(
      Array.from({ length: queue.config.idmeta.maxAttempts }, () => ({ status: 503 })),
      { verificationId: pending.id },
    );
    const lastError = await rejectionOf(
      verifyUploadedSelfie({ key, verificationId: pending.id }, queue.deps, budget()),
    );
    expect(await storedItem(pending.id)).toMatchObject({ status: 'PENDING', attempts: 1 });

    // Act
    const deadLettered = await markDeadLettered(pending.id, lastError, queue.deps);

    // Assess
    expect(deadLettered).toMatchObject({ error: { code: 'DEAD_LETTERED' }, attempts: 1 });
  });
});

describe('the IDmeta deadline', () => {
  /** Less than the client's minimum attempt (1 s) is left once the store's reserve is kept back. */
  const tooClose = () => budget(t.runtime.deps.settings.storeReserveMs + 500);

  it('refuses to start an IDmeta call it could not finish, and leaves the id PENDING for a retry', async () => {
    // Prepare
    const body = bodyOf(AGUS);
    const id = idOf(body);
    const request = apiRequest(body, t.runtime);

    // Act
    const late = verify(request, t.runtime.deps, tooClose());

    // Assess
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(t.simulator.calls()).toEqual([]);
    expect(await storedItem(id)).toMatchObject({
      status: 'PENDING',
      decision: null,
      attempts: 1,
      error: { code: 'DEADLINE_EXCEEDED' },
    });

    const { record } = await verify(request, t.runtime.deps, budget());
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 2 });
    expect(facematchCalls(id)).toHaveLength(1);
  });

  it('hands an upload whose invocation is nearly over back to the queue without calling IDmeta', async () => {
    // Prepare
    const body = bodyOf(NI_LUH, { selfie_image: undefined });
    const id = idOf(body);
    await startPendingVerification(apiRequest(body, t.runtime), t.runtime.deps, budget());
    const key = `incoming/${id}.jpg`;
    await putSelfie(key, referenceSelfie(NI_LUH.nik).bytes);

    // Act
    const late = verifyUploadedSelfie({ key, verificationId: id }, queue.deps, tooClose());

    // Assess
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(t.simulator.calls()).toEqual([]);
    const released = await storedItem(id);
    expect(released).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      error: { code: 'DEADLINE_EXCEEDED' },
    });
    expect(released?.sealed_identity).toEqual(expect.any(String));
    expect(await objectExists(key)).toBe(true);

    const { record } = await verifyUploadedSelfie(
      { key, verificationId: id },
      queue.deps,
      budget(),
    );
    expect(record).toMatchObject({
      status: 'COMPLETED',
      decision: 'REVIEW',
      reasons: ['FACE_INCONCLUSIVE'],
      attempts: 2,
    });
    expect(facematchCalls(id)).toHaveLength(1);
  });
});

describe('the two entrances on one uploaded object', () => {
  // Every selfie_s3_key is `incoming/<id>.<ext>`, so the object a caller names has also raised an
  // S3 notification. When the queue handles it first (no PENDING record, no identity metadata), it
  // stores FAILED MISSING_IDENTITY under the anonymous hash; the caller's POST, which does name
  // someone, must still be able to verify the id (it once got 409 for ever).
  it('completes a selfie_s3_key request even when the object’s S3 notification was handled first', async () => {
    // Prepare
    const id = newId();
    const key = `incoming/${id}.jpg`;
    await putSelfie(key, referenceSelfie(AGUS.nik).bytes);
    await verifyUploadedSelfie({ key, verificationId: id }, queue.deps, budget());
    const body = bodyOf(AGUS, { verification_id: id, selfie_image: undefined, selfie_s3_key: key });

    // Act
    const outcome = verify(apiRequest(body, t.runtime), t.runtime.deps, budget());

    // Assess
    await expect(outcome).resolves.toMatchObject({
      record: { status: 'COMPLETED', decision: 'APPROVED' },
    });
  });

  // The same race the other way round. The caller's POST went first and IDmeta failed
  // transiently, so the record is back to PENDING (no sealed identity: the API path never seals
  // one) for the caller to retry. The object's notification, which names nobody, must leave it so.
  it('keeps a selfie_s3_key verification that IDmeta failed transiently open for the caller’s retry when the notification arrives', async () => {
    // Prepare
    const id = newId();
    const key = `incoming/${id}.jpg`;
    await putSelfie(key, referenceSelfie(AGUS.nik).bytes);
    const request = apiRequest(
      bodyOf(AGUS, { verification_id: id, selfie_image: undefined, selfie_s3_key: key }),
      t.runtime,
    );
    t.simulator.scriptFaults(
      Array.from({ length: t.runtime.config.idmeta.maxAttempts }, () => ({ status: 503 })),
      { verificationId: id },
    );
    await expect(verify(request, t.runtime.deps, budget())).rejects.toBeInstanceOf(
      IdmetaUnavailableError,
    );
    await verifyUploadedSelfie({ key, verificationId: id }, queue.deps, budget());

    // Act
    const retried = await verify(request, t.runtime.deps, budget());

    // Assess
    expect(retried.record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
  });

  it('answers the S3 notification of a selfie_s3_key object from the verdict, without another IDmeta call', async () => {
    // Prepare
    const id = newId();
    const key = `incoming/${id}.jpg`;
    await putSelfie(key, referenceSelfie(AGUS.nik).bytes);
    const body = bodyOf(AGUS, { verification_id: id, selfie_image: undefined, selfie_s3_key: key });
    const { record } = await verify(apiRequest(body, t.runtime), t.runtime.deps, budget());

    // Act
    const notified = await verifyUploadedSelfie({ key, verificationId: id }, queue.deps, budget());

    // Assess
    expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', selfie_key: key });
    expect(notified).toEqual({ record, replayed: true });
    expect(facematchCalls(id)).toHaveLength(1);
  });

  // A verdict reached through the API with `selfie_s3_key` names the object (`selfie_key`); with
  // SELFIE_DELETE_AFTER_VERDICT the biometric image must go as for an upload, not wait for the
  // bucket's lifecycle rule.
  it('deletes the object a selfie_s3_key request named once its verdict is stored', async () => {
    // Prepare
    const id = newId();
    const key = `incoming/${id}.jpg`;
    await putSelfie(key, referenceSelfie(AGUS.nik).bytes);
    const body = bodyOf(AGUS, { verification_id: id, selfie_image: undefined, selfie_s3_key: key });

    // Act
    const { record } = await verify(apiRequest(body, t.runtime), t.runtime.deps, budget());

    // Assess
    expect(record).toMatchObject({ status: 'COMPLETED', selfie_key: key });
    expect(await objectExists(key)).toBe(false);
  });
});
