import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredVerdict } from '../../lambda/core/types.ts';
import {
  createSelfieUploadedHandler,
  decodeS3Key,
  parseS3Notification,
} from '../../lambda/handlers/selfie-uploaded-handler.ts';
import { loadRegistry, referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { lambdaContext } from '../../local/lambda-shim.ts';
import {
  captureOutput,
  fixtureSqsEvent,
  type OutputCapture,
  s3NotificationBody,
  s3TestEventBody,
  sqsEvent,
  uploadMetadata,
} from '../support/events.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const MAX_RECEIVE_COUNT = 3;

const agus = loadRegistry().people[0];
if (agus === undefined) throw new Error('the registry has no first person');
const agusSelfie = referenceSelfie(agus.nik);
const agusMetadata = uploadMetadata(agus);

/** A verification id no other case uses. */
const newId = (label: string) => `s3-${label}-${randomUUID().slice(0, 8)}`;

describe('selfie-uploaded handler with S3 notifications delivered through SQS', () => {
  let local: TestRuntime;
  let handler: ReturnType<typeof createSelfieUploadedHandler>;
  /** The handler's logs and metrics: kept out of the test output, and read by some cases. */
  let output: OutputCapture;

  const invoke = (event: SQSEvent) =>
    handler(
      event,
      lambdaContext('facematch-selfie-uploaded', 120_000),
    ) as Promise<SQSBatchResponse>;

  const recordOf = (id: string): Promise<StoredVerdict | null> => local.runtime.deps.store.get(id);

  const facematchCalls = (verificationId?: string) =>
    local.simulator
      .calls()
      .filter(
        (call) =>
          call.endpoint === 'dukcapilfacematch' &&
          (verificationId === undefined || call.verificationId === verificationId),
      );

  /** Puts an object into the selfie bucket, as an uploader would. */
  const putSelfie = async (key: string, body: Uint8Array, metadata?: Record<string, string>) => {
    await local.localAws.s3Client.send(
      new PutObjectCommand({
        Bucket: local.localAws.bucket,
        Key: key,
        Body: body,
        Metadata: metadata,
      }),
    );
  };

  const objectExists = async (key: string) =>
    local.localAws.s3Client
      .send(new HeadObjectCommand({ Bucket: local.localAws.bucket, Key: key }))
      .then(
        () => true,
        (error: { name?: string }) => {
          if (error.name === 'NotFound') return false;
          throw error;
        },
      );

  /** Log entries written since `from` (an index into the captured chunks). */
  const logsSince = (from: number) =>
    output.chunks
      .slice(from)
      .map((chunk) => chunk.text)
      .join('');

  beforeAll(async () => {
    output = captureOutput();
    // As the queue Lambda: a busy id goes straight back to the queue. Two short IDmeta attempts.
    local = await startTestRuntime({
      quiet: false,
      busyWaitMs: 0,
      env: { IDMETA_MAX_ATTEMPTS: '2', IDMETA_TIMEOUT_MS: '750' },
    });
    handler = createSelfieUploadedHandler(local.runtime, { maxReceiveCount: MAX_RECEIVE_COUNT });
  });

  afterAll(async () => {
    output?.restore();
    await local?.stop();
  });

  describe('an object under incoming/<id>.<ext>', () => {
    it('is verified from the fixture notification, and its selfie deleted', async () => {
      // Prepare: the fixture names incoming/ver-fixture-1.jpg.
      const key = 'incoming/ver-fixture-1.jpg';
      await putSelfie(key, agusSelfie.bytes, agusMetadata);

      // Act
      const response = await invoke(fixtureSqsEvent());

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(await recordOf('ver-fixture-1')).toMatchObject({
        status: 'COMPLETED',
        decision: 'APPROVED',
        source: 's3',
        selfie_key: key,
        nik_masked: `${agus.nik.slice(0, 4)}********${agus.nik.slice(-4)}`,
      });
      expect(facematchCalls('ver-fixture-1')).toHaveLength(1);
      expect(await objectExists(key)).toBe(false);
    });

    it('is not verified again when the notification is delivered twice', async () => {
      // Prepare: the previous case completed ver-fixture-1.
      const before = await recordOf('ver-fixture-1');
      const logged = output.chunks.length;

      // Act
      const response = await invoke(fixtureSqsEvent());

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(await recordOf('ver-fixture-1')).toEqual(before);
      expect(facematchCalls('ver-fixture-1')).toHaveLength(1);
      expect(logsSince(logged)).toContain('duplicate notification for a finished verification');
    });

    it('is found under its decoded key: %3A in the notification is ":" in the id', async () => {
      // Prepare
      const id = `${newId('colon')}:2025`;
      await putSelfie(`incoming/${id}.jpg`, agusSelfie.bytes, agusMetadata);
      const encodedKey = `incoming/${id.replaceAll(':', '%3A')}.jpg`;

      // Act
      const response = await invoke(sqsEvent([{ body: s3NotificationBody([encodedKey]) }]));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(await recordOf(id)).toMatchObject({
        status: 'COMPLETED',
        decision: 'APPROVED',
        selfie_key: `incoming/${id}.jpg`,
      });
      expect(await recordOf(id.replaceAll(':', '%3A'))).toBeNull();
    });

    it('ends FAILED and is acknowledged when it is not an image', async () => {
      // Prepare
      const id = newId('gif');
      const gif = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(2048, 7)]);
      await putSelfie(`incoming/${id}.jpg`, gif, agusMetadata);

      // Act
      const response = await invoke(
        sqsEvent([{ body: s3NotificationBody([`incoming/${id}.jpg`]) }]),
      );

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(await recordOf(id)).toMatchObject({
        status: 'FAILED',
        decision: null,
        reasons: ['SELFIE_UNSUPPORTED_TYPE'],
        error: { code: 'SELFIE_UNSUPPORTED_TYPE' },
      });
      expect(facematchCalls(id)).toHaveLength(0);
    });

    it('ends FAILED with MISSING_IDENTITY when nothing names the person', async () => {
      // Prepare: no PENDING record, no metadata.
      const id = newId('anonymous');
      await putSelfie(`incoming/${id}.jpg`, agusSelfie.bytes);

      // Act
      const response = await invoke(
        sqsEvent([{ body: s3NotificationBody([`incoming/${id}.jpg`]) }]),
      );

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(await recordOf(id)).toMatchObject({
        status: 'FAILED',
        reasons: ['MISSING_IDENTITY'],
        error: { code: 'MISSING_IDENTITY' },
        nik_masked: '',
      });
      expect(facematchCalls(id)).toHaveLength(0);
    });
  });

  describe('messages that name no verification', () => {
    it('decodes a "+" in a notification key as a space', () => {
      expect(decodeS3Key('incoming/my+selfie.jpg')).toBe('incoming/my selfie.jpg');
      expect(decodeS3Key('incoming/a%2Bb.jpg')).toBe('incoming/a+b.jpg');
      expect(decodeS3Key('incoming/bad%E0%A4%A.jpg')).toBeNull();
    });

    it('acknowledges and ignores a key with a space, which no verification id can have', async () => {
      // Prepare: the object exists, with a valid identity, under the decoded key.
      await putSelfie('incoming/my selfie.jpg', agusSelfie.bytes, agusMetadata);
      const body = s3NotificationBody(['incoming/my+selfie.jpg']);
      const calls = facematchCalls().length;
      const logged = output.chunks.length;

      // Act
      const response = await invoke(sqsEvent([{ body }]));

      // Assess
      expect(parseS3Notification(body)).toEqual({ kind: 'objects', objects: [], ignored: 1 });
      expect(response).toEqual({ batchItemFailures: [] });
      expect(await recordOf('my selfie')).toBeNull();
      expect(await recordOf('my+selfie')).toBeNull();
      expect(facematchCalls()).toHaveLength(calls);
      expect(logsSince(logged)).toMatch(/"message":"notification records outside[^"]*ignored"/);
    });

    it('acknowledges the s3:TestEvent S3 sends when notifications are configured', async () => {
      // Prepare
      const logged = output.chunks.length;

      // Act
      const response = await invoke(sqsEvent([{ body: s3TestEventBody() }]));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(logsSince(logged)).toContain('s3:TestEvent acknowledged');
    });

    it('ignores keys outside incoming/<id>.<ext> and events other than created', async () => {
      // Prepare
      const id = newId('removed');
      const body = s3NotificationBody([
        'selfies/other.jpg',
        'incoming/nested/deeper.jpg',
        'incoming/no-extension',
        'incoming/.jpg',
        'incoming/..%2Fescape.jpg',
        { key: `incoming/${id}.jpg`, eventName: 'ObjectRemoved:Delete' },
      ]);
      const calls = facematchCalls().length;

      // Act
      const response = await invoke(sqsEvent([{ body }]));

      // Assess
      expect(parseS3Notification(body)).toEqual({ kind: 'objects', objects: [], ignored: 6 });
      expect(response).toEqual({ batchItemFailures: [] });
      expect(await recordOf(id)).toBeNull();
      expect(facematchCalls()).toHaveLength(calls);
    });

    it('acknowledges a message that is not an S3 notification, with an error log line each', async () => {
      // Prepare
      const bodies = ['not json', '', 'null', '[]', '{"Records":"x"}', '{"Message":"{}"}'];
      const event = sqsEvent(bodies.map((body) => ({ body })));
      const logged = output.chunks.length;

      // Act
      const response = await invoke(event);

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      const errors = logsSince(logged)
        .split('\n')
        .filter((line) => line.includes('"message":"message is not an S3 notification'));
      expect(errors).toHaveLength(bodies.length);
      for (const record of event.Records) {
        expect(errors.some((line) => line.includes(record.messageId))).toBe(true);
      }
    });
  });

  describe('failures', () => {
    it('hands back only the message whose IDmeta call failed transiently', async () => {
      // Prepare: three uploads; IDmeta answers 503 to both attempts for the second.
      const ids = [newId('batch-a'), newId('batch-b'), newId('batch-c')];
      for (const id of ids) await putSelfie(`incoming/${id}.jpg`, agusSelfie.bytes, agusMetadata);
      const [first, second, third] = ids as [string, string, string];
      local.simulator.scriptFaults([{ status: 503 }, { status: 503 }], { verificationId: second });
      const event = sqsEvent(
        ids.map((id) => ({ body: s3NotificationBody([`incoming/${id}.jpg`]) })),
      );
      const failedMessage = event.Records[1]?.messageId;

      // Act
      const response = await invoke(event);

      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: failedMessage }] });
      expect(await recordOf(first)).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
      expect(await recordOf(third)).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
      expect(await recordOf(second)).toMatchObject({
        status: 'PENDING',
        error: { code: 'IDMETA_UNAVAILABLE' },
      });
      expect(await objectExists(`incoming/${second}.jpg`)).toBe(true);
    });

    it('completes a handed-back message when SQS delivers it again', async () => {
      // Prepare: an upload whose first delivery met a 503 storm.
      const id = newId('redelivered');
      const body = s3NotificationBody([`incoming/${id}.jpg`]);
      await putSelfie(`incoming/${id}.jpg`, agusSelfie.bytes, agusMetadata);
      local.simulator.scriptFaults([{ status: 503 }, { status: 503 }], { verificationId: id });
      const firstDelivery = await invoke(sqsEvent([{ body, messageId: 'm-redelivered' }]));

      // Act
      const response = await invoke(
        sqsEvent([{ body, messageId: 'm-redelivered', receiveCount: 2 }]),
      );

      // Assess
      expect(firstDelivery.batchItemFailures).toHaveLength(1);
      expect(response).toEqual({ batchItemFailures: [] });
      const record = await recordOf(id);
      expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED', attempts: 2 });
      expect(record).not.toHaveProperty('error');
    });

    it('marks the record DEAD_LETTERED on the last receive, and still reports it failed', async () => {
      // Prepare: every attempt of the last two receives answers 503.
      const id = newId('dead');
      const body = s3NotificationBody([`incoming/${id}.jpg`]);
      await putSelfie(`incoming/${id}.jpg`, agusSelfie.bytes, agusMetadata);
      local.simulator.scriptFaults(
        Array.from({ length: 4 }, () => ({ status: 503 })),
        { verificationId: id },
      );
      const beforeLast = await invoke(
        sqsEvent([{ body, messageId: 'm-dead', receiveCount: MAX_RECEIVE_COUNT - 1 }]),
      );
      const recordBeforeLast = await recordOf(id);

      // Act
      const response = await invoke(
        sqsEvent([{ body, messageId: 'm-dead', receiveCount: MAX_RECEIVE_COUNT }]),
      );

      // Assess
      expect(beforeLast).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-dead' }] });
      expect(recordBeforeLast?.error?.code).toBe('IDMETA_UNAVAILABLE');
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-dead' }] });
      const record = await recordOf(id);
      expect(record).toMatchObject({ status: 'PENDING', error: { code: 'DEAD_LETTERED' } });
      expect(record?.error?.message).toContain('IDMETA_UNAVAILABLE');
      expect(record).not.toHaveProperty('lease_owner');
      expect(facematchCalls(id)).toHaveLength(4);
      // Kept for a redrive from the dead-letter queue.
      expect(await objectExists(`incoming/${id}.jpg`)).toBe(true);
    });
  });
});
