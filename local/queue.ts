/**
 * A small in-process stand-in for the SQS queue between S3 and the queue Lambda: S3 notifications
 * become SQS records, failed records (batchItemFailures) come back after a visibility delay, and a
 * record that fails `maxReceiveCount` times is dead-lettered: printed and kept for inspection.
 *
 * Durable, as SQS is (issue 18): each message is a file in `directory`, written by `send` before
 * it returns, i.e. before s3rver acknowledges the upload that caused it; rewritten when it is
 * received or handed back (its receive count and when it is visible again); deleted only once the
 * handler has acknowledged it; moved to `dead/` when dead-lettered. `start()` takes up whatever a
 * crashed process left: a message it had received but never answered becomes visible
 * `receiveTimeoutMs` after that receive, as an SQS message whose consumer died does after its
 * visibility timeout.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type QueueHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface LocalQueueOptions {
  maxReceiveCount: number;
  /** How long a handed-back message stays invisible. */
  visibilityTimeoutMs: number;
  /** Where messages live: one JSON file each, `dead/` for dead letters. */
  directory: string;
  batchSize?: number;
  onDeadLetter?: (record: SQSRecord) => void;
  queueArn?: string;
}

/** What `start` needs, known only once the runtime is built. */
export interface LocalQueueConsumer {
  handler: QueueHandler;
  context: () => Context;
  /**
   * How long a received message stays invisible when its handler never answers (the process
   * died): longer than the verification lease, so that the redelivery finds the dead worker's
   * claim expired and finishes the record instead of being handed back until it is
   * dead-lettered.
   */
  receiveTimeoutMs: number;
}

interface Message {
  id: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  /** Epoch ms before which the message may not be received (again). */
  visibleAt: number;
}

const DEAD_LETTERS = 'dead';
const isMessage = (value: unknown): value is Message => {
  const message = value as Partial<Message> | null;
  return (
    typeof message?.id === 'string' &&
    /^[0-9a-f-]{36}$/.test(message.id) &&
    typeof message.body === 'string' &&
    typeof message.sentAt === 'number' &&
    typeof message.receiveCount === 'number' &&
    typeof message.visibleAt === 'number'
  );
};

export class LocalQueue {
  private readonly ready: Message[] = [];
  private readonly delayed = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  readonly deadLetters: SQSRecord[] = [];
  private consumer: LocalQueueConsumer | undefined;

  /** Accepts messages at once (S3 may notify before the handlers exist); delivers after `start`. */
  constructor(private readonly options: LocalQueueOptions) {
    mkdirSync(join(options.directory, DEAD_LETTERS), { recursive: true });
  }

  /**
   * Takes up the messages a previous process left in `directory`, then starts delivering.
   * Resolves with how many were taken up.
   */
  async start(consumer: LocalQueueConsumer): Promise<number> {
    const known = new Set(this.ready.map((message) => message.id));
    const names = await readdir(this.options.directory);
    const left: Message[] = [];
    for (const name of names) {
      const path = join(this.options.directory, name);
      // A rewrite the crash interrupted: the message file, if any, is still the previous version.
      if (name.endsWith('.tmp')) await unlink(path).catch(() => undefined);
      if (!name.endsWith('.json')) continue;
      const parsed: unknown = JSON.parse(await readFile(path, 'utf8').catch(() => 'null'));
      if (isMessage(parsed) && `${parsed.id}.json` === name && !known.has(parsed.id)) {
        left.push(parsed);
      }
    }
    left.sort((a, b) => a.sentAt - b.sentAt);
    this.consumer = consumer;
    for (const message of left) this.makeVisible(message);
    this.pump();
    return left.length;
  }

  /** Enqueues `body`; it is in its file when this returns, so a crash after it loses nothing. */
  send(body: string): string {
    if (this.stopped) throw new Error('queue stopped');
    const now = Date.now();
    const message = { id: randomUUID(), body, sentAt: now, receiveCount: 0, visibleAt: now };
    writeFileAtomicSync(this.pathOf(message), JSON.stringify(message));
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
    if (this.consumer === undefined) return;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      this.notifyIdle();
    });
  }

  private async drain() {
    const consumer = this.consumer as LocalQueueConsumer;
    while (!this.stopped && this.ready.length > 0) {
      const batch = this.ready.splice(0, this.options.batchSize ?? 5);
      this.inFlight += batch.length;
      const records = batch.map((message) => this.toRecord(message));
      const receivedAt = Date.now();
      await Promise.all(
        batch.map((message) =>
          this.save({ ...message, visibleAt: receivedAt + consumer.receiveTimeoutMs }),
        ),
      );
      let failed = new Set<string>(records.map((record) => record.messageId));
      try {
        const response = await consumer.handler({ Records: records }, consumer.context());
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
        if (failed.has(message.id)) await this.retryOrDeadLetter(message);
        else await unlink(this.pathOf(message)).catch(() => undefined);
      }
    }
  }

  private async retryOrDeadLetter(message: Message) {
    if (message.receiveCount >= this.options.maxReceiveCount) {
      const record = this.toRecord(message, false);
      this.deadLetters.push(record);
      await rename(
        this.pathOf(message),
        join(this.options.directory, DEAD_LETTERS, `${message.id}.json`),
      ).catch(() => undefined);
      this.options.onDeadLetter?.(record);
      return;
    }
    message.visibleAt = Date.now() + this.options.visibilityTimeoutMs;
    await this.save(message);
    if (this.stopped) return;
    this.makeVisible(message);
  }

  /** Ready now, or once its `visibleAt` has come. */
  private makeVisible(message: Message) {
    const wait = message.visibleAt - Date.now();
    if (wait <= 0) {
      this.ready.push(message);
      this.pump();
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      this.ready.push(message);
      this.pump();
    }, wait);
    this.delayed.add(timer);
  }

  private pathOf(message: Message) {
    return join(this.options.directory, `${message.id}.json`);
  }

  /**
   * Rewrites a message's file (receive count, visibility): written aside, then renamed, so a
   * crash leaves the old version or the new one, never half of one.
   */
  private async save(message: Message) {
    const path = this.pathOf(message);
    try {
      await writeFile(`${path}.tmp`, JSON.stringify(message));
      await rename(`${path}.tmp`, path);
    } catch (error) {
      // The message is still delivered from memory; after a crash its file's older version
      // makes it visible sooner, or with a lower count, than it should: nothing is lost.
      console.error('queue: could not rewrite a message file', (error as Error).name);
    }
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

/**
 * Writes `text` to `path` so that a process killed at any point leaves the old file or the new
 * one: written aside, then renamed into place. Not fsynced: what a killed process wrote is in the
 * page cache and survives it; a power cut can lose it, as it can s3rver's objects and dynalite's
 * records, which are not synced either (the local runtime is not a durable store).
 */
function writeFileAtomicSync(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}
