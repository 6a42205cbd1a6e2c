/**
 * A data subject's rights under UU PDP: access (every verification of one NIK) and erasure (every
 * trace of them facematch holds: records, kept selfies, webhook deliveries), found through the
 * by-person index on the keyed NIK hash, never by a scan and never by the clear NIK.
 *
 * Erasure is idempotent and survives a crash half-way: each record's own traces go first and the
 * record last, so a record that still exists still names everything left of it, and a rerun
 * finds it through the index and finishes. A failure is thrown, never skipped: the receipt is
 * written only when everything it counts is gone.
 *
 * What a crashed run already erased can no longer be found, so an erasure keeps a journal from
 * before its first deletion until its receipt is written: the ids it found and the counts so far,
 * under a keyed digest of the NIK in its own domain (`ERASURE_DIGEST_FIELD`; not the records'
 * NIK hash, never the NIK). A rerun reads it first, so its receipt and its event name every id
 * the erasure took, not only those left.
 */
import { maskNik } from './nik.ts';
import type { IdentityVault, VerdictStore } from './ports.ts';
import { toPublicRecord } from './record.ts';
import { uploadKeysOf } from './request.ts';
import { reviewSelfieKey } from './review.ts';
import type { StoredVerdict, VerdictRecord } from './types.ts';

/** The records of one person, through the by-person index (eventually consistent in AWS). */
export interface SubjectRecords {
  /** Ids of every record whose keyed NIK hash is `nikHash`, oldest first. */
  idsOf(nikHash: string): Promise<string[]>;
  /** Deletes the record, whatever its state; a worker holding its lease then loses it. */
  delete(verificationId: string): Promise<void>;
}

/** Objects a record may have left in the selfie bucket. */
export interface SubjectObjects {
  /** Deletes the object; true when there was one to delete. */
  erase(key: string): Promise<boolean>;
}

/** The webhook delivery log, when webhooks are configured. */
export interface SubjectDeliveries {
  /** Deletes every delivery of these verifications; how many there were. */
  eraseFor(verificationIds: string[]): Promise<number>;
}

export interface ErasureCounts {
  records: number;
  selfies: number;
  deliveries: number;
}

export interface ErasureReceipt {
  receipt_id: string;
  /** The caller's IAM principal (`local` locally), never a value from the body. */
  requested_by: string;
  erased_at: string;
  erased: ErasureCounts;
  verification_ids: string[];
}

/** An erasure under way: what it found and erased so far. No NIK and no hash in it. */
export interface ErasureJournal {
  /** The receipt this erasure will write, whichever run finishes it. */
  receipt_id: string;
  requested_by: string;
  started_at: string;
  /** Every id the erasure found, erased or about to be. */
  verification_ids: string[];
  erased: ErasureCounts;
}

/** The digest domain of erasure journals (`IdentityVault.digest`): unlinkable to records. */
export const ERASURE_DIGEST_FIELD = 'erasure';

export interface ErasureReceipts {
  put(receipt: ErasureReceipt): Promise<void>;
  /** The journal of an unfinished erasure under `digest` (see ERASURE_DIGEST_FIELD), or null. */
  pending(digest: string): Promise<ErasureJournal | null>;
  /** Writes (replaces) the journal under `digest`. */
  journal(digest: string, entry: ErasureJournal): Promise<void>;
  /** Deletes the journal under `digest`, once its receipt is written; none is not an error. */
  settle(digest: string): Promise<void>;
}

/** What downstream systems learn: which verifications are gone. No NIK, no hash, no requester. */
export interface SubjectEvents {
  erased(detail: Omit<ErasureReceipt, 'requested_by'>): Promise<void>;
}

export interface SubjectDeps {
  vault: Pick<IdentityVault, 'hashNik' | 'digest'>;
  store: Pick<VerdictStore, 'get'>;
  records: SubjectRecords;
  objects: SubjectObjects;
  deliveries?: SubjectDeliveries;
  receipts: ErasureReceipts;
  events?: SubjectEvents;
  clock: { now(): number };
  newReceiptId: () => string;
  /** Reports a published-event failure: the erasure stands, the operator should know. */
  onEventFailed?: (error: unknown) => void;
}

export interface SubjectSearchResult {
  nik_masked: string;
  verifications: VerdictRecord[];
}

export interface ErasureResult {
  erased: ErasureReceipt['erased'];
  verification_ids: string[];
  receipt_id: string;
}

/**
 * Every key under which a record's selfie may lie: the one it names, the extensions an upload
 * form or a client may have used for its id, and the copy kept for a review. An erasure must not
 * depend on a record having learnt its object's key (a PENDING upload not yet processed).
 */
export function selfieKeysOf(item: StoredVerdict): string[] {
  const id = item.verification_id;
  const keys = new Set<string>([
    ...uploadKeysOf(id),
    reviewSelfieKey(id, 'image/jpeg'),
    reviewSelfieKey(id, 'image/png'),
  ]);
  if (item.selfie_key) keys.add(item.selfie_key);
  if (item.review_selfie_key) keys.add(item.review_selfie_key);
  return [...keys];
}

/**
 * The person's records as stored, read again by id: the index may lag, the table does not.
 * `alsoIds` (a journal's) are read too, so a record the index does not list yet is not missed.
 */
async function recordsOf(
  nik: string,
  deps: SubjectDeps,
  alsoIds: readonly string[] = [],
): Promise<StoredVerdict[]> {
  const nikHash = await deps.vault.hashNik(nik);
  const ids = new Set([...(await deps.records.idsOf(nikHash)), ...alsoIds]);
  const items = await Promise.all([...ids].map((id) => deps.store.get(id)));
  // An id the index still lists but the table has deleted, or reassigned: not this person's.
  return items.filter((item): item is StoredVerdict => item?.nik_hash === nikHash);
}

export async function searchSubject(nik: string, deps: SubjectDeps): Promise<SubjectSearchResult> {
  const items = await recordsOf(nik, deps);
  return { nik_masked: maskNik(nik), verifications: items.map(toPublicRecord) };
}

export async function eraseSubject(
  nik: string,
  requestedBy: string,
  deps: SubjectDeps,
): Promise<ErasureResult> {
  const digest = await deps.vault.digest(ERASURE_DIGEST_FIELD, nik);
  const pending = await deps.receipts.pending(digest);
  const items = await recordsOf(nik, deps, pending?.verification_ids);
  const found = items.map((item) => item.verification_id);
  // The request a crashed run began is the one carried out: its receipt id, requester and counts.
  const journal: ErasureJournal = pending
    ? {
        ...pending,
        erased: { ...pending.erased },
        verification_ids: [...new Set([...pending.verification_ids, ...found])],
      }
    : {
        receipt_id: deps.newReceiptId(),
        requested_by: requestedBy,
        started_at: new Date(deps.clock.now()).toISOString(),
        verification_ids: found,
        erased: { records: 0, selfies: 0, deliveries: 0 },
      };
  // Nothing to delete and nothing begun: a receipt saying so, and no journal to keep.
  const journaled = pending !== null || items.length > 0;
  // Before the first deletion: from here on, a crash leaves the ids for the rerun to name.
  if (journaled) await deps.receipts.journal(digest, journal);
  const { erased } = journal;
  // Deliveries first, in one pass over the log: while a record exists, a rerun still finds them.
  if (deps.deliveries && items.length > 0) {
    erased.deliveries += await deps.deliveries.eraseFor(found);
    await deps.receipts.journal(digest, journal);
  }
  // One person has a handful of records: one at a time keeps a failure's blast radius small and
  // the order (traces first, record last) true for each.
  for (const item of items) {
    for (const key of selfieKeysOf(item)) {
      if (await deps.objects.erase(key)) erased.selfies += 1;
    }
    await deps.records.delete(item.verification_id);
    erased.records += 1;
    await deps.receipts.journal(digest, journal);
  }
  const receipt: ErasureReceipt = {
    receipt_id: journal.receipt_id,
    requested_by: journal.requested_by,
    erased_at: new Date(deps.clock.now()).toISOString(),
    // Every id listed is gone now (found again and deleted, or not found again); a crash between
    // a deletion and its journal write would otherwise leave one uncounted.
    erased: { ...erased, records: journal.verification_ids.length },
    verification_ids: journal.verification_ids,
  };
  await deps.receipts.put(receipt);
  if (deps.events) {
    const { requested_by: _requestedBy, ...detail } = receipt;
    await deps.events.erased(detail).catch((error: unknown) => deps.onEventFailed?.(error));
  }
  // Last: until the receipt is written and announced, a rerun must find the journal.
  if (journaled) await deps.receipts.settle(digest);
  return {
    erased: receipt.erased,
    verification_ids: receipt.verification_ids,
    receipt_id: receipt.receipt_id,
  };
}
