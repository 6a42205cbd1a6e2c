/**
 * The selfies kept for reviewers, under `review/` in the selfie bucket. Encrypted by the bucket's
 * default (SSE-KMS with the environment's key), expired by the lifecycle rule on `review/`
 * (`retention.reviewSelfieDays`), deleted when their review closes.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ReviewSelfies } from '../core/ports.ts';
import { REVIEW_SELFIE_PREFIX } from '../core/review.ts';
import type { SelfieImage } from '../core/types.ts';
import { isMissingObject } from './selfie-store.ts';

export class S3ReviewSelfies implements ReviewSelfies {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #now: () => number;

  constructor(options: { client: S3Client; bucket: string; now?: () => number }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#now = options.now ?? Date.now;
  }

  async keep(key: string, image: Pick<SelfieImage, 'bytes' | 'mime'>): Promise<void> {
    assertReviewKey(key);
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        Body: image.bytes,
        ContentType: image.mime,
      }),
    );
  }

  async delete(key: string): Promise<void> {
    assertReviewKey(key);
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async presign(
    key: string,
    expiresInSeconds: number,
  ): Promise<{ url: string; expiresAt: string } | null> {
    assertReviewKey(key);
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      // Never written (the keep failed), or expired by the lifecycle rule: nothing to show.
      if (isMissingObject(error)) return null;
      throw error;
    }
    const issuedAt = this.#now();
    const url = await getSignedUrl(
      this.#client,
      new GetObjectCommand({ Bucket: this.#bucket, Key: key }),
      { expiresIn: expiresInSeconds },
    );
    return { url, expiresAt: new Date(issuedAt + expiresInSeconds * 1000).toISOString() };
  }
}

/** This adapter never reaches outside `review/`, whatever key a record names. */
function assertReviewKey(key: string): void {
  if (!key.startsWith(REVIEW_SELFIE_PREFIX) || key.includes('..')) {
    throw new Error('a kept selfie key must lie under review/');
  }
}
