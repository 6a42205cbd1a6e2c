/** The EventBridge client (aws-clients.ts says why it lives apart from the others). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type AwsClientOptions, plainConfig } from './aws-clients.ts';

/** Verdict events, with the same timeouts: a stalled publish must not hold the invocation. */
export const createEventBridgeClient = (options: AwsClientOptions = {}): EventBridgeClient =>
  new EventBridgeClient(plainConfig(options, 'AWS_ENDPOINT_URL_EVENTBRIDGE'));
