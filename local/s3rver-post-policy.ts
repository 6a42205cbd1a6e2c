/**
 * Makes s3rver 3.7 judge a presigned POST as S3 does. Its `postObject` skips the `Policy` field
 * and checks no signature, so locally a form made for one verification could write another's
 * key (issue 11, finding 7). This reads the form first: its fields up to the file are judged by
 * `checkPostPolicy` (signature, expiry, every condition, no unsigned field), and the file is
 * counted against the policy's `content-length-range` as it arrives, so a refused form writes
 * nothing and an oversized one is not read into memory past its limit. A form that passes is
 * handed, byte for byte, to s3rver's own `postObject`, which stores it and notifies as before.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import objectController, { type S3rverContext } from 's3rver/lib/controllers/object.js';
import S3Error from 's3rver/lib/models/error.js';
import {
  checkPostPolicy,
  type PostPolicyContext,
  PostPolicyError,
  type SizeRange,
} from './post-policy.ts';

export type PostPolicySettings = Omit<PostPolicyContext, 'bucket' | 'now'>;

/** S3 refuses fields before the file that add up to more than 20 KB. */
const MAX_PRE_DATA_BYTES = 20 * 1024;
/** A policy without `content-length-range`: S3 takes 5 GB; the local one holds the body in memory. */
const LOCAL_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Multipart framing (boundaries, part headers) and the fields S3 ignores after the file. */
const FORM_SLACK_BYTES = 256 * 1024;

/** s3rver's own busboy (0.3), the parser its `postObject` uses: the same form, read the same way. */
interface Busboy extends NodeJS.WritableStream {
  on(
    event: 'field',
    listener: (name: string, value: string, nameCut: boolean, valueCut: boolean) => void,
  ): this;
  on(event: 'file', listener: (name: string, file: Readable) => void): this;
  on(event: 'finish', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}
type BusboyConstructor = new (options: {
  headers: Record<string, string | string[] | undefined>;
  limits?: { fieldSize?: number };
}) => Busboy;
const requireFromS3rver = createRequire(createRequire(import.meta.url).resolve('s3rver'));
const BusboyParser = requireFromS3rver('busboy') as BusboyConstructor;

const settingsOf = new WeakMap<object, PostPolicySettings>();
let installed = false;

/** From now on every POST upload to `s3rver` is judged by its policy. */
export function enforcePostPolicies(s3rver: object, settings: PostPolicySettings): void {
  settingsOf.set(s3rver, settings);
  if (installed) return;
  installed = true;
  const original = objectController.postObject;
  objectController.postObject = async function postObject(ctx: S3rverContext) {
    const settings = settingsOf.get(ctx.app);
    // Not multipart: s3rver's own answer (412) is S3's.
    if (settings === undefined || !ctx.is('multipart/form-data')) return original(ctx);
    let body: Buffer;
    try {
      body = await readJudgedForm(ctx, (fields) =>
        checkPostPolicy(fields, { ...settings, bucket: ctx.params.bucket, now: Date.now() }),
      );
    } catch (error) {
      if (error instanceof PostPolicyError) {
        throw new S3Error(error.code, error.message, error.detail);
      }
      throw error;
    }
    // The very bytes judged, parsed again by s3rver: the object stored is the one allowed.
    ctx.req = Readable.from([body]) as unknown as S3rverContext['req'];
    return original(ctx);
  };
}

/**
 * Reads the whole form, judging it on the way: `judge` gets the fields before the file and says
 * how large the file may be. Resolves with the raw body; rejects with S3's error, having stopped
 * keeping the body (the rest is drained so the client still reads the answer).
 */
function readJudgedForm(
  ctx: S3rverContext,
  judge: (fields: ReadonlyMap<string, string>) => SizeRange,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = ctx.req;
    const chunks: Buffer[] = [];
    const fields = new Map<string, string>();
    let preDataBytes = 0;
    let rawBytes = 0;
    /** The whole body, once the policy has said how large the file may be. */
    let maxRawBytes = LOCAL_MAX_FILE_BYTES + MAX_PRE_DATA_BYTES + FORM_SLACK_BYTES;
    let fileSeen = false;
    let settled = false;
    const busboy = new BusboyParser({
      headers: ctx.headers,
      limits: { fieldSize: MAX_PRE_DATA_BYTES + 1 },
    });
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      request.unpipe(busboy);
      request.resume();
      reject(error);
    };
    const tooLarge = (size: number, max: number) =>
      new PostPolicyError(
        'EntityTooLarge',
        400,
        'Your proposed upload exceeds the maximum allowed size',
        {
          ProposedSize: size,
          MaxSizeAllowed: max,
        },
      );
    const tooSmall = (size: number, min: number) =>
      new PostPolicyError(
        'EntityTooSmall',
        400,
        'Your proposed upload is smaller than the minimum allowed size',
        {
          ProposedSize: size,
          MinSizeAllowed: min,
        },
      );
    /** Judges the form at its file: S3 ignores every field after it. */
    const atFile = (): { min: number; max: number } | null => {
      fileSeen = true;
      try {
        const range = judge(fields);
        const max = Math.min(range.maxBytes ?? LOCAL_MAX_FILE_BYTES, LOCAL_MAX_FILE_BYTES);
        maxRawBytes = max + MAX_PRE_DATA_BYTES + FORM_SLACK_BYTES;
        return { min: range.minBytes, max };
      } catch (error) {
        fail(error);
        return null;
      }
    };

    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      rawBytes += chunk.length;
      // Whatever follows the file (S3 ignores it) is not held without bound either.
      if (rawBytes > maxRawBytes) fail(tooLarge(rawBytes, maxRawBytes));
      else chunks.push(chunk);
    });
    busboy.on('field', (name, value, _nameCut, valueCut) => {
      if (settled || fileSeen) return;
      if (name === 'file') {
        // A file part without a filename reaches busboy as a field; s3rver takes it as the file.
        const range = atFile();
        const size = Buffer.byteLength(value);
        if (range !== null && size > range.max) fail(tooLarge(size, range.max));
        else if (range !== null && size < range.min) fail(tooSmall(size, range.min));
        return;
      }
      preDataBytes += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (valueCut || preDataBytes > MAX_PRE_DATA_BYTES) {
        fail(
          new PostPolicyError(
            'MaxPostPreDataLengthExceededError',
            400,
            'Your POST request fields preceding the upload file were too large.',
            { MaxPostPreDataLength: MAX_PRE_DATA_BYTES },
          ),
        );
        return;
      }
      const lower = name.toLowerCase();
      // One value per field: s3rver keeps the last, a judge the first; neither may be chosen.
      if (fields.has(lower)) {
        fail(
          new PostPolicyError(
            'InvalidArgument',
            400,
            `POST form field ${name} appears more than once`,
            {
              ArgumentName: name,
              ArgumentValue: '',
            },
          ),
        );
        return;
      }
      fields.set(lower, value);
    });
    busboy.on('file', (name, file) => {
      if (settled || fileSeen || name !== 'file') {
        file.resume();
        return;
      }
      const range = atFile();
      let size = 0;
      file.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (range !== null && size > range.max) fail(tooLarge(size, range.max));
      });
      file.on('end', () => {
        if (range !== null && size < range.min) fail(tooSmall(size, range.min));
      });
      file.resume();
    });
    busboy.on('error', fail);
    busboy.on('finish', () => {
      if (settled) return;
      settled = true;
      // No file at all: s3rver's own error (InvalidArgument, one file per POST) is S3's.
      resolve(Buffer.concat(chunks));
    });
    request.pipe(busboy);
  });
}
