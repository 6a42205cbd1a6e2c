/**
 * Signals through both entrances over the real adapters: the `by-person` index on dynalite, the
 * API and queue handlers, the IDmeta simulator. dynalite updates a global secondary index with
 * the write; DynamoDB does so within about a second (eventually consistent), which
 * docs/architecture.md accounts for.
 */
import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyResult, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPersonIndex } from '../../lambda/adapters/person-index.ts';
import { createApiHandler } from '../../lambda/handlers/api-handler.ts';
import { createSelfieUploadedHandler } from '../../lambda/handlers/selfie-uploaded-handler.ts';
import { loadRegistry, referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { lambdaContext } from '../../local/lambda-shim.ts';
import {
  captureOutput,
  type OutputCapture,
  postVerificationEvent,
  s3NotificationBody,
  sqsEvent,
  uploadMetadata,
} from '../support/events.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const people = loadRegistry().people;
const personAt = (index: number) => people[index] ?? expect.fail(`no registry person ${index}`);

const TIGHT = { default: { velocity: { reviewAfter: 2, refuseAfter: 3, windowHours: 24 } } };

const newId = (label: string) => `sig-${label}-${randomUUID().slice(0, 8)}`;

const headerOf = (result: APIGatewayProxyResult, name: string) =>
  Object.entries(result.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

describe('signals over dynalite, through both entrances', () => {
  let local: TestRuntime;
  let output: OutputCapture;
  let api: ReturnType<typeof createApiHandler>;
  let queue: ReturnType<typeof createSelfieUploadedHandler>;

  const post = (id: string, who: ReturnType<typeof personAt>) =>
    api(
      postVerificationEvent({
        verification_id: id,
        nik: who.nik,
        name: who.name,
        date_of_birth: who.date_of_birth,
        selfie_image: referenceSelfie(who.nik).dataUri,
      }),
      lambdaContext('facematch-api', 28_000),
    ) as Promise<APIGatewayProxyResult>;

  /** Facematch calls the simulator answered for these ids. */
  const paidCalls = (ids: readonly string[]) =>
    local.simulator
      .calls()
      .filter(
        (call) =>
          call.endpoint === 'dukcapilfacematch' && ids.includes(call.verificationId ?? '(none)'),
      );

  beforeAll(async () => {
    output = captureOutput();
    local = await startTestRuntime({
      quiet: false,
      env: { POLICY_PROFILES: JSON.stringify(TIGHT) },
    });
    api = createApiHandler(local.runtime);
    queue = createSelfieUploadedHandler(local.createRuntime({ busyWaitMs: 0 }));
  });

  afterAll(async () => {
    output?.restore();
    await local?.stop();
  });

  it('reviews, then answers 429 NIK_VELOCITY_EXCEEDED with Retry-After before paying, counted in LocalRefusals', async () => {
    const who = personAt(0);
    const ids = [newId('a'), newId('b'), newId('c'), newId('d')];
    const answers: APIGatewayProxyResult[] = [];
    for (const id of ids.slice(0, 3)) answers.push(await post(id, who));
    // A replay of the first: answered from the record, not another attempt.
    const replay = await post(ids[0] as string, who);

    const refused = await post(ids[3] as string, who);

    expect(answers.map((answer) => JSON.parse(answer.body).decision)).toEqual([
      'APPROVED',
      'APPROVED',
      'REVIEW',
    ]);
    expect(JSON.parse(answers[2]?.body ?? '{}')).toMatchObject({
      reasons: expect.arrayContaining(['NIK_VELOCITY']),
      signals: { nik_attempts_24h: 2, nik_previously_approved: true },
      policy: { profile: 'default', version: expect.stringMatching(/^[0-9a-f]{12}$/) },
    });
    expect(replay.statusCode).toBe(200);
    expect(refused.statusCode).toBe(429);
    expect(headerOf(refused, 'content-type')).toBe('application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({ status: 429, code: 'NIK_VELOCITY_EXCEEDED' });
    const retryAfter = Number(headerOf(refused, 'retry-after'));
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
    expect(paidCalls(ids)).toHaveLength(3);
    expect(await local.runtime.deps.store.get(ids[3] as string)).toMatchObject({
      status: 'FAILED',
      error: { code: 'NIK_VELOCITY_EXCEEDED' },
    });
    const text = output.text();
    expect(text).toMatch(/"LocalRefusals"/);
    expect(text).toMatch(/"reason":"NIK_VELOCITY_EXCEEDED"/);
    expect(text).not.toContain(who.nik);
  });

  it('ends an upload FAILED with NIK_VELOCITY_EXCEEDED on the S3 path, acknowledges it and drops the object', async () => {
    const who = personAt(1);
    const earlier = [newId('e'), newId('f'), newId('g')];
    for (const id of earlier) await post(id, who);
    const id = newId('upload');
    const key = `incoming/${id}.jpg`;
    await local.localAws.s3Client.send(
      new PutObjectCommand({
        Bucket: local.localAws.bucket,
        Key: key,
        Body: referenceSelfie(who.nik).bytes,
        Metadata: uploadMetadata(who),
      }),
    );

    const response = (await queue(
      sqsEvent([{ body: s3NotificationBody([key]) }]),
      lambdaContext('facematch-selfie-uploaded', 120_000),
    )) as SQSBatchResponse;

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await local.runtime.deps.store.get(id)).toMatchObject({
      status: 'FAILED',
      source: 's3',
      reasons: ['NIK_VELOCITY_EXCEEDED'],
      signals: { nik_attempts_24h: 3 },
    });
    expect(paidCalls(earlier)).toHaveLength(3);
    expect(paidCalls([id])).toHaveLength(0);
    const exists = await local.localAws.s3Client
      .send(new HeadObjectCommand({ Bucket: local.localAws.bucket, Key: key }))
      .then(
        () => true,
        () => false,
      );
    expect(exists).toBe(false);
  });

  it('reads one NIK hash from the by-person index: newest first, its projection only, since a time', async () => {
    const who = personAt(2);
    const first = newId('h1');
    const second = newId('h2');
    await post(first, who);
    await post(second, who);
    const index = new DynamoPersonIndex({
      client: local.localAws.documentClient,
      tableName: local.localAws.tableName,
    });
    const hash = await local.runtime.deps.vault.hashNik(who.nik);

    const all = await index.recent(hash, Date.now() - 60_000);
    const none = await index.recent(hash, Date.now() + 60_000);
    const nobody = await index.recent('', 0);

    expect(all.map((item) => item.verificationId)).toEqual([second, first]);
    const stored = await local.runtime.deps.store.get(second);
    expect(all[0]).toEqual({
      verificationId: second,
      createdAt: stored?.created_at,
      status: 'COMPLETED',
      decision: stored?.decision,
      completedAt: expect.any(String),
      idmetaAt: expect.any(Number),
    });
    expect(none).toEqual([]);
    expect(nobody).toEqual([]);
  });
});
