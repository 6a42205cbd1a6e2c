/**
 * Holding an SQS message until its next attempt: ChangeMessageVisibility on the queue it came
 * from. The webhook sender loads this module on its first retry (lazy-port.ts), so a cold start
 * that delivers does not load the SQS client.
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MessageVisibility } from '../core/webhooks.ts';
import { createSqsClient } from './sqs-client.ts';

export class SqsMessageVisibility implements MessageVisibility {
  constructor(private readonly sqs: SQSClient = createSqsClient()) {}

  async hold(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }
}
