/**
 * The deployed sender's handler: SQS records from an endpoint's queue, a real loopback receiver
 * verifying with the Standard Webhooks library, SQS itself faked. A retryable failure must stay on
 * the queue with the schedule's wait as its visibility; everything else is acknowledged.
 */
import { randomBytes } from 'node:crypto';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqsMessageVisibility } from '../../lambda/adapters/message-visibility.ts';
import { HttpWebhookSender } from '../../lambda/adapters/webhook-sender.ts';
import { formatWebhookSecret, parseWebhookSecret } from '../../lambda/core/webhooks.ts';
import { createWebhookSenderHandler } from '../../lambda/handlers/webhook-sender-handler.ts';
import type { WebhookRuntime } from '../../lambda/webhook-runtime.ts';
import { lambdaContext } from '../../local/lambda-shim.ts';
import { captureOutput, sqsRecord, verdictEvent } from '../support/events.ts';
import { InMemoryWebhookDeliveries } from '../support/in-memory.ts';
import {
  type ReceiverAnswer,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../support/webhook-receiver.ts';

const QUEUE_ARN = 'arn:aws:sqs:ap-southeast-3:111122223333:facematch-dev-webhook-crm';
const QUEUE_URL = 'https://sqs.ap-southeast-3.amazonaws.com/111122223333/facematch-dev-webhook-crm';
const KEY = randomBytes(32);

const sqs = mockClient(SQSClient);
let receiver: WebhookReceiver;
let sender: HttpWebhookSender;
let deliveries: InMemoryWebhookDeliveries;

const record = (body: unknown, queueArn = QUEUE_ARN) => ({
  ...sqsRecord({ body: JSON.stringify(body) }),
  eventSourceARN: queueArn,
});

async function handlerFor(
  answer: (attempt: number) => ReceiverAnswer,
  key: () => Promise<Uint8Array> = async () => KEY,
) {
  receiver = await startWebhookReceiver(formatWebhookSecret(KEY), answer);
  // The deployed sender refuses http; this one may reach the loopback receiver.
  sender = new HttpWebhookSender({ allowLoopbackHttp: true, timeoutMs: 2_000 });
  deliveries = new InMemoryWebhookDeliveries();
  const runtime: WebhookRuntime = {
    visibility: new SqsMessageVisibility(new SQSClient({ region: 'ap-southeast-3' })),
    endpointsByQueueArn: new Map([
      [QUEUE_ARN, { queueUrl: QUEUE_URL, endpoint: { name: 'crm', url: receiver.url, key } }],
    ]),
    deps: {
      sender,
      deliveries,
      clock: { now: () => Date.now() },
      random: () => 0,
      retentionDays: 14,
    },
  };
  return createWebhookSenderHandler(runtime);
}

const context = () => lambdaContext('facematch-webhook-sender', 30_000);

/** Runs `work` with the handler's log lines captured (and returned) instead of printed. */
async function quietly<T>(work: () => Promise<T>): Promise<{ result: T; logs: string }> {
  const output = captureOutput();
  try {
    return { result: await work(), logs: output.text() };
  } finally {
    output.restore();
  }
}

beforeEach(() => {
  sqs.reset();
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
});

afterEach(async () => {
  sender?.close();
  await receiver?.close();
});

describe('the webhook sender handler', () => {
  it('acknowledges a delivered event and logs it DELIVERED', async () => {
    const handler = await handlerFor(() => 200);
    const event = verdictEvent();
    const { result } = await quietly(() => handler({ Records: [record(event)] }, context()));

    expect(result.batchItemFailures).toEqual([]);
    expect(receiver.delivered).toEqual([event.id]);
    expect(receiver.rejected()).toEqual([]);
    expect(await deliveries.get(`crm/${event.id}`)).toMatchObject({ state: 'DELIVERED' });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });

  it('keeps a 503 on the queue, invisible for the first wait (5 s), and reports it failed', async () => {
    const handler = await handlerFor(() => 503);
    const sqsRec = record(verdictEvent());
    const { result } = await quietly(() => handler({ Records: [sqsRec] }, context()));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sqsRec.messageId }]);
    expect(
      sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input),
    ).toEqual([{ QueueUrl: QUEUE_URL, ReceiptHandle: sqsRec.receiptHandle, VisibilityTimeout: 5 }]);
  });

  it('continues the schedule from the log: the third attempt waits 30 minutes', async () => {
    const handler = await handlerFor(() => 500);
    const event = verdictEvent();
    await quietly(async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        await handler({ Records: [record(event)] }, context());
      }
    });

    const waits = sqs
      .commandCalls(ChangeMessageVisibilityCommand)
      .map((call) => call.args[0].input.VisibilityTimeout);
    expect(waits).toEqual([5, 300, 1800]);
    expect(new Set(receiver.received.map((entry) => entry.id))).toEqual(new Set([event.id]));
  });

  it('acknowledges a 400 at once: FAILED in the log, no retry', async () => {
    const handler = await handlerFor(() => 400);
    const event = verdictEvent();
    const { result } = await quietly(() => handler({ Records: [record(event)] }, context()));

    expect(result.batchItemFailures).toEqual([]);
    expect(await deliveries.get(`crm/${event.id}`)).toMatchObject({
      state: 'FAILED',
      last_status: 400,
    });
  });

  it('does not send an event again that was already delivered (a duplicate from EventBridge)', async () => {
    const handler = await handlerFor(() => 200);
    const event = verdictEvent();
    const { result: second } = await quietly(async () => {
      await handler({ Records: [record(event)] }, context());
      return handler({ Records: [record(event)] }, context());
    });

    expect(second.batchItemFailures).toEqual([]);
    expect(receiver.received.map((entry) => entry.id)).toEqual([event.id]);
  });

  it('posts an event once when one batch carries it twice', async () => {
    const handler = await handlerFor(() => 200);
    const event = verdictEvent();

    const { result } = await quietly(() =>
      handler({ Records: [record(event), record(verdictEvent()), record(event)] }, context()),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(receiver.received.filter((entry) => entry.id === event.id)).toHaveLength(1);
    expect(receiver.received).toHaveLength(2);
  });

  it('acknowledges a message that is not a verdict event, and hands back one from an unknown queue', async () => {
    const handler = await handlerFor(() => 200);
    const stray = record(verdictEvent(), 'arn:aws:sqs:ap-southeast-3:111122223333:other');
    const { result } = await quietly(() =>
      handler({ Records: [record({ hello: 'world' }), stray] }, context()),
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: stray.messageId }]);
    expect(receiver.received).toEqual([]);
  });

  it('hands a message back when the delivery log is unreachable, logging no secret', async () => {
    const handler = await handlerFor(() => 200);
    deliveries.get = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
    };
    const sqsRec = record(verdictEvent());
    const { result, logs } = await quietly(() => handler({ Records: [sqsRec] }, context()));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sqsRec.messageId }]);
    expect(logs).not.toContain(formatWebhookSecret(KEY));
    expect(logs).not.toContain(KEY.toString('base64'));
  });

  it('hands a message back when the secret is malformed, naming the secret and never its value', async () => {
    // Prepare: an imported secret someone filled with a password instead of a whsec_ value
    const badValue = 'correct-horse-battery-staple';
    const badHandler = await handlerFor(
      () => 200,
      async () =>
        parseWebhookSecret(badValue, 'the secret of webhook "crm" (arn:...:crm-AbCdEf)', {
          allowRaw: true,
        }),
    );
    const sqsRec = record(verdictEvent());
    // Act
    const { result, logs } = await quietly(() => badHandler({ Records: [sqsRec] }, context()));

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sqsRec.messageId }]);
    expect(receiver.received).toEqual([]);
    expect(logs).toContain('the secret of webhook \\"crm\\"');
    expect(logs).toContain('must be a whsec_<base64> secret');
    expect(logs).not.toContain(badValue);
  });
});
