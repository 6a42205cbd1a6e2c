/**
 * The IDmeta adapter: the three calls of the verification lifecycle over native `fetch`, with a
 * per-attempt timeout bounded by the caller's deadline, bounded retries with full-jitter backoff,
 * one token re-read on 401, and errors from `core/errors.ts`. Every facematch call is paid, so
 * the client prefers not calling to calling twice: it never starts an attempt it cannot finish,
 * and retries only what FACTS lists as transient.
 *
 * Nothing personal or secret leaves this file in an error or an event: no NIK, name, selfie or
 * token, and never IDmeta's response body (it may echo the NIK). HTTP status and `reason_code`
 * are the only details carried.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type CalendarDateFormat, formatCalendarDate } from '../core/dates.ts';
import {
  ConfigError,
  DeadlineExceededError,
  IdmetaError,
  IdmetaProtocolError,
  IdmetaRequestError,
  IdmetaTimeoutError,
  IdmetaTokenError,
  IdmetaUnavailableError,
} from '../core/errors.ts';
import type {
  CallBudget,
  FacematchCheckInput,
  IdmetaAttemptEvent,
  IdmetaPort,
} from '../core/ports.ts';
import type { IdmetaCheckResult } from '../core/types.ts';
import { base64Length, writeBase64 } from './base64.ts';
import {
  type FacematchParseOptions,
  parseCreateVerificationResponse,
  parseFacematchResponse,
} from './idmeta-response.ts';
import type { TokenSource } from './token-source.ts';

export type DobFormat = CalendarDateFormat;

export interface IdmetaClientOptions {
  /** e.g. `https://integrate.idmetagroup.com` (`IDMETA_BASE_URL`); a path prefix is kept. */
  baseUrl: string;
  tokenSource: TokenSource;
  /** Longest single attempt (`IDMETA_TIMEOUT_MS`), further cut to the budget's deadline. */
  timeoutMs: number;
  /** Attempts in total, the first included (`IDMETA_MAX_ATTEMPTS`). */
  maxAttempts: number;
  /** Wire format of `date_of_birth` (`IDMETA_DOB_FORMAT`). */
  dobFormat: DobFormat;
  /** Backoff base: the cap of the n-th delay is `baseDelayMs * 2^(n-1)`. Default 200. */
  baseDelayMs?: number;
  /** Largest backoff delay (a `Retry-After` may ask for more). Default 5000. */
  maxDelayMs?: number;
  /** An attempt is not started with less time than this before the deadline. Default 1000. */
  minAttemptMs?: number;
  /** Called once per HTTP attempt; metrics hang off it. Its exceptions are ignored. */
  onAttempt?: (event: IdmetaAttemptEvent) => void;
  /** A facematch answer carried undocumented `result.data` keys (dropped; only counted). */
  onUnknownFields?: (count: number) => void;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  fetch?: typeof fetch;
  now?: () => number;
}

type Operation = IdmetaAttemptEvent['operation'];

const PATHS: Record<Operation, string> = {
  'create-verification': '/api/v1/verification/create-verification',
  dukcapilfacematch: '/api/v1/verification/dukcapilfacematch',
  'finalize-verification': '/api/v1/verification/finalize-verification',
};

/**
 * Retried: a 408 (the server gave up waiting for the request, so it was not processed: RFC 9110
 * section 15.5.9 lets the client repeat it), rate limiting and the gateway-level statuses, where
 * the request most likely never reached IDmeta's application. A 500 is deliberately absent: it
 * is an unhandled exception in IDmeta's application, possibly after the Dukcapil lookup was made
 * and billed, and an immediate second call would most likely hit the same bug and might be billed
 * again. It fails at once as `IdmetaUnavailableError`, which is transient, so the queue path tries
 * again later after its visibility timeout and the API path answers 502 without a hidden double
 * charge.
 */
const RETRYABLE_STATUSES = new Set([408, 429, 502, 503, 504]);
/** Statuses whose `Retry-After` is honoured (RFC 9110 for 503, RFC 6585 for 429; not 408). */
const RETRY_AFTER_STATUSES = new Set([429, 503]);
/** A facematch answer is a few hundred bytes; anything near this is not IDmeta talking. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Unread bodies up to this size are drained so the keep-alive socket can be reused. */
const MAX_DRAIN_BYTES = 64 * 1024;

type RetryReason =
  | { kind: 'status'; httpStatus: number; retryAfterMs: number | undefined }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'connection'; cause: unknown };

type AttemptResult<T> =
  | { kind: 'ok'; value: T; httpStatus: number }
  | { kind: 'retryable'; reason: RetryReason; httpStatus: number | undefined }
  | { kind: 'unauthorized'; httpStatus: number }
  | { kind: 'fatal'; error: unknown; httpStatus: number | undefined };

type ReadSuccess<T> = (response: Response, httpStatus: number) => Promise<T>;

/** The body goes to the socket in views of this size over the one buffer that holds it. */
const SEND_CHUNK_BYTES = 64 * 1024;

/**
 * The facematch body, byte for byte what `JSON.stringify` gives for these fields in this order,
 * written straight into one buffer: the selfie's base64 (needs no JSON escaping) is encoded into
 * place, so a 5 MB selfie costs this buffer and nothing else of its size (no base64 string, no
 * data URI, no JSON string, no encoded copy of either).
 */
function facematchBody(fields: {
  date_of_birth: string;
  name: string;
  nik: string;
  selfie: FacematchCheckInput['selfie'];
  template_id: string;
  verification_id: string;
}): Uint8Array {
  const { bytes, mime } = fields.selfie;
  const head = `${JSON.stringify({
    date_of_birth: fields.date_of_birth,
    name: fields.name,
    nik: fields.nik,
  }).slice(0, -1)},"selfie_image":${JSON.stringify(`data:${mime};base64,`).slice(0, -1)}`;
  const tail = `",${JSON.stringify({
    template_id: fields.template_id,
    verification_id: fields.verification_id,
  }).slice(1)}`;
  const headLength = Buffer.byteLength(head);
  const body = Buffer.allocUnsafe(
    headLength + base64Length(bytes.byteLength) + Buffer.byteLength(tail),
  );
  let at = body.write(head, 0, 'utf8');
  at = writeBase64(bytes, body, at);
  at += body.write(tail, at, 'utf8');
  if (at !== body.byteLength) throw new Error('facematch body length mismatch');
  return body;
}

/**
 * A request body for one attempt: views over `bytes`, never a copy. fetch copies a buffer or
 * string body whole before sending it (and holds both); a stream is sent as it is read. With
 * the `Content-Length` set by the caller, the request on the wire is the same as for a buffer.
 */
function bodyStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const end = Math.min(at + SEND_CHUNK_BYTES, bytes.byteLength);
      if (end > at) controller.enqueue(bytes.subarray(at, end));
      at = end;
      if (at >= bytes.byteLength) controller.close();
    },
  });
}

/** `Retry-After` in seconds or as an HTTP-date, in milliseconds from now; undefined if unusable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** `ECONNREFUSED`-style code from undici's `TypeError: fetch failed`, for the message. */
function connectionCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  const code =
    typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}

async function readBody(response: Response, httpStatus: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new IdmetaProtocolError('IDmeta answer is larger than expected', httpStatus);
    }
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * Reads a small body to its end (so undici can reuse the socket) or cancels a large one. Its
 * content is never looked at: error bodies are undocumented and may echo personal data.
 */
async function discardBody(response: Response): Promise<void> {
  if (response.body === null) return;
  try {
    const reader = response.body.getReader();
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.byteLength;
      if (size > MAX_DRAIN_BYTES) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The socket is lost either way; nothing the caller can act on.
  }
}

function assertPositive(name: string, value: number, integer = false): void {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ConfigError(
      `IdmetaClient option ${name} must be a positive ${integer ? 'integer' : 'number'}`,
    );
  }
}

export class IdmetaClient implements IdmetaPort {
  readonly #baseUrl: string;
  readonly #tokenSource: TokenSource;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #dobFormat: DobFormat;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #minAttemptMs: number;
  readonly #onAttempt: ((event: IdmetaAttemptEvent) => void) | undefined;
  readonly #parseOptions: FacematchParseOptions;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;

  constructor(options: IdmetaClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new ConfigError('IDMETA_BASE_URL is not a valid URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigError('IDMETA_BASE_URL must be an http(s) URL');
    }
    assertPositive('timeoutMs', options.timeoutMs);
    assertPositive('maxAttempts', options.maxAttempts, true);
    assertPositive('baseDelayMs', options.baseDelayMs ?? 200);
    assertPositive('maxDelayMs', options.maxDelayMs ?? 5000);
    assertPositive('minAttemptMs', options.minAttemptMs ?? 1000);
    if (options.dobFormat !== 'DD-MM-YYYY' && options.dobFormat !== 'YYYY-MM-DD') {
      throw new ConfigError('IDMETA_DOB_FORMAT must be DD-MM-YYYY or YYYY-MM-DD');
    }
    this.#baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.#tokenSource = options.tokenSource;
    this.#timeoutMs = options.timeoutMs;
    this.#maxAttempts = options.maxAttempts;
    this.#dobFormat = options.dobFormat;
    this.#baseDelayMs = options.baseDelayMs ?? 200;
    this.#maxDelayMs = options.maxDelayMs ?? 5000;
    this.#minAttemptMs = options.minAttemptMs ?? 1000;
    this.#onAttempt = options.onAttempt;
    this.#parseOptions = options.onUnknownFields
      ? { onUnknownFields: options.onUnknownFields }
      : {};
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    // Looked up per call, not captured, so a test or a polyfill replacing it later is honoured.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#now = options.now ?? Date.now;
  }

  createVerification(
    input: { templateId: string; reference?: string },
    budget: CallBudget,
  ): Promise<string> {
    const body: Record<string, unknown> = { template_id: input.templateId };
    if (input.reference !== undefined) body.metadata = { reference: input.reference };
    return this.#call(
      'create-verification',
      Buffer.from(JSON.stringify(body)),
      budget,
      async (response, status) =>
        parseCreateVerificationResponse(status, await readBody(response, status)),
    );
  }

  facematch(input: FacematchCheckInput, budget: CallBudget): Promise<IdmetaCheckResult> {
    // Built once: the selfie's base64 is the bulk of the request and every retry reuses it.
    const body = facematchBody({
      date_of_birth: formatCalendarDate(input.dateOfBirth, this.#dobFormat),
      name: input.name,
      nik: input.nik,
      selfie: input.selfie,
      template_id: input.templateId,
      verification_id: input.verificationId,
    });
    return this.#call('dukcapilfacematch', body, budget, async (response, status) =>
      parseFacematchResponse(status, await readBody(response, status), this.#parseOptions),
    );
  }

  finalizeVerification(
    input: { templateId: string; verificationId: string },
    budget: CallBudget,
  ): Promise<void> {
    const body = Buffer.from(
      JSON.stringify({ template_id: input.templateId, verification_id: input.verificationId }),
    );
    // The answer (`{status: 2, finalized: true, ...}`) carries nothing the service uses.
    return this.#call('finalize-verification', body, budget, (response) => discardBody(response));
  }

  #remaining(budget: CallBudget): number {
    return budget.deadline - this.#now();
  }

  async #call<T>(
    operation: Operation,
    body: Uint8Array,
    budget: CallBudget,
    readSuccess: ReadSuccess<T>,
  ): Promise<T> {
    if (budget.signal?.aborted || this.#remaining(budget) < this.#minAttemptMs) {
      throw new DeadlineExceededError();
    }
    let token = await this.#tokenSource.get();
    const url = `${this.#baseUrl}${PATHS[operation]}`;
    let sent = 0;
    /** Attempts counted against `maxAttempts`: the retry after a token re-read is free. */
    let counted = 0;
    let refreshed = false;
    let freeAttempt = false;
    let lastError: unknown;

    for (;;) {
      const remaining = this.#remaining(budget);
      if (remaining < this.#minAttemptMs || budget.signal?.aborted) {
        // Reached after a token re-read that used up the time: nothing else was sent since.
        throw sent === 0 ? new DeadlineExceededError() : lastError;
      }
      sent += 1;
      if (!freeAttempt) counted += 1;
      freeAttempt = false;
      const started = this.#now();
      const result = await this.#attempt(
        operation,
        url,
        body,
        token,
        Math.min(this.#timeoutMs, remaining),
        budget.signal,
        readSuccess,
      );
      const event = {
        operation,
        attempt: sent,
        httpStatus: result.httpStatus,
        durationMs: this.#now() - started,
      };

      if (result.kind === 'ok') {
        this.#emit({ ...event, outcome: 'ok' });
        return result.value;
      }
      if (result.kind === 'fatal') {
        const code = result.error instanceof IdmetaError ? result.error.code : 'IDMETA_ERROR';
        this.#emit({ ...event, outcome: 'error', errorCode: code });
        throw result.error;
      }
      if (result.kind === 'unauthorized') {
        const error = new IdmetaTokenError(
          refreshed
            ? `IDmeta refused the API token for ${operation} even after it was re-read (revoked or rotated?)`
            : undefined,
          result.httpStatus,
        );
        if (refreshed) {
          this.#emit({ ...event, outcome: 'error', errorCode: error.code });
          throw error;
        }
        this.#emit({ ...event, outcome: 'retry', errorCode: error.code });
        refreshed = true;
        freeAttempt = true;
        lastError = error;
        token = await this.#tokenSource.refresh();
        continue;
      }

      const error = this.#retryError(operation, result.reason, counted);
      lastError = error;
      const wait = counted < this.#maxAttempts ? this.#backoff(counted, result.reason) : undefined;
      const fits = wait !== undefined && this.#now() + wait + this.#minAttemptMs <= budget.deadline;
      this.#emit({ ...event, outcome: fits ? 'retry' : 'error', errorCode: error.code });
      if (!fits) throw error;
      try {
        await this.#sleep(wait, budget.signal);
      } catch {
        // The caller gave up while we waited: the attempt that failed is the story to tell.
        throw error;
      }
    }
  }

  /** Full jitter; a server's `Retry-After` replaces it because the server knows its window. */
  #backoff(failedAttempts: number, reason: RetryReason): number {
    if (reason.kind === 'status' && reason.retryAfterMs !== undefined) return reason.retryAfterMs;
    const cap = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (failedAttempts - 1));
    return this.#random() * cap;
  }

  #retryError(operation: Operation, reason: RetryReason, attempts: number): IdmetaError {
    const after = `after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
    switch (reason.kind) {
      case 'timeout':
        return new IdmetaTimeoutError(
          `IDmeta ${operation} did not answer within ${reason.timeoutMs} ms (${after})`,
        );
      case 'connection': {
        const code = connectionCode(reason.cause);
        return new IdmetaUnavailableError(
          `could not reach IDmeta for ${operation}${code === undefined ? '' : ` (${code})`} (${after})`,
          undefined,
          { cause: reason.cause },
        );
      }
      case 'status':
        return new IdmetaUnavailableError(
          `IDmeta ${operation} answered HTTP ${reason.httpStatus} (${after})`,
          reason.httpStatus,
        );
    }
  }

  async #attempt<T>(
    operation: Operation,
    url: string,
    body: Uint8Array,
    token: string,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
    readSuccess: ReadSuccess<T>,
  ): Promise<AttemptResult<T>> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const signal =
      callerSignal === undefined ? timeout.signal : AbortSignal.any([timeout.signal, callerSignal]);
    // Decides between a caller's abort (final), our timeout (retryable) and a broken connection.
    const failure = (error: unknown, httpStatus: number | undefined): AttemptResult<T> => {
      if (callerSignal?.aborted) {
        return {
          kind: 'fatal',
          error: new IdmetaTimeoutError(`IDmeta ${operation} was abandoned: the caller aborted`),
          httpStatus,
        };
      }
      if (timeout.signal.aborted) {
        return { kind: 'retryable', reason: { kind: 'timeout', timeoutMs }, httpStatus };
      }
      return { kind: 'retryable', reason: { kind: 'connection', cause: error }, httpStatus };
    };

    try {
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            'Content-Type': 'application/json',
            'Content-Length': String(body.byteLength),
          },
          body: bodyStream(body),
          duplex: 'half',
          signal,
          // A redirect would replay a paid POST somewhere else; report it as a refusal instead.
          redirect: 'manual',
        });
      } catch (error) {
        return failure(error, undefined);
      }

      const status = response.status;
      if (status >= 200 && status < 300) {
        try {
          return { kind: 'ok', value: await readSuccess(response, status), httpStatus: status };
        } catch (error) {
          if (error instanceof IdmetaError) return { kind: 'fatal', error, httpStatus: status };
          // The body stopped arriving: the same situation as no answer at all.
          return failure(error, status);
        }
      }

      await discardBody(response);
      if (status === 401) return { kind: 'unauthorized', httpStatus: status };
      if (RETRYABLE_STATUSES.has(status)) {
        const retryAfterMs = RETRY_AFTER_STATUSES.has(status)
          ? parseRetryAfter(response.headers.get('retry-after'), this.#now())
          : undefined;
        return {
          kind: 'retryable',
          reason: { kind: 'status', httpStatus: status, retryAfterMs },
          httpStatus: status,
        };
      }
      if (status >= 500) {
        return {
          kind: 'fatal',
          error: new IdmetaUnavailableError(`IDmeta ${operation} answered HTTP ${status}`, status),
          httpStatus: status,
        };
      }
      // 403 included: the token was recognised (otherwise 401), so re-reading it cannot help; it
      // may be the request itself (a template of another account), so no token alarm either.
      return {
        kind: 'fatal',
        error: new IdmetaRequestError(
          `IDmeta ${operation} refused the request with HTTP ${status}`,
          status,
        ),
        httpStatus: status,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  #emit(event: IdmetaAttemptEvent): void {
    if (this.#onAttempt === undefined) return;
    try {
      this.#onAttempt(event);
    } catch {
      // Metrics must never change the outcome of a paid call.
    }
  }
}
