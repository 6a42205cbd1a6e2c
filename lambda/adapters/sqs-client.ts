/** The SQS client (aws-clients.ts says why it lives apart from the others). */
import { SQSClient } from '@aws-sdk/client-sqs';
import { type AwsClientOptions, plainConfig } from './aws-clients.ts';

/**
 * The sweeper's requeues, the webhook sender's retries (ChangeMessageVisibility) and the CLI's
 * resends (SendMessage), with the same timeouts.
 */
export const createSqsClient = (options: AwsClientOptions = {}): SQSClient =>
  new SQSClient(plainConfig(options, 'AWS_ENDPOINT_URL_SQS'));
