/**
 * Attack: EventBridge and SQS deliver at least once, so two sender invocations can hold the same
 * event at once. The delivery log is read, then rewritten with an unconditional put: the slower
 * attempt's RETRYING overwrites the faster one's DELIVERED, and the event is posted yet again on
 * the retry schedule although the receiver already has it.
 */
import { describe, expect, it } from 'vitest';
import {
  type AttemptResult,
  deliverWebhook,
  type WebhookMessage,
} from '../../lambda/core/webhooks.ts';
import { InMemoryWebhookDeliveries } from '../support/in-memory.ts';

describe('attack: the same event held by two sender invocations', () => {
  it('never turns a DELIVERED delivery back into RETRYING', async () => {
    const deliveries = new InMemoryWebhookDeliveries();
    // Both attempts are in flight; the 200 lands first, then the 503 (no timers: explicit gates).
    const gates: Array<(result: AttemptResult) => void> = [];
    const deps = {
      sender: {
        send: () => new Promise<AttemptResult>((resolve) => gates.push(resolve)),
      },
      deliveries,
      clock: { now: () => Date.now() },
      random: () => 0,
      retentionDays: 14,
    };
    const endpoint = {
      name: 'crm',
      url: 'https://crm.example',
      key: async () => new Uint8Array(32),
    };
    const message: WebhookMessage = {
      id: 'evt-dup',
      type: 'verification.completed',
      timestamp: '2026-12-03T09:00:00.000Z',
      data: { verification_id: 'ver-1' },
    };

    const first = deliverWebhook(endpoint, message, deps);
    const second = deliverWebhook(endpoint, message, deps);
    while (gates.length < 2) await new Promise((resolve) => setImmediate(resolve));
    gates[0]?.({ kind: 'response', status: 200, durationMs: 1 });
    const delivered = await first;
    gates[1]?.({ kind: 'response', status: 503, durationMs: 1 });
    const outcomes = [delivered, await second];

    expect(outcomes.map((outcome) => outcome.kind)).toContain('delivered');
    // The receiver has the event; the log must say so, and nothing may schedule another POST.
    expect((await deliveries.get('crm/evt-dup'))?.state).toBe('DELIVERED');
    expect(outcomes.map((outcome) => outcome.kind)).not.toContain('retry');
  });
});
