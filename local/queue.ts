/**
 * A small in-process stand-in for the SQS queue between S3 and the queue Lambda: S3 notifications
 * become SQS records, failed records (batchItemFailures) come back after a visibility delay, and a
 * record that fails `maxReceiveCount` times is dead-lettered: printed and kept for inspection.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type QueueHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface LocalQueueOptions {
  handler: QueueHandler;
  context: () => Context;
  maxReceiveCount: number;
  visibilityTimeoutMs: number;
  batchSize?: number;
  onDeadLetter?: (record: SQSRecord) => void;
  queueArn?: string;
}

interface Message {
  id: string;
  body: string;
  sentAt: number;
  receiveCount: number;
}

export class LocalQueue {
  private readonly ready: Message[] = [];
  private readonly delayed = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  readonly deadLetters: SQSRecord[] = [];

  constructor(private readonly options: LocalQueueOptions) {}

  send(body: string): string {
    if (this.stopped) throw new Error('queue stopped');
    const message = { id: randomUUID(), body, sentAt: Date.now(), receiveCount: 0 };
    this.ready.push(message);
    this.pump();
    return message.id;
  }

  /** Resolves when nothing is queued, delayed or being handled. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    await this.running;
  }

  private isIdle() {
    return this.ready.length === 0 && this.delayed.size === 0 && this.inFlight === 0;
  }

  private notifyIdle() {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump() {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      this.notifyIdle();
    });
  }

  private async drain() {
    while (!this.stopped && this.ready.length > 0) {
      const batch = this.ready.splice(0, this.options.batchSize ?? 5);
      this.inFlight += batch.length;
      const records = batch.map((message) => this.toRecord(message));
      let failed = new Set<string>(records.map((record) => record.messageId));
      try {
        const response = await this.options.handler({ Records: records }, this.options.context());
        failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      } catch (error) {
        // A thrown handler fails the whole batch, exactly as Lambda does.
        console.error(
          'queue handler threw; the whole batch will be retried',
          (error as Error).name,
        );
      } finally {
        this.inFlight -= batch.length;
      }
      for (const message of batch) {
        if (failed.has(message.id)) this.retryOrDeadLetter(message);
      }
    }
  }

  private retryOrDeadLetter(message: Message) {
    if (message.receiveCount >= this.options.maxReceiveCount) {
      const record = this.toRecord(message, false);
      this.deadLetters.push(record);
      this.options.onDeadLetter?.(record);
      return;
    }
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      this.ready.push(message);
      this.pump();
    }, this.options.visibilityTimeoutMs);
    this.delayed.add(timer);
  }

  private toRecord(message: Message, receive = true): SQSRecord {
    if (receive) message.receiveCount += 1;
    const now = Date.now();
    return {
      messageId: message.id,
      receiptHandle: `${message.id}#${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'local-s3',
        ApproximateFirstReceiveTimestamp: String(now),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(message.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn ?? 'arn:aws:sqs:ap-southeast-3:000000000000:local',
      awsRegion: 'ap-southeast-3',
    };
  }
}
