/**
 * The verdict table's shape, defined once for the stack (lib/) and for the local table (dynalite):
 * its key, its TTL attribute and its two sparse global secondary indexes. No SDK import here, so
 * the CDK app can read it without pulling a client in.
 *
 * The two indexes were designed together, for every round-2 reader:
 * - `worklist`: unfinished work, oldest first. Partition `worklist` is the kind of work
 *   (`REVIEW` an open review, `PENDING` waiting for an upload or a retry, `PROCESSING` a worker
 *   holds the lease) and sort `worklist_at` the epoch milliseconds the item entered it. Only items
 *   with work carry the attribute, so a finished verdict costs the index nothing and a read of the
 *   review queue or the sweeper's read touches only what waits. Projection ALL: a queue page
 *   returns whole records with no second read per item.
 * - `by-person`: partition `person` (the keyed NIK hash, never the NIK; absent on an upload that
 *   names nobody, because DynamoDB refuses an empty string as an index key) and sort `created_at`.
 *   Projection: only what signals (velocity, previously approved) and the data-subject routes need
 *   to decide which records to read.
 *
 * Both index keys are derived by the store from the record's state (`withIndexKeys`): the core
 * never sets them and cannot let them drift from the status they describe.
 */
import type { StoredVerdict } from '../core/types.ts';

export const VERDICT_TABLE_PARTITION_KEY = 'verification_id';
export const VERDICT_TABLE_TTL_ATTRIBUTE = 'expires_at';

export const WORKLIST_INDEX = 'worklist';
export const PERSON_INDEX = 'by-person';

export type WorklistKind = 'REVIEW' | 'PENDING' | 'PROCESSING';

/** The attributes only the indexes need: written by the store, removed from what it returns. */
export const INDEX_KEY_ATTRIBUTES = ['worklist', 'worklist_at', 'person'] as const;

export interface IndexDefinition {
  indexName: string;
  partitionKey: { name: string; type: 'S' | 'N' };
  sortKey: { name: string; type: 'S' | 'N' };
  projection: { type: 'ALL' } | { type: 'INCLUDE'; nonKeyAttributes: string[] };
}

export const VERDICT_TABLE_INDEXES: readonly IndexDefinition[] = [
  {
    indexName: WORKLIST_INDEX,
    partitionKey: { name: 'worklist', type: 'S' },
    sortKey: { name: 'worklist_at', type: 'N' },
    projection: { type: 'ALL' },
  },
  {
    indexName: PERSON_INDEX,
    partitionKey: { name: 'person', type: 'S' },
    sortKey: { name: 'created_at', type: 'S' },
    projection: {
      type: 'INCLUDE',
      // `idmeta_at`: when the verification reached IDmeta (velocity counts those);
      // `decision`/`completed_at`: a previous approval. Nothing personal: the hash is the key.
      nonKeyAttributes: ['status', 'decision', 'completed_at', 'idmeta_at'],
    },
  },
];

type IndexKeys = { worklist?: WorklistKind; worklist_at?: number; person?: string };

/** Which worklist an item is on, and since when; undefined when it waits for nothing. */
export function worklistOf(
  item: Pick<StoredVerdict, 'status' | 'updated_at' | 'review'>,
): { kind: WorklistKind; since: number } | undefined {
  if (item.status === 'PENDING' || item.status === 'PROCESSING') {
    return { kind: item.status, since: Date.parse(item.updated_at) };
  }
  if (item.status === 'COMPLETED' && item.review?.state === 'OPEN') {
    return { kind: 'REVIEW', since: Date.parse(item.review.opened_at) };
  }
  return undefined;
}

/** The item as written: the record plus the index keys its state implies, and no stale ones. */
export function withIndexKeys(item: StoredVerdict): StoredVerdict & IndexKeys {
  const written: StoredVerdict & IndexKeys = withoutIndexKeys(item);
  const work = worklistOf(item);
  if (work !== undefined) {
    written.worklist = work.kind;
    written.worklist_at = work.since;
  }
  if (item.nik_hash !== '') written.person = item.nik_hash;
  return written;
}

/** The item as the core sees it: index keys are the store's business. */
export function withoutIndexKeys<T extends object>(item: T): T {
  const { worklist: _w, worklist_at: _a, person: _p, ...rest } = item as T & IndexKeys;
  return rest as T;
}
