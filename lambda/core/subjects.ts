/**
 * A data subject's rights under UU PDP: access (every verification of one NIK) and erasure (every
 * trace of them facematch holds: records, kept selfies, webhook deliveries), found through the
 * by-person index on the keyed NIK hash, never by a scan and never by the clear NIK.
 *
 * Erasure is idempotent and survives a crash half-way: each record's own traces go first and the
 * record last, so a record that still exists still names everything left of it, and a rerun
 * finds it through the index and finishes. A failure is thrown, never skipped: the receipt is
 * written only when everything it counts is gone.
 */
import { maskNik } from './nik.ts';
import type { IdentityVault, VerdictStore } from './ports.ts';
import { toPublicRecord } from './record.ts';
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

export interface ErasureReceipt {
  receipt_id: string;
  /** The caller's IAM principal (`local` locally), never a value from the body. */
  requested_by: string;
  erased_at: string;
  erased: { records: number; selfies: number; deliveries: number };
  verification_ids: string[];
}

export interface ErasureReceipts {
  put(receipt: ErasureReceipt): Promise<void>;
}

/** What downstream systems learn: which verifications are gone. No NIK, no hash, no requester. */
export interface SubjectEvents {
  erased(detail: Omit<ErasureReceipt, 'requested_by'>): Promise<void>;
}

export interface SubjectDeps {
  vault: Pick<IdentityVault, 'hashNik'>;
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
  const keys = new Set<string>(
    ['jpg', 'jpeg', 'png'].flatMap((ext) => [`incoming/${id}.${ext}`, `review/${id}.${ext}`]),
  );
  if (item.selfie_key) keys.add(item.selfie_key);
  if (item.review_selfie_key) keys.add(item.review_selfie_key);
  return [...keys];
}

/** The person's records as stored, read again by id: the index may lag, the table does not. */
async function recordsOf(nik: string, deps: SubjectDeps): Promise<StoredVerdict[]> {
  const nikHash = await deps.vault.hashNik(nik);
  const ids = await deps.records.idsOf(nikHash);
  const items = await Promise.all(ids.map((id) => deps.store.get(id)));
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
  const items = await recordsOf(nik, deps);
  const erased = { records: 0, selfies: 0, deliveries: 0 };
  // Deliveries first, in one pass over the log: while a record exists, a rerun still finds them.
  if (deps.deliveries && items.length > 0) {
    erased.deliveries = await deps.deliveries.eraseFor(items.map((item) => item.verification_id));
  }
  // One person has a handful of records: one at a time keeps a failure's blast radius small and
  // the order (traces first, record last) true for each.
  for (const item of items) {
    for (const key of selfieKeysOf(item)) {
      if (await deps.objects.erase(key)) erased.selfies += 1;
    }
    await deps.records.delete(item.verification_id);
    erased.records += 1;
  }
  const receipt: ErasureReceipt = {
    receipt_id: deps.newReceiptId(),
    requested_by: requestedBy,
    erased_at: new Date(deps.clock.now()).toISOString(),
    erased,
    verification_ids: items.map((item) => item.verification_id),
  };
  await deps.receipts.put(receipt);
  if (deps.events) {
    const { requested_by: _requestedBy, ...detail } = receipt;
    await deps.events.erased(detail).catch((error: unknown) => deps.onEventFailed?.(error));
  }
  return {
    erased: receipt.erased,
    verification_ids: receipt.verification_ids,
    receipt_id: receipt.receipt_id,
  };
}
