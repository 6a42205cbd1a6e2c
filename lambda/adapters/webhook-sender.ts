/**
 * Signs and POSTs one webhook attempt (Standard Webhooks): `webhook-id` (the event's id, the same
 * on every attempt), `webhook-timestamp` (now, so every attempt is signed afresh) and
 * `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`). node:http(s)
 * with keep-alive agents kept for the container's life; redirects are never followed (a 3xx is a
 * result like any other); the whole attempt is bounded by one timeout. The receiver's answer is
 * read and thrown away: only its status (and Retry-After) is kept.
 */
import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  type AttemptResult,
  assertWebhookUrl,
  type WebhookMessage,
  type WebhookSenderPort,
  webhookBody,
} from '../core/webhooks.ts';

export const WEBHOOK_TIMEOUT_MS = 10_000;
const USER_AGENT = 'facematch-webhooks/1';

/** The `webhook-signature` value for one attempt. */
export function signWebhook(key: Uint8Array, id: string, timestamp: number, body: string): string {
  const digest = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${digest}`;
}

export interface HttpWebhookSenderOptions {
  timeoutMs?: number;
  /** The local runtime only: a developer's own service on loopback may speak plain http. */
  allowLoopbackHttp?: boolean;
  now?: () => number;
}

export class HttpWebhookSender implements WebhookSenderPort {
  readonly #timeoutMs: number;
  readonly #allowLoopbackHttp: boolean;
  readonly #now: () => number;
  // One pool per sender: receivers are few and called often, so sockets are worth keeping.
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });
  readonly #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });

  constructor(options: HttpWebhookSenderOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
    this.#allowLoopbackHttp = options.allowLoopbackHttp ?? false;
    this.#now = options.now ?? Date.now;
  }

  send(input: { url: string; key: Uint8Array; message: WebhookMessage }): Promise<AttemptResult> {
    // Checked on every send, not only at start-up: the policy holds whoever built the endpoint.
    const url = assertWebhookUrl(input.url, 'the webhook URL', {
      allowLoopbackHttp: this.#allowLoopbackHttp,
    });
    const body = webhookBody(input.message);
    const started = this.#now();
    const timestamp = Math.floor(started / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': USER_AGENT,
      'webhook-id': input.message.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(input.key, input.message.id, timestamp, body),
    };
    const secure = url.protocol === 'https:';
    const request = secure ? httpsRequest : httpRequest;
    const elapsed = () => Math.max(0, this.#now() - started);

    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const req = request(url, {
        method: 'POST',
        headers,
        agent: secure ? this.#httpsAgent : this.#httpAgent,
      });
      const timer = setTimeout(() => {
        finish({ kind: 'timeout', durationMs: elapsed() });
        req.destroy();
      }, this.#timeoutMs);
      req.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const retryAfter = response.headers['retry-after'];
        // The status is the receiver's answer: a body that never ends must not turn a 200 into a
        // timeout (and a duplicate post). The body is drained so the socket can be reused, and cut
        // off at the timeout; nothing of it is kept.
        finish({ kind: 'response', status, retryAfter, durationMs: elapsed() });
        response.resume();
        const drainTimer = setTimeout(() => response.destroy(), this.#timeoutMs);
        drainTimer.unref();
        response.on('close', () => clearTimeout(drainTimer));
        response.on('error', () => {});
      });
      req.on('error', (error: NodeJS.ErrnoException) =>
        finish({ kind: 'network', code: error.code ?? error.name, durationMs: elapsed() }),
      );
      req.end(body);
    });
  }

  /** Closes the kept sockets (the local runtime's stop, tests). */
  close(): void {
    this.#httpsAgent.destroy();
    this.#httpAgent.destroy();
  }
}
