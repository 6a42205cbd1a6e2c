/**
 * The S3 entrance: SQS messages carrying S3 object-created notifications. Each message is judged
 * on its own (partial batch failures): a transient fault hands it back to SQS, a permanent one is
 * recorded as FAILED by the core (except an object marked for another verification, which changes
 * no record) and acknowledged, and nothing is dropped without a log line.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isFinalFailure } from '../core/errors.ts';
import { verificationIdOfUploadKey } from '../core/request.ts';
import { markDeadLettered, verifyUploadedSelfie } from '../core/verify.ts';
import { logger } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { safeErrorFields } from './http.ts';
import { invocationBudget } from './invocation.ts';

export interface SelfieUploadedOptions {
  /** The queue's maxReceiveCount: on the last receive a failing message is marked dead-lettered. */
  maxReceiveCount?: number;
}

interface UploadedObject {
  key: string;
  verificationId: string;
}

type Parsed =
  | { kind: 'objects'; objects: UploadedObject[]; ignored: number }
  | { kind: 'test-event' }
  | { kind: 'malformed' };

/** S3 URL-encodes keys in notifications, with a space as `+`. */
export function decodeS3Key(key: string): string | null {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

export function parseS3Notification(body: string): Parsed {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    return { kind: 'malformed' };
  }
  if (typeof message !== 'object' || message === null) return { kind: 'malformed' };
  const notification = message as { Event?: unknown; Records?: unknown };
  if (notification.Event === 's3:TestEvent') return { kind: 'test-event' };
  if (!Array.isArray(notification.Records)) return { kind: 'malformed' };
  const objects: UploadedObject[] = [];
  let ignored = 0;
  for (const record of notification.Records as Array<Record<string, unknown>>) {
    const eventName = typeof record?.eventName === 'string' ? record.eventName : '';
    const rawKey = (record?.s3 as { object?: { key?: unknown } } | undefined)?.object?.key;
    const key = typeof rawKey === 'string' ? decodeS3Key(rawKey) : null;
    const verificationId = key === null ? null : verificationIdOfUploadKey(key);
    if (!eventName.startsWith('ObjectCreated:') || key === null || verificationId === null) {
      ignored += 1;
      continue;
    }
    objects.push({ key, verificationId });
  }
  return { kind: 'objects', objects, ignored };
}

/** Kept back from the Lambda's remaining time so the batch's failure report still gets out. */
const RESPONSE_RESERVE_MS = 500;

/**
 * Only a final failure (the object's or the identity's fault, or IDmeta's last word, already
 * recorded FAILED by the core) is acknowledged. Anything else, transient or the operator's to fix
 * (a secret the role cannot read, a bug), goes back to SQS and then the DLQ, for a redrive.
 */
const isTransient = (error: unknown): boolean => !isFinalFailure(error);

async function processObject(
  runtime: Runtime,
  object: UploadedObject,
  context: Context,
): Promise<void> {
  const outcome = await verifyUploadedSelfie(
    object,
    runtime.deps,
    invocationBudget(context, RESPONSE_RESERVE_MS),
  );
  if (outcome.replayed) {
    logger.info('duplicate notification for a finished verification ignored', {
      verification_id: object.verificationId,
      status: outcome.record.status,
    });
  }
}

async function processRecord(
  runtime: Runtime,
  record: SQSRecord,
  context: Context,
  options: SelfieUploadedOptions,
): Promise<boolean> {
  const parsed = parseS3Notification(record.body);
  if (parsed.kind === 'test-event') {
    logger.info('s3:TestEvent acknowledged', { message_id: record.messageId });
    return true;
  }
  if (parsed.kind === 'malformed') {
    // Retrying cannot fix it; the log line and the metric are its trace.
    logger.error('message is not an S3 notification; acknowledged', {
      message_id: record.messageId,
    });
    return true;
  }
  if (parsed.ignored > 0) {
    logger.warn('notification records outside incoming/<id>.<jpg|jpeg|png> ignored', {
      message_id: record.messageId,
      ignored: parsed.ignored,
    });
  }
  let ok = true;
  for (const object of parsed.objects) {
    logger.appendKeys({ verification_id: object.verificationId });
    try {
      await processObject(runtime, object, context);
    } catch (error) {
      if (!isTransient(error)) {
        logger.warn('verification ended without a verdict; message acknowledged', {
          ...safeErrorFields(error),
        });
        continue;
      }
      ok = false;
      logger.warn('transient failure; message handed back to the queue', safeErrorFields(error));
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1');
      if (options.maxReceiveCount !== undefined && receiveCount >= options.maxReceiveCount) {
        await markDeadLettered(object.verificationId, error, runtime.deps).catch((markError) =>
          logger.error('could not mark the record dead-lettered', safeErrorFields(markError)),
        );
      }
    } finally {
      logger.removeKeys(['verification_id']);
    }
  }
  return ok;
}

export function createSelfieUploadedHandler(runtime: Runtime, options: SelfieUploadedOptions = {}) {
  const selfieUploadedHandler = async (
    event: SQSEvent,
    context: Context,
  ): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    // One at a time: the queue's maxConcurrency is the brake on IDmeta's rate, not the batch.
    for (const record of event.Records) {
      const ok = await processRecord(runtime, record, context, options);
      if (!ok) batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures };
  };
  return middy<SQSEvent, SQSBatchResponse>(selfieUploadedHandler).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
}
