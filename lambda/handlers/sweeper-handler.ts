/**
 * The sweeper's entrance: a scheduled invocation (EventBridge Scheduler, every 5 minutes) that
 * moves stuck work on (lambda/core/sweep.ts), then measures the review queue's age (the review SLA
 * alarm's metric). The event carries nothing the sweep needs.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { measureReviewQueue } from '../core/review-service.ts';
import { type SweepReport, sweep, type WorkQueue } from '../core/sweep.ts';
import { logger, recordHousekeepingFailure } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { invocationBudget } from './invocation.ts';

/** Kept back from the Lambda's remaining time for the last save and the log line. */
const RESPONSE_RESERVE_MS = 1_000;

export function createSweeperHandler(runtime: Runtime, queue: WorkQueue) {
  const deps = runtime.sweepDeps(queue);
  const sweeperHandler = async (_event: unknown, context: Context): Promise<SweepReport> => {
    const report = await sweep(deps, invocationBudget(context, RESPONSE_RESERVE_MS));
    logger.info('sweep finished', { items_read: report.read, ...report.actions });
    // The review SLA alarm's metric must keep coming when nobody reads or decides reviews, which
    // is exactly when the queue ages: the sweep's schedule measures it (one index item read).
    await measureReviewQueue(runtime.review).catch((error: unknown) =>
      recordHousekeepingFailure('measure-review-queue', error),
    );
    return report;
  };
  return middy<unknown, SweepReport>(sweeperHandler).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
}
