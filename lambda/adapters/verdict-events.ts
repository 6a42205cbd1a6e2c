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
import type { VerdictEventDetail, VerdictEvents, VerdictEventType } from '../core/ports.ts';

export const VERDICT_EVENT_SOURCE = 'facematch';
export const VERDICT_EVENT_DETAIL_TYPE = 'Verification Completed';
/** A reviewer decided (or an appeal changed) a verdict; the detail has no note, no reviewer. */
export const REVIEW_EVENT_DETAIL_TYPE = 'Verification Reviewed';

/** PutEvents can refuse single entries (throttling, internal) while the call itself succeeds. */
const ENTRY_ATTEMPTS = 2;

export class EventBridgeVerdictEvents implements VerdictEvents {
  readonly #client: EventBridgeClient;
  readonly #eventBusName: string;

  constructor(options: { client: EventBridgeClient; eventBusName: string }) {
    this.#client = options.client;
    this.#eventBusName = options.eventBusName;
  }

  async publish(
    detail: VerdictEventDetail,
    type: VerdictEventType = VERDICT_EVENT_DETAIL_TYPE,
  ): Promise<void> {
    const entry: PutEventsRequestEntry = {
      EventBusName: this.#eventBusName,
      Source: VERDICT_EVENT_SOURCE,
      DetailType: type,
      Detail: JSON.stringify(detail),
      Resources: [],
    };
    let lastCode = 'unknown';
    for (let attempt = 1; attempt <= ENTRY_ATTEMPTS; attempt++) {
      const output = await this.#client.send(new PutEventsCommand({ Entries: [entry] }));
      if (!output.FailedEntryCount) return;
      lastCode = output.Entries?.[0]?.ErrorCode ?? 'unknown';
    }
    throw new FacematchError(`EventBridge refused the verdict event (${lastCode})`, {
      code: 'VERDICT_EVENT_NOT_PUBLISHED',
      status: 500,
      transient: true,
    });
  }
}
