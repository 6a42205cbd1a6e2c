/**
 * A function consuming SQS queues encrypted with the stack key. Not through `SqsEventSource`: it
 * grants the consumer an unconditioned `kms:Decrypt` on the key, which also encrypts the table
 * and the bucket. The same mappings (same construct ids, so the same logical ids: a replaced
 * mapping would collide with the live one), the SQS actions Lambda's poller calls, and Decrypt
 * through SQS only.
 */
import { Names, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { FacematchFunction } from './facematch-function.ts';

export interface QueueConsumption {
  queues: IQueue[];
  key: IKey;
  batchSize: number;
  /** At most this many concurrent invocations per queue. */
  maxConcurrency: number;
  /** The statements' ids: the queue actions, and the key through SQS. */
  sids: { queues: string; key: string };
}

export function consumeEncryptedQueues(fn: FacematchFunction, consumption: QueueConsumption): void {
  for (const queue of consumption.queues) {
    fn.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`, {
      eventSourceArn: queue.queueArn,
      batchSize: consumption.batchSize,
      maxConcurrency: consumption.maxConcurrency,
      reportBatchItemFailures: true,
    });
  }
  fn.executionRole.addToPrincipalPolicy(
    new PolicyStatement({
      sid: consumption.sids.queues,
      // What Lambda's poller calls with this role (SqsEventSource's list).
      actions: [
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueUrl',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ],
      resources: consumption.queues.map((queue) => queue.queueArn),
    }),
  );
  fn.executionRole.addToPrincipalPolicy(
    new PolicyStatement({
      sid: consumption.sids.key,
      // Receiving from a KMS-encrypted queue makes SQS decrypt its data key for the receiver.
      actions: ['kms:Decrypt'],
      resources: [consumption.key.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': `sqs.${Stack.of(fn).region}.amazonaws.com` },
      },
    }),
  );
}
