import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createS3Client } from '../../lambda/adapters/s3-client.ts';
import { S3SelfieStore } from '../../lambda/adapters/selfie-store.ts';
import { RELEASE_EVERY_BYTES } from '../../lambda/adapters/young-garbage.ts';
import { SelfieNotFoundError, SelfieTooLargeError } from '../../lambda/core/errors.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../local/aws-servers.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

const MAX_BYTES = 64 * 1024;
const NOW = Date.parse('2025-01-15T08:00:00.000Z');

describe('S3SelfieStore against s3rver', () => {
  let aws: LocalAws;
  let client: S3Client;
  let store: S3SelfieStore;
  /** Names of the commands `client` sent, in order. */
  let sent: string[];
  /** Runs once after the next HeadObject answers, to race the read. */
  let afterNextHead: (() => Promise<void>) | undefined;

  const put = async (key: string, body: Uint8Array, metadata?: Record<string, string>) => {
    await aws.s3Client.send(
      new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: body, Metadata: metadata }),
    );
  };

  beforeAll(async () => {
    aws = await startLocalAws();
    client = aws.createS3Client();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = String(context.commandName);
        sent.push(name);
        const result = await next(args);
        if (name === 'HeadObjectCommand' && afterNextHead !== undefined) {
          const hook = afterNextHead;
          afterNextHead = undefined;
          await hook();
        }
        return result;
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    store = new S3SelfieStore({ client, bucket: aws.bucket, now: () => NOW });
  });

  beforeEach(() => {
    sent = [];
    afterNextHead = undefined;
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  afterAll(async () => {
    await aws?.stop();
  });

  it('reaches the endpoint named by AWS_ENDPOINT_URL_S3 with no endpoint option', async () => {
    // Prepare: path style and WHEN_REQUIRED checksums must follow from the variable alone.
    vi.stubEnv('AWS_ENDPOINT_URL_S3', aws.s3Endpoint);
    const fromEnv = createS3Client({ credentials: { ...LOCAL_AWS_CREDENTIALS } });
    const image = randomBytes(4096);
    await put('incoming/ver-env.jpg', image);

    // Act
    const selfie = await new S3SelfieStore({ client: fromEnv, bucket: aws.bucket })
      .read('incoming/ver-env.jpg', MAX_BYTES)
      .finally(() => fromEnv.destroy());

    // Assess
    expect(Buffer.from(selfie.bytes).equals(image)).toBe(true);
  });

  it('asks an exposed gc for a young collection per RELEASE_EVERY_BYTES read, bytes intact', async () => {
    // Prepare: a large selfie, read as Lambda runs node (with --expose-gc).
    const bytes = randomBytes(4 * RELEASE_EVERY_BYTES + 1000);
    await put('incoming/ver-large.jpg', bytes);
    const gc = vi.fn();
    vi.stubGlobal('gc', gc);

    // Act
    const selfie = await store
      .read('incoming/ver-large.jpg', bytes.byteLength)
      .finally(() => vi.unstubAllGlobals());

    // Assess: chunk boundaries move the count a little, never past one per RELEASE_EVERY_BYTES.
    expect(Buffer.from(selfie.bytes).equals(bytes)).toBe(true);
    expect(gc.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(gc.mock.calls.length).toBeLessThanOrEqual(4);
    expect(gc.mock.calls.every(([options]) => options?.type === 'minor')).toBe(true);
  });

  it('reads a large selfie the same where gc is not exposed (local runs)', async () => {
    // Prepare
    const bytes = randomBytes(2 * RELEASE_EVERY_BYTES);
    await put('incoming/ver-large-local.jpg', bytes);

    // Act
    const selfie = await store.read('incoming/ver-large-local.jpg', bytes.byteLength);

    // Assess
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    expect(Buffer.from(selfie.bytes).equals(bytes)).toBe(true);
  });

  it('reads the bytes and the user metadata with lower-case keys', async () => {
    // Prepare
    const bytes = randomBytes(MAX_BYTES - 1);
    await put('incoming/ver-read.jpg', bytes, {
      'Verification-Id': 'ver-read',
      'template-id': 'template-1',
    });

    // Act
    const selfie = await store.read('incoming/ver-read.jpg', MAX_BYTES);

    // Assess
    expect(Buffer.from(selfie.bytes).equals(bytes)).toBe(true);
    expect(selfie.metadata).toEqual({ 'verification-id': 'ver-read', 'template-id': 'template-1' });
    expect(sent).toEqual(['HeadObjectCommand', 'GetObjectCommand']);
  });

  it('refuses an object over the cap from its HEAD alone, without downloading it', async () => {
    // Prepare
    await put('incoming/ver-big.jpg', randomBytes(MAX_BYTES + 1));

    // Act
    const reading = store.read('incoming/ver-big.jpg', MAX_BYTES);

    // Assess
    await expect(reading).rejects.toBeInstanceOf(SelfieTooLargeError);
    await expect(reading).rejects.toMatchObject({ limitBytes: MAX_BYTES, status: 413 });
    expect(sent).toEqual(['HeadObjectCommand']);
  });

  it('still refuses an object swapped for a larger one between HEAD and GET', async () => {
    // Prepare: s3rver ignores If-Match, so the swapped object reaches the GET; its size must
    // still be caught.
    await put('incoming/ver-swap.jpg', randomBytes(1024));
    afterNextHead = () => put('incoming/ver-swap.jpg', randomBytes(MAX_BYTES * 2));

    // Act
    const reading = store.read('incoming/ver-swap.jpg', MAX_BYTES);

    // Assess
    await expect(reading).rejects.toBeInstanceOf(SelfieTooLargeError);
  });

  it('reports a missing key as SelfieNotFoundError', async () => {
    // Act
    const reading = store.read('incoming/ver-missing.jpg', MAX_BYTES);

    // Assess
    await expect(reading).rejects.toBeInstanceOf(SelfieNotFoundError);
    expect(sent).toEqual(['HeadObjectCommand']);
  });

  it('deletes an object', async () => {
    // Prepare
    await put('incoming/ver-delete.jpg', randomBytes(16));

    // Act
    await store.delete('incoming/ver-delete.jpg');

    // Assess
    await expect(
      aws.s3Client.send(
        new HeadObjectCommand({ Bucket: aws.bucket, Key: 'incoming/ver-delete.jpg' }),
      ),
    ).rejects.toMatchObject({ name: 'NotFound' });
    await expect(store.read('incoming/ver-delete.jpg', MAX_BYTES)).rejects.toBeInstanceOf(
      SelfieNotFoundError,
    );
  });

  it('signs a POST policy limited to the exact key, the size cap and image content types', async () => {
    // Act
    const upload = await store.createUpload({
      key: 'incoming/ver-policy.jpg',
      maxBytes: MAX_BYTES,
      expiresInSeconds: 900,
    });

    // Assess
    expect(upload.expiresAt).toBe('2025-01-15T08:15:00.000Z');
    expect(upload.url).toBe(`${aws.s3Endpoint}/${aws.bucket}`);
    expect(upload.fields).toMatchObject({
      key: 'incoming/ver-policy.jpg',
      'Content-Type': 'image/jpeg',
      bucket: aws.bucket,
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    });
    const policy = JSON.parse(Buffer.from(upload.fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { key: 'incoming/ver-policy.jpg' },
        ['content-length-range', 1, MAX_BYTES],
        ['starts-with', '$Content-Type', 'image/'],
      ]),
    );
    // No prefix: the form for ver-policy must not reach incoming/ver-policy.2.jpg, another id's key.
    expect(JSON.stringify(policy.conditions)).not.toContain('starts-with","$key');
  });

  it("pins the metadata it is asked for: a field of the form, an exact condition of the policy, the object's metadata", async () => {
    // Prepare
    const upload = await store.createUpload({
      key: 'incoming/ver-mark.jpg',
      maxBytes: MAX_BYTES,
      expiresInSeconds: 900,
      metadata: { 'verification-id': 'ver-mark' },
    });
    const policy = JSON.parse(Buffer.from(upload.fields.Policy ?? '', 'base64').toString('utf8'));
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([randomBytes(512)], { type: 'image/jpeg' }), 'selfie.jpg');

    // Act
    const response = await fetch(upload.url, { method: 'POST', body: form });

    // Assess
    expect(upload.fields['x-amz-meta-verification-id']).toBe('ver-mark');
    expect(policy.conditions).toContainEqual({ 'x-amz-meta-verification-id': 'ver-mark' });
    expect(response.status).toBe(204);
    const stored = await store.read('incoming/ver-mark.jpg', MAX_BYTES);
    expect(stored.metadata).toMatchObject({ 'verification-id': 'ver-mark' });
  });

  it('accepts an upload through the presigned POST from a plain multipart form', async () => {
    // Prepare: a client sending a PNG says so in Content-Type; the key stays as signed.
    const image = randomBytes(2048);
    const upload = await store.createUpload({
      key: 'incoming/ver-post.jpg',
      maxBytes: MAX_BYTES,
      expiresInSeconds: 900,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.set('Content-Type', 'image/png');
    form.append('file', new Blob([image], { type: 'image/png' }), 'selfie.png');

    // Act
    const response = await fetch(upload.url, { method: 'POST', body: form });

    // Assess
    expect(response.status).toBe(204);
    const stored = await store.read('incoming/ver-post.jpg', MAX_BYTES);
    expect(Buffer.from(stored.bytes).equals(image)).toBe(true);
    const head = await aws.s3Client.send(
      new HeadObjectCommand({ Bucket: aws.bucket, Key: 'incoming/ver-post.jpg' }),
    );
    expect(head.ContentType).toBe('image/png');
  });

  it('refuses a presigned POST upload over the size cap with EntityTooLarge, writing nothing', async () => {
    // Prepare
    const upload = await store.createUpload({
      key: 'incoming/ver-toolarge.jpg',
      maxBytes: MAX_BYTES,
      expiresInSeconds: 900,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([randomBytes(MAX_BYTES + 1)]), 'selfie.jpg');

    // Act
    const response = await fetch(upload.url, { method: 'POST', body: form });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>EntityTooLarge</Code>');
    await expect(store.read('incoming/ver-toolarge.jpg', MAX_BYTES)).rejects.toThrow(
      SelfieNotFoundError,
    );
  });

  it('accepts a presigned POST upload of exactly the size cap', async () => {
    // Prepare
    const upload = await store.createUpload({
      key: 'incoming/ver-atcap.jpg',
      maxBytes: MAX_BYTES,
      expiresInSeconds: 900,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([randomBytes(MAX_BYTES)]), 'selfie.jpg');

    // Act
    const response = await fetch(upload.url, { method: 'POST', body: form });

    // Assess
    expect(response.status).toBe(204);
    expect((await store.read('incoming/ver-atcap.jpg', MAX_BYTES)).bytes).toHaveLength(MAX_BYTES);
  });
});
