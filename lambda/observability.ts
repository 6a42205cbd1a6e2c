/**
 * Logs and metrics. One logger and one metrics object per container. What may appear in them is
 * decided here: ids, codes, masked NIKs, durations. Never a NIK, a name, a selfie or a token.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { FacematchError } from './core/errors.ts';
import type { IdmetaAttemptEvent } from './core/ports.ts';
import type { StoredVerdict } from './core/types.ts';
import type { DeliveryAttemptEvent } from './core/webhooks.ts';

export const SERVICE_NAME = 'facematch';
export const METRICS_NAMESPACE = 'Facematch';

export const METRIC = {
  verifications: 'Verifications',
  idmetaLatency: 'IdmetaLatency',
  idmetaCalls: 'IdmetaCalls',
  idmetaErrors: 'IdmetaErrors',
  localRefusals: 'LocalRefusals',
  housekeepingFailures: 'HousekeepingFailures',
  paidVerdictsNotSaved: 'PaidVerdictsNotSaved',
  reviewsOpened: 'ReviewsOpened',
  reviewsClosed: 'ReviewsClosed',
  oldestOpenReviewAge: 'OldestOpenReviewAgeSeconds',
  sweepActions: 'SweepActions',
  idmetaUnknownFields: 'IdmetaUnknownFields',
  webhookDeliveriesSucceeded: 'DeliveriesSucceeded',
  webhookDeliveriesFailed: 'DeliveriesFailed',
  webhookDeliveryRetries: 'DeliveryRetries',
} as const;

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

let metricsEnvironment: string | undefined;

/**
 * Stamps every metric with the `environment` dimension. Set only when it changes: Powertools
 * warns on every overwrite, and one process may create several runtimes (the local runtime does).
 */
export function setMetricsEnvironment(name: string): void {
  if (name === metricsEnvironment) return;
  metrics.setDefaultDimensions({ environment: name });
  metricsEnvironment = name;
}

/**
 * One metric with its own dimensions, so dimensions of one event never leak into another. A
 * single metric is flushed at once, so handlers need no flush middleware (whose empty-store flush
 * would warn on every invocation).
 */
function emit(
  name: string,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  value: number,
  dimensions: Record<string, string>,
) {
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, unit, value);
}

export function recordIdmetaAttempt(event: IdmetaAttemptEvent): void {
  emit(METRIC.idmetaLatency, MetricUnit.Milliseconds, event.durationMs, {
    operation: event.operation,
  });
  emit(METRIC.idmetaCalls, MetricUnit.Count, 1, { operation: event.operation });
  if (event.outcome !== 'ok') {
    emit(METRIC.idmetaErrors, MetricUnit.Count, 1, {
      operation: event.operation,
      kind: event.errorCode ?? (event.httpStatus ? `HTTP_${event.httpStatus}` : 'NETWORK'),
    });
  }
  logger.debug('IDmeta attempt', { ...event });
}

/**
 * IDmeta answered match fields it does not document: dropped, never stored. Only how many: a key's
 * name may be a NIK or a person's name, so no name reaches the metric or the log.
 */
export function recordUnknownIdmetaFields(count: number): void {
  emit(METRIC.idmetaUnknownFields, MetricUnit.Count, count, { operation: 'dukcapilfacematch' });
  logger.warn('IDmeta answered undocumented match fields; dropped', { count });
}

/** What a log line may say of a record: ids, codes and the decision, nothing personal. */
const verdictFields = (item: StoredVerdict) => ({
  verification_id: item.verification_id,
  status: item.status,
  decision: item.decision,
  reasons: item.reasons,
  face_similarity: item.face_similarity,
  attempts: item.attempts,
  error_code: item.error?.code,
});

/** An error's class name only: its message may carry what the caller sent. */
const errorName = (error: unknown): string => (error instanceof Error ? error.name : typeof error);

/** A verification that reached a final or released state. */
export function recordVerdict(item: StoredVerdict): void {
  emit(METRIC.verifications, MetricUnit.Count, 1, {
    source: item.source,
    outcome: item.decision ?? item.status,
  });
  logger.info('verification recorded', { ...verdictFields(item), nik_masked: item.nik_masked });
  if (item.status === 'COMPLETED' && item.review?.state === 'OPEN') {
    emit(METRIC.reviewsOpened, MetricUnit.Count, 1, {});
  }
}

/** A review decided. The note is never read here: it is not logged nor measured. */
export function recordReviewed(item: StoredVerdict): void {
  const decision = item.review?.decision ?? 'UNKNOWN';
  emit(METRIC.reviewsClosed, MetricUnit.Count, 1, { decision });
  logger.info('review decided', {
    verification_id: item.verification_id,
    decision,
    reason: item.review?.reason,
    machine_decision: item.machine_decision,
  });
}

/** The age of the oldest open review (0 when none is open), which the SLA alarm watches. */
export function recordReviewQueueAge(oldestOpenSince: number | null, now: number): void {
  const ageSeconds =
    oldestOpenSince === null ? 0 : Math.max(0, Math.floor((now - oldestOpenSince) / 1000));
  emit(METRIC.oldestOpenReviewAge, MetricUnit.Seconds, ageSeconds, {});
}

/** A request refused before any paid call: the metric counts the IDmeta calls saved. */
export function recordLocalRefusal(error: FacematchError, source: 'api' | 's3'): void {
  emit(METRIC.localRefusals, MetricUnit.Count, 1, { reason: error.code, source });
}

/**
 * An IDmeta answer (a verdict, or a final failure IDmeta may have billed) whose record could not
 * be stored: what an operator needs to match it with IDmeta's billing (its uuid) and to know what
 * it said, nothing personal.
 */
export function recordPaidVerdictNotSaved(item: StoredVerdict, error: unknown): void {
  emit(METRIC.paidVerdictsNotSaved, MetricUnit.Count, 1, { source: item.source });
  logger.error('paid verdict not saved', {
    ...verdictFields(item),
    idmeta_uuid: item.idmeta?.uuid,
    error_name: errorName(error),
  });
}

export function recordHousekeepingFailure(operation: string, error: unknown): void {
  emit(METRIC.housekeepingFailures, MetricUnit.Count, 1, { operation });
  logger.warn('housekeeping after the verdict failed', {
    operation,
    error_name: errorName(error),
  });
}

/** The sweeper moved stuck work on (lambda/core/sweep.ts): counted per action, and logged. */
export function recordSweepAction(action: string, item: StoredVerdict): void {
  emit(METRIC.sweepActions, MetricUnit.Count, 1, { action });
  logger.info('swept', {
    action,
    verification_id: item.verification_id,
    status: item.status,
    error_code: item.error?.code,
  });
}

/**
 * One webhook attempt, per endpoint: delivered, handed back for a retry, or given up (FAILED).
 * Ids, status codes and error classes only: the receiver's answer is never read into a log.
 */
export function recordWebhookAttempt(event: DeliveryAttemptEvent): void {
  const dimensions = { endpoint: event.endpoint };
  const fields = {
    endpoint: event.endpoint,
    delivery_id: event.deliveryId,
    event_type: event.eventType,
    attempt: event.attempt,
    http_status: event.status,
    error_class: event.errorClass,
    state: event.state,
    duration_ms: event.durationMs,
  };
  if (event.state === 'DELIVERED') {
    emit(METRIC.webhookDeliveriesSucceeded, MetricUnit.Count, 1, dimensions);
    logger.info('webhook delivered', fields);
  } else if (event.state === 'FAILED') {
    emit(METRIC.webhookDeliveriesFailed, MetricUnit.Count, 1, dimensions);
    logger.warn('webhook delivery failed for good', fields);
  } else {
    emit(METRIC.webhookDeliveryRetries, MetricUnit.Count, 1, dimensions);
    logger.info('webhook attempt failed; retry scheduled', fields);
  }
}
