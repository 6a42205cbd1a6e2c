/**
 * Webhooks (DESIGN.md "Verdict events and webhooks", the Standard Webhooks specification): which
 * verdict events become which webhook, the body a receiver gets, the retry schedule and what is
 * worth retrying. Pure: the sender (HTTP), the delivery log (DynamoDB) and the queue (SQS, or the
 * local timers) are ports and adapters around it, so AWS and the local runtime share one policy.
 */
import { ConfigError } from './errors.ts';
import { EVENT_DETAIL_TYPES, EVENT_SOURCE } from './ports.ts';

/** EventBridge detail-type (source `facematch`) -> Standard Webhooks event type. */
export const WEBHOOK_EVENT_TYPES = {
  [EVENT_DETAIL_TYPES.verdict]: 'verification.completed',
  [EVENT_DETAIL_TYPES.review]: 'verification.reviewed',
  [EVENT_DETAIL_TYPES.erasure]: 'data_subject.erased',
} as const;

export type VerdictDetailType = keyof typeof WEBHOOK_EVENT_TYPES;

/** `facematch webhooks test <name>` sends this; it is never published on the bus. */
export const PING_DETAIL_TYPE = 'Webhook Ping';

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[VerdictDetailType] | 'ping';

/** One event to deliver. `id` is the event's id: the `webhook-id`, the same on every attempt. */
export interface WebhookMessage {
  id: string;
  type: WebhookEventType;
  /** ISO-8601: when the event happened (the body's `timestamp`), not when it is sent. */
  timestamp: string;
  /** The event detail: built by `toEventDetail`, so it carries no personal data. */
  data: Record<string, unknown>;
  /** A resend from the CLI: deliver even if this delivery already succeeded. */
  resend?: boolean;
}

/** The part of an EventBridge event (as SQS receives it from a rule) a webhook needs. */
export interface EventEnvelope {
  id?: unknown;
  'detail-type'?: unknown;
  time?: unknown;
  detail?: unknown;
  /** Set by `facematch webhooks resend` on the copy it queues. */
  resend?: unknown;
}

export class WebhookMessageError extends Error {
  override readonly name = 'WebhookMessageError';
}

/** An id safe in a header, a log line and a DynamoDB key (EventBridge ids are UUIDs). */
const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A queue message (an EventBridge event) as the webhook it becomes; throws when it is not one. */
export function messageFromEvent(envelope: EventEnvelope): WebhookMessage {
  const detailType = envelope['detail-type'];
  const type =
    detailType === PING_DETAIL_TYPE
      ? 'ping'
      : typeof detailType === 'string' && detailType in WEBHOOK_EVENT_TYPES
        ? WEBHOOK_EVENT_TYPES[detailType as VerdictDetailType]
        : undefined;
  if (type === undefined) throw new WebhookMessageError('not a facematch verdict event');
  if (typeof envelope.id !== 'string' || !MESSAGE_ID.test(envelope.id)) {
    throw new WebhookMessageError('the event has no usable id');
  }
  const time = typeof envelope.time === 'string' ? Date.parse(envelope.time) : Number.NaN;
  if (!Number.isFinite(time)) throw new WebhookMessageError('the event has no usable time');
  const detail = envelope.detail;
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    throw new WebhookMessageError('the event has no detail object');
  }
  return {
    id: envelope.id,
    type,
    timestamp: new Date(time).toISOString(),
    data: detail as Record<string, unknown>,
    ...(envelope.resend === true ? { resend: true } : {}),
  };
}

/** The EventBridge-shaped envelope of a message: what the queue carries (resend, ping). */
export function eventOfMessage(message: WebhookMessage): Required<Omit<EventEnvelope, 'resend'>> & {
  source: string;
  resend?: true;
} {
  const detailType =
    message.type === 'ping'
      ? PING_DETAIL_TYPE
      : (Object.entries(WEBHOOK_EVENT_TYPES).find(([, type]) => type === message.type)?.[0] ??
        PING_DETAIL_TYPE);
  return {
    id: message.id,
    source: EVENT_SOURCE,
    'detail-type': detailType,
    time: message.timestamp,
    detail: message.data,
    ...(message.resend ? { resend: true as const } : {}),
  };
}

/** The request body: `{ type, timestamp, data }`, serialised once and signed as sent. */
export const webhookBody = (message: WebhookMessage): string =>
  JSON.stringify({ type: message.type, timestamp: message.timestamp, data: message.data });

/** The verification a message is about, for the delivery log (never anything personal). */
export const verificationIdOf = (message: WebhookMessage): string | undefined =>
  typeof message.data.verification_id === 'string' ? message.data.verification_id : undefined;

/** One log entry per endpoint and event: a duplicate EventBridge delivery lands on the same one. */
export const deliveryIdOf = (endpoint: string, eventId: string): string => `${endpoint}/${eventId}`;

export function parseDeliveryId(deliveryId: string): { endpoint: string; eventId: string } | null {
  const slash = deliveryId.indexOf('/');
  if (slash <= 0) return null;
  const endpoint = deliveryId.slice(0, slash);
  const eventId = deliveryId.slice(slash + 1);
  return ENDPOINT_NAME.test(endpoint) && MESSAGE_ID.test(eventId) ? { endpoint, eventId } : null;
}

/**
 * A deployment's names, fixed so the CLI finds them from `--env` alone: each endpoint's queue
 * and the delivery log table.
 */
export const webhookQueueName = (envName: string, endpoint: string) =>
  `facematch-${envName}-webhook-${endpoint}`;
export const webhookTableName = (envName: string) => `facematch-${envName}-webhook-deliveries`;

/** Endpoint names become queue names, metric dimensions and log keys. */
export const ENDPOINT_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

// --- The secret -------------------------------------------------------------------------------

export const SECRET_PREFIX = 'whsec_';
/** The specification asks for 24 to 64 random bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
/** A stack-created secret holds this many random characters; the receiver gets their whsec_. */
export const MIN_RAW_SECRET_CHARS = 32;

const decodeBase64Strict = (text: string): Uint8Array | null => {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  return Uint8Array.from(Buffer.from(text, 'base64'));
};

/**
 * The signing key of a secret value. `whsec_<base64>`: the decoded bytes (the specification's
 * form). Anything else is the raw random string a stack-created secret holds (Secrets Manager
 * cannot generate a prefixed value): its UTF-8 bytes are the key and `whsec_` + their base64 is
 * what the receiver is given (`formatWebhookSecret`). Errors name `source`, never the value.
 */
export function parseWebhookSecret(
  value: string | undefined,
  source: string,
  options: { allowRaw?: boolean } = {},
): Uint8Array {
  const text = value?.trim() ?? '';
  if (text === '') throw new ConfigError(`${source} is required (a whsec_ secret)`);
  if (text.startsWith(SECRET_PREFIX)) {
    const key = decodeBase64Strict(text.slice(SECRET_PREFIX.length));
    if (key === null) {
      throw new ConfigError(`${source} must be whsec_ followed by base64 (it is not valid base64)`);
    }
    if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
      throw new ConfigError(
        `${source} must hold ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes after whsec_ (it holds ${key.length})`,
      );
    }
    return key;
  }
  if (options.allowRaw && /^[A-Za-z0-9]+$/.test(text) && text.length >= MIN_RAW_SECRET_CHARS) {
    return new TextEncoder().encode(text);
  }
  throw new ConfigError(`${source} must be a whsec_<base64> secret`);
}

/** The `whsec_` form of a key: what a receiver configures in its Standard Webhooks library. */
export const formatWebhookSecret = (key: Uint8Array): string =>
  `${SECRET_PREFIX}${Buffer.from(key).toString('base64')}`;

// --- Where a webhook may go -----------------------------------------------------------------

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * https only; plain http only to loopback and only where the caller allows it (the local runtime:
 * a developer's own service). No credentials in the URL: they would be logged with it.
 */
export function assertWebhookUrl(
  value: string | undefined,
  source: string,
  options: { allowLoopbackHttp: boolean },
): URL {
  let url: URL;
  try {
    url = new URL(value ?? '');
  } catch {
    throw new ConfigError(`${source} must be an https URL`);
  }
  // An IP literal in 127.0.0.0/8, not a name that merely starts with "127." (DNS decides those).
  const loopback =
    LOOPBACK_HOSTS.has(url.hostname) ||
    /^127\.(?:\d{1,3})\.(?:\d{1,3})\.(?:\d{1,3})$/.test(url.hostname);
  const scheme =
    url.protocol === 'https:' ||
    (url.protocol === 'http:' && options.allowLoopbackHttp && loopback);
  if (!scheme) {
    throw new ConfigError(
      options.allowLoopbackHttp
        ? `${source} must be an https URL, or http on loopback (127.0.0.1, localhost, [::1])`
        : `${source} must be an https URL`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`${source} must not carry credentials`);
  }
  return url;
}

// --- Attempts, outcomes and the schedule ----------------------------------------------------

/** What one HTTP attempt came to, as the sender saw it. */
export type AttemptResult =
  | { kind: 'response'; status: number; retryAfter?: string | undefined; durationMs: number }
  | { kind: 'timeout'; durationMs: number }
  | { kind: 'network'; code: string; durationMs: number };

/** The class of a failure, for the log and the metrics: never a message or a body. */
export type ErrorClass =
  | 'TIMEOUT'
  | 'NETWORK'
  | 'REDIRECT'
  | 'HTTP_408'
  | 'HTTP_429'
  | 'HTTP_4XX'
  | 'HTTP_5XX'
  | 'HTTP_OTHER';

export type AttemptVerdict =
  | { outcome: 'delivered' }
  | { outcome: 'retryable'; errorClass: ErrorClass; retryAfterMs?: number }
  | { outcome: 'final'; errorClass: ErrorClass };

/**
 * 2xx delivers. Network errors, timeouts, 408, 429 and 5xx are worth another try; 3xx (never
 * followed: a redirect could move a signed event anywhere) and every other 4xx are the
 * receiver's final word (410 Gone included).
 */
export function judgeAttempt(result: AttemptResult, now: number): AttemptVerdict {
  if (result.kind === 'timeout') return { outcome: 'retryable', errorClass: 'TIMEOUT' };
  if (result.kind === 'network') return { outcome: 'retryable', errorClass: 'NETWORK' };
  const { status } = result;
  if (status >= 200 && status <= 299) return { outcome: 'delivered' };
  if (status === 408) return { outcome: 'retryable', errorClass: 'HTTP_408' };
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(result.retryAfter, now);
    return {
      outcome: 'retryable',
      errorClass: 'HTTP_429',
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  if (status >= 500 && status <= 599) return { outcome: 'retryable', errorClass: 'HTTP_5XX' };
  if (status >= 300 && status <= 399) return { outcome: 'final', errorClass: 'REDIRECT' };
  if (status >= 400 && status <= 499) return { outcome: 'final', errorClass: 'HTTP_4XX' };
  return { outcome: 'final', errorClass: 'HTTP_OTHER' };
}

/** `Retry-After`: delay-seconds or an HTTP date, as milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * The waits after attempt 1, 2, ... (Standard Webhooks' own example is 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h, 10 h). Each wait is one SQS ChangeMessageVisibility, which cannot reach past 12 h
 * after the message was received, so the longest is 11 h. With the jitter below taking up to 15 %
 * off each wait, the schedule still spans 24.3 h or more: 28 h 35 min without jitter.
 */
export const RETRY_DELAYS_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  11 * 3_600_000,
] as const;

export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** The longest single wait SQS can give a received message, less the attempt's own time. */
export const MAX_DELAY_MS = 11 * 3_600_000;

/** Jitter spreads a burst of retries (an endpoint that was down for everyone) over 15 % of a wait. */
const JITTER = 0.15;

export interface RetrySchedule {
  delaysMs: readonly number[];
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { delaysMs: RETRY_DELAYS_MS };

/**
 * The wait before the next attempt after `attempts` attempts, or undefined when the schedule is
 * spent. `random` in [0, 1). A receiver's Retry-After is honoured when it asks for longer (up to
 * the longest wait SQS allows).
 */
export function nextDelayMs(
  attempts: number,
  random: number,
  schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
  retryAfterMs?: number,
): number | undefined {
  const base = schedule.delaysMs[attempts - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (1 - JITTER * random));
  return Math.min(Math.max(jittered, retryAfterMs ?? 0), Math.max(MAX_DELAY_MS, base));
}

// --- The delivery log -----------------------------------------------------------------------

export type DeliveryState = 'PENDING' | 'RETRYING' | 'DELIVERED' | 'FAILED';

/** One delivery: an event to one endpoint. No body of any response is ever kept. */
export interface DeliveryRecord {
  delivery_id: string;
  endpoint: string;
  /** The event's id, sent as `webhook-id`. */
  event_id: string;
  event_type: WebhookEventType;
  /** When the event happened (the body's `timestamp`). */
  event_time: string;
  verification_id?: string;
  /**
   * The event detail, kept so a resend sends the same body: `toEventDetail`'s output (ids,
   * status, decision, reasons, scores), which holds no NIK, name, date of birth or note.
   */
  data: Record<string, unknown>;
  state: DeliveryState;
  attempts: number;
  last_status?: number;
  last_error?: ErrorClass;
  last_attempt_at?: string;
  next_attempt_at?: string;
  delivered_at?: string;
  created_at: string;
  /** Epoch seconds: DynamoDB's TTL. */
  expires_at: number;
}

/** The log of deliveries (DynamoDB in AWS and locally). */
export interface WebhookDeliveries {
  get(deliveryId: string): Promise<DeliveryRecord | null>;
  /**
   * Writes `record` only while the log still holds what this attempt read (`expected`: its attempts
   * and state, or no entry): another invocation holding the same event (delivery is at least once)
   * or an erasure may have moved it on. False when it had.
   */
  put(record: DeliveryRecord, expected: ExpectedDelivery | null): Promise<boolean>;
  list(options: { failedOnly: boolean; limit: number }): Promise<DeliveryRecord[]>;
}

export type ExpectedDelivery = Pick<DeliveryRecord, 'attempts' | 'state'>;

/** Signs and POSTs one attempt. Never throws for the receiver's faults: they are results. */
export interface WebhookSenderPort {
  send(input: { url: string; key: Uint8Array; message: WebhookMessage }): Promise<AttemptResult>;
}

/** Keeps a queued message hidden for `seconds`, so the queue itself holds a retry until then. */
export interface MessageVisibility {
  hold(queueUrl: string, receiptHandle: string, seconds: number): Promise<void>;
}

export interface WebhookEndpoint {
  name: string;
  url: string;
  /** The signing key (resolved from the secret when the endpoint is first used). */
  key: () => Promise<Uint8Array>;
}

export interface DeliverDeps {
  sender: WebhookSenderPort;
  deliveries: WebhookDeliveries;
  clock: { now(): number };
  random: () => number;
  schedule?: RetrySchedule;
  /** Days a log entry is kept (TTL). */
  retentionDays: number;
  /** Called once per attempt, for metrics and log lines (ids and classes only). */
  onAttempt?: (event: DeliveryAttemptEvent) => void;
}

export interface DeliveryAttemptEvent {
  endpoint: string;
  deliveryId: string;
  eventType: WebhookEventType;
  attempt: number;
  status?: number;
  errorClass?: ErrorClass;
  state: DeliveryState;
  durationMs: number;
}

export type DeliverOutcome =
  /** Delivered now, or earlier (a duplicate of the event): acknowledge the message. */
  | { kind: 'delivered'; record: DeliveryRecord; duplicate: boolean }
  /** Try again after `delayMs`. */
  | { kind: 'retry'; record: DeliveryRecord; delayMs: number }
  /** The receiver refused it, or the schedule is spent: acknowledge, the log says FAILED. */
  | { kind: 'failed'; record: DeliveryRecord };

const DAY_SECONDS = 86_400;

/**
 * One attempt of one delivery, by the shared policy: skip what was already delivered (EventBridge
 * and SQS deliver at least once) unless it is a resend, POST, judge, log, and say what the queue
 * should do next. The attempt count lives in the log, not in SQS's receive count, which also
 * counts receives that never reached this code.
 */
export async function deliverWebhook(
  endpoint: WebhookEndpoint,
  message: WebhookMessage,
  deps: DeliverDeps,
): Promise<DeliverOutcome> {
  const deliveryId = deliveryIdOf(endpoint.name, message.id);
  const existing = await deps.deliveries.get(deliveryId);
  if (existing?.state === 'DELIVERED' && !message.resend) {
    return { kind: 'delivered', record: existing, duplicate: true };
  }
  if (existing?.state === 'FAILED' && !message.resend) {
    return { kind: 'failed', record: existing };
  }
  const key = await endpoint.key();
  const now = deps.clock.now();
  // A resend starts a fresh schedule; a retry continues the one it belongs to. The queue hands a
  // resend's message back with its flag still set: once the resend's first attempt is logged
  // (RETRYING), its retries count on from there.
  const startsAfresh = message.resend === true && existing?.state !== 'RETRYING';
  const previousAttempts = startsAfresh ? 0 : (existing?.attempts ?? 0);
  const result = await deps.sender.send({ url: endpoint.url, key, message });
  const finished = deps.clock.now();
  const verdict = judgeAttempt(result, finished);
  const attempts = previousAttempts + 1;
  const verificationId = verificationIdOf(message);
  const base: DeliveryRecord = {
    delivery_id: deliveryId,
    endpoint: endpoint.name,
    event_id: message.id,
    event_type: message.type,
    event_time: message.timestamp,
    ...(verificationId === undefined ? {} : { verification_id: verificationId }),
    data: message.data,
    state: 'PENDING',
    attempts,
    ...(result.kind === 'response' ? { last_status: result.status } : {}),
    last_attempt_at: new Date(now).toISOString(),
    created_at: existing?.created_at ?? new Date(now).toISOString(),
    expires_at: Math.floor(finished / 1000) + deps.retentionDays * DAY_SECONDS,
  };
  let outcome: DeliverOutcome;
  if (verdict.outcome === 'delivered') {
    outcome = {
      kind: 'delivered',
      record: { ...base, state: 'DELIVERED', delivered_at: new Date(finished).toISOString() },
      duplicate: false,
    };
  } else {
    const delayMs =
      verdict.outcome === 'retryable'
        ? nextDelayMs(attempts, deps.random(), deps.schedule, verdict.retryAfterMs)
        : undefined;
    const failed = { ...base, last_error: verdict.errorClass };
    outcome =
      delayMs === undefined
        ? { kind: 'failed', record: { ...failed, state: 'FAILED' } }
        : {
            kind: 'retry',
            delayMs,
            record: {
              ...failed,
              state: 'RETRYING',
              next_attempt_at: new Date(finished + delayMs).toISOString(),
            },
          };
  }
  const expected =
    existing === null ? null : { attempts: existing.attempts, state: existing.state };
  if (!(await deps.deliveries.put(outcome.record, expected))) {
    // Another invocation of this event (or an erasure) moved the log on while this attempt ran: it
    // owns the delivery now. This message is a duplicate; a DELIVERED is never turned back.
    const current = await deps.deliveries.get(deliveryId);
    return { kind: 'delivered', record: current ?? outcome.record, duplicate: true };
  }
  deps.onAttempt?.({
    endpoint: endpoint.name,
    deliveryId,
    eventType: message.type,
    attempt: attempts,
    ...(result.kind === 'response' ? { status: result.status } : {}),
    ...(outcome.record.last_error === undefined ? {} : { errorClass: outcome.record.last_error }),
    state: outcome.record.state,
    durationMs: result.durationMs,
  });
  return outcome;
}
