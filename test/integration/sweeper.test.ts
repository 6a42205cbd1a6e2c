/**
 * The sweeper against dynalite, s3rver and the IDmeta simulator, with the production adapters:
 * each kind of stuck work is moved on by one sweep, at the cost the contract allows, and a sweep
 * reads only the worklist however many finished verdicts the table holds.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoVerdictStore } from '../../lambda/adapters/verdict-store.ts';
import { objectCreatedNotification } from '../../lambda/adapters/work-queue.ts';
import type { VerdictEventDetail } from '../../lambda/core/ports.ts';
import { newRecord } from '../../lambda/core/record.ts';
import { type SweepDeps, sweep } from '../../lambda/core/sweep.ts';
import { markDeadLettered, startPendingVerification, verify } from '../../lambda/core/verify.ts';
import { createSelfieUploadedHandler } from '../../lambda/handlers/selfie-uploaded-handler.ts';
import type { Runtime } from '../../lambda/runtime.ts';
import { referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { lambdaContext } from '../../local/lambda-shim.ts';
import { sqsEvent } from '../support/events.ts';
import { personWith } from '../support/people.ts';
import { apiRequest, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const LEASE_MS = 1_000;
const HOUR_MS = 3_600_000;
const agus = personWith('clean match');

const newId = (label: string) => `sweep-${label}-${randomUUID().slice(0, 8)}`;
const budget = () => ({ deadline: Date.now() + 20_000 });
const body = (id: string | undefined, withSelfie = false) => ({
  ...(id === undefined ? {} : { verification_id: id }),
  nik: agus.nik,
  name: agus.name,
  date_of_birth: agus.date_of_birth,
  ...(withSelfie ? { selfie_image: referenceSelfie(agus.nik, 0).dataUri } : {}),
});

describe('the sweeper', () => {
  let t: TestRuntime;
  let runtime: Runtime;
  let requeued: string[];
  let published: VerdictEventDetail[];

  const request = (payload: Record<string, unknown>) => apiRequest(payload, runtime);
  /** The sweeper's view, its clock moved `aheadMs` into the future. */
  const sweepDeps = (aheadMs = 0): SweepDeps => {
    const base = runtime.sweepDeps({ requeue: async (key) => void requeued.push(key) });
    return {
      ...base,
      verify: {
        ...base.verify,
        clock: { now: () => Date.now() + aheadMs },
        events: { publish: async (detail) => void published.push(detail) },
      },
    };
  };
  /** A sweep as if run `aheadMs` from now: its clock and its budget both moved. */
  const sweepAt = (aheadMs: number) =>
    sweep(sweepDeps(aheadMs), { deadline: Date.now() + aheadMs + 20_000 });
  const calls = (id: string, endpoint = 'dukcapilfacematch') =>
    t.simulator.calls().filter((call) => call.endpoint === endpoint && call.verificationId === id);
  const putUpload = (key: string) =>
    t.localAws.s3Client.send(
      new PutObjectCommand({
        Bucket: t.localAws.bucket,
        Key: key,
        Body: referenceSelfie(agus.nik, 0).bytes,
      }),
    );

  beforeAll(async () => {
    t = await startTestRuntime({
      env: {
        VERIFICATION_LEASE_MS: String(LEASE_MS),
        IDMETA_TIMEOUT_MS: '400',
        IDMETA_MAX_ATTEMPTS: '2',
      },
    });
    runtime = t.runtime;
  });

  beforeEach(() => {
    requeued = [];
    published = [];
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('hands a crashed worker’s upload back to the queue: finished with exactly one more IDmeta call', async () => {
    // Prepare: an upload form, its upload, and a worker that took the lease and died
    const id = newId('crash');
    await startPendingVerification(request(body(id)), runtime.deps, budget());
    const key = `incoming/${id}.jpg`;
    await putUpload(key);
    const stored = await runtime.deps.store.get(id);
    const crashed = await runtime.deps.store.claim({
      fresh: stored ?? newRecordFor(id),
      leaseOwner: 'worker-that-died',
      leaseExpiresAt: Date.now() + LEASE_MS,
      now: Date.now(),
    });
    expect(crashed.kind).toBe('claimed');
    await sleep(LEASE_MS + 100);

    // Act: one sweep, then the queue worker runs the message the sweep queued
    const report = await sweepAt(0);
    const handler = createSelfieUploadedHandler(t.createRuntime({ busyWaitMs: 0 }));
    const notification = objectCreatedNotification(t.localAws.bucket, requeued[0] ?? '');
    const result = await handler(
      sqsEvent([{ body: notification }]),
      lambdaContext('facematch-selfie-uploaded', 30_000),
    );

    // Assess
    expect(report.actions.requeued).toBe(1);
    expect(requeued).toEqual([key]);
    expect(result.batchItemFailures).toEqual([]);
    expect(await runtime.deps.store.get(id)).toMatchObject({
      status: 'COMPLETED',
      decision: 'APPROVED',
    });
    expect(calls(id)).toHaveLength(1);
  });

  it('releases a crashed synchronous verification to PENDING, and the caller’s retry completes it', async () => {
    // Prepare: a synchronous request's claim, its worker gone (the selfie was inline: no object)
    const id = newId('sync');
    const fresh = newRecordFor(id, await runtime.deps.vault.hashNik(agus.nik));
    await runtime.deps.store.claim({
      fresh,
      leaseOwner: 'worker-that-died',
      leaseExpiresAt: Date.now() + LEASE_MS,
      now: Date.now(),
    });
    await sleep(LEASE_MS + 100);

    // Act
    const report = await sweepAt(0);
    const released = await runtime.deps.store.get(id);
    const retried = await verify(request(body(id, true)), runtime.deps, budget());

    // Assess
    expect(report.actions.released).toBe(1);
    expect(released).toMatchObject({ status: 'PENDING', error: { code: 'WORKER_LOST' } });
    expect(retried.record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
    expect(calls(id)).toHaveLength(1);
  });

  it('ends a form that never got its upload as UPLOAD_EXPIRED, announced, and finalises its IDmeta verification', async () => {
    // Prepare: a form for an id IDmeta created for us
    const pending = await startPendingVerification(
      request(body(undefined)),
      runtime.deps,
      budget(),
    );
    const id = pending.record.verification_id;

    // Act: a sweep before the form expired does nothing; one after it (plus grace) ends it
    const early = await sweepAt(0);
    const late = await sweepAt(2 * HOUR_MS);

    // Assess
    expect(early.actions.expired).toBe(0);
    expect(late.actions.expired).toBeGreaterThanOrEqual(1);
    expect(await runtime.deps.store.get(id)).toMatchObject({
      status: 'FAILED',
      reasons: ['UPLOAD_EXPIRED'],
    });
    expect(published.map((detail) => detail.verification_id)).toContain(id);
    expect(calls(id, 'finalize-verification')).toHaveLength(1);
    expect(calls(id)).toHaveLength(0);
  });

  it('queues an upload whose notification was lost instead of expiring its form', async () => {
    // Prepare
    const id = newId('lost');
    await startPendingVerification(request(body(id)), runtime.deps, budget());
    await putUpload(`incoming/${id}.png`);

    // Act
    const report = await sweepAt(2 * HOUR_MS);

    // Assess
    expect(requeued).toContain(`incoming/${id}.png`);
    expect(report.actions.requeued).toBeGreaterThanOrEqual(1);
    expect((await runtime.deps.store.get(id))?.status).toBe('PENDING');
  });

  it('gives up a dead-lettered verification nobody redrove, after the give-up period only', async () => {
    // Prepare
    const id = newId('dead');
    await startPendingVerification(request(body(id)), runtime.deps, budget());
    await markDeadLettered(id, new Error('boom'), runtime.deps);

    // Act
    const withinGrace = await sweepAt(2 * HOUR_MS);
    const stateWithinGrace = (await runtime.deps.store.get(id))?.status;
    await sweepAt(25 * HOUR_MS);

    // Assess
    expect(withinGrace.actions['gave-up']).toBe(0);
    expect(stateWithinGrace).toBe('PENDING');
    expect(await runtime.deps.store.get(id)).toMatchObject({
      status: 'FAILED',
      reasons: ['RETRIES_EXHAUSTED'],
    });
  });

  it('reads only the worklist, however many finished verdicts the table holds', {
    timeout: 60_000,
  }, async () => {
    // Prepare: a table of its own with 200 finished verdicts and 2 stuck forms
    const tableName = await t.createTable();
    const own = t.createRuntime({ env: { VERDICT_TABLE_NAME: tableName } });
    const store = new DynamoVerdictStore({ client: t.localAws.documentClient, tableName });
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          // createPending writes the item as given: here, a verdict that waits for nothing.
          store.createPending({
            ...newRecordFor(newId(`done-${batch}-${index}`)),
            status: 'COMPLETED',
            decision: 'APPROVED',
          }),
        ),
      );
    }
    await startPendingVerification(request(body(newId('stuck-1'))), own.deps, budget());
    await startPendingVerification(request(body(newId('stuck-2'))), own.deps, budget());

    // Act
    const base = own.sweepDeps({ requeue: async () => {} });
    const report = await sweep(
      { ...base, verify: { ...base.verify, clock: { now: () => Date.now() + 2 * HOUR_MS } } },
      { deadline: Date.now() + 2 * HOUR_MS + 20_000 },
    );

    // Assess
    expect(report.actions.expired).toBe(2);
    expect(report.read).toBe(2);
  });

  function newRecordFor(id: string, nikHash = `hash-${id}`) {
    return newRecord({
      verificationId: id,
      templateId: runtime.deps.settings.defaultTemplateId,
      nikMasked: '3174********0012',
      nikHash,
      source: 'api',
      status: 'PROCESSING',
      now: Date.now(),
      retentionDays: 1,
      idmetaVerificationOwned: false,
    });
  }
});
