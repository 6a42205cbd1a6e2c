/**
 * Objects in the selfie bucket by key, for the housekeepers: a data subject's erasure (HEAD first,
 * so the receipt counts only what existed: S3's DELETE answers 204 either way) and the sweeper's
 * question whether an upload arrived for a verification that never heard of it.
 */
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SubjectObjects } from '../core/subjects.ts';
import type { Uploads } from '../core/sweep.ts';
import { isMissingObject } from './selfie-store.ts';

export class S3BucketObjects implements SubjectObjects, Uploads {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: { client: S3Client; bucket: string }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
  }

  async erase(key: string): Promise<boolean> {
    if (!(await this.#exists(key))) return false;
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    return true;
  }

  async find(keys: string[]): Promise<string | undefined> {
    for (const key of keys) if (await this.#exists(key)) return key;
    return undefined;
  }

  async #exists(key: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return true;
    } catch (error) {
      if (isMissingObject(error)) return false;
      throw error;
    }
  }
}
