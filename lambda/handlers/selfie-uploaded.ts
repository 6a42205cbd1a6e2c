/** Lambda entry point of the S3 entrance (SQS event source with ReportBatchItemFailures). */
import { parseConfig } from '../config.ts';
import { createRuntime } from '../runtime.ts';
import { createSelfieUploadedHandler } from './selfie-uploaded-handler.ts';

const maxReceiveCount = Number(process.env.QUEUE_MAX_RECEIVE_COUNT ?? '');

// Queue work has no caller waiting: a busy id goes straight back to the queue.
const runtime = createRuntime(parseConfig(), { busyWaitMs: 0 });
void runtime.prefetch();

export const handler = createSelfieUploadedHandler(runtime, {
  ...(Number.isInteger(maxReceiveCount) && maxReceiveCount > 0 ? { maxReceiveCount } : {}),
});
