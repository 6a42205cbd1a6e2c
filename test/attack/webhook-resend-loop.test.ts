/**
 * Attack: a CLI resend to a receiver that keeps failing. The deployed sender keeps the queued
 * envelope's `resend: true` on every SQS redelivery, so each receive restarts the schedule at
 * attempt 1: the log never advances, never says FAILED, and the receiver is hit every ~5 s until
 * the DLQ. (local/webhooks.ts strips the flag on retry; the SQS path cannot.)
 */
import { describe, expect, it } from 'vitest';
import {
  type AttemptResult,
  deliverWebhook,
  eventOfMessage,
  messageFromEvent,
  type WebhookMessage,
} from '../../lambda/core/webhooks.ts';
import { InMemoryWebhookDeliveries } from '../support/in-memory.ts';

describe('attack: resend of a failing delivery', () => {
  it('advances the retry schedule across SQS redeliveries of the same resend message', async () => {
    const deliveries = new InMemoryWebhookDeliveries();
    let now = Date.parse('2026-12-03T10:00:00Z');
    const deps = {
      sender: {
        send: async (): Promise<AttemptResult> => ({
          kind: 'response',
          status: 503,
          durationMs: 1,
        }),
      },
      deliveries,
      clock: { now: () => now },
      random: () => 0,
      retentionDays: 30,
    };
    const endpoint = {
      name: 'crm',
      url: 'https://crm.example',
      key: async () => new Uint8Array(32),
    };
    const original: WebhookMessage = {
      id: 'evt-1',
      type: 'verification.completed',
      timestamp: '2026-12-03T09:00:00.000Z',
      data: { verification_id: 'ver-1' },
    };
    // What `facematch webhooks resend` queues; SQS hands back this same body on every receive.
    const queuedBody = JSON.stringify(eventOfMessage({ ...original, resend: true }));
    const attempts: number[] = [];
    for (let receive = 0; receive < 4; receive += 1) {
      const outcome = await deliverWebhook(
        endpoint,
        messageFromEvent(JSON.parse(queuedBody)),
        deps,
      );
      attempts.push(outcome.record.attempts);
      if (outcome.kind === 'retry') now += outcome.delayMs;
    }
    expect(attempts).toEqual([1, 2, 3, 4]);
  });
});
