/**
 * Cost budgets counted, not timed (issue 17): DynamoDB round trips per verification, and the
 * items a sweep reads from a table of many records. Both against dynalite with the production
 * adapters, in a child process of `npm run bench` (bench/child.ts).
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoPersonIndex } from '../lambda/adapters/person-index.ts';
import { DynamoVerdictStore } from '../lambda/adapters/verdict-store.ts';
import { withIndexKeys } from '../lambda/adapters/verdict-table.ts';
import { newRecord } from '../lambda/core/record.ts';
import { type SweepReport, sweep } from '../lambda/core/sweep.ts';
import { verify } from '../lambda/core/verify.ts';
import { startTestRuntime } from '../test/support/runtime.ts';
import { budget, inlineRequest } from './fixtures.ts';

export interface RoundTripsResult {
  verifications: number;
  /** Low-level DynamoDB commands sent, by name, over all verifications. */
  commands: Record<string, number>;
}

/**
 * Child: `verifications` fresh verifications (signals on: the person index is read) through the
 * real verdict store and person index, on a document client whose middleware counts every
 * DynamoDB command it sends (a retry of the SDK's own would count as another).
 */
export async function roundTripsChild(input: { verifications: number }): Promise<RoundTripsResult> {
  const t = await startTestRuntime();
  try {
    const client = t.localAws.documentClient;
    const commands: Record<string, number> = {};
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? 'unknown';
        commands[name] = (commands[name] ?? 0) + 1;
        return next(args);
      },
      { step: 'finalizeRequest', name: 'benchCountRoundTrips', priority: 'low' },
    );
    const tableName = t.localAws.tableName;
    const deps = {
      ...t.runtime.deps,
      store: new DynamoVerdictStore({ client, tableName }),
      history: new DynamoPersonIndex({ client, tableName }),
    };
    for (let i = 0; i < input.verifications; i++) {
      const outcome = await verify(inlineRequest(`bench-trips-${randomUUID()}`), deps, budget());
      if (outcome.record.status !== 'COMPLETED') {
        throw new Error(`round-trip verification ${i} ended ${outcome.record.status}`);
      }
    }
    return { verifications: input.verifications, commands };
  } finally {
    await t.stop();
  }
}

export interface SweepReadsResult {
  records: number;
  stuck: number;
  report: Pick<SweepReport, 'read'> & { actions: Record<string, number> };
}

const HOUR_MS = 3_600_000;

/**
 * Child: a table of its own holding `records` finished verdicts and `stuck` forms nobody
 * uploaded to, swept as if two hours later: what the sweep reads (`report.read`).
 */
export async function sweepReadsChild(input: {
  records: number;
  stuck: number;
}): Promise<SweepReadsResult> {
  const t = await startTestRuntime();
  try {
    const tableName = await t.createTable();
    const own = t.createRuntime({ env: { VERDICT_TABLE_NAME: tableName } });
    const now = Date.now();
    const record = (id: string, status: 'COMPLETED' | 'PENDING') => {
      const item = newRecord({
        verificationId: id,
        templateId: own.deps.settings.defaultTemplateId,
        nikMasked: '3174********0012',
        nikHash: `hash-${id}`,
        source: 'api',
        status,
        now,
        retentionDays: 1,
        idmetaVerificationOwned: false,
      });
      return withIndexKeys(
        status === 'COMPLETED'
          ? { ...item, decision: 'APPROVED' as const, completed_at: new Date(now).toISOString() }
          : item,
      );
    };
    const items = [
      ...Array.from({ length: input.records }, (_, i) => record(`bench-done-${i}`, 'COMPLETED')),
      ...Array.from({ length: input.stuck }, (_, i) => record(`bench-stuck-${i}`, 'PENDING')),
    ];
    const batches: (typeof items)[] = [];
    for (let at = 0; at < items.length; at += 25) batches.push(items.slice(at, at + 25));
    // A few writers at once: dynalite takes them one by one anyway.
    const writers = Array.from({ length: 4 }, async () => {
      for (let batch = batches.pop(); batch !== undefined; batch = batches.pop()) {
        const put = batch.map((Item) => ({ PutRequest: { Item } }));
        const answer = await t.localAws.documentClient.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: put } }),
        );
        if (Object.keys(answer.UnprocessedItems ?? {}).length > 0) {
          throw new Error('dynalite left items unprocessed');
        }
      }
    });
    await Promise.all(writers);
    const base = own.sweepDeps({ requeue: async () => {} });
    const later = now + 2 * HOUR_MS;
    const report = await sweep(
      { ...base, verify: { ...base.verify, clock: { now: () => later } } },
      { deadline: later + 60_000 },
    );
    return {
      records: input.records,
      stuck: input.stuck,
      report: { read: report.read, actions: { ...report.actions } },
    };
  } finally {
    await t.stop();
  }
}
