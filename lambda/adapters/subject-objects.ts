/**
 * Objects of a data subject in the selfie bucket, erased one key at a time. HEAD first, so the
 * receipt counts only what existed (S3's DELETE answers 204 either way).
 */
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SubjectObjects } from '../core/subjects.ts';
import { isMissingObject } from './selfie-store.ts';

export class S3SubjectObjects implements SubjectObjects {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: { client: S3Client; bucket: string }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
  }

  async erase(key: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      if (isMissingObject(error)) return false;
      throw error;
    }
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    return true;
  }
}
