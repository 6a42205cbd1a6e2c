/**
 * Lambda entry point of the review queue's measure: run every five minutes by an EventBridge
 * schedule, it reads the oldest open review (one index item) and emits its age as
 * `OldestOpenReviewAgeSeconds` (0 when the queue is empty). The SLA alarm watches that metric, so
 * it must keep coming when nobody lists or decides reviews, which is exactly when the queue ages.
 */

import { parseConfig } from '../config.ts';
import { measureReviewQueue } from '../core/review-service.ts';
import { createRuntime } from '../runtime.ts';

const runtime = createRuntime(parseConfig(), { busyWaitMs: 0 });

export const handler = async (): Promise<{ oldest_open_since: number | null }> => ({
  oldest_open_since: await measureReviewQueue(runtime.review),
});
