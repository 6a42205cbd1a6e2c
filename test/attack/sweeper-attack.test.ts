/**
 * Attacks on the sweeper (issue 15), through dynalite, s3rver and the IDmeta simulator with the
 * production adapters. Each test asserts what the contract promises; it is red while the defect
 * it names is there.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eraseSubject, searchSubject } from '../../lambda/core/subjects.ts';
import { type SweepDeps, sweep } from '../../lambda/core/sweep.ts';
import {
  markDeadLettered,
  startPendingVerification,
  verifyUploadedSelfie,
} from '../../lambda/core/verify.ts';
import type { Runtime } from '../../lambda/runtime.ts';
import { referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { personWith } from '../support/people.ts';
import { apiRequest, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const HOUR_MS = 3_600_000;
const agus = personWith('clean match');

const newId = (label: string) => `atk-${label}-${randomUUID().slice(0, 8)}`;
const budget = () => ({ deadline: Date.now() + 20_000 });
const body = (id: string) => ({
  verification_id: id,
  nik: agus.nik,
  name: agus.name,
  date_of_birth: agus.date_of_birth,
});

describe('attack: the sweeper', () => {
  let t: TestRuntime;
  let runtime: Runtime;
  let requeued: string[];

  const request = (payload: Record<string, unknown>) => apiRequest(payload, runtime);
  const sweepAt = (aheadMs: number) => {
    const base: SweepDeps = runtime.sweepDeps({ requeue: async (key) => void requeued.push(key) });
    return sweep(
      { ...base, verify: { ...base.verify, clock: { now: () => Date.now() + aheadMs } } },
      { deadline: Date.now() + aheadMs + 20_000 },
    );
  };
  const putUpload = (key: string) =>
    t.localAws.s3Client.send(
      new PutObjectCommand({
        Bucket: t.localAws.bucket,
        Key: key,
        Body: referenceSelfie(agus.nik, 0).bytes,
        Metadata: { 'verification-id': key.slice('incoming/'.length, key.lastIndexOf('.')) },
      }),
    );
  const calls = (id: string) =>
    t.simulator
      .calls()
      .filter((call) => call.endpoint === 'dukcapilfacematch' && call.verificationId === id);

  beforeAll(async () => {
    t = await startTestRuntime({ env: { IDMETA_TIMEOUT_MS: '400', IDMETA_MAX_ATTEMPTS: '2' } });
    runtime = t.runtime;
  });
  beforeEach(() => {
    requeued = [];
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('does not expire a verification whose caller holds an upload form that is still valid', async () => {
    // A form handed out long ago (record created before the form lifetime plus grace) ...
    const settings = runtime.deps.settings;
    const graceMs = runtime.config.sweep.uploadGraceMs;
    const longAgo = Date.now() - settings.uploadExpiresSeconds * 1000 - graceMs - 60_000;
    const id = newId('replayed-form');
    await startPendingVerification(
      request(body(id)),
      { ...runtime.deps, clock: { now: () => longAgo } },
      budget(),
    );
    // ... and the same request replayed now: the API hands out a NEW form, valid for its lifetime.
    const replay = await startPendingVerification(request(body(id)), runtime.deps, budget());
    expect(replay.upload).toBeDefined();
    expect(Date.parse(replay.upload?.expires_at ?? '')).toBeGreaterThan(Date.now());

    // The scheduled sweep runs now; the caller then uploads with the form it holds.
    await sweepAt(0);
    await putUpload(`incoming/${id}.jpg`);
    const outcome = await verifyUploadedSelfie(
      { key: `incoming/${id}.jpg`, verificationId: id },
      runtime.deps,
      budget(),
    );

    // Contract: a form is honoured until it expires (+ grace). Today: FAILED UPLOAD_EXPIRED, the
    // upload made with a valid form is thrown away (worklist_at is the first form's time).
    expect(outcome.record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
  });

  it('gives up a dead-lettered upload nobody redrove, rather than requeueing it every sweep', async () => {
    // An upload whose message exhausted its retries: the object stays (only a verdict deletes it).
    const id = newId('dead-with-object');
    await startPendingVerification(request(body(id)), runtime.deps, budget());
    await putUpload(`incoming/${id}.jpg`);
    await markDeadLettered(id, new Error('poison'), runtime.deps);

    // Sweeps long after the give-up period (24 h by default).
    const first = await sweepAt(25 * HOUR_MS);
    const second = await sweepAt(50 * HOUR_MS);

    // Contract (issue 15): "a record stuck after all retries ends FAILED with a reason".
    // Today: every sweep puts it back on the queue (an automatic, endless redrive that pays
    // IDmeta maxReceiveCount x IDMETA_MAX_ATTEMPTS times per round while the cause persists), and
    // RETRIES_EXHAUSTED is reachable only when the object is gone.
    expect({ first: first.actions, second: second.actions, requeued }).toMatchObject({
      first: { 'gave-up': 1, requeued: 0 },
      second: { requeued: 0 },
      requeued: [],
    });
    expect(await runtime.deps.store.get(id)).toMatchObject({
      status: 'FAILED',
      reasons: ['RETRIES_EXHAUSTED'],
    });
    expect(calls(id)).toHaveLength(0);
  });
});

describe('attack: the sweeper racing an erasure', () => {
  let t: TestRuntime;
  let runtime: Runtime;

  beforeAll(async () => {
    t = await startTestRuntime({});
    runtime = t.runtime;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('does not bring back a record erased between its worklist read and its claim', async () => {
    // A form that expired long ago: the sweeper's next UPLOAD_EXPIRED candidate.
    const settings = runtime.deps.settings;
    const longAgo =
      Date.now() -
      settings.uploadExpiresSeconds * 1000 -
      runtime.config.sweep.uploadGraceMs -
      60_000;
    const id = newId('erased-while-swept');
    await startPendingVerification(
      apiRequest(body(id), runtime),
      { ...runtime.deps, clock: { now: () => longAgo } },
      budget(),
    );

    // The sweep reads its worklist; the person's erasure lands before the sweep acts on it (in
    // AWS the worklist index also lags the table by up to a second: no tight race needed).
    const base = runtime.sweepDeps({ requeue: async () => {} });
    const deps: SweepDeps = {
      ...base,
      worklist: {
        entered: async (kind, before, limit) => {
          const read = await base.worklist.entered(kind, before, limit);
          if (kind === 'PENDING') await eraseSubject(agus.nik, 'privacy-officer', runtime.subjects);
          return read;
        },
      },
    };
    await sweep(deps, budget());

    // Contract: after an erasure nothing of the person is findable by id or by NIK. Today the
    // sweeper's claim (store.claim -> putIfAbsent of the stale worklist copy) re-creates the
    // record with the person's NIK hash and masked NIK, ends it FAILED UPLOAD_EXPIRED and
    // announces it.
    expect(await runtime.deps.store.get(id)).toBeNull();
    expect((await searchSubject(agus.nik, runtime.subjects)).verifications).toEqual([]);
  });
});

describe('attack: dead-letter marking racing an erasure', () => {
  let t: TestRuntime;
  let runtime: Runtime;

  beforeAll(async () => {
    t = await startTestRuntime({});
    runtime = t.runtime;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('does not bring back, sealed identity and all, a record erased while its message dead-letters', async () => {
    const id = newId('erased-while-dead-lettered');
    await startPendingVerification(apiRequest(body(id), runtime), runtime.deps, budget());

    // The queue worker's last receive failed; the erasure lands between its read and its claim.
    const store = runtime.deps.store;
    const racing = {
      ...runtime.deps,
      store: Object.assign(Object.create(store) as typeof store, {
        get: async (verificationId: string) => {
          const read = await store.get(verificationId);
          await eraseSubject(agus.nik, 'privacy-officer', runtime.subjects);
          return read;
        },
        claim: store.claim.bind(store),
        save: store.save.bind(store),
      }),
    };
    await markDeadLettered(id, new Error('poison'), racing);

    // Today: store.claim's putIfAbsent writes the stale copy back: PENDING, with the person's
    // NIK hash and the sealed identity (encrypted NIK, name, date of birth) it had.
    const back = await store.get(id);
    expect(back?.sealed_identity).toBeUndefined();
    expect(back).toBeNull();
  });
});

describe('attack: the sweeper behind a head of items it skips', () => {
  let t: TestRuntime;

  beforeAll(async () => {
    t = await startTestRuntime({});
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('still reaches an expired form behind a batch of failures waiting for their give-up period', async () => {
    // A table of its own, a batch of 2: two verifications released by a failure an hour ago
    // (an IDmeta outage; they wait up to SWEEP_GIVE_UP_HOURS for a redrive), then a form that
    // never gets its upload.
    const tableName = await t.createTable();
    const own = t.createRuntime({ env: { VERDICT_TABLE_NAME: tableName, SWEEP_BATCH_SIZE: '2' } });
    const request = (id: string) => apiRequest(body(id), own);
    const anHourAgo = { ...own.deps, clock: { now: () => Date.now() - HOUR_MS } };
    for (const label of ['outage-1', 'outage-2']) {
      const id = newId(label);
      await startPendingVerification(request(id), anHourAgo, budget());
      await markDeadLettered(id, new Error('IDmeta 503'), anHourAgo);
    }
    const formId = newId('never-uploaded');
    await startPendingVerification(request(formId), own.deps, budget());

    // Sweeps two hours on (every form expired, plus grace), as often as you like.
    const base = own.sweepDeps({ requeue: async () => {} });
    const at = (aheadMs: number) =>
      sweep(
        { ...base, verify: { ...base.verify, clock: { now: () => Date.now() + aheadMs } } },
        { deadline: Date.now() + aheadMs + 20_000 },
      );
    for (let round = 0; round < 5; round++) await at(2 * HOUR_MS);

    // Contract: "a backlog is worked off over several sweeps". Today each sweep reads the same
    // oldest `batchSize` items, skips them (not yet past give-up), and never sees what is behind
    // them: the form stays PENDING, its IDmeta verification open, for up to 24 h.
    expect(await own.deps.store.get(formId)).toMatchObject({
      status: 'FAILED',
      reasons: ['UPLOAD_EXPIRED'],
    });
  });
});
