/**
 * The local webhook sender (`WEBHOOK_URL` + `WEBHOOK_SECRET` with `npm start`): every verdict event
 * the local runtime writes to events.jsonl is delivered, in-process, with the deployed sender's
 * policy (lambda/core/webhooks.ts: the same signing, the same outcomes, the same schedule), to a
 * developer's own service; plain http is allowed there, to loopback only. Timers stand in for SQS's
 * visibility timeout, and the delivery log is the same table, on the local DynamoDB. Retries
 * still waiting when the runtime stops are not kept: the log shows them RETRYING, and
 * `facematch webhooks resend` sends one again.
 */

import { DELIVERY_RETENTION_DAYS } from '../lambda/adapters/webhook-deliveries.ts';
import { HttpWebhookSender } from '../lambda/adapters/webhook-sender.ts';
import {
  type DeliverOutcome,
  type DeliveryAttemptEvent,
  deliverWebhook,
  type RetrySchedule,
  type WebhookDeliveries,
  type WebhookEndpoint,
  type WebhookMessage,
} from '../lambda/core/webhooks.ts';

/** The endpoint's name in the local delivery log. */
export const LOCAL_WEBHOOK_ENDPOINT = 'local';
export const LOCAL_WEBHOOK_TABLE = 'facematch-webhook-deliveries';

export interface LocalWebhooksOptions {
  url: string;
  key: Uint8Array;
  deliveries: WebhookDeliveries;
  log: (line: string) => void;
  /** Tests: a faster schedule than the deployed one. */
  schedule?: RetrySchedule;
  timeoutMs?: number;
  random?: () => number;
  /** Tests: the sender's clock (the signed `webhook-timestamp`). */
  now?: () => number;
  onAttempt?: (event: DeliveryAttemptEvent) => void;
}

export class LocalWebhooks {
  readonly endpoint: WebhookEndpoint;
  readonly #options: LocalWebhooksOptions;
  readonly #sender: HttpWebhookSender;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #stopped = false;
  #idleWaiters: Array<() => void> = [];

  constructor(options: LocalWebhooksOptions) {
    this.#options = options;
    this.#sender = new HttpWebhookSender({
      allowLoopbackHttp: true,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.endpoint = {
      name: LOCAL_WEBHOOK_ENDPOINT,
      url: options.url,
      key: async () => options.key,
    };
  }

  /** Delivers now and keeps retrying on schedule; never throws (the log line says what failed). */
  enqueue(message: WebhookMessage): void {
    if (this.#stopped) return;
    this.#track(this.#attempt(message));
  }

  /** One attempt and no retry: the CLI's resend and ping. */
  deliverOnce(message: WebhookMessage): Promise<DeliverOutcome> {
    return deliverWebhook(this.endpoint, message, { ...this.#deps(), schedule: { delaysMs: [] } });
  }

  /** Resolves when nothing is being sent and no retry is waiting (tests, the load run). */
  idle(): Promise<void> {
    if (this.#timers.size === 0 && this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
    this.#sender.close();
    this.#wakeIdle();
  }

  #deps() {
    return {
      sender: this.#sender,
      deliveries: this.#options.deliveries,
      clock: { now: () => Date.now() },
      random: this.#options.random ?? Math.random,
      retentionDays: DELIVERY_RETENTION_DAYS,
      ...(this.#options.schedule === undefined ? {} : { schedule: this.#options.schedule }),
      ...(this.#options.onAttempt === undefined ? {} : { onAttempt: this.#options.onAttempt }),
    };
  }

  async #attempt(message: WebhookMessage): Promise<void> {
    const log = this.#options.log;
    try {
      const outcome = await deliverWebhook(this.endpoint, message, this.#deps());
      const { record } = outcome;
      const what = `webhook ${record.event_type} ${record.delivery_id} attempt ${record.attempts}`;
      if (outcome.kind === 'delivered') {
        if (!outcome.duplicate) log(`${what}: delivered (${record.last_status})`);
        return;
      }
      const cause = record.last_status ?? record.last_error;
      if (outcome.kind === 'failed') {
        log(`${what}: FAILED (${cause}); facematch webhooks resend ${record.delivery_id}`);
        return;
      }
      log(`${what}: ${cause}, next attempt in ${Math.round(outcome.delayMs / 1000)} s`);
      if (this.#stopped) return;
      // A retry continues the schedule, so the resend flag (a fresh start) is not carried on.
      const { resend: _resend, ...retry } = message;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.enqueue(retry);
      }, outcome.delayMs);
      timer.unref();
      this.#timers.add(timer);
    } catch (error) {
      log(`webhook ${message.id} could not be attempted: ${(error as Error).name}`);
    }
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => {
      this.#inFlight.delete(work);
      this.#wakeIdle();
    });
  }

  #wakeIdle(): void {
    if (this.#timers.size > 0 || this.#inFlight.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
