/**
 * In-memory implementations of the core's ports, for unit tests of `verify()`. The verdict
 * store follows the DynamoDB store's conditional semantics; the integration suite runs the
 * same scenarios against the real one.
 */
import { randomUUID } from 'node:crypto';
import { bindingDifferences } from '../../lambda/core/binding.ts';
import {
  LeaseLostError,
  SelfieNotFoundError,
  SelfieTooLargeError,
} from '../../lambda/core/errors.ts';
import type {
  CallBudget,
  ClaimInput,
  ClaimOutcome,
  FacematchCheckInput,
  IdmetaPort,
  PersonHistory,
  PersonVerification,
  ReviewSelfies,
  ReviewStore,
  SaveOptions,
  SelfieStore,
  VerdictStore,
} from '../../lambda/core/ports.ts';
import { ANONYMOUS_NIK_HASH, isAnonymousFailure } from '../../lambda/core/record.ts';
import type {
  ErasureJournal,
  ErasureReceipt,
  ErasureReceipts,
} from '../../lambda/core/subjects.ts';
import type { IdmetaCheckResult, StoredVerdict } from '../../lambda/core/types.ts';
import type {
  DeliveryRecord,
  ExpectedDelivery,
  WebhookDeliveries,
} from '../../lambda/core/webhooks.ts';

const clone = <T>(value: T): T => structuredClone(value);

export class InMemoryVerdictStore implements VerdictStore {
  readonly items = new Map<string, StoredVerdict>();
  writes = 0;

  async get(verificationId: string) {
    const item = this.items.get(verificationId);
    return item ? clone(item) : null;
  }

  async createPending(item: StoredVerdict) {
    const existing = this.items.get(item.verification_id);
    if (existing) return { created: false as const, existing: clone(existing) };
    this.put(item);
    return { created: true as const };
  }

  async claim(input: ClaimInput): Promise<ClaimOutcome> {
    const existing = this.items.get(input.fresh.verification_id);
    if (!existing) {
      if (input.takeOverOnly) return { kind: 'conflict' };
      this.put(input.fresh);
      return { kind: 'claimed', item: clone(input.fresh) };
    }
    const takesOverAnonymous =
      isAnonymousFailure(existing) && input.fresh.nik_hash !== ANONYMOUS_NIK_HASH;
    if (!takesOverAnonymous) {
      if (existing.nik_hash !== input.fresh.nik_hash) {
        return { kind: 'conflict', item: clone(existing) };
      }
      if (existing.status === 'COMPLETED' || existing.status === 'FAILED') {
        return { kind: 'finished', item: clone(existing) };
      }
    }
    const leaseLive =
      existing.status === 'PROCESSING' && (existing.lease_expires_at ?? 0) >= input.now;
    if (leaseLive) return { kind: 'busy', item: clone(existing) };
    const releasedSinceArrival =
      input.arrivedAt !== undefined &&
      !takesOverAnonymous &&
      existing.status === 'PENDING' &&
      existing.error !== undefined &&
      existing.updated_at > new Date(input.arrivedAt).toISOString();
    if (releasedSinceArrival) return { kind: 'released', item: clone(existing) };
    if (!takesOverAnonymous && bindingDifferences(existing, input.fresh).length > 0) {
      return { kind: 'conflict', item: clone(existing) };
    }
    const { error: _error, completed_at: _completedAt, ...rest } = existing;
    // As the DynamoDB store: the request's template, and its digests (a bound selfie stays).
    const digests =
      input.fresh.request_digests?.selfie !== undefined
        ? input.fresh.request_digests
        : (existing.request_digests ?? input.fresh.request_digests);
    const claimed: StoredVerdict = {
      ...rest,
      template_id: input.fresh.template_id,
      ...(digests === undefined ? {} : { request_digests: digests }),
      nik_hash: input.fresh.nik_hash,
      nik_masked: input.fresh.nik_masked,
      reasons: [],
      status: 'PROCESSING',
      lease_owner: input.leaseOwner,
      lease_expires_at: input.leaseExpiresAt,
      attempts: existing.attempts + 1,
      updated_at: input.fresh.updated_at,
    };
    this.put(claimed);
    return { kind: 'claimed', item: clone(claimed) };
  }

  async renewPending(verificationId: string, nikHash: string, now: number): Promise<void> {
    const existing = this.items.get(verificationId);
    if (existing?.status !== 'PENDING' || existing.nik_hash !== nikHash) return;
    this.put({ ...existing, updated_at: new Date(now).toISOString() });
  }

  async sealPending(verificationId: string, nikHash: string, sealedIdentity: string) {
    const existing = this.items.get(verificationId);
    if (
      existing?.status === 'PENDING' &&
      existing.nik_hash === nikHash &&
      existing.sealed_identity === undefined
    ) {
      this.put({ ...existing, sealed_identity: sealedIdentity });
    }
    const current = this.items.get(verificationId);
    return current === undefined ? null : clone(current);
  }

  async save(item: StoredVerdict, leaseOwner: string, _options?: SaveOptions) {
    const existing = this.items.get(item.verification_id);
    if (existing?.lease_owner !== leaseOwner) throw new LeaseLostError();
    this.put(item);
  }

  private put(item: StoredVerdict) {
    this.writes += 1;
    this.items.set(item.verification_id, clone(item));
  }
}

export function verifiedResult(overrides: Partial<IdmetaCheckResult> = {}): IdmetaCheckResult {
  return {
    outcome: 'VERIFIED',
    rawStatus: 'VERIFIED',
    message: 'OK',
    matches: { nik: true, name: true, date_of_birth: true, place_of_birth: true },
    faceSimilarity: 99.8,
    riskRating: 'LOW',
    reasonCode: '0',
    uuid: randomUUID(),
    apiRequestStatus: 1,
    ...overrides,
  };
}

type Answer =
  | IdmetaCheckResult
  | Error
  | ((input: FacematchCheckInput) => Promise<IdmetaCheckResult>);

/** Answers facematch calls from a script (then `fallback`), recording every call it gets. */
export class ScriptedIdmeta implements IdmetaPort {
  readonly facematchCalls: FacematchCheckInput[] = [];
  readonly budgets: CallBudget[] = [];
  readonly created: string[] = [];
  readonly finalized: string[] = [];
  private readonly script: Answer[] = [];

  constructor(private readonly fallback: Answer = verifiedResult()) {}

  answerNext(...answers: Answer[]): this {
    this.script.push(...answers);
    return this;
  }

  async createVerification() {
    const id = `idm-${this.created.length + 1}`;
    this.created.push(id);
    return id;
  }

  async facematch(input: FacematchCheckInput, budget: CallBudget) {
    this.facematchCalls.push(input);
    this.budgets.push(budget);
    const answer = this.script.shift() ?? this.fallback;
    if (answer instanceof Error) throw answer;
    if (typeof answer === 'function') return answer(input);
    return clone(answer);
  }

  async finalizeVerification(input: { verificationId: string }) {
    this.finalized.push(input.verificationId);
  }
}

export class InMemorySelfieStore implements SelfieStore {
  readonly objects = new Map<string, { bytes: Uint8Array; metadata: Record<string, string> }>();
  readonly deleted: string[] = [];
  reads = 0;

  async read(key: string, maxBytes: number) {
    this.reads += 1;
    const object = this.objects.get(key);
    if (!object) throw new SelfieNotFoundError();
    if (object.bytes.byteLength > maxBytes) {
      throw new SelfieTooLargeError(maxBytes, object.bytes.byteLength);
    }
    return { bytes: object.bytes, metadata: { ...object.metadata } };
  }

  async delete(key: string) {
    this.deleted.push(key);
    this.objects.delete(key);
  }

  async createUpload(input: {
    key: string;
    expiresInSeconds: number;
    metadata?: Record<string, string>;
  }) {
    const metadata = Object.entries(input.metadata ?? {}).map(([name, value]) => [
      `x-amz-meta-${name}`,
      value,
    ]);
    return {
      url: 'http://selfies.local/',
      fields: { key: input.key, ...Object.fromEntries(metadata) },
      expiresAt: new Date(Date.now() + input.expiresInSeconds * 1000).toISOString(),
    };
  }
}

export class ManualClock {
  constructor(public current = Date.parse('2026-11-26T03:00:00Z')) {}
  now() {
    return this.current;
  }
  advance(ms: number) {
    this.current += ms;
  }
}

/**
 * The review queue over an `InMemoryVerdictStore`, with the DynamoDB store's semantics: open
 * reviews oldest first, a plain (unsigned) cursor, and a decision written only while the record
 * is unchanged since it was read.
 */
export class InMemoryReviewStore implements ReviewStore {
  constructor(readonly verdicts: InMemoryVerdictStore) {}

  #open(): StoredVerdict[] {
    return [...this.verdicts.items.values()]
      .filter((item) => item.status === 'COMPLETED' && item.review?.state === 'OPEN')
      .sort(
        (a, b) => Date.parse(a.review?.opened_at ?? '') - Date.parse(b.review?.opened_at ?? ''),
      );
  }

  async listOpen(limit: number, cursor?: string) {
    const open = this.#open();
    const start = cursor === undefined ? 0 : Number(cursor);
    const items = open.slice(start, start + limit).map(clone);
    return { items, nextCursor: start + limit < open.length ? String(start + limit) : null };
  }

  async oldestOpenSince() {
    const first = this.#open()[0];
    return first?.review ? Date.parse(first.review.opened_at) : null;
  }

  async decide(next: StoredVerdict, expected: StoredVerdict) {
    const stored = this.verdicts.items.get(next.verification_id);
    if (
      stored?.status !== 'COMPLETED' ||
      stored.updated_at !== expected.updated_at ||
      (stored.history?.length ?? -1) !== (expected.history?.length ?? -1)
    ) {
      return false;
    }
    this.verdicts.items.set(next.verification_id, clone(next));
    return true;
  }
}

/** Kept selfies by key; `failKeep` makes the next keeps fail as S3 would. */
export class InMemoryReviewSelfies implements ReviewSelfies {
  readonly objects = new Map<string, Uint8Array>();
  failKeep = false;

  async keep(key: string, image: { bytes: Uint8Array }) {
    if (this.failKeep) throw new Error('S3 unavailable');
    this.objects.set(key, image.bytes);
  }

  async delete(key: string) {
    this.objects.delete(key);
  }

  async presign(key: string, expiresInSeconds: number) {
    if (!this.objects.has(key)) return null;
    return {
      url: `https://bucket.example/${key}?X-Amz-Expires=${expiresInSeconds}`,
      expiresAt: new Date(Date.now() + expiresInSeconds * 1000).toISOString(),
    };
  }
}

/**
 * The `by-person` index over an in-memory store: what the DynamoDB index projects, newest first.
 * Immediate, like dynalite (DynamoDB's index lags by a moment). `queries` counts the reads.
 */
export class InMemoryPersonHistory implements PersonHistory {
  queries = 0;

  constructor(private readonly store: InMemoryVerdictStore) {}

  async recent(nikHash: string, since: number): Promise<PersonVerification[]> {
    this.queries += 1;
    if (nikHash === ANONYMOUS_NIK_HASH) return [];
    const sinceIso = new Date(since).toISOString();
    return [...this.store.items.values()]
      .filter((item) => item.nik_hash === nikHash && item.created_at >= sinceIso)
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))
      .map((item) => ({
        verificationId: item.verification_id,
        createdAt: item.created_at,
        status: item.status,
        decision: item.decision,
        completedAt: item.completed_at,
        idmetaAt: item.idmeta_at,
      }));
  }
}

/** The webhook delivery log in memory (the DynamoDB one is exercised by the integration tests). */
export class InMemoryWebhookDeliveries implements WebhookDeliveries {
  readonly items = new Map<string, DeliveryRecord>();

  async get(deliveryId: string): Promise<DeliveryRecord | null> {
    const item = this.items.get(deliveryId);
    return item === undefined ? null : clone(item);
  }

  async put(record: DeliveryRecord, expected: ExpectedDelivery | null): Promise<boolean> {
    const current = this.items.get(record.delivery_id);
    const unchanged =
      expected === null
        ? current === undefined
        : current !== undefined &&
          current.attempts === expected.attempts &&
          current.state === expected.state;
    if (!unchanged) return false;
    this.items.set(record.delivery_id, clone(record));
    return true;
  }

  async list(options: { failedOnly: boolean; limit: number }): Promise<DeliveryRecord[]> {
    return [...this.items.values()]
      .filter((item) => !options.failedOnly || item.state === 'FAILED')
      .slice(0, options.limit)
      .map(clone);
  }
}

/**
 * Erasure receipts and journals in memory. `put` may be replaced (a failing receipt write); the
 * journals are copied in and out, as S3 would, so a run cannot change a stored one in place.
 */
export class InMemoryErasureReceipts implements ErasureReceipts {
  readonly receipts: ErasureReceipt[] = [];
  readonly journals = new Map<string, ErasureJournal>();

  async put(receipt: ErasureReceipt): Promise<void> {
    this.receipts.push(structuredClone(receipt));
  }

  async pending(digest: string): Promise<ErasureJournal | null> {
    const entry = this.journals.get(digest);
    return entry === undefined ? null : structuredClone(entry);
  }

  async journal(digest: string, entry: ErasureJournal): Promise<void> {
    this.journals.set(digest, structuredClone(entry));
  }

  async settle(digest: string): Promise<void> {
    this.journals.delete(digest);
  }
}
