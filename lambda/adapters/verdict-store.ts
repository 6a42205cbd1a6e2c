/**
 * The verdict table. Every write is conditional: a record is created only when its id is new,
 * taken only when it is PENDING or its lease has expired, and finished only by the lease holder.
 * DynamoDB does the arbitration, so two Lambdas (or an API call and an S3 event) racing on one
 * verification can never both call IDmeta, nor overwrite each other's verdict.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  BillingMode,
  type DynamoDBClient,
  KeyType,
  ScalarAttributeType,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { BOUND_FIELDS, bindingDifferences } from '../core/binding.ts';
import { LeaseLostError, VerificationInProgressError } from '../core/errors.ts';
import type { ClaimInput, ClaimOutcome, SaveOptions, VerdictStore } from '../core/ports.ts';
import { ANONYMOUS_NIK_HASH, isAnonymousFailure } from '../core/record.ts';
import type { RequestDigests, StoredVerdict } from '../core/types.ts';

import { isConditionalCheckFailed, isTransientAwsError } from './aws-clients.ts';
import { createTableIfAbsent } from './dynamo-tables.ts';
import {
  VERDICT_TABLE_INDEXES,
  VERDICT_TABLE_PARTITION_KEY,
  VERDICT_TABLE_TTL_ATTRIBUTE,
  withIndexKeys,
  withoutIndexKeys,
} from './verdict-table.ts';

// Handlers import the classifier with the store they call; the stack, the table's shape.
export { isTransientAwsError, VERDICT_TABLE_PARTITION_KEY, VERDICT_TABLE_TTL_ATTRIBUTE };

/**
 * How many times a claim starts over when the record changed under it between the conditional
 * write and the read that explains the failure (deleted by TTL, released back to PENDING).
 * Twice in a row within milliseconds means real contention: the caller is told to come back.
 */
const CLAIM_ROUNDS = 2;

export interface DynamoVerdictStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Injectable for tests: the clock, the pause between save rounds, and the jitter. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * A save with `retryUntil` starts a new round (each one the SDK's own attempts) after a full-
 * jitter pause capped at `SAVE_BASE_DELAY_MS * 2^round`, at most `SAVE_MAX_DELAY_MS`.
 */
const SAVE_BASE_DELAY_MS = 100;
const SAVE_MAX_DELAY_MS = 2_000;
/**
 * The least time an attempt is given before it is aborted, whatever `retryUntil` says (a put takes
 * milliseconds). With the check below it stays inside the handlers' response reserve (500 ms).
 */
const SAVE_MIN_ATTEMPT_MS = 300;
/** The read that tells whether an aborted attempt was written after all, kept before the end. */
const SAVE_CHECK_MS = 200;

/** A save's attempt still unanswered at its deadline; its name makes it transient. */
class SaveTimeoutError extends Error {
  override readonly name = 'TimeoutError';

  constructor(cause: unknown) {
    super('DynamoDB did not answer the save before its deadline', { cause });
  }
}

const SAME_PERSON_CLAIMABLE =
  'nik_hash = :h AND (#status = :pending OR (#status = :processing AND lease_expires_at < :now))';
/** As above, but not a record released (with its error) after the claimant arrived. */
const SAME_PERSON_CLAIMABLE_SINCE =
  'nik_hash = :h AND ((#status = :pending AND (attribute_not_exists(#error) OR updated_at <= :arrived)) ' +
  'OR (#status = :processing AND lease_expires_at < :now))';

/** Released by another worker's transient failure after `arrivedAt` (see `ClaimInput`). */
const releasedSince = (item: StoredVerdict, arrivedAt: number | undefined): boolean =>
  arrivedAt !== undefined &&
  item.status === 'PENDING' &&
  item.error !== undefined &&
  item.updated_at > new Date(arrivedAt).toISOString();

export class DynamoVerdictStore implements VerdictStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: DynamoVerdictStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
    this.#random = options.random ?? Math.random;
  }

  get(verificationId: string): Promise<StoredVerdict | null> {
    return this.#read(verificationId);
  }

  async #read(verificationId: string, abortSignal?: AbortSignal): Promise<StoredVerdict | null> {
    const output = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { [VERDICT_TABLE_PARTITION_KEY]: verificationId },
        // A replay or a claim decision must see the latest write, not a replica's lag.
        ConsistentRead: true,
      }),
      abortSignal === undefined ? {} : { abortSignal },
    );
    return fromTable(output.Item);
  }

  async createPending(
    item: StoredVerdict,
  ): Promise<{ created: true } | { created: false; existing: StoredVerdict }> {
    for (let round = 1; ; round++) {
      if (await this.#putIfAbsent(item)) return { created: true };
      const existing = await this.get(item.verification_id);
      if (existing !== null) return { created: false, existing };
      // Deleted between the failed write and the read (TTL): the id is free again.
      if (round >= CLAIM_ROUNDS) throw new VerificationInProgressError();
    }
  }

  async claim(input: ClaimInput): Promise<ClaimOutcome> {
    const { fresh, leaseOwner, leaseExpiresAt, now } = input;
    const id = fresh.verification_id;
    const created: StoredVerdict = {
      ...fresh,
      status: 'PROCESSING',
      lease_owner: leaseOwner,
      lease_expires_at: leaseExpiresAt,
      attempts: 1,
    };

    let lastSeen: StoredVerdict | null = null;
    for (let round = 1; round <= CLAIM_ROUNDS; round++) {
      if (!input.takeOverOnly && (await this.#putIfAbsent(created))) {
        return { kind: 'claimed', item: created };
      }

      const taken = await this.#takeOver(input);
      if (taken !== null) return { kind: 'claimed', item: taken };

      // Both writes were refused: read why. Nothing has been written by this claim.
      lastSeen = await this.get(id);
      if (lastSeen === null) {
        if (input.takeOverOnly) return { kind: 'conflict' };
        continue;
      }
      // Taken over by someone else between our update and this read: look again.
      if (isAnonymousFailure(lastSeen) && fresh.nik_hash !== ANONYMOUS_NIK_HASH) continue;
      if (lastSeen.nik_hash !== fresh.nik_hash) return { kind: 'conflict' };
      if (lastSeen.status === 'COMPLETED' || lastSeen.status === 'FAILED') {
        return { kind: 'finished', item: lastSeen };
      }
      if (lastSeen.status === 'PROCESSING' && (lastSeen.lease_expires_at ?? 0) >= now) {
        return { kind: 'busy', item: lastSeen };
      }
      if (releasedSince(lastSeen, input.arrivedAt)) return { kind: 'released', item: lastSeen };
      // Claimable, but bound to another request: that is why the takeover was refused.
      if (bindingDifferences(lastSeen, fresh).length > 0)
        return { kind: 'conflict', item: lastSeen };
      // PENDING, or a lease that expired, yet the takeover was refused: the record changed
      // between the update and the read. Start over once.
    }
    if (lastSeen !== null) return { kind: 'busy', item: lastSeen };
    throw new VerificationInProgressError();
  }

  async save(item: StoredVerdict, leaseOwner: string, options: SaveOptions = {}): Promise<void> {
    const { retryUntil } = options;
    let lastFailure: unknown;
    for (let round = 1; ; round++) {
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            // A full put, not an update: attributes absent from `item` (the sealed identity, the
            // lease, an index key the new state no longer implies) disappear with it.
            Item: withIndexKeys(item),
            ConditionExpression: 'lease_owner = :owner',
            ExpressionAttributeValues: { ':owner': leaseOwner },
          }),
          // An attempt still hanging is given up in time for one bounded read before
          // `retryUntil`, not left to outlive the Lambda; but every save gets one attempt's worth
          // of time, even when called at the deadline.
          retryUntil === undefined
            ? {}
            : {
                abortSignal: AbortSignal.timeout(
                  Math.max(SAVE_MIN_ATTEMPT_MS, retryUntil - SAVE_CHECK_MS - this.#now()),
                ),
              },
        );
        return;
      } catch (error) {
        if (isConditionalCheckFailed(error)) {
          // The condition also fails when an earlier attempt of this very put was written and
          // only its answer was lost (the SDK retries too): the lease went with that write.
          if (await this.#holds(item)) return;
          throw new LeaseLostError();
        }
        const aborted = errorName(error) === 'AbortError';
        // An attempt given up at retryUntil may have been written all the same: then it is saved
        // (and what follows a saved verdict, its event, must follow). One more read, bounded.
        if (aborted && (await this.#holds(item, SAVE_CHECK_MS).catch(() => false))) return;
        // Otherwise the failure that kept the put from landing says more; without one, DynamoDB
        // did not answer in time, which is as transient as a 5xx.
        const failure = aborted ? (lastFailure ?? new SaveTimeoutError(error)) : error;
        const wait = this.#random() * Math.min(SAVE_MAX_DELAY_MS, SAVE_BASE_DELAY_MS * 2 ** round);
        if (
          retryUntil === undefined ||
          !isTransientAwsError(failure) ||
          this.#now() + wait >= retryUntil
        ) {
          throw failure;
        }
        lastFailure = failure;
        await this.#sleep(wait);
      }
    }
  }

  /** Whether the table holds exactly `item`, as written by a put of it. */
  async #holds(item: StoredVerdict, withinMs?: number): Promise<boolean> {
    const stored = await this.#read(
      item.verification_id,
      withinMs === undefined ? undefined : AbortSignal.timeout(withinMs),
    );
    // `#read` hands back the item without its index keys, as `item` is.
    // As the document client marshals it: undefined attributes are not stored.
    return stored !== null && isDeepStrictEqual(stored, JSON.parse(JSON.stringify(item)));
  }

  async sealPending(
    verificationId: string,
    nikHash: string,
    sealedIdentity: string,
  ): Promise<StoredVerdict | null> {
    try {
      const output = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [VERDICT_TABLE_PARTITION_KEY]: verificationId },
          UpdateExpression: 'SET sealed_identity = :sealed',
          ConditionExpression:
            '#status = :pending AND nik_hash = :h AND attribute_not_exists(sealed_identity)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':sealed': sealedIdentity,
            ':pending': 'PENDING',
            ':h': nikHash,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromTable(output.Attributes);
    } catch (error) {
      // Not PENDING, someone else's, already sealed, or gone: the record as it is says which.
      if (isConditionalCheckFailed(error)) return this.get(verificationId);
      throw error;
    }
  }

  async renewPending(verificationId: string, nikHash: string, now: number): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [VERDICT_TABLE_PARTITION_KEY]: verificationId },
          // The worklist key follows `updated_at` for a PENDING record (verdict-table.ts).
          UpdateExpression: 'SET updated_at = :updated, worklist_at = :updatedMs',
          ConditionExpression: '#status = :pending AND nik_hash = :h',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':updated': new Date(now).toISOString(),
            ':updatedMs': now,
            ':pending': 'PENDING',
            ':h': nikHash,
          },
        }),
      );
    } catch (error) {
      // Moved on meanwhile (claimed, finished, erased): there is nothing left to renew.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** True when written, false when an item with that id already exists. */
  async #putIfAbsent(item: StoredVerdict): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: withIndexKeys(item),
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': VERDICT_TABLE_PARTITION_KEY },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Takes a PENDING record, or a PROCESSING one whose worker died (lease expired), for the same
   * person. Null when the condition does not hold (or the item does not exist: the condition on
   * `nik_hash` then fails, so the update never creates a half-empty item).
   */
  async #takeOver(input: ClaimInput): Promise<StoredVerdict | null> {
    const namesSomeone = input.fresh.nik_hash !== ANONYMOUS_NIK_HASH;
    const binding = bindingCondition(input.fresh.request_digests);
    // DynamoDB refuses redundant parentheses.
    const claimable =
      input.arrivedAt === undefined ? SAME_PERSON_CLAIMABLE : SAME_PERSON_CLAIMABLE_SINCE;
    const sameRequest = binding.condition ? `(${claimable}) AND ${binding.condition}` : claimable;
    try {
      const output = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [VERDICT_TABLE_PARTITION_KEY]: input.fresh.verification_id },
          ConditionExpression: namesSomeone
            ? `(${sameRequest}) OR (nik_hash = :anonymous AND #status = :failed)`
            : sameRequest,
          // The hash and masked NIK are set for the anonymous takeover (a no-op otherwise); what
          // an earlier failure left (its error, reasons, completion time) goes. The record names
          // the template this request sends, and is bound to it. The worklist keys follow the new
          // status (see verdict-table.ts); the person key is the adopted hash, absent for a
          // claimant who names nobody.
          UpdateExpression:
            'SET #status = :processing, lease_owner = :owner, lease_expires_at = :expires, ' +
            'attempts = if_not_exists(attempts, :zero) + :one, updated_at = :updated, ' +
            `nik_hash = :h, nik_masked = :masked, reasons = :noReasons, template_id = :template${binding.set}, ` +
            'worklist = :processing, worklist_at = :updatedMs' +
            (namesSomeone ? ', person = :h ' : ' ') +
            'REMOVE #error, completed_at',
          ExpressionAttributeNames: { '#status': 'status', '#error': 'error', ...binding.names },
          ExpressionAttributeValues: {
            ...binding.values,
            ...(input.arrivedAt === undefined
              ? {}
              : { ':arrived': new Date(input.arrivedAt).toISOString() }),
            ':template': input.fresh.template_id,
            ...(namesSomeone ? { ':anonymous': ANONYMOUS_NIK_HASH, ':failed': 'FAILED' } : {}),
            ':masked': input.fresh.nik_masked,
            ':noReasons': [],
            ':h': input.fresh.nik_hash,
            ':pending': 'PENDING',
            ':processing': 'PROCESSING',
            ':now': input.now,
            ':owner': input.leaseOwner,
            ':expires': input.leaseExpiresAt,
            ':zero': 0,
            ':one': 1,
            ':updated': input.fresh.updated_at,
            ':updatedMs': Date.parse(input.fresh.updated_at),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromTable(output.Attributes);
    } catch (error) {
      if (isConditionalCheckFailed(error)) return null;
      throw error;
    }
  }
}

/**
 * The takeover's part of the replay binding (core/binding.ts), for a claimant with digests: the
 * record must have none (older than the binding) or agree on every field, and on the selfie when
 * both have one. The claimant's digests are then set; one without a selfie keeps a bound selfie.
 */
function bindingCondition(digests: RequestDigests | undefined): {
  condition: string;
  set: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  if (digests === undefined) return { condition: '', set: '', names: {}, values: {} };
  const names: Record<string, string> = { '#digests': 'request_digests' };
  const values: Record<string, unknown> = { ':digests': digests };
  const equal = BOUND_FIELDS.map((field, index) => {
    names[`#d${index}`] = field;
    values[`:d${index}`] = digests[field];
    return `#digests.#d${index} = :d${index}`;
  });
  if (digests.selfie !== undefined) {
    names['#dselfie'] = 'selfie';
    values[':dselfie'] = digests.selfie;
    equal.push('(attribute_not_exists(#digests.#dselfie) OR #digests.#dselfie = :dselfie)');
  }
  return {
    condition: `(attribute_not_exists(#digests) OR (${equal.join(' AND ')}))`,
    set:
      digests.selfie === undefined
        ? ', #digests = if_not_exists(#digests, :digests)'
        : ', #digests = :digests',
    names,
    values,
  };
}

/**
 * Creates the verdict table as the stack defines it (partition key, on-demand). For the local
 * runtime and tests; an existing table is fine. dynalite ignores TTL, so it is not configured.
 */
export const createVerdictTable = async (
  client: DynamoDBClient,
  tableName: string,
): Promise<void> => {
  await createTableIfAbsent(client, {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: VERDICT_TABLE_PARTITION_KEY, AttributeType: ScalarAttributeType.S },
      ...indexAttributeDefinitions(),
    ],
    KeySchema: [{ AttributeName: VERDICT_TABLE_PARTITION_KEY, KeyType: KeyType.HASH }],
    BillingMode: BillingMode.PAY_PER_REQUEST,
    GlobalSecondaryIndexes: VERDICT_TABLE_INDEXES.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: KeyType.HASH },
        { AttributeName: index.sortKey.name, KeyType: KeyType.RANGE },
      ],
      Projection:
        index.projection.type === 'ALL'
          ? { ProjectionType: 'ALL' }
          : {
              ProjectionType: 'INCLUDE',
              NonKeyAttributes: index.projection.nonKeyAttributes,
            },
    })),
  });
};

/** Each index key attribute once (`created_at` serves one index as sort key). */
function indexAttributeDefinitions() {
  const types = new Map<string, 'S' | 'N'>();
  for (const index of VERDICT_TABLE_INDEXES) {
    types.set(index.partitionKey.name, index.partitionKey.type);
    types.set(index.sortKey.name, index.sortKey.type);
  }
  return [...types].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

/** An item as read from the table, as the core knows it: without the index keys. */
function fromTable(item: Record<string, unknown> | undefined): StoredVerdict | null {
  return item === undefined ? null : withoutIndexKeys(item as unknown as StoredVerdict);
}

const errorName = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string'
    ? error.name
    : undefined;
