/**
 * Both publishers of the event bus, on one EventBridge client. lambda/runtime.ts loads this module
 * with a dynamic `import()` on the first event, so a cold start does not pay for the client.
 */
import { createEventBridgeClient } from './eventbridge-client.ts';
import {
  EventBridgeReviewEvents,
  EventBridgeSubjectEvents,
  EventBridgeVerdictEvents,
} from './verdict-events.ts';

export function createEventAdapters(eventBusName: string) {
  const bus = { client: createEventBridgeClient(), eventBusName };
  return {
    verdicts: new EventBridgeVerdictEvents(bus),
    subjects: new EventBridgeSubjectEvents(bus),
    reviews: new EventBridgeReviewEvents(bus),
  };
}
