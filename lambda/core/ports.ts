/**
 * The outside world as `verify()` sees it. Adapters implement these against AWS and IDmeta;
 * tests implement them in memory. Nothing here may import the AWS SDK.
 */
import type {
  CalendarDate,
  Decision,
  Identity,
  IdmetaCheckResult,
  SelfieImage,
  StoredVerdict,
  VerdictRecord,
  VerificationStatus,
} from './types.ts';

/** Per-call limits every outbound call honours. */
export interface CallBudget {
  /** Epoch milliseconds by which the call (all attempts included) must have finished. */
  deadline: number;
  signal?: AbortSignal;
}

export interface FacematchCheckInput {
  verificationId: string;
  templateId: string;
  nik: string;
  name: string;
  dateOfBirth: CalendarDate;
  selfie: Pick<SelfieImage, 'bytes' | 'mime'>;
}

export interface IdmetaAttemptEvent {
  operation: 'create-verification' | 'dukcapilfacematch' | 'finalize-verification';
  attempt: number;
  /** HTTP status, or undefined for a connection failure or timeout. */
  httpStatus: number | undefined;
  durationMs: number;
  outcome: 'ok' | 'retry' | 'error';
  errorCode?: string;
}

export interface IdmetaPort {
  /** Creates an IDmeta verification and returns its id (`verification.id`). */
  createVerification(
    input: { templateId: string; reference?: string },
    budget: CallBudget,
  ): Promise<string>;
  /** The Dukcapil data + face match check. Throws an `IdmetaError` subclass on failure. */
  facematch(input: FacematchCheckInput, budget: CallBudget): Promise<IdmetaCheckResult>;
  /** Closes an IDmeta verification that facematch itself created. */
  finalizeVerification(
    input: { templateId: string; verificationId: string },
    budget: CallBudget,
  ): Promise<void>;
}

export type ClaimOutcome =
  /** This worker holds the lease; `item` is the record as claimed (status PROCESSING). */
  | { kind: 'claimed'; item: StoredVerdict }
  /** The verification already ended (COMPLETED or FAILED): return it, call nothing. */
  | { kind: 'finished'; item: StoredVerdict }
  /** Another worker holds a live lease. */
  | { kind: 'busy'; item: StoredVerdict }
  /**
   * Another worker failed transiently and released the record (PENDING with its `error`) after
   * the claimant arrived (`ClaimInput.arrivedAt`): that failure is the claimant's answer too.
   */
  | { kind: 'released'; item: StoredVerdict }
  /** The id is bound to a different person or request; `item` (when read) says which fields. */
  | { kind: 'conflict'; item?: StoredVerdict };

export interface ClaimInput {
  /** The item to create when the id is new (status PROCESSING, lease set). */
  fresh: StoredVerdict;
  leaseOwner: string;
  /** Epoch ms: the lease this claim takes. */
  leaseExpiresAt: number;
  /** Epoch ms: now, to judge whether an existing lease has expired. */
  now: number;
  /**
   * Epoch ms the claimant's request arrived. A PENDING record released with an error after it is
   * not taken (`released`): a concurrent duplicate must not pay another round of attempts.
   */
  arrivedAt?: number;
  /**
   * Take an existing record only, never create one. Housekeepers (the sweeper, dead-letter marking)
   * claim a record they read a moment ago: if it was erased since, creating it again from their
   * copy would bring a data subject's record back. A missing record is a `conflict` then.
   */
  takeOverOnly?: boolean;
}

export interface VerdictStore {
  get(verificationId: string): Promise<StoredVerdict | null>;
  /**
   * Creates a PENDING record unless the id exists. Returns the existing item when it does
   * (the caller decides between replay and conflict).
   */
  createPending(
    item: StoredVerdict,
  ): Promise<{ created: true } | { created: false; existing: StoredVerdict }>;
  /**
   * Takes the verification for this worker, atomically: creates it when new, or takes a PENDING
   * record or a PROCESSING record whose lease has expired, provided the NIK hash matches and the
   * record's `request_digests` (when it has them) agree with `fresh`'s (see `core/binding.ts`;
   * the taker then sets `fresh`'s template and digests, keeping a bound selfie digest); or
   * takes an anonymous FAILED record (see `isAnonymousFailure`) for a claimant that names someone,
   * adopting the claimant's hash and masked NIK.
   */
  claim(input: ClaimInput): Promise<ClaimOutcome>;
  /**
   * Gives a PENDING record of this person (`nikHash`) that holds no sealed identity (a synchronous
   * request that failed transiently left it) the identity its upload will need. Returns the
   * record as it stands afterwards, changed or not; null when there is none.
   */
  sealPending(
    verificationId: string,
    nikHash: string,
    sealedIdentity: string,
  ): Promise<StoredVerdict | null>;
  /**
   * A new upload form was handed out for this person's PENDING record: it waits from `now` (its
   * `updated_at`, and so its place on the worklist), so the sweeper does not expire a
   * verification whose caller holds a valid form. Nothing happens to a record in another state.
   */
  renewPending(verificationId: string, nikHash: string, now: number): Promise<void>;
  /**
   * Writes the final (or released) state, only while `leaseOwner` still holds the lease.
   * Throws `LeaseLostError` otherwise. Attributes absent from `item` are removed.
   */
  save(item: StoredVerdict, leaseOwner: string, options?: SaveOptions): Promise<void>;
}

export interface SaveOptions {
  /**
   * Epoch milliseconds: until then, a transient failure is retried with backoff, because the
   * state may be a paid verdict that exists nowhere else; an attempt still open then is given
   * up (after at least a few hundred milliseconds). Without it, one round of the SDK's attempts.
   */
  retryUntil?: number;
}

export interface SelfieStore {
  /** Reads an object under the selfie bucket, refusing one over `maxBytes` before download. */
  read(
    key: string,
    maxBytes: number,
  ): Promise<{ bytes: Uint8Array; metadata: Record<string, string> }>;
  delete(key: string): Promise<void>;
  /**
   * A presigned POST for one selfie under exactly `key` (no other key: a prefix would reach other
   * ids' keys), any image content type, at most `maxBytes`.
   */
  createUpload(input: {
    key: string;
    maxBytes: number;
    expiresInSeconds: number;
    /** User metadata the upload must carry, exactly (signed into the policy). */
    metadata?: Record<string, string>;
  }): Promise<{ url: string; fields: Record<string, string>; expiresAt: string }>;
}

/** Keyed hashing and sealing of personal data, so records hold neither NIK nor name in clear. */
export interface IdentityVault {
  hashNik(nik: string): Promise<string>;
  /**
   * A keyed digest of one request field (`field` names it, so equal values of two fields differ):
   * what binds an id to its request without keeping the value. Same key, same digest.
   */
  digest(field: string, value: string | Uint8Array): Promise<string>;
  seal(identity: Identity): Promise<string>;
  open(sealed: string): Promise<Identity>;
}

/**
 * The names of what facematch announces on the event bus (EventBridge `source` and
 * `detail-type`): the publishers, the webhook sender that reads them back and the rules that
 * route them say them from here.
 */
export const EVENT_SOURCE = 'facematch';
export const EVENT_DETAIL_TYPES = {
  verdict: 'Verification Completed',
  /** A reviewer decided (or an appeal changed) a verdict; the detail has no note, no reviewer. */
  review: 'Verification Reviewed',
  erasure: 'Data Subject Erased',
} as const;

/** Where final verdicts are announced to downstream services (EventBridge; a file locally). */
export interface VerdictEvents {
  /** `detail` carries no personal data (see `toEventDetail`). Throws when it was not published. */
  publish(detail: VerdictEventDetail): Promise<void>;
}

/** Where a reviewer's decision is announced (`Verification Reviewed`; a file locally). */
export interface ReviewEvents {
  /** `detail` has no note and no reviewer (see `reviewEventDetail`). Throws when not published. */
  reviewed(detail: VerdictEventDetail): Promise<void>;
}

export type VerdictEventDetail = Omit<VerdictRecord, 'nik_masked'>;

export interface Clock {
  now(): number;
}

/** One of a person's verifications as the person index holds it: no personal data, no verdict. */
export interface PersonVerification {
  verificationId: string;
  createdAt: string;
  status: VerificationStatus;
  decision: Decision | null;
  completedAt?: string | undefined;
  /** Epoch ms the verification's check was sent to IDmeta; absent when it never was. */
  idmetaAt?: number | undefined;
}

/**
 * A person's verifications, by keyed NIK hash (never the NIK): what signals are computed from.
 * One read per verification (the `by-person` index in DynamoDB, eventually consistent there).
 */
export interface PersonHistory {
  /** Verifications of `nikHash` created at or after `since` (epoch ms), newest first. */
  recent(nikHash: string, since: number): Promise<PersonVerification[]>;
}

/**
 * The review queue: COMPLETED verdicts whose review is open, read through the table's `worklist`
 * index (never a scan), and the conditional write that decides one.
 */
export interface ReviewStore {
  /**
   * Open reviews, oldest first, at most `limit`. `cursor` is what a previous page returned as
   * `nextCursor`: opaque, sealed and bound to this query (a forged or foreign one is a 400).
   */
  listOpen(
    limit: number,
    cursor?: string,
  ): Promise<{ items: StoredVerdict[]; nextCursor: string | null }>;
  /** When the oldest open review was opened (epoch ms), or null when none is open. */
  oldestOpenSince(): Promise<number | null>;
  /**
   * Writes `next` only while the stored record is still `expected` (nothing wrote it since it was
   * read). False when someone else wrote first: of two reviews at once, exactly one lands.
   */
  decide(next: StoredVerdict, expected: StoredVerdict): Promise<boolean>;
}

/** The selfies kept for reviewers, under `review/` (KMS-encrypted, bounded by a lifecycle rule). */
export interface ReviewSelfies {
  keep(key: string, image: Pick<SelfieImage, 'bytes' | 'mime'>): Promise<void>;
  delete(key: string): Promise<void>;
  /** A presigned GET for the kept selfie, or null when there is no such object (any more). */
  presign(
    key: string,
    expiresInSeconds: number,
  ): Promise<{ url: string; expiresAt: string } | null>;
}
