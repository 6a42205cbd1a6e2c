/**
 * Warm per-verification overhead: `verify()` end to end minus the time inside IDmeta's
 * `facematch` (simulator answering at once), over the production composition root
 * (`startTestRuntime`: real DynamoDB and S3 adapters on dynalite and s3rver, real IdmetaClient),
 * and again with the in-memory verdict and selfie stores of the unit tests so only our own code
 * is left. Also end-to-end / IDmeta with the simulator answering after 200 ms.
 *
 * Runs in a child process of `npm run bench` (bench/child.ts) whose stdout is discarded: logs
 * and metrics stay ON, as in Lambda, and their cost is part of the overhead.
 */
import { performance } from 'node:perf_hooks';
import { verify } from '../lambda/core/verify.ts';
import { InMemorySelfieStore, InMemoryVerdictStore } from '../test/support/in-memory.ts';
import { startTestRuntime } from '../test/support/runtime.ts';
import { budget, inlineRequest, timeIdmeta } from './fixtures.ts';
import { median, percentile } from './stats.ts';

export interface OverheadSample {
  totalMs: number;
  idmetaMs: number;
}

export interface OverheadSummary {
  stores: 'dynalite+s3rver' | 'in-memory';
  calls: number;
  totalP50: number;
  idmetaP50: number;
  overheadP50: number;
  overheadP99: number;
  /** p50 of total / IDmeta per call. */
  ratioP50: number;
}

export function summarise(
  stores: OverheadSummary['stores'],
  samples: readonly OverheadSample[],
): OverheadSummary {
  const overhead = samples.map((sample) => sample.totalMs - sample.idmetaMs);
  return {
    stores,
    calls: samples.length,
    totalP50: median(samples.map((sample) => sample.totalMs)),
    idmetaP50: median(samples.map((sample) => sample.idmetaMs)),
    overheadP50: median(overhead),
    overheadP99: percentile(overhead, 99),
    ratioP50: median(samples.map((sample) => sample.totalMs / sample.idmetaMs)),
  };
}

async function sampleVerifications(
  deps: Parameters<typeof verify>[1],
  options: { prefix: string; warmup: number; calls: number },
): Promise<OverheadSample[]> {
  const timer = timeIdmeta(deps);
  const samples: OverheadSample[] = [];
  for (let i = 0; i < options.warmup + options.calls; i++) {
    const request = inlineRequest(`${options.prefix}-${i}`);
    timer.reset();
    const started = performance.now();
    const outcome = await verify(request, timer.deps, budget());
    const totalMs = performance.now() - started;
    if (outcome.record.decision !== 'APPROVED' || outcome.replayed) {
      throw new Error(`bench verification ${i} ended ${outcome.record.status}, not APPROVED`);
    }
    if (i >= options.warmup) samples.push({ totalMs, idmetaMs: timer.elapsed() });
  }
  return samples;
}

export type Stores = OverheadSummary['stores'];

/**
 * Child: `calls` verifications after `warmup` unmeasured ones, against the real stores or the
 * in-memory ones; IDmeta (the simulator) answers after `latencyMs`. One store kind per process,
 * so neither measurement carries the other's heap (dynalite keeps its table in this process).
 */
export async function overheadChild(input: {
  stores: Stores;
  calls: number;
  warmup: number;
  latencyMs: number;
}): Promise<OverheadSummary> {
  const t = await startTestRuntime({ quiet: false, simulator: { latencyMs: input.latencyMs } });
  try {
    const deps =
      input.stores === 'in-memory'
        ? {
            ...t.runtime.deps,
            store: new InMemoryVerdictStore(),
            selfies: new InMemorySelfieStore(),
          }
        : t.runtime.deps;
    const samples = await sampleVerifications(deps, {
      prefix: input.stores === 'in-memory' ? 'bench-mem' : 'bench-real',
      ...input,
    });
    return summarise(input.stores, samples);
  } finally {
    await t.stop();
  }
}
