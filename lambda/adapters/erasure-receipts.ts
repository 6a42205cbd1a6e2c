/**
 * Erasure receipts: proof that a data subject's request was carried out (who asked, when, what
 * went), kept under `receipts/erasure/` in the KMS-encrypted selfie bucket, whose lifecycle rule
 * for that prefix is their own retention. A receipt holds no NIK and no hash: it cannot be used
 * to find the person again.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ErasureReceipt, ErasureReceipts } from '../core/subjects.ts';

export const ERASURE_RECEIPT_PREFIX = 'receipts/erasure/';

export class S3ErasureReceipts implements ErasureReceipts {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: { client: S3Client; bucket: string }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
  }

  async put(receipt: ErasureReceipt): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: `${ERASURE_RECEIPT_PREFIX}${receipt.receipt_id}.json`,
        Body: JSON.stringify(receipt),
        ContentType: 'application/json',
      }),
    );
  }
}
