/** Lambda entry point of the sweeper (EventBridge Scheduler). */
import { createSqsClient } from '../adapters/sqs-client.ts';
import { SqsWorkQueue } from '../adapters/work-queue.ts';
import { parseConfig } from '../config.ts';
import { ConfigError } from '../core/errors.ts';
import { createRuntime } from '../runtime.ts';
import { createSweeperHandler } from './sweeper-handler.ts';

const config = parseConfig();
if (config.selfieQueueUrl === undefined) {
  throw new ConfigError('invalid configuration: SELFIE_QUEUE_URL is required by the sweeper');
}
const runtime = createRuntime(config, { busyWaitMs: 0 });

export const handler = createSweeperHandler(
  runtime,
  new SqsWorkQueue({
    client: createSqsClient(),
    queueUrl: config.selfieQueueUrl,
    bucket: config.bucketName,
  }),
);
