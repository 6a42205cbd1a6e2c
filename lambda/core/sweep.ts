/**
 * The sweeper: unfinished work that nobody will finish on their own, found through the worklist
 * index (never a scan), moved on. Run every few minutes (EventBridge Scheduler; in-process
 * locally). What it does, for each kind of stuck work:
 * - `PROCESSING` past its lease (the worker died: a crash on the last receive, a kill): its
 *   selfie object still there goes back on the queue, whose worker takes the expired lease and
 *   pays IDmeta once more (unavoidable: the first answer, if any, was lost); without an object
 *   (an inline selfie), the record goes back to `PENDING` with an error, so the caller's repeated
 *   request completes it.
 * - `PENDING` whose upload form expired (plus a grace period) without an upload: `FAILED`
 *   `UPLOAD_EXPIRED`, announced, and the IDmeta verification facematch created for it finalised.
 *   An upload that did arrive but was never handled (a lost notification) is queued instead.
 * - `PENDING` after a failure (retries exhausted, dead-lettered) that nobody redrove within the
 *   give-up period: `FAILED` `RETRIES_EXHAUSTED`.
 * Every action goes through the same conditional claim as a worker, so a sweep racing a worker
 * (or another sweep) changes nothing the worker holds.
 */
import { FacematchError } from './errors.ts';
import type { CallBudget } from './ports.ts';
import { releasedRecord } from './record.ts';
import { uploadKeysOf } from './request.ts';
import type { StoredVerdict } from './types.ts';
import { claimForHousekeeping, failClaimed, type VerifyDeps } from './verify.ts';

export type SweepKind = 'PENDING' | 'PROCESSING';

/** The worklist index, read oldest first. */
export interface Worklist {
  /**
   * Items on `kind`'s worklist that entered it before `before` (epoch ms), oldest first, at most
   * `limit`; `read` counts the index items read, for the cost bound (no scan, ever).
   */
  entered(
    kind: SweepKind,
    before: number,
    limit: number,
    after?: WorklistCursor,
  ): Promise<{ items: StoredVerdict[]; read: number; next?: WorklistCursor }>;
}

/** Where the next page of the worklist starts: the store's own key, opaque here. */
export type WorklistCursor = Record<string, unknown>;

/**
 * Pages one sweep reads per kind at most: items it must leave alone (failures still inside their
 * give-up period) must not hide the ones behind them, yet a sweep's reads stay bounded.
 */
const MAX_PAGES_PER_KIND = 10;

/** The uploads bucket: which of these keys holds an object, if any. */
export interface Uploads {
  find(keys: string[]): Promise<string | undefined>;
}

/** The selfie queue: hands an uploaded object to the queue worker again. */
export interface WorkQueue {
  requeue(selfieKey: string): Promise<void>;
}

export interface SweepSettings {
  /** How long after its form expired a PENDING record may still get its upload. */
  uploadGraceMs: number;
  /** How long a PENDING record that failed may wait for a redrive before it is given up. */
  giveUpMs: number;
  /** Items per kind per sweep: a backlog is worked off over several sweeps, not one long one. */
  batchSize: number;
}

export type SweepAction = 'requeued' | 'released' | 'expired' | 'gave-up';

export interface SweepDeps {
  verify: VerifyDeps;
  worklist: Worklist;
  uploads: Uploads;
  queue: WorkQueue;
  settings: SweepSettings;
  /** Each action, for metrics and a log line (verification id and action: nothing personal). */
  onAction?: (action: SweepAction, item: StoredVerdict) => void;
}

export interface SweepReport {
  /** Worklist items read: the sweep's whole cost in reads. */
  read: number;
  actions: Record<SweepAction, number>;
}

export const UPLOAD_EXPIRED = {
  code: 'UPLOAD_EXPIRED',
  message: 'no selfie was uploaded before the upload form expired',
};
export const RETRIES_EXHAUSTED = {
  code: 'RETRIES_EXHAUSTED',
  message: 'the verification could not be completed after all retries',
};
const WORKER_LOST = {
  code: 'WORKER_LOST',
  message: 'the worker stopped before it answered; send the same request again to complete it',
};

/**
 * The upload the queue worker could finish this verification from: only a record that keeps its
 * identity (sealed by the API's upload form) or took it from its object's metadata (source s3)
 * can be finished by the worker; one of a synchronous request is finished by that request's retry.
 */
async function finishableUpload(item: StoredVerdict, deps: SweepDeps) {
  if (item.sealed_identity === undefined && item.source !== 's3') return undefined;
  return deps.uploads.find(uploadKeys(item));
}

/** Where an upload for this id may lie: the form's key, or the keys clients may use. */
const uploadKeys = (item: StoredVerdict): string[] => {
  const keys = uploadKeysOf(item.verification_id);
  return item.selfie_key
    ? [item.selfie_key, ...keys.filter((key) => key !== item.selfie_key)]
    : keys;
};

/** Takes the item's expired lease as a worker would; null when someone else moved it on. */
async function claimStuck(deps: VerifyDeps, item: StoredVerdict) {
  const outcome = await claimForHousekeeping(deps, item);
  return outcome.kind === 'claimed' ? outcome : null;
}

async function sweepProcessing(item: StoredVerdict, deps: SweepDeps, budget: CallBudget) {
  const { verify } = deps;
  if ((item.lease_expires_at ?? 0) >= verify.clock.now()) return undefined;
  const key = await finishableUpload(item, deps);
  if (key !== undefined) {
    await deps.queue.requeue(key);
    return 'requeued' as const;
  }
  const claimed = await claimStuck(verify, item);
  if (claimed === null) return undefined;
  const released = releasedRecord(claimed.item, WORKER_LOST, verify.clock.now());
  await verify.store.save(released, claimed.leaseOwner, { retryUntil: budget.deadline });
  verify.observer?.recorded?.(released);
  return 'released' as const;
}

async function sweepPending(item: StoredVerdict, deps: SweepDeps, budget: CallBudget) {
  const { verify, settings } = deps;
  const givingUp = item.error !== undefined;
  // Only a record that never failed lost its notification. One that failed (dead-lettered, say)
  // had its upload tried already: queueing it again each sweep would pay IDmeta round after round
  // and never give it up. A redrive is the operator's call.
  const key = givingUp ? undefined : await finishableUpload(item, deps);
  if (key !== undefined) {
    await deps.queue.requeue(key);
    return 'requeued' as const;
  }
  const waitingSince = Date.parse(item.updated_at);
  if (givingUp && waitingSince > verify.clock.now() - settings.giveUpMs) return undefined;
  const claimed = await claimStuck(verify, item);
  if (claimed === null) return undefined;
  const reason = givingUp ? RETRIES_EXHAUSTED : UPLOAD_EXPIRED;
  await failClaimed(
    verify,
    claimed.item,
    claimed.leaseOwner,
    new FacematchError(reason.message, { code: reason.code, status: 409 }),
    budget,
  );
  return givingUp ? ('gave-up' as const) : ('expired' as const);
}

export async function sweep(deps: SweepDeps, budget: CallBudget): Promise<SweepReport> {
  const { verify, settings } = deps;
  const report: SweepReport = {
    read: 0,
    actions: { requeued: 0, released: 0, expired: 0, 'gave-up': 0 },
  };
  const now = verify.clock.now();
  const formLifetimeMs = verify.settings.uploadExpiresSeconds * 1000;
  const cutoffs: Record<SweepKind, number> = {
    // A lease is taken for `leaseMs` when the item enters PROCESSING: only older ones can lapse.
    PROCESSING: now - verify.settings.leaseMs,
    PENDING: now - formLifetimeMs - settings.uploadGraceMs,
  };
  for (const kind of ['PROCESSING', 'PENDING'] as const) {
    let acted = 0;
    let cursor: WorklistCursor | undefined;
    for (let page = 0; page < MAX_PAGES_PER_KIND && acted < settings.batchSize; page++) {
      const { items, read, next } = await deps.worklist.entered(
        kind,
        cutoffs[kind],
        settings.batchSize,
        cursor,
      );
      report.read += read;
      for (const item of items) {
        // Leave time for the last action's writes; the next sweep goes on where this one stopped.
        if (verify.clock.now() > budget.deadline - verify.settings.storeReserveMs) return report;
        const action =
          kind === 'PROCESSING'
            ? await sweepProcessing(item, deps, budget)
            : await sweepPending(item, deps, budget);
        if (action === undefined) continue;
        acted += 1;
        report.actions[action] += 1;
        deps.onAction?.(action, item);
      }
      if (next === undefined) break;
      cursor = next;
    }
  }
  return report;
}
