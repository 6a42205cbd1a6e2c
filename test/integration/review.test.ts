/**
 * Human review end to end through the local runtime (dynalite + s3rver + the IDmeta simulator):
 * the simulator's borderline person (face 72: REVIEW) through the API and through the S3 path to
 * an open review, the queue, the kept selfie, a decision from the CLI, an appeal, and the races.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { referenceSelfie, type SimPerson } from '../../local/idmeta-simulator/registry.ts';
import type { LocalRuntime } from '../../local/server.ts';
import { captureOutput, type OutputCapture, uploadMetadata } from '../support/events.ts';
import { startTestLocalRuntime, type TestLocalRuntime } from '../support/local-runtime.ts';
import { personWith } from '../support/people.ts';

const niLuh = personWith('borderline face');
const agus = personWith('clean match');
const identityOf = (who: SimPerson) => ({
  nik: who.nik,
  name: who.name,
  date_of_birth: who.date_of_birth,
});
const newId = (label: string) => `rv-${label}-${randomUUID().slice(0, 8)}`;
/** A note a reviewer writes: it must never leave the record. */
const NOTE = 'checked against the paper KTP at branch 17, zebra-quokka';

type Json = Record<string, unknown>;

describe('human review through the local runtime', () => {
  let output: OutputCapture;
  let running: TestLocalRuntime | undefined;
  let local: LocalRuntime;
  let s3: S3Client;
  let dataDir: string;
  let runCli: typeof import('../../local/cli.ts').runCli;

  const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(`${local.apiUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const openQueue = async (query = '') => api('GET', `/verifications?review=open${query}`);
  const queuedIds = async () =>
    ((await openQueue('&limit=100')).body.items as Json[]).map((item) => item.verification_id);
  const events = async () =>
    (await readFile(join(dataDir, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Json);
  const objectExists = async (key: string) =>
    s3.send(new HeadObjectCommand({ Bucket: local.bucket, Key: key })).then(
      () => true,
      () => false,
    );
  const cli = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const status = await runCli([...argv, '--endpoint', local.apiUrl], {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
    });
    return { status, stdout, stderr };
  };

  beforeAll(async () => {
    output = captureOutput();
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    ({ runCli } = await import('../../local/cli.ts'));
    running = await startTestLocalRuntime('review');
    ({ local, s3, dataDir } = running);
  });

  afterAll(async () => {
    await running?.stop();
    output?.restore();
    vi.unstubAllEnvs();
  });

  const viaApi = newId('api');
  const viaS3 = newId('s3');
  const selfie = referenceSelfie(niLuh.nik);

  it('opens a review for a REVIEW verdict from the API, keeping its selfie under review/', async () => {
    // Act
    const { status, body } = await api('POST', '/verifications', {
      verification_id: viaApi,
      ...identityOf(niLuh),
      selfie_image: selfie.dataUri,
    });

    // Assess
    expect(status).toBe(200);
    expect(body).toMatchObject({
      decision: 'REVIEW',
      machine_decision: 'REVIEW',
      review: { state: 'OPEN' },
      history: [{ actor: 'system', action: 'DECIDED', decision: 'REVIEW' }],
    });
    expect(body).not.toHaveProperty('review_selfie_key');
    expect(await objectExists(`review/${viaApi}.jpg`)).toBe(true);
  });

  it('opens a review for a REVIEW verdict from the S3 path', async () => {
    // Act
    await s3.send(
      new PutObjectCommand({
        Bucket: local.bucket,
        Key: `incoming/${viaS3}.jpg`,
        Body: selfie.bytes,
        Metadata: uploadMetadata(niLuh),
      }),
    );
    let record: Json = {};
    for (const until = Date.now() + 10_000; Date.now() < until; ) {
      record = (await api('GET', `/verifications/${viaS3}`)).body;
      if (record.status === 'COMPLETED') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // The record is stored first; the queue worker deletes the upload and keeps the copy after.
    const settled = async () =>
      (await objectExists(`review/${viaS3}.jpg`)) && !(await objectExists(`incoming/${viaS3}.jpg`));
    for (const until = Date.now() + 10_000; Date.now() < until && !(await settled()); ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // Assess: the incoming object went as before, the kept copy stays for the reviewer.
    expect(record).toMatchObject({ source: 's3', decision: 'REVIEW', review: { state: 'OPEN' } });
    expect(await objectExists(`review/${viaS3}.jpg`)).toBe(true);
    expect(await objectExists(`incoming/${viaS3}.jpg`)).toBe(false);
  });

  it('does not open a review for an automated approval, nor keep its selfie', async () => {
    // Act
    const id = newId('approved');
    const { body } = await api('POST', '/verifications', {
      verification_id: id,
      ...identityOf(agus),
      selfie_image: referenceSelfie(agus.nik).dataUri,
    });

    // Assess
    expect(body).toMatchObject({
      decision: 'APPROVED',
      machine_decision: 'APPROVED',
      review: null,
    });
    expect(await objectExists(`review/${id}.jpg`)).toBe(false);
    expect(await queuedIds()).not.toContain(id);
  });

  it('lists open reviews oldest first, a page at a time, with a cursor that cannot be forged', async () => {
    // Act
    const first = await openQueue('&limit=1');
    const second = await openQueue(`&limit=1&cursor=${first.body.next_cursor as string}`);
    const cursor = first.body.next_cursor as string;
    const tampered = await openQueue(`&limit=1&cursor=${cursor.slice(0, -2)}xx`);
    const noQuery = await api('GET', '/verifications');

    // Assess
    expect(first.status).toBe(200);
    expect((first.body.items as Json[]).map((item) => item.verification_id)).toEqual([viaApi]);
    expect((second.body.items as Json[]).map((item) => item.verification_id)).toEqual([viaS3]);
    expect(tampered.status).toBe(400);
    expect(tampered.body.errors).toEqual([{ path: 'cursor', message: expect.any(String) }]);
    expect(noQuery.status).toBe(400);
    expect(noQuery.body.errors).toEqual([{ path: 'review', message: 'is required' }]);
  });

  it('hands the reviewer a 60-second presigned GET of the kept selfie', async () => {
    // Act
    const { status, body } = await api('GET', `/verifications/${viaApi}/selfie`);
    const image = await fetch(body.url as string);

    // Assess
    expect(status).toBe(200);
    expect(Date.parse(body.expires_at as string) - Date.now()).toBeLessThanOrEqual(60_000);
    expect(Buffer.from(await image.arrayBuffer()).equals(Buffer.from(selfie.bytes))).toBe(true);
  });

  it('refuses bad reviews with the field, the state or the id at fault', async () => {
    // Prepare
    const pendingId = newId('pending');
    await api('POST', '/verifications', { verification_id: pendingId, ...identityOf(agus) });

    // Act
    const bad = await api('POST', `/verifications/${viaApi}/review`, {
      decision: 'MAYBE',
      reason: 'GUT_FEELING',
      note: 'x'.repeat(501),
    });
    const pending = await api('POST', `/verifications/${pendingId}/review`, {
      decision: 'APPROVED',
      reason: 'FACE_CONFIRMED',
    });
    const unknown = await api('POST', `/verifications/${newId('nobody')}/review`, {
      decision: 'APPROVED',
      reason: 'FACE_CONFIRMED',
    });

    // Assess
    expect(bad.status).toBe(400);
    expect((bad.body.errors as Json[]).map((issue) => issue.path)).toEqual([
      'decision',
      'reason',
      'note',
    ]);
    expect(pending.status).toBe(409);
    expect(pending.body.code).toBe('NOT_REVIEWABLE');
    expect(unknown.status).toBe(404);
  });

  it('closes a review from the CLI: decision, reasons, history, event, selfie gone, queue', async () => {
    // Act
    const listed = await cli(['reviews']);
    const closed = await cli([
      'review',
      viaApi,
      '--approve',
      '--reason',
      'FACE_CONFIRMED',
      '--note',
      NOTE,
      '--json',
    ]);

    // Assess
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(viaApi);
    expect(closed.status).toBe(0);
    const record = (await api('GET', `/verifications/${viaApi}`)).body;
    expect(record).toMatchObject({
      decision: 'APPROVED',
      machine_decision: 'REVIEW',
      review: {
        state: 'CLOSED',
        decision: 'APPROVED',
        reason: 'FACE_CONFIRMED',
        note: NOTE,
        reviewer: 'local',
      },
    });
    expect(record.reasons).toContain('MANUAL_APPROVED');
    expect(record.reasons).toContain('FACE_INCONCLUSIVE');
    expect(record.history).toEqual([
      expect.objectContaining({ actor: 'system', action: 'DECIDED', decision: 'REVIEW' }),
      expect.objectContaining({
        actor: 'local',
        action: 'REVIEWED',
        decision: 'APPROVED',
        reason: 'FACE_CONFIRMED',
      }),
    ]);
    expect(await objectExists(`review/${viaApi}.jpg`)).toBe(false);
    expect((await api('GET', `/verifications/${viaApi}/selfie`)).status).toBe(404);
    expect(await queuedIds()).not.toContain(viaApi);
    const reviewed = (await events()).filter(
      (event) =>
        event['detail-type'] === 'Verification Reviewed' &&
        (event.detail as Json).verification_id === viaApi,
    );
    expect(reviewed).toHaveLength(1);
    const detail = JSON.stringify(reviewed[0]);
    expect(detail).toContain('"decision":"APPROVED"');
    for (const secret of [NOTE, '"reviewer":', '"local"', 'nik_masked', niLuh.nik.slice(0, 4)]) {
      expect(detail).not.toContain(secret);
    }
  });

  it('needs "reopen" to decide a closed review again, and keeps both decisions', async () => {
    // Act
    const again = await api('POST', `/verifications/${viaApi}/review`, {
      decision: 'REJECTED',
      reason: 'FRAUD_SUSPECTED',
    });
    const appeal = await cli([
      'review',
      viaApi,
      '--reject',
      '--reason',
      'FRAUD_SUSPECTED',
      '--reopen',
    ]);

    // Assess
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('REVIEW_CONFLICT');
    expect(appeal.status).toBe(4);
    const record = (await api('GET', `/verifications/${viaApi}`)).body;
    expect(record.decision).toBe('REJECTED');
    expect(record.reasons).toContain('MANUAL_REJECTED');
    expect(record.reasons).not.toContain('MANUAL_APPROVED');
    expect((record.history as Json[]).map((entry) => entry.decision)).toEqual([
      'REVIEW',
      'APPROVED',
      'REJECTED',
    ]);
  });

  it('lets exactly one of two simultaneous reviews win; the other gets 409', async () => {
    // Act
    const [one, two] = await Promise.all([
      api('POST', `/verifications/${viaS3}/review`, {
        decision: 'APPROVED',
        reason: 'FACE_CONFIRMED',
      }),
      api('POST', `/verifications/${viaS3}/review`, {
        decision: 'REJECTED',
        reason: 'FACE_NOT_CONFIRMED',
      }),
    ]);

    // Assess
    expect([one.status, two.status].sort()).toEqual([200, 409]);
    expect([one, two].find((answer) => answer.status === 409)?.body.code).toBe('REVIEW_CONFLICT');
    const record = (await api('GET', `/verifications/${viaS3}`)).body;
    expect(record.history as Json[]).toHaveLength(2);
    expect(await queuedIds()).toEqual([]);
  });

  it('never logs, announces or measures a note, and reports the queue and reviews as metrics', () => {
    // Assess
    expect(output.text()).not.toContain(NOTE);
    const metrics = output.allJsonLines().filter((line) => '_aws' in line);
    const names = metrics.flatMap((line) =>
      (
        (line._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> })
          .CloudWatchMetrics[0]?.Metrics ?? []
      ).map((metric) => metric.Name),
    );
    expect(names).toEqual(
      expect.arrayContaining(['ReviewsOpened', 'ReviewsClosed', 'OldestOpenReviewAgeSeconds']),
    );
    const closed = metrics.filter((line) => 'ReviewsClosed' in line);
    expect(closed.map((line) => line.decision)).toEqual(
      expect.arrayContaining(['APPROVED', 'REJECTED']),
    );
  });
});
