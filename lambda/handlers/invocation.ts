import type { Context } from 'aws-lambda';
import type { CallBudget } from '../core/ports.ts';

/**
 * The budget the core may spend: what is left of this invocation, less `reserveMs` kept back so
 * the answer (a response, or the batch's failure report) still gets out before Lambda stops it.
 */
export const invocationBudget = (context: Context, reserveMs: number): CallBudget => ({
  deadline: Date.now() + context.getRemainingTimeInMillis() - reserveMs,
});
