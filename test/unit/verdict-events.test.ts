import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeVerdictEvents } from '../../lambda/adapters/verdict-events.ts';
import type { VerdictEventDetail } from '../../lambda/core/ports.ts';

const eventBridge = mockClient(EventBridgeClient);

const detail: VerdictEventDetail = {
  verification_id: 'ver-1',
  template_id: 'tf',
  status: 'COMPLETED',
  decision: 'APPROVED',
  reasons: ['ALL_CHECKS_PASSED'],
  face_similarity: 98.7,
  matches: { nik: true },
  risk_rating: 'LOW',
  idmeta: null,
  source: 'api',
  attempts: 1,
  created_at: '2026-11-26T00:00:00.000Z',
  updated_at: '2026-11-26T00:00:00.000Z',
  expires_at: 1,
};

describe('EventBridgeVerdictEvents', () => {
  beforeEach(() => eventBridge.reset());

  it('puts one "Verification Completed" event from source facematch on the configured bus', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    const events = new EventBridgeVerdictEvents({
      client: new EventBridgeClient({ region: 'ap-southeast-3' }),
      eventBusName: 'facematch-prod',
    });

    // Act
    await events.publish(detail);

    // Assess
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    const entry = calls[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      EventBusName: 'facematch-prod',
      Source: 'facematch',
      DetailType: 'Verification Completed',
    });
    expect(JSON.parse(entry?.Detail ?? '{}')).toEqual(detail);
  });

  it('tries a refused entry once more, then fails so the caller can report it', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
    const events = new EventBridgeVerdictEvents({
      client: new EventBridgeClient({ region: 'ap-southeast-3' }),
      eventBusName: 'bus',
    });

    // Act / Assess
    await expect(events.publish(detail)).rejects.toMatchObject({
      code: 'VERDICT_EVENT_NOT_PUBLISHED',
    });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
  });

  it('succeeds when the second try is accepted', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    const events = new EventBridgeVerdictEvents({
      client: new EventBridgeClient({ region: 'ap-southeast-3' }),
      eventBusName: 'bus',
    });

    await expect(events.publish(detail)).resolves.toBeUndefined();
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
  });
});
