/**
 * The webhook sender: SQS records (EventBridge verdict events routed by one rule per endpoint to
 * that endpoint's queue), one delivery attempt each (partial batch failures). A retryable failure
 * stays on the queue: its visibility is set to the schedule's next wait (ChangeMessageVisibility)
 * and it is reported failed, so SQS itself holds it until then. Delivered, refused or given up:
 * acknowledged, the delivery log says which. Anything this code could not judge (the log table or
 * the secret unreachable) goes back with the queue's own timeout, and to the DLQ in the end.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  deliverWebhook,
  type MessageVisibility,
  messageFromEvent,
  WebhookMessageError,
} from '../core/webhooks.ts';
import { logger } from '../observability.ts';
import type { WebhookRuntime } from '../webhook-runtime.ts';
import { safeErrorFields } from './http.ts';

/** SQS's ceiling for one visibility timeout. */
const MAX_VISIBILITY_SECONDS = 43_200;

async function holdUntilNextAttempt(
  visibility: MessageVisibility,
  queueUrl: string,
  record: SQSRecord,
  delayMs: number,
): Promise<void> {
  const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil(delayMs / 1000)));
  try {
    await visibility.hold(queueUrl, record.receiptHandle, seconds);
  } catch (error) {
    // The queue's own visibility timeout then decides when it comes back: sooner, never lost.
    logger.warn('could not delay the retry; the queue timeout applies', safeErrorFields(error));
  }
}

/** True when the record is done with (acknowledge), false to hand it back. */
async function processRecord(runtime: WebhookRuntime, record: SQSRecord): Promise<boolean> {
  const queued = runtime.endpointsByQueueArn.get(record.eventSourceARN);
  if (queued === undefined) {
    // A queue this function was not configured for: a deployment mismatch to fix, not to drop.
    logger.error('message from a queue with no webhook endpoint', {
      message_id: record.messageId,
    });
    return false;
  }
  let message: ReturnType<typeof messageFromEvent>;
  try {
    message = messageFromEvent(JSON.parse(record.body));
  } catch (error) {
    if (!(error instanceof WebhookMessageError) && !(error instanceof SyntaxError)) throw error;
    // Retrying cannot fix it; the log line is its trace.
    logger.error('message is not a verdict event; acknowledged', {
      message_id: record.messageId,
      endpoint: queued.endpoint.name,
      reason: error instanceof WebhookMessageError ? error.message : 'not JSON',
    });
    return true;
  }
  try {
    const outcome = await deliverWebhook(queued.endpoint, message, runtime.deps);
    if (outcome.kind !== 'retry') return true;
    await holdUntilNextAttempt(runtime.visibility, queued.queueUrl, record, outcome.delayMs);
    return false;
  } catch (error) {
    logger.error('webhook delivery could not be attempted; handed back to the queue', {
      endpoint: queued.endpoint.name,
      message_id: record.messageId,
      ...safeErrorFields(error),
    });
    return false;
  }
}

/** The event id a record carries, for ordering duplicates; its message id when unreadable. */
function eventIdOf(record: SQSRecord): string {
  try {
    const id = (JSON.parse(record.body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : record.messageId;
  } catch {
    return record.messageId;
  }
}

export function createWebhookSenderHandler(runtime: WebhookRuntime) {
  const webhookSenderHandler = async (
    event: SQSEvent,
    _context: Context,
  ): Promise<SQSBatchResponse> => {
    // Records of one event for one endpoint (EventBridge delivered it twice) run one after the
    // other, so the second finds the first's DELIVERED in the log instead of posting again.
    const chains = new Map<string, Promise<unknown>>();
    const outcomes = await Promise.all(
      event.Records.map(async (record) => {
        const key = `${record.eventSourceARN} ${eventIdOf(record)}`;
        const run = (chains.get(key) ?? Promise.resolve()).then(() =>
          processRecord(runtime, record),
        );
        chains.set(
          key,
          run.catch(() => undefined),
        );
        return { record, ok: await run };
      }),
    );
    return {
      batchItemFailures: outcomes
        .filter((outcome) => !outcome.ok)
        .map((outcome) => ({ itemIdentifier: outcome.record.messageId })),
    };
  };
  return middy<SQSEvent, SQSBatchResponse>(webhookSenderHandler).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
}
