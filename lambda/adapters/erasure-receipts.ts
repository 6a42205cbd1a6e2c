/**
 * Erasure receipts: proof that a data subject's request was carried out (who asked, when, what
 * went), kept under `receipts/erasure/` in the KMS-encrypted selfie bucket, whose lifecycle rule
 * for that prefix is their own retention. A receipt holds no NIK and no hash: it cannot be used
 * to find the person again.
 *
 * Next to them, under `receipts/erasure/pending/`, the journal of an erasure under way (see
 * core/subjects.ts): named by a keyed digest of the NIK in the erasure's own domain, it lives
 * only from an erasure's first deletion until its receipt is written (the lifecycle rule of the
 * prefix bounds one whose erasure is never rerun).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ErasureJournal, ErasureReceipt, ErasureReceipts } from '../core/subjects.ts';
import { isMissingObject } from './selfie-store.ts';

export const ERASURE_RECEIPT_PREFIX = 'receipts/erasure/';
export const ERASURE_JOURNAL_PREFIX = `${ERASURE_RECEIPT_PREFIX}pending/`;

export class S3ErasureReceipts implements ErasureReceipts {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: { client: S3Client; bucket: string }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
  }

  async put(receipt: ErasureReceipt): Promise<void> {
    await this.#putJson(`${ERASURE_RECEIPT_PREFIX}${receipt.receipt_id}.json`, receipt);
  }

  async pending(digest: string): Promise<ErasureJournal | null> {
    let text: string | undefined;
    try {
      const object = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: journalKey(digest) }),
      );
      text = await object.Body?.transformToString('utf8');
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw error;
    }
    return parseJournal(text ?? '');
  }

  async journal(digest: string, entry: ErasureJournal): Promise<void> {
    await this.#putJson(journalKey(digest), entry);
  }

  async settle(digest: string): Promise<void> {
    // S3 answers 204 whether or not there was one.
    await this.#client.send(
      new DeleteObjectCommand({ Bucket: this.#bucket, Key: journalKey(digest) }),
    );
  }

  async #putJson(key: string, value: unknown): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
      }),
    );
  }
}

const journalKey = (digest: string) => {
  // A digest is base64url; anything else would name another key under the prefix.
  if (!/^[\w-]{16,128}$/.test(digest)) throw new Error('an erasure journal digest is malformed');
  return `${ERASURE_JOURNAL_PREFIX}${digest}.json`;
};

/**
 * A journal this code wrote, checked on the way in: a journal it cannot read stops the erasure
 * (a 500 for the operator) rather than let a rerun forget what was erased.
 */
function parseJournal(text: string): ErasureJournal {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('the erasure journal is not valid JSON');
  }
  const entry = value as Partial<ErasureJournal> | null;
  const counts = entry?.erased as Partial<ErasureJournal['erased']> | undefined;
  const isCount = (count: unknown) => Number.isInteger(count) && (count as number) >= 0;
  if (
    typeof entry?.receipt_id !== 'string' ||
    typeof entry.requested_by !== 'string' ||
    typeof entry.started_at !== 'string' ||
    !Array.isArray(entry.verification_ids) ||
    !entry.verification_ids.every((id) => typeof id === 'string') ||
    !isCount(counts?.records) ||
    !isCount(counts?.selfies) ||
    !isCount(counts?.deliveries)
  ) {
    throw new Error('the erasure journal is not in a known shape');
  }
  return entry as ErasureJournal;
}
