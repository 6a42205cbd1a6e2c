/**
 * s3rver 3.7's filesystem store answers a PUT before the object is on disk, and can crash the
 * process doing so. Its `putObject` resolves when the upload has been read, not when its write
 * stream has written it (so the S3 notification, and a GET, can come first and see a short
 * file), and that write stream has no error listener: when a DELETE of the last object under
 * `incoming/` removes the folder between the store's `mkdirp` and the stream's `open`, the
 * ENOENT is an uncaught exception that ends `npm start` (seen in the test suite under load).
 *
 * This replaces the method with one that holds the upload (a selfie: a few MB at most, locally),
 * writes it and its metadata with awaited calls, and starts over when a concurrent delete took
 * the folder. Everything else about s3rver is unchanged.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';

/** A concurrent delete can take the folder again between our mkdir and write; not forever. */
const WRITE_ROUNDS = 5;

let installed = false;

export function installS3rverPutFix(): void {
  if (installed) return;
  installed = true;
  FilesystemStore.prototype.putObject = async function putObject(object) {
    const content = Buffer.isBuffer(object.content)
      ? object.content
      : await collect(object.content);
    const md5 = createHash('md5').update(content).digest('hex');
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    for (let round = 1; ; round++) {
      try {
        await mkdir(dirname(objectPath), { recursive: true });
        await writeFile(objectPath, content);
        await this.putMetadata(object.bucket, object.key, object.metadata, md5);
        return { size: content.length, md5 };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || round >= WRITE_ROUNDS) {
          throw error;
        }
      }
    }
  };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
