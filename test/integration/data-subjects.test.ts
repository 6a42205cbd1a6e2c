import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoDocumentClient } from '../../lambda/adapters/aws-clients.ts';
import { DynamoWebhookDeliveries } from '../../lambda/adapters/webhook-deliveries.ts';
import { eraseSubject, type SubjectDeps } from '../../lambda/core/subjects.ts';
import type { DeliveryRecord } from '../../lambda/core/webhooks.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../local/aws-servers.ts';
import { runCli } from '../../local/cli.ts';
import { referenceSelfie, type SimPerson } from '../../local/idmeta-simulator/registry.ts';
import type { LocalRuntime } from '../../local/server.ts';
import { LOCAL_WEBHOOK_TABLE } from '../../local/webhooks.ts';
import { captureCliOutput } from '../support/cli.ts';
import { conformingFetch } from '../support/conformance.ts';
import { captureOutput, type OutputCapture } from '../support/events.ts';
import { startTestLocalRuntime, type TestLocalRuntime } from '../support/local-runtime.ts';
import { personWith } from '../support/people.ts';

const agus = personWith('clean match');
const siti = personWith('a woman');

const newId = (label: string) => `ds-${label}-${randomUUID().slice(0, 8)}`;

describe('data-subject access and erasure, end to end through the local runtime', () => {
  let output: OutputCapture;
  let running: TestLocalRuntime | undefined;
  let local: LocalRuntime;
  let s3: S3Client;
  let dataDir: string;

  // Every answer is held to the OpenAPI document the server serves.
  const api = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const response = await conformingFetch(`${local.apiUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : {
            headers: { 'content-type': contentType ?? 'application/json' },
            body: typeof body === 'string' ? body : JSON.stringify(body),
          }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  const keysUnder = async (prefix: string) =>
    (
      (await s3.send(new ListObjectsV2Command({ Bucket: local.bucket, Prefix: prefix })))
        .Contents ?? []
    ).map((object) => object.Key);

  const verifyInline = async (who: SimPerson, id: string) =>
    api('POST', '/verifications', {
      verification_id: id,
      nik: who.nik,
      name: who.name,
      date_of_birth: who.date_of_birth,
      selfie_image: referenceSelfie(who.nik, 0).dataUri,
    });

  beforeAll(async () => {
    output = captureOutput();
    running = await startTestLocalRuntime('subjects');
    ({ local, s3, dataDir } = running);
  });

  afterAll(async () => {
    await running?.stop();
    output?.restore();
    vi.unstubAllEnvs();
  });

  const agusIds = { approved: newId('approved'), pending: newId('pending'), kept: newId('kept') };
  const sitiId = newId('other');

  it('finds every verification of one NIK, masked, and nobody else’s', async () => {
    // Prepare: three of Agus's (a verdict, a PENDING one with its upload form, one whose selfie
    // was kept for review) and one of Siti's
    expect((await verifyInline(agus, agusIds.approved)).status).toBe(200);
    expect((await verifyInline(agus, agusIds.kept)).status).toBe(200);
    expect((await verifyInline(siti, sitiId)).status).toBe(200);
    const pending = await api('POST', '/verifications', {
      verification_id: agusIds.pending,
      nik: agus.nik,
      name: agus.name,
      date_of_birth: agus.date_of_birth,
    });
    expect(pending.status).toBe(202);
    const selfie = referenceSelfie(agus.nik, 0).bytes;
    await s3.send(
      new PutObjectCommand({
        Bucket: local.bucket,
        Key: `review/${agusIds.kept}.jpg`,
        Body: selfie,
      }),
    );

    // Act
    const { status, body } = await api('POST', '/data-subjects/search', { nik: agus.nik });

    // Assess
    expect(status).toBe(200);
    expect(body.nik_masked).toBe(`${agus.nik.slice(0, 4)}********${agus.nik.slice(12)}`);
    const found = (body.verifications as Array<Record<string, unknown>>).map(
      (record) => record.verification_id,
    );
    expect(found.sort()).toEqual(Object.values(agusIds).sort());
    expect(JSON.stringify(body)).not.toContain(agus.nik);
    expect(JSON.stringify(body)).not.toContain('nik_hash');
  });

  it('erases the records, the kept selfies, the webhook deliveries and leaves a receipt with no NIK; a rerun finds nothing', async () => {
    // Prepare: a webhook delivery of one of Agus's verdicts, and one of Siti's
    const deliveries = new DynamoWebhookDeliveries({
      client: createDynamoDocumentClient({
        region: 'ap-southeast-3',
        credentials: { ...LOCAL_AWS_CREDENTIALS },
        endpoint: local.dynamoEndpoint,
      }),
      tableName: LOCAL_WEBHOOK_TABLE,
    });
    const delivery = (verificationId: string): DeliveryRecord => ({
      delivery_id: `receiver/${randomUUID()}`,
      endpoint: 'receiver',
      event_id: randomUUID(),
      event_type: 'verification.completed',
      event_time: new Date().toISOString(),
      verification_id: verificationId,
      data: { verification_id: verificationId },
      state: 'DELIVERED',
      attempts: 1,
      created_at: new Date().toISOString(),
      expires_at: Math.floor(Date.now() / 1000) + 86_400,
    });
    const agusDelivery = delivery(agusIds.approved);
    const sitiDelivery = delivery(sitiId);
    await deliveries.put(agusDelivery, null);
    await deliveries.put(sitiDelivery, null);

    // Act
    const { status, body } = await api('POST', '/data-subjects/erase', { nik: agus.nik });

    // Assess: the answer
    expect(status).toBe(200);
    expect((body.verification_ids as string[]).sort()).toEqual(Object.values(agusIds).sort());
    expect(body.erased).toEqual({ records: 3, selfies: 1, deliveries: 1 });
    expect(await deliveries.get(agusDelivery.delivery_id)).toBeNull();
    expect(await deliveries.get(sitiDelivery.delivery_id)).not.toBeNull();

    // Nothing findable by id, by NIK, or in the bucket
    for (const id of Object.values(agusIds)) {
      expect((await api('GET', `/verifications/${id}`)).status).toBe(404);
      expect(await keysUnder(`incoming/${id}`)).toEqual([]);
      expect(await keysUnder(`review/${id}`)).toEqual([]);
    }
    const again = await api('POST', '/data-subjects/search', { nik: agus.nik });
    expect(again.body.verifications).toEqual([]);

    // Siti is untouched
    expect((await api('GET', `/verifications/${sitiId}`)).body.status).toBe('COMPLETED');

    // The receipt: who and what, never the NIK or its hash
    const receiptKey = `receipts/erasure/${String(body.receipt_id)}.json`;
    const receiptObject = await s3.send(
      new GetObjectCommand({ Bucket: local.bucket, Key: receiptKey }),
    );
    const receipt = JSON.parse((await receiptObject.Body?.transformToString()) ?? '{}');
    expect(receipt).toMatchObject({ requested_by: 'local', erased: body.erased });
    expect(JSON.stringify(receipt)).not.toContain(agus.nik);
    expect(JSON.stringify(receipt)).not.toMatch(/hash/i);

    // The event, without the requester
    const events = (await readFile(join(dataDir, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const erasure = events.find((event) => event['detail-type'] === 'Data Subject Erased');
    expect(erasure?.detail).toMatchObject({ receipt_id: body.receipt_id, erased: body.erased });
    expect(JSON.stringify(erasure)).not.toContain('requested_by');

    // A second erase finds nothing and says so
    const second = await api('POST', '/data-subjects/erase', { nik: agus.nik });
    expect(second.status).toBe(200);
    expect(second.body.verification_ids).toEqual([]);
    expect(second.body.erased).toEqual({ records: 0, selfies: 0, deliveries: 0 });
  });

  it('lets an erased id be verified again later, as new', async () => {
    // Act
    const { status, body } = await verifyInline(agus, agusIds.approved);

    // Assess
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  });

  it('finishes a half-done erasure on the rerun', async () => {
    // Prepare: two verifications, and an erasure that dies after the first record's selfie
    const first = newId('crash-a');
    const second = newId('crash-b');
    await verifyInline(siti, first);
    await verifyInline(siti, second);
    await s3.send(
      new PutObjectCommand({ Bucket: local.bucket, Key: `review/${second}.jpg`, Body: 'x' }),
    );
    const deps = local.runtime.subjects;
    let erasures = 0;
    const crashing: SubjectDeps = {
      ...deps,
      records: {
        idsOf: (hash) => deps.records.idsOf(hash),
        delete: async (id) => {
          erasures += 1;
          if (erasures === 2) throw new Error('the process died here');
          await deps.records.delete(id);
        },
      },
    };

    // Act
    await expect(eraseSubject(siti.nik, 'local', crashing)).rejects.toThrow('died');
    // The crash left its journal: both ids, under a digest, never the NIK nor the records' hash
    const [journalKey, ...otherJournals] = await keysUnder('receipts/erasure/pending/');
    expect(otherJournals).toEqual([]);
    const journalObject = await s3.send(
      new GetObjectCommand({ Bucket: local.bucket, Key: journalKey }),
    );
    const journalText = (await journalObject.Body?.transformToString()) ?? '';
    expect(JSON.parse(journalText).verification_ids).toEqual(
      expect.arrayContaining([first, second]),
    );
    const sitiHash = await local.runtime.subjects.vault.hashNik(siti.nik);
    for (const secret of [siti.nik, sitiHash]) {
      expect(journalText).not.toContain(secret);
      expect(journalKey).not.toContain(secret);
    }
    const rerun = await api('POST', '/data-subjects/erase', { nik: siti.nik });

    // Assess: the rerun finds what the crash left and erases it
    expect(rerun.status).toBe(200);
    expect((rerun.body.erased as { records: number }).records).toBeGreaterThanOrEqual(1);
    const left = await api('POST', '/data-subjects/search', { nik: siti.nik });
    expect(left.body.verifications).toEqual([]);
    expect(await keysUnder(`review/${second}`)).toEqual([]);
    // The receipt names both ids, the one the crashed run erased too; the journal is gone
    expect(rerun.body.verification_ids).toEqual(expect.arrayContaining([first, second]));
    expect(await keysUnder('receipts/erasure/pending/')).toEqual([]);
  });

  it('refuses bad requests with a problem naming the field, and never echoes the NIK', async () => {
    const badNik = '3201010101019999x';
    const invalid = await api('POST', '/data-subjects/search', { nik: badNik });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors).toEqual([expect.objectContaining({ path: 'nik' })]);
    expect(JSON.stringify(invalid.body)).not.toContain(badNik);

    expect((await api('POST', '/data-subjects/erase', {})).status).toBe(400);
    expect((await api('POST', '/data-subjects/erase', 'nik=1', 'text/plain')).status).toBe(415);
    const wrongMethod = await api('GET', '/data-subjects/search');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('CLI: reads the NIK from stdin, never from the command line, and asks for --yes to erase', async () => {
    const io = () => captureCliOutput();
    const deps = {
      env: { FACEMATCH_ENDPOINT: local.apiUrl },
      readStdin: async () => `{"nik": "${siti.nik}"}\n`,
    };
    const subject = (args: string[], streams: ReturnType<typeof io>) =>
      runCli(['subject', ...args], streams.io, deps);

    const onCommandLine = io();
    expect(await subject(['search', siti.nik], onCommandLine)).toBe(1);
    expect(onCommandLine.out.stderr).not.toContain(siti.nik);

    const unconfirmed = io();
    expect(await subject(['erase', '--nik-file', '-'], unconfirmed)).toBe(1);
    expect(unconfirmed.out.stderr).toContain('--yes');

    const id = newId('cli');
    await verifyInline(siti, id);
    const search = io();
    expect(await subject(['search', '--nik-file', '-'], search)).toBe(0);
    expect(search.out.stdout).toContain(id);
    expect(search.out.stdout).not.toContain(siti.nik);

    const erase = io();
    expect(await subject(['erase', '--nik-file', '-', '--yes'], erase)).toBe(0);
    expect(erase.out.stdout).toMatch(/erased 1 record/);
  });

  it('logs nothing personal', () => {
    const text = output.text();
    for (const who of [agus, siti]) {
      expect(text).not.toContain(who.nik);
      expect(text).not.toContain(who.name);
    }
  });
});
