import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../lambda/adapters/webhook-sender.ts';
import { ConfigError } from '../../lambda/core/errors.ts';
import {
  assertWebhookUrl,
  formatWebhookSecret,
  judgeAttempt,
  MAX_ATTEMPTS,
  messageFromEvent,
  nextDelayMs,
  parseDeliveryId,
  parseRetryAfter,
  parseWebhookSecret,
  RETRY_DELAYS_MS,
  WebhookMessageError,
  webhookBody,
} from '../../lambda/core/webhooks.ts';
import { parseLocalWebhookConfig } from '../../lambda/webhook-config.ts';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-12-03T10:00:00Z');

describe('the retry schedule', () => {
  const total = (random: number) =>
    Array.from(
      { length: MAX_ATTEMPTS - 1 },
      (_, index) => nextDelayMs(index + 1, random) ?? 0,
    ).reduce((sum, delay) => sum + delay, 0);

  it('spans at least 24 hours even with the most jitter taken off', () => {
    expect(total(0.999_999)).toBeGreaterThanOrEqual(24 * HOUR);
    expect(total(0)).toBe(RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 0));
  });

  it('never asks SQS for a wait past its 12-hour visibility ceiling, Retry-After included', () => {
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      expect(nextDelayMs(attempt, 0, undefined, 48 * HOUR)).toBeLessThanOrEqual(12 * HOUR);
    }
  });

  it('grows, and ends after the last attempt', () => {
    const delays = RETRY_DELAYS_MS.map((_, index) => nextDelayMs(index + 1, 0) ?? 0);
    expect([...delays].sort((a, b) => a - b)).toEqual(delays);
    expect(nextDelayMs(MAX_ATTEMPTS, 0)).toBeUndefined();
  });

  it('jitters: two random draws give two waits', () => {
    expect(nextDelayMs(4, 0.1)).not.toBe(nextDelayMs(4, 0.9));
  });

  it('honours a longer Retry-After, not a shorter one', () => {
    expect(nextDelayMs(1, 0, undefined, 60_000)).toBe(60_000);
    expect(nextDelayMs(3, 0, undefined, 1_000)).toBe(30 * 60_000);
  });
});

describe('judging an attempt', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [408, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
    [301, 'final'],
    [302, 'final'],
    [307, 'final'],
    [400, 'final'],
    [401, 'final'],
    [404, 'final'],
    [410, 'final'],
    [422, 'final'],
  ])('HTTP %i is %s', (status, outcome) => {
    expect(judgeAttempt({ kind: 'response', status, durationMs: 1 }, NOW).outcome).toBe(outcome);
  });

  it('retries timeouts and network errors', () => {
    expect(judgeAttempt({ kind: 'timeout', durationMs: 10_000 }, NOW)).toEqual({
      outcome: 'retryable',
      errorClass: 'TIMEOUT',
    });
    expect(judgeAttempt({ kind: 'network', code: 'ECONNRESET', durationMs: 1 }, NOW)).toEqual({
      outcome: 'retryable',
      errorClass: 'NETWORK',
    });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90_000);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });
});

describe('the signature', () => {
  it('is what the Standard Webhooks library computes and accepts', () => {
    const key = randomBytes(32);
    const secret = formatWebhookSecret(key);
    const body = webhookBody({
      id: 'evt-1',
      type: 'verification.completed',
      timestamp: '2026-12-03T10:00:00.000Z',
      data: { verification_id: 'v-1' },
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const library = new Webhook(secret);

    const ours = signWebhook(key, 'evt-1', timestamp, body);

    expect(ours).toBe(library.sign('evt-1', new Date(timestamp * 1000), body));
    expect(
      library.verify(body, {
        'webhook-id': 'evt-1',
        'webhook-timestamp': String(timestamp),
        'webhook-signature': ours,
      }),
    ).toMatchObject({ type: 'verification.completed', data: { verification_id: 'v-1' } });
  });

  it("a stack-created raw secret signs with its bytes; the receiver's whsec_ is their base64", () => {
    const raw = 'A'.repeat(20) + 'b'.repeat(28);
    const key = parseWebhookSecret(raw, 'the secret', { allowRaw: true });
    expect(formatWebhookSecret(key)).toBe(`whsec_${Buffer.from(raw).toString('base64')}`);
  });
});

describe('secrets and URLs are refused by name, never echoing a secret', () => {
  const secretValue = `whsec_${Buffer.from('short').toString('base64')}`;

  it.each([
    [{ WEBHOOK_URL: 'http://127.0.0.1:9/h' }, /WEBHOOK_SECRET is required/],
    [
      { WEBHOOK_URL: 'http://127.0.0.1:9/h', WEBHOOK_SECRET: secretValue },
      /WEBHOOK_SECRET must hold 24 to 64 bytes/,
    ],
    [
      { WEBHOOK_URL: 'http://127.0.0.1:9/h', WEBHOOK_SECRET: 'whsec_!!notbase64!!' },
      /WEBHOOK_SECRET must be whsec_ followed by base64/,
    ],
    [
      {
        WEBHOOK_URL: 'http://127.0.0.1:9/h',
        WEBHOOK_SECRET: 'hunter2-but-longer-than-thirty-two-chars',
      },
      /WEBHOOK_SECRET must be a whsec_<base64> secret/,
    ],
    [{ WEBHOOK_SECRET: formatWebhookSecret(randomBytes(32)) }, /WEBHOOK_URL is required/],
    [
      {
        WEBHOOK_URL: 'http://hooks.example.com/h',
        WEBHOOK_SECRET: formatWebhookSecret(randomBytes(32)),
      },
      /WEBHOOK_URL must be an https URL, or http on loopback/,
    ],
  ])('%o', (env: Record<string, string>, message) => {
    let thrown: unknown;
    try {
      parseLocalWebhookConfig(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(message);
    if (env.WEBHOOK_SECRET) expect((thrown as Error).message).not.toContain(env.WEBHOOK_SECRET);
  });

  it('accepts loopback http locally and https anywhere; nothing set means no webhook', () => {
    const secret = formatWebhookSecret(randomBytes(32));
    expect(
      parseLocalWebhookConfig({ WEBHOOK_URL: 'http://localhost:8080/h', WEBHOOK_SECRET: secret })
        ?.url,
    ).toBe('http://localhost:8080/h');
    expect(parseLocalWebhookConfig({})).toBeUndefined();
  });

  it('never allows plain http to a deployed endpoint, loopback or not', () => {
    expect(() =>
      assertWebhookUrl('http://127.0.0.1/h', 'url', { allowLoopbackHttp: false }),
    ).toThrow(/must be an https URL/);
    expect(() =>
      assertWebhookUrl('https://user:pw@a.example/h', 'url', { allowLoopbackHttp: false }),
    ).toThrow(/credentials/);
  });
});

describe('queue messages', () => {
  const event = {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'Verification Completed',
    source: 'facematch',
    time: '2026-12-03T10:00:00Z',
    detail: { verification_id: 'v-1', status: 'COMPLETED' },
  };

  it('turn an EventBridge verdict event into a webhook whose id is the event id', () => {
    expect(messageFromEvent(event)).toEqual({
      id: event.id,
      type: 'verification.completed',
      timestamp: '2026-12-03T10:00:00.000Z',
      data: event.detail,
    });
    expect(messageFromEvent({ ...event, 'detail-type': 'Data Subject Erased' }).type).toBe(
      'data_subject.erased',
    );
  });

  it.each([
    [{ ...event, 'detail-type': 'Something Else' }],
    [{ ...event, id: 'has spaces and / slashes' }],
    [{ ...event, time: 'yesterday' }],
    [{ ...event, detail: 'a string' }],
  ])('refuse what is not a verdict event: %#', (bad) => {
    expect(() => messageFromEvent(bad)).toThrow(WebhookMessageError);
  });

  it('delivery ids name the endpoint and the event, and nothing else parses as one', () => {
    expect(parseDeliveryId(`crm/${event.id}`)).toEqual({ endpoint: 'crm', eventId: event.id });
    expect(parseDeliveryId('crm')).toBeNull();
    expect(parseDeliveryId('../etc/passwd')).toBeNull();
  });
});
