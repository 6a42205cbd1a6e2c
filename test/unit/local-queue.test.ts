import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../local/lambda-shim.ts';
import { LocalQueue, type QueueHandler } from '../../local/queue.ts';

const RECEIVE_TIMEOUT_MS = 300;

describe('LocalQueue keeps its messages in its folder', () => {
  let directory: string;
  const queues: LocalQueue[] = [];

  const open = () => {
    const queue = new LocalQueue({
      directory,
      maxReceiveCount: 2,
      visibilityTimeoutMs: 20,
      batchSize: 1,
    });
    queues.push(queue);
    return queue;
  };
  const start = (queue: LocalQueue, handler: QueueHandler) =>
    queue.start({
      handler,
      context: () => lambdaContext('test-queue', 10_000),
      receiveTimeoutMs: RECEIVE_TIMEOUT_MS,
    });
  /** Records every record it is given and answers with `outcome`. */
  const recording =
    (seen: SQSRecord[], outcome: 'ok' | 'fail' = 'ok'): QueueHandler =>
    async (event: SQSEvent): Promise<SQSBatchResponse> => {
      seen.push(...event.Records);
      return {
        batchItemFailures:
          outcome === 'ok'
            ? []
            : event.Records.map((record) => ({ itemIdentifier: record.messageId })),
      };
    };
  const files = async () => (await readdir(directory)).filter((name) => name.endsWith('.json'));

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'facematch-queue-'));
  });

  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.stop();
    await rm(directory, { recursive: true, force: true });
  });

  it('writes a message before send returns, and deletes it once handled', async () => {
    // Prepare
    const queue = open();
    const seen: SQSRecord[] = [];

    // Act
    const id = queue.send('{"hello":1}');
    const written = await files();
    await start(queue, recording(seen));
    await queue.idle();

    // Assess: on disk before any consumer existed; delivered once (not again by the restore).
    expect(written).toEqual([`${id}.json`]);
    expect(seen.map((record) => record.messageId)).toEqual([id]);
    expect(await files()).toEqual([]);
  });

  it('gives a message whose handler never answered to the next process after the receive timeout', async () => {
    // Prepare: the first process receives the message and dies inside the handler.
    const crashed = open();
    crashed.send('{"in":"flight"}');
    let received = 0;
    let release = () => {};
    await start(crashed, async () => {
      received = Date.now();
      // Never answers while the test runs; released at its end so `stop()` can finish.
      return new Promise<SQSBatchResponse>((resolve) => {
        release = () => resolve({ batchItemFailures: [] });
      });
    });
    while (received === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const seen: SQSRecord[] = [];
    let deliveredAt = 0;

    // Act: a new process on the same folder.
    const next = open();
    const restored = await start(next, async (event) => {
      deliveredAt = Date.now();
      return recording(seen)(event, lambdaContext('test-queue', 10_000));
    });
    await next.idle();
    release();

    // Assess: its second receive, not before the first one's timeout.
    expect(restored).toBe(1);
    expect(seen.map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['2']);
    expect(deliveredAt - received).toBeGreaterThanOrEqual(RECEIVE_TIMEOUT_MS - 20);
    expect(await files()).toEqual([]);
  });

  it('moves a message failed on its last receive to dead/, where a restart does not take it up', async () => {
    // Prepare
    const queue = open();
    const seen: SQSRecord[] = [];
    const id = queue.send('{"always":"fails"}');

    // Act
    await start(queue, recording(seen, 'fail'));
    await queue.idle();
    await queue.stop();
    const again = open();
    const restored = await start(again, recording(seen));

    // Assess
    expect(seen.map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(queue.deadLetters.map((record) => record.messageId)).toEqual([id]);
    expect(await readdir(join(directory, 'dead'))).toEqual([`${id}.json`]);
    expect(JSON.parse(await readFile(join(directory, 'dead', `${id}.json`), 'utf8'))).toMatchObject(
      { body: '{"always":"fails"}', receiveCount: 2 },
    );
    expect(restored).toBe(0);
  });

  it('ignores what is not one of its message files, and clears interrupted rewrites', async () => {
    // Prepare
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(directory, 'notes.json'), '{"id":"x"}');
    await writeFile(join(directory, '0b7e6f2e-8a8f-4a43-9d0e-3f5f0c1a2b3c.json.tmp'), '{');
    const seen: SQSRecord[] = [];

    // Act
    const restored = await start(open(), recording(seen));

    // Assess
    expect(restored).toBe(0);
    expect(seen).toEqual([]);
    expect((await readdir(directory)).sort()).toEqual(['dead', 'notes.json']);
  });
});
