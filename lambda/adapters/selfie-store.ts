/**
 * The selfie bucket. Reads are bounded before and during download, so an oversized or swapped
 * object can never make a Lambda buffer more than the configured cap.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { FacematchError, SelfieNotFoundError, SelfieTooLargeError } from '../core/errors.ts';
import type { SelfieStore } from '../core/ports.ts';
import { YoungGarbageReleaser } from './young-garbage.ts';

export interface S3SelfieStoreOptions {
  client: S3Client;
  bucket: string;
  /** Epoch milliseconds; injectable so tests can pin `expiresAt`. */
  now?: () => number;
}

/**
 * How many times `read` starts over from HEAD when the object was replaced between HEAD and GET
 * (S3 answers the GET's `If-Match` with 412). One restart covers a client re-uploading its selfie;
 * a second replacement within milliseconds surfaces the SDK error, which `isTransientAwsError`
 * classifies as transient, so the queue tries again later.
 */
const READ_ROUNDS = 2;

/** What a client's `Content-Type` form field should say for the key's extension. */
const CONTENT_TYPE_BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
};

type Body = AsyncIterable<Uint8Array> & { destroy?: () => void };

export class S3SelfieStore implements SelfieStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #now: () => number;

  constructor(options: S3SelfieStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#now = options.now ?? Date.now;
  }

  async read(
    key: string,
    maxBytes: number,
  ): Promise<{ bytes: Uint8Array; metadata: Record<string, string> }> {
    for (let round = 1; ; round++) {
      const head = await this.#head(key);
      // Refuse before downloading a byte: the cap exists to protect the Lambda's memory.
      if (head.ContentLength !== undefined && head.ContentLength > maxBytes) {
        throw new SelfieTooLargeError(maxBytes, head.ContentLength);
      }
      try {
        return await this.#download(key, maxBytes, head.ETag);
      } catch (error) {
        if (errorName(error) !== 'PreconditionFailed' || round >= READ_ROUNDS) throw error;
      }
    }
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  /**
   * A browser or mobile client uploads with a `multipart/form-data` POST to `url` carrying every
   * entry of `fields` unchanged (in any order), then the image as the **last** part, named `file`
   * (S3 ignores everything after it). The policy pins the exact `key`: a prefix would let the
   * form for id `X` write `incoming/X.2.jpg`, another verification's key. It also pins each
   * `metadata` entry, accepts any `Content-Type` starting with `image/` (`fields['Content-Type']`
   * suggests one from the key's extension; a client sending a PNG may say `image/png`: the key
   * keeps its name, the bytes decide the type) and a body of 1 to `maxBytes` bytes. The image's
   * magic bytes are still checked when the object is read: a policy cannot tell a PNG from a GIF.
   */
  async createUpload(input: {
    key: string;
    maxBytes: number;
    expiresInSeconds: number;
    metadata?: Record<string, string>;
  }): Promise<{ url: string; fields: Record<string, string>; expiresAt: string }> {
    const issuedAt = this.#now();
    // A static import on purpose: the signer itself is 1.4 kB, but a dynamic import() makes the
    // single-file bundle wrap it and everything it imports (all of @aws-sdk/client-s3's index,
    // the aggregated S3 client with every command) in lazy init functions, which defeats
    // tree-shaking: 31 kB more bundle, and the whole S3 command set evaluated at every cold start.
    const post = await createPresignedPost(this.#client, {
      Bucket: this.#bucket,
      // The policy gets `{ key: Key }`, and every entry of `Fields` pinned to its exact value: S3
      // refuses the POST without them, or with other values, and stores the x-amz-meta-* fields
      // as the object's user metadata.
      Key: input.key,
      Conditions: [
        ['content-length-range', 1, input.maxBytes],
        ['starts-with', '$Content-Type', 'image/'],
      ],
      Fields: Object.fromEntries(
        Object.entries(input.metadata ?? {}).map(([name, value]) => [`x-amz-meta-${name}`, value]),
      ),
      Expires: input.expiresInSeconds,
    });
    const contentType = CONTENT_TYPE_BY_EXTENSION[extensionOf(input.key)];
    return {
      url: post.url,
      fields: {
        ...post.fields,
        ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
      },
      expiresAt: new Date(issuedAt + input.expiresInSeconds * 1000).toISOString(),
    };
  }

  async #head(key: string): Promise<HeadObjectCommandOutput> {
    try {
      return await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      if (isMissingObject(error)) throw new SelfieNotFoundError();
      throw error;
    }
  }

  async #download(
    key: string,
    maxBytes: number,
    etag: string | undefined,
  ): Promise<{ bytes: Uint8Array; metadata: Record<string, string> }> {
    let output: GetObjectCommandOutput;
    try {
      output = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          // The object measured by HEAD, not whatever replaced it since.
          ...(etag === undefined ? {} : { IfMatch: etag }),
        }),
      );
    } catch (error) {
      if (isMissingObject(error)) throw new SelfieNotFoundError();
      throw error;
    }
    const body = output.Body as Body | undefined;
    if (body === undefined) throw new SelfieNotFoundError();
    // Servers that ignore If-Match (s3rver does) can still hand over a replaced object; its own
    // length is checked again before and while reading.
    const declared = output.ContentLength;
    if (declared !== undefined && declared > maxBytes) {
      body.destroy?.();
      throw new SelfieTooLargeError(maxBytes, declared);
    }
    const bytes = await readBounded(body, maxBytes, declared);
    return { bytes, metadata: { ...(output.Metadata ?? {}) } };
  }
}

/**
 * Reads a body into one buffer, preallocated from the declared length so a 5 MB selfie is not
 * copied chunk by chunk. Stops (and so destroys the stream) as soon as the count passes the cap.
 * The HTTP stack's own copies of each chunk are handed back as the read goes (young-garbage.ts).
 */
async function readBounded(
  body: Body,
  maxBytes: number,
  declared: number | undefined,
): Promise<Uint8Array> {
  const garbage = new YoungGarbageReleaser();
  if (declared !== undefined) {
    const bytes = new Uint8Array(declared);
    let offset = 0;
    for await (const chunk of body) {
      if (offset + chunk.byteLength > declared) {
        if (offset + chunk.byteLength > maxBytes) throw new SelfieTooLargeError(maxBytes);
        throw lengthMismatch();
      }
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
      garbage.received(chunk.byteLength);
    }
    if (offset !== declared) throw lengthMismatch();
    return bytes;
  }
  // No length declared (chunked encoding): collect, then join once.
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new SelfieTooLargeError(maxBytes);
    chunks.push(chunk);
    garbage.received(chunk.byteLength);
  }
  return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, total);
}

/** The body disagreed with its own Content-Length: a broken transfer, worth another try. */
function lengthMismatch(): FacematchError {
  return new FacematchError('the selfie download did not match its declared length', {
    code: 'SELFIE_READ_INCOMPLETE',
    status: 502,
    transient: true,
  });
}

function extensionOf(key: string): string {
  const dot = key.lastIndexOf('.');
  return dot === -1 ? '' : key.slice(dot + 1).toLowerCase();
}

function errorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'name' in error
    ? String(error.name)
    : undefined;
}

/**
 * HEAD has no body, so S3 can only say 404 (`NotFound`); GET says `NoSuchKey`. A 403 is not
 * mapped: it means the role lacks `s3:ListBucket` (S3's answer for a missing key then) or
 * `s3:GetObject`, which an operator must see as it is.
 */
export function isMissingObject(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'NotFound' || name === 'NoSuchKey') return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
    ?.httpStatusCode;
  return status === 404;
}
