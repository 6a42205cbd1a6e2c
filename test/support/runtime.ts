/**
 * The production composition root on local servers: `createRuntime(parseConfig(env), ...)` wired
 * to dynalite + s3rver (`startLocalAws`) and the IDmeta simulator, all on free loopback ports.
 * Only the endpoints and credentials differ from a Lambda; every adapter is the real one.
 *
 *   const t = await startTestRuntime();          // beforeAll
 *   await verify(request, t.runtime.deps, budget);
 *   await t.stop();                              // afterAll: no handle is left open
 */
import { randomBytes } from 'node:crypto';
import { IdmetaClient } from '../../lambda/adapters/idmeta-client.ts';
import type { TokenSource } from '../../lambda/adapters/token-source.ts';
import { createVerdictTable } from '../../lambda/adapters/verdict-store.ts';
import { parseConfig } from '../../lambda/config.ts';
import { parseVerificationBody } from '../../lambda/core/request.ts';
import type { VerificationRequest } from '../../lambda/core/types.ts';
import type { VerifyDeps } from '../../lambda/core/verify.ts';
import { logger } from '../../lambda/observability.ts';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../lambda/runtime.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../local/aws-servers.ts';
import {
  DEFAULT_SIM_TOKEN,
  type IdmetaSimulator,
  type IdmetaSimulatorOptions,
  startIdmetaSimulator,
} from '../../local/idmeta-simulator/server.ts';
import { LOCAL_AWS_REGION, type LocalAws, startLocalAws } from './local-aws.ts';

/** The data key of every test runtime: NIK hashes are stable within a run, never real. */
export const TEST_DATA_KEY = 'facematch-integration-test-data-key-0123456789';
export const TEST_TEMPLATE_ID = 'tf-integration';
/** The API Lambda's wait for a busy id (lambda/handlers/api.ts). */
export const API_BUSY_WAIT_MS = 10_000;

export type Env = Record<string, string>;

/** `POLICY_PROFILES` whose velocity limits no suite reaches by accident. */
export const UNLIMITED_VELOCITY = JSON.stringify({
  default: { velocity: { reviewAfter: 1000, refuseAfter: 1000 } },
});

export interface RuntimeOverrides {
  /** Merged over the base environment (e.g. `IDMETA_TIMEOUT_MS`, `VERDICT_TABLE_NAME`). */
  env?: Env;
  /** Default: the API Lambda's 10 s. The queue Lambda uses 0. */
  busyWaitMs?: number;
  storeReserveMs?: number;
  /**
   * Default true. False leaves the person index out (no signals), for suites that judge exact
   * reasons while verifying the registry's few persons in any order: a previous approval of the
   * same person would add NIK_PREVIOUSLY_VERIFIED to whichever case runs later.
   */
  signals?: boolean;
}

export interface TestRuntimeOptions extends RuntimeOverrides {
  simulator?: Omit<IdmetaSimulatorOptions, 'host' | 'port'>;
  /**
   * Silences the runtime's logs and metrics (one JSON line per verdict and per IDmeta attempt),
   * restored by `stop()`. Default true.
   */
  quiet?: boolean;
}

export interface TestRuntime {
  runtime: Runtime;
  simulator: IdmetaSimulator;
  localAws: LocalAws;
  /** The environment `runtime` was parsed from. */
  env: Env;
  /** Another runtime on the same servers: its own SDK clients, `overrides.env` over `env`. */
  createRuntime(overrides?: RuntimeOverrides): Runtime;
  /** A new, empty verdict table on the same dynalite; pass its name as `VERDICT_TABLE_NAME`. */
  createTable(): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestRuntime(options: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const quiet = options.quiet ?? true;
  const restoreQuiet = quiet ? silenceTelemetry() : () => undefined;
  const localAws = await startLocalAws().catch((error: unknown) => {
    restoreQuiet();
    throw error;
  });
  let simulator: IdmetaSimulator;
  try {
    simulator = await startIdmetaSimulator({ ...options.simulator });
  } catch (error) {
    await localAws.stop();
    restoreQuiet();
    throw error;
  }

  const env: Env = {
    VERDICT_TABLE_NAME: localAws.tableName,
    SELFIE_BUCKET_NAME: localAws.bucket,
    IDMETA_BASE_URL: simulator.url,
    IDMETA_TOKEN: options.simulator?.tokens?.[0] ?? DEFAULT_SIM_TOKEN,
    IDMETA_TEMPLATE_ID: TEST_TEMPLATE_ID,
    FACEMATCH_DATA_KEY: TEST_DATA_KEY,
    // The suites verify the registry's few persons again and again, and judge the decision
    // their answers imply: velocity is out of their way unless a test asks for it.
    POLICY_PROFILES: UNLIMITED_VELOCITY,
    ...options.env,
  };
  const aws: RuntimeOptions['aws'] = {
    dynamodb: {
      region: LOCAL_AWS_REGION,
      endpoint: localAws.dynamoEndpoint,
      credentials: { ...LOCAL_AWS_CREDENTIALS },
    },
    s3: {
      region: LOCAL_AWS_REGION,
      endpoint: localAws.s3Endpoint,
      credentials: { ...LOCAL_AWS_CREDENTIALS },
    },
  };
  const build = (overrides: RuntimeOverrides, base: Env): Runtime => {
    const runtime = createRuntime(parseConfig({ ...base, ...overrides.env }), {
      busyWaitMs: overrides.busyWaitMs ?? API_BUSY_WAIT_MS,
      ...(overrides.storeReserveMs === undefined
        ? {}
        : { storeReserveMs: overrides.storeReserveMs }),
      aws,
    });
    if (overrides.signals === false) delete runtime.deps.history;
    return runtime;
  };

  let stopped: Promise<void> | undefined;
  return {
    runtime: build(options, env),
    simulator,
    localAws,
    env,
    createRuntime: (overrides = {}) =>
      build(
        { ...(options.signals === undefined ? {} : { signals: options.signals }), ...overrides },
        env,
      ),
    async createTable() {
      const name = `facematch-verdicts-test-${randomBytes(6).toString('hex')}`;
      await createVerdictTable(localAws.dynamoClient, name);
      return name;
    },
    stop() {
      // The runtime's SDK clients are not reachable from here; the servers drop their sockets.
      stopped ??= Promise.all([simulator.close(), localAws.stop()]).then(() => restoreQuiet());
      return stopped;
    },
  };
}

/** What the API entrance hands to verify(): `body` through the same parser, `runtime`'s limits. */
export function apiRequest(body: Record<string, unknown>, runtime: Runtime): VerificationRequest {
  const { deps } = runtime;
  return {
    ...parseVerificationBody(body, { limits: deps.settings.selfieLimits, now: deps.clock.now() }),
    source: 'api',
  };
}

/**
 * The runtime's dependencies with an IDmeta client that reads its token from `tokenSource`
 * (rotation and revocation tests); everything else is `runtime.deps` unchanged.
 */
export function withTokenSource(runtime: Runtime, tokenSource: TokenSource): VerifyDeps {
  const { idmeta } = runtime.config;
  return {
    ...runtime.deps,
    idmeta: new IdmetaClient({
      baseUrl: idmeta.baseUrl,
      tokenSource,
      timeoutMs: idmeta.timeoutMs,
      maxAttempts: idmeta.maxAttempts,
      dobFormat: idmeta.dobFormat,
    }),
  };
}

/**
 * A secret whose stored value can change under a cache, as Secrets Manager's does: `get()` answers
 * the cached value, `refresh()` reads the stored one. `refreshes` counts the re-reads.
 */
export class RotatableSecret implements TokenSource {
  refreshes = 0;
  #cached: string;

  constructor(public stored: string) {
    this.#cached = stored;
  }

  get(): Promise<string> {
    return Promise.resolve(this.#cached);
  }

  refresh(): Promise<string> {
    this.refreshes += 1;
    this.#cached = this.stored;
    return Promise.resolve(this.#cached);
  }
}

/** Logs off, metrics off (Powertools reads the variable per single metric); returns the undo. */
function silenceTelemetry(): () => void {
  const level = logger.getLevelName();
  const hadVariable = Object.hasOwn(process.env, 'POWERTOOLS_METRICS_DISABLED');
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  logger.setLogLevel('SILENT');
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return () => {
    logger.setLogLevel(level);
    if (hadVariable) process.env.POWERTOOLS_METRICS_DISABLED = previous;
    else delete process.env.POWERTOOLS_METRICS_DISABLED;
  };
}
