/**
 * The local S3's store, as `npm start` and the tests run it (local/s3rver-put-fix.ts): a PUT is
 * on disk, whole, when it is answered, and a folder removed by a concurrent delete is made again
 * instead of crashing the process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installS3rverPutFix } from '../../local/s3rver-put-fix.ts';

describe('s3rver putObject, as patched', () => {
  let root: string;
  let store: FilesystemStore;

  beforeAll(() => {
    installS3rverPutFix();
  });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'facematch-s3rver-'));
    store = new FilesystemStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** An upload as s3rver hands it to the store: a stream, slow to arrive. */
  const slowStream = (bytes: Buffer) =>
    Readable.from(
      (async function* () {
        for (let at = 0; at < bytes.length; at += 64 * 1024) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          yield bytes.subarray(at, at + 64 * 1024);
        }
      })(),
    );

  it('has written the whole object, and its metadata, when it resolves', async () => {
    // Prepare
    const bytes = randomBytes(1024 * 1024 + 7);

    // Act
    const stored = await store.putObject({
      bucket: 'b',
      key: 'incoming/whole.jpg',
      metadata: { 'content-type': 'image/jpeg' },
      content: slowStream(bytes),
    });

    // Assess
    const onDisk = await readFile(store.getResourcePath('b', 'incoming/whole.jpg', 'object'));
    expect(onDisk.equals(bytes)).toBe(true);
    expect(stored.size).toBe(bytes.length);
    expect(await store.getMetadata('b', 'incoming/whole.jpg')).toMatchObject({
      'content-length': bytes.length,
    });
  });

  it('makes the folder again when a concurrent delete removed it mid-write', async () => {
    // Prepare: the first metadata write finds its folder gone (as deleteObject prunes it).
    const bytes = randomBytes(4096);
    const objectPath = store.getResourcePath('b', 'incoming/raced.jpg', 'object');
    const putMetadata = store.putMetadata.bind(store);
    let raced = false;
    store.putMetadata = async (...args) => {
      if (!raced) {
        raced = true;
        await rm(objectPath);
        await rmdir(dirname(objectPath));
      }
      return putMetadata(...args);
    };

    // Act
    const stored = await store.putObject({
      bucket: 'b',
      key: 'incoming/raced.jpg',
      metadata: {},
      content: bytes,
    });

    // Assess
    expect(raced).toBe(true);
    expect(stored.size).toBe(bytes.length);
    expect((await readFile(objectPath)).equals(bytes)).toBe(true);
  });
});
