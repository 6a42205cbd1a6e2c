/**
 * The selfie queue, written to by the sweeper: an upload handed back to the queue worker is an
 * S3 object-created notification like the one S3 itself sends, so the worker has one input shape
 * and one path, whoever queued it.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { WorkQueue } from '../core/sweep.ts';

/** AWS URL-encodes keys in notifications, with a space as `+` (s3rver does not: local/ does). */
export const encodeNotificationKey = (key: string) =>
  encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

/** The body of an S3 event notification for one created object, as SQS delivers it. */
export function objectCreatedNotification(bucket: string, key: string, at = new Date()): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventTime: at.toISOString(),
        // Not an S3 event name a real upload produces: a log shows who queued it.
        eventName: 'ObjectCreated:Requeued',
        s3: { bucket: { name: bucket }, object: { key: encodeNotificationKey(key) } },
      },
    ],
  });
}

export class SqsWorkQueue implements WorkQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #bucket: string;

  constructor(options: { client: SQSClient; queueUrl: string; bucket: string }) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#bucket = options.bucket;
  }

  async requeue(selfieKey: string): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: objectCreatedNotification(this.#bucket, selfieKey),
      }),
    );
  }
}
