/**
 * Final verdicts announced on EventBridge: source `facematch`, detail-type `Verification
 * Completed`. The verdict is stored before this runs, so a failed publish loses no verdict; it is
 * retried (the SDK's retries, then the entries EventBridge itself refused, once more) and then
 * reported for the operator.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { FacematchError } from '../core/errors.ts';
import {
  EVENT_DETAIL_TYPES,
  EVENT_SOURCE,
  type ReviewEvents,
  type VerdictEventDetail,
  type VerdictEvents,
} from '../core/ports.ts';
import type { SubjectEvents } from '../core/subjects.ts';

/** PutEvents can refuse single entries (throttling, internal) while the call itself succeeds. */
const ENTRY_ATTEMPTS = 2;

interface EventBridgeTarget {
  client: EventBridgeClient;
  eventBusName: string;
}

/** One event on the bus, retried as the module comment says; throws when it was not published. */
async function putEvent(target: EventBridgeTarget, detailType: string, detail: unknown) {
  const entry: PutEventsRequestEntry = {
    EventBusName: target.eventBusName,
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    Resources: [],
  };
  let lastCode = 'unknown';
  for (let attempt = 1; attempt <= ENTRY_ATTEMPTS; attempt++) {
    const output = await target.client.send(new PutEventsCommand({ Entries: [entry] }));
    if (!output.FailedEntryCount) return;
    lastCode = output.Entries?.[0]?.ErrorCode ?? 'unknown';
  }
  throw new FacematchError(`EventBridge refused the ${detailType} event (${lastCode})`, {
    code: 'VERDICT_EVENT_NOT_PUBLISHED',
    status: 500,
    transient: true,
  });
}

export class EventBridgeVerdictEvents implements VerdictEvents {
  constructor(private readonly target: EventBridgeTarget) {}

  publish(detail: VerdictEventDetail): Promise<void> {
    return putEvent(this.target, EVENT_DETAIL_TYPES.verdict, detail);
  }
}

export class EventBridgeSubjectEvents implements SubjectEvents {
  constructor(private readonly target: EventBridgeTarget) {}

  erased(detail: Parameters<SubjectEvents['erased']>[0]): Promise<void> {
    return putEvent(this.target, EVENT_DETAIL_TYPES.erasure, detail);
  }
}

export class EventBridgeReviewEvents implements ReviewEvents {
  constructor(private readonly target: EventBridgeTarget) {}

  reviewed(detail: VerdictEventDetail): Promise<void> {
    return putEvent(this.target, EVENT_DETAIL_TYPES.review, detail);
  }
}
