/**
 * The sweeper's entrance: a scheduled invocation (EventBridge Scheduler, every 5 minutes) that
 * moves stuck work on (lambda/core/sweep.ts). The event carries nothing the sweep needs.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type SweepReport, sweep, type WorkQueue } from '../core/sweep.ts';
import { logger } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { invocationBudget } from './invocation.ts';

/** Kept back from the Lambda's remaining time for the last save and the log line. */
const RESPONSE_RESERVE_MS = 1_000;

export function createSweeperHandler(runtime: Runtime, queue: WorkQueue) {
  const deps = runtime.sweepDeps(queue);
  const sweeperHandler = async (_event: unknown, context: Context): Promise<SweepReport> => {
    const report = await sweep(deps, invocationBudget(context, RESPONSE_RESERVE_MS));
    logger.info('sweep finished', { items_read: report.read, ...report.actions });
    return report;
  };
  return middy<unknown, SweepReport>(sweeperHandler).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
}
