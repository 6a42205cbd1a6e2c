/**
 * Warm per-verification overhead: `verify()` end to end minus the time inside IDmeta's
 * `facematch` (simulator answering at once), over the production composition root
 * (`startTestRuntime`: real DynamoDB and S3 adapters on dynalite and s3rver, real IdmetaClient),
 * and again with the in-memory verdict and selfie stores of the unit tests so only our own code
 * is left. Also end-to-end / IDmeta with the simulator answering after 200 ms.
 *
 * Each store kind runs twice: signals off (no person index: the path before signals existed) and
 * on (one read of the person's history per verification, summed up and weighed by `decide`). The
 * history read is that of a person with a realistic past (`SEEDED_HISTORY`), not the bench's own
 * thousands of verifications of one registry NIK, which no real person has.
 *
 * Runs in a child process of `npm run bench` (bench/child.ts) whose stdout is discarded: logs
 * and metrics stay ON, as in Lambda, and their cost is part of the overhead.
 */
import { performance } from 'node:perf_hooks';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoPersonIndex } from '../lambda/adapters/person-index.ts';
import { withIndexKeys } from '../lambda/adapters/verdict-table.ts';
import type { PersonHistory } from '../lambda/core/ports.ts';
import { newRecord } from '../lambda/core/record.ts';
import type { StoredVerdict } from '../lambda/core/types.ts';
import { verify } from '../lambda/core/verify.ts';
import {
  InMemoryPersonHistory,
  InMemorySelfieStore,
  InMemoryVerdictStore,
} from '../test/support/in-memory.ts';
import { startTestRuntime } from '../test/support/runtime.ts';
import { budget, inlineRequest, timeIdmeta } from './fixtures.ts';
import { median, percentile } from './stats.ts';

export interface OverheadSample {
  totalMs: number;
  idmetaMs: number;
}

export interface OverheadSummary {
  stores: 'dynalite+s3rver' | 'in-memory';
  /** Whether the person index was read and weighed (signals on). */
  signals: boolean;
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
  signals = false,
): OverheadSummary {
  const overhead = samples.map((sample) => sample.totalMs - sample.idmetaMs);
  return {
    stores,
    signals,
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

const SEEDED_HASH = 'bench-seeded-person';
const HOUR_MS = 3_600_000;

/**
 * A person with a past: two attempts in the last day (below the default reviewAfter of 3, so the
 * verdict stays APPROVED) and three older verifications, one of them APPROVED.
 */
function seededHistory(now: number): StoredVerdict[] {
  const ages = [2, 20, 72, 24 * 10, 24 * 40];
  return ages.map((hours, i) => {
    const at = now - hours * HOUR_MS;
    const item = newRecord({
      verificationId: `bench-history-${i}`,
      templateId: 'bench',
      nikMasked: '3201********0001',
      nikHash: SEEDED_HASH,
      source: 'api',
      status: 'COMPLETED',
      now: at,
      retentionDays: 30,
      idmetaVerificationOwned: false,
    });
    const completedAt = new Date(at + 1_000).toISOString();
    return {
      ...item,
      decision: i === 3 ? 'APPROVED' : 'REVIEW',
      completed_at: completedAt,
      idmeta_at: at + 500,
    };
  });
}

/** Reads the seeded person's history, whoever is being verified (see the module comment). */
const seededPerson = (index: PersonHistory): PersonHistory => ({
  recent: (_nikHash, since) => index.recent(SEEDED_HASH, since),
});

/**
 * Child: `calls` verifications after `warmup` unmeasured ones, against the real stores or the
 * in-memory ones; IDmeta (the simulator) answers after `latencyMs`. One store kind per process,
 * so neither measurement carries the other's heap (dynalite keeps its table in this process).
 */
export async function overheadChild(input: {
  stores: Stores;
  signals: boolean;
  calls: number;
  warmup: number;
  latencyMs: number;
}): Promise<OverheadSummary> {
  // The registry person is verified thousands of times here: velocity stays out of the way (the
  // seeded history is what is read and weighed), and so the verdict stays APPROVED.
  const t = await startTestRuntime({ quiet: false, simulator: { latencyMs: input.latencyMs } });
  try {
    const { history: _history, ...withoutSignals } = t.runtime.deps;
    const seeded = seededHistory(Date.now());
    let deps: Parameters<typeof verify>[1];
    if (input.stores === 'in-memory') {
      const people = new InMemoryVerdictStore();
      for (const item of seeded) people.items.set(item.verification_id, item);
      deps = {
        ...withoutSignals,
        store: new InMemoryVerdictStore(),
        selfies: new InMemorySelfieStore(),
        ...(input.signals ? { history: seededPerson(new InMemoryPersonHistory(people)) } : {}),
      };
    } else {
      for (const item of seeded) {
        await t.localAws.documentClient.send(
          new PutCommand({ TableName: t.localAws.tableName, Item: withIndexKeys(item) }),
        );
      }
      const index = new DynamoPersonIndex({
        client: t.localAws.documentClient,
        tableName: t.localAws.tableName,
      });
      deps = { ...withoutSignals, ...(input.signals ? { history: seededPerson(index) } : {}) };
    }
    const samples = await sampleVerifications(deps, {
      prefix: `bench-${input.stores === 'in-memory' ? 'mem' : 'real'}-${input.signals ? 'sig' : 'nosig'}`,
      ...input,
    });
    return summarise(input.stores, samples, input.signals);
  } finally {
    await t.stop();
  }
}
