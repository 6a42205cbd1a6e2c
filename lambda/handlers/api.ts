/**
 * Lambda entry point of the API entrance. Configuration is parsed and the secrets are fetched
 * during init, so a misconfigured function fails at deploy-time smoke tests, not at a customer,
 * and the first request does not pay for the secret round trip.
 */
import { parseConfig } from '../config.ts';
import { createRuntime } from '../runtime.ts';
import { createApiHandler } from './api-handler.ts';

/** API Gateway gives up after 29 s; a caller that finds its id busy waits at most this long. */
const API_BUSY_WAIT_MS = 10_000;

const runtime = createRuntime(parseConfig(), { busyWaitMs: API_BUSY_WAIT_MS });
void runtime.prefetch();

export const handler = createApiHandler(runtime);
