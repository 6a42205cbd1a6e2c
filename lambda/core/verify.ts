/**
 * The one path both entrances share: validate -> claim the id -> selfie -> signals -> IDmeta ->
 * decide -> store. It knows nothing of Lambda events or AWS; everything outside comes through
 * the ports.
 *
 * Money and privacy rules this module keeps:
 * - a paid IDmeta call starts only after this worker holds the id's lease, so concurrent
 *   requests and redelivered messages for one id pay once, and duplicates that meet another
 *   worker's transient failure answer it rather than pay again;
 * - an id answers only the request it is bound to (`binding.ts`): a replay gets the stored
 *   record, anything else a 409;
 * - every bad input is refused before the claim (API) or ends as a FAILED record with its reason
 *   (S3), never half-written;
 * - the NIK is stored masked and as a keyed hash; the identity a PENDING record must keep until
 *   its selfie arrives is sealed, and removed when the verification ends.
 */
import {
  assertBound,
  type Binding,
  bindingConflict,
  bindingDifferences,
  requestDigests,
} from './binding.ts';
import {
  DeadlineExceededError,
  FacematchError,
  IdmetaTimeoutError,
  IdmetaTokenError,
  IdmetaUnavailableError,
  isExposed,
  isFinalFailure,
  MissingIdentityError,
  NotFoundError,
  ValidationError,
  VerificationInProgressError,
} from './errors.ts';
import { maskNik } from './nik.ts';
import { decide } from './policy.ts';
import type {
  CallBudget,
  ClaimOutcome,
  Clock,
  IdentityVault,
  IdmetaPort,
  PersonHistory,
  ReviewSelfies,
  SelfieStore,
  VerdictEvents,
  VerdictStore,
} from './ports.ts';
import { type ProfileSet, profileFor } from './profiles.ts';
import {
  ANONYMOUS_NIK_HASH,
  completedRecord,
  failedRecord,
  isAnonymousFailure,
  isFinished,
  newRecord,
  releasedRecord,
  toEventDetail,
  toPublicRecord,
} from './record.ts';
import { markedVerificationId, parseObjectMetadata, UPLOAD_MARKER_METADATA } from './request.ts';
import { keepReviewSelfie, withReviewSelfieKey } from './review-service.ts';
import { decodeSelfie } from './selfie.ts';
import { readSignals, recordSignals, velocityRefusal } from './signals.ts';
import type {
  Identity,
  RequestDigests,
  SelfieImage,
  SelfieLimits,
  StoredVerdict,
  VerdictRecord,
  VerificationRequest,
  VerificationSource,
} from './types.ts';

export interface VerifySettings {
  defaultTemplateId: string;
  /** The decision rules per template (`POLICY_PROFILES`), resolved and versioned at start-up. */
  profiles: ProfileSet;
  selfieLimits: SelfieLimits;
  retentionDays: number;
  /** How long a claim protects a verification from other workers; >= one invocation. */
  leaseMs: number;
  /** Finalise IDmeta verifications that facematch itself created (docs/idmeta.md: lifecycle). */
  finalizeOwnedVerifications: boolean;
  uploadExpiresSeconds: number;
  /** Delete an uploaded selfie as soon as its verdict is stored (else bucket lifecycle). */
  deleteSelfieAfterVerdict: boolean;
  /** How long a request that finds its id busy waits for the other worker's verdict. */
  busyWaitMs: number;
  /** Time kept back from the deadline to store the verdict after IDmeta answers. */
  storeReserveMs: number;
}

export interface VerifyObserver {
  /** Housekeeping after a stored verdict failed; the verdict stands, the operator should know. */
  housekeepingFailed?(
    operation:
      | 'publish-verdict-event'
      | 'finalize-verification'
      | 'delete-selfie'
      | 'keep-review-selfie',
    error: unknown,
  ): void;
  /** A verification reached a final or released state. */
  recorded?(item: StoredVerdict): void;
  /**
   * IDmeta answered (and may have billed it: a verdict, or a final failure other than a refused
   * token) but the state could not be stored before the deadline: it exists only here, and the
   * retry after the lease calls IDmeta again. The operator must know.
   */
  paidVerdictNotSaved?(item: StoredVerdict, error: unknown): void;
  /** A verification refused before any paid call (velocity); its FAILED record is stored. */
  refused?(error: FacematchError, source: VerificationSource): void;
}

export interface VerifyDeps {
  idmeta: IdmetaPort;
  store: VerdictStore;
  selfies: SelfieStore;
  vault: IdentityVault;
  clock: Clock;
  settings: VerifySettings;
  newLeaseOwner: () => string;
  sleep?: (ms: number) => Promise<void>;
  observer?: VerifyObserver;
  /** Announces final verdicts; absent when no event bus is configured. */
  events?: VerdictEvents;
  /** Where a verdict that opens a review keeps its selfie for the reviewer. */
  reviewSelfies?: ReviewSelfies;
  /** The person index signals are read from; absent, no signals are computed (a baseline). */
  history?: PersonHistory;
}

export interface VerifyOutcome {
  record: VerdictRecord;
  /** True when the stored record was returned and nothing was called. */
  replayed: boolean;
}

export interface PendingOutcome extends VerifyOutcome {
  /** Absent when the verification has already moved past PENDING. */
  upload?: { url: string; fields: Record<string, string>; expires_at: string };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const incomingKey = (verificationId: string, extension: string) =>
  `incoming/${verificationId}.${extension}`;

/** How long a request that found its id busy pauses between two looks at the record. */
const BUSY_POLL_MS = 200;

/**
 * Refuses an object an upload form made for another verification (its signed `verification-id`
 * says so): it may decide nothing for `verificationId`. Our forms pin their exact key, so only a
 * foreign upload gets here.
 */
function refuseForeignObject(
  metadata: Record<string, string>,
  verificationId: string | undefined,
  path: string,
): void {
  const marked = markedVerificationId(metadata);
  if (marked !== undefined && marked !== verificationId) {
    const message = 'was uploaded for another verification';
    throw new ValidationError(`${path} ${message}`, [{ path, message }]);
  }
}

/** The object a request names as its `selfie_s3_key`. */
async function readSelfieObject(
  deps: VerifyDeps,
  key: string,
  verificationId: string | undefined,
): Promise<{ image: SelfieImage; metadata: Record<string, string> }> {
  const path = 'selfie_s3_key';
  const { bytes, metadata } = await deps.selfies.read(key, deps.settings.selfieLimits.maxBytes);
  refuseForeignObject(metadata, verificationId, path);
  return { image: decodeSelfie(bytes, deps.settings.selfieLimits, { path }), metadata };
}

interface Work {
  verificationId: string;
  templateId: string;
  /** Absent only when a FAILED record is written for an upload that names nobody. */
  identity?: Identity | undefined;
  nikHash: string;
  /** The request's binding (see `core/binding.ts`); absent only with `identity`. */
  digests?: RequestDigests | undefined;
  source: VerificationSource;
  selfieKey?: string | undefined;
  owned: boolean;
  /** Epoch ms the request (or message) arrived: a failure released after it is its answer. */
  arrivedAt?: number | undefined;
}

/**
 * A claimed PENDING record was created by the API entrance; the entrance that finishes it
 * (and the object it read) is what the verdict must name, so housekeeping finds the selfie.
 */
function adoptEntrance(item: StoredVerdict, work: Work): StoredVerdict {
  const adopted: StoredVerdict = { ...item, source: work.source };
  if (work.selfieKey !== undefined) adopted.selfie_key = work.selfieKey;
  return adopted;
}

/** Claims the id; returns the claimed item, or the record to answer with instead. */
async function claim(
  deps: VerifyDeps,
  work: Work,
  budget: CallBudget,
): Promise<
  | { kind: 'claimed'; item: StoredVerdict; leaseOwner: string }
  | { kind: 'answer'; item: StoredVerdict }
> {
  const { settings, clock } = deps;
  const waitUntil = Math.min(
    clock.now() + settings.busyWaitMs,
    budget.deadline - settings.storeReserveMs,
  );
  for (;;) {
    const now = clock.now();
    const leaseOwner = deps.newLeaseOwner();
    const leaseExpiresAt = now + settings.leaseMs;
    const fresh: StoredVerdict = {
      ...newRecord({
        verificationId: work.verificationId,
        templateId: work.templateId,
        nikMasked: work.identity ? maskNik(work.identity.nik) : '',
        nikHash: work.nikHash,
        source: work.source,
        status: 'PROCESSING',
        now,
        retentionDays: settings.retentionDays,
        selfieKey: work.selfieKey,
        idmetaVerificationOwned: work.owned,
        requestDigests: work.digests,
      }),
      attempts: 1,
      lease_owner: leaseOwner,
      lease_expires_at: leaseExpiresAt,
    };
    const outcome = await deps.store.claim({
      fresh,
      leaseOwner,
      leaseExpiresAt,
      now,
      ...(work.arrivedAt === undefined ? {} : { arrivedAt: work.arrivedAt }),
    });
    switch (outcome.kind) {
      case 'claimed':
        return { kind: 'claimed', item: outcome.item, leaseOwner };
      case 'finished':
        assertBound(outcome.item, fresh);
        return { kind: 'answer', item: outcome.item };
      case 'conflict':
        throw bindingConflict(outcome.item ? bindingDifferences(outcome.item, fresh) : []);
      case 'released':
        // A duplicate that arrived while another worker paid and failed: the same answer.
        assertBound(outcome.item, fresh);
        throw releasedFailure(outcome.item.error ?? { code: 'UNKNOWN', message: '' });
      case 'busy': {
        assertBound(outcome.item, fresh);
        // Another worker is paying for this verdict already: wait for it rather than pay twice.
        const answer = await awaitOtherWorker(deps, work.verificationId, fresh, waitUntil);
        if (answer !== undefined) return { kind: 'answer', item: answer };
        // Its worker died with the lease, or the record went: claim again.
      }
    }
  }
}

/**
 * Waits for the worker that holds the id's lease. Returns its final record, or undefined when
 * the lease expired (that worker died) or the record went, so the caller claims again. A record
 * back to PENDING with an `error` was released by that worker's transient failure: the waiter
 * answers that failure, never pays attempts of its own (N waiters during an IDmeta outage would
 * otherwise cost N times the attempts).
 */
async function awaitOtherWorker(
  deps: VerifyDeps,
  verificationId: string,
  binding: Binding,
  waitUntil: number,
): Promise<StoredVerdict | undefined> {
  const { clock } = deps;
  for (;;) {
    if (clock.now() + BUSY_POLL_MS > waitUntil) throw new VerificationInProgressError();
    await (deps.sleep ?? defaultSleep)(BUSY_POLL_MS);
    const latest = await deps.store.get(verificationId);
    if (latest === null || isAnonymousFailure(latest)) return undefined;
    if (isFinished(latest)) {
      assertBound(latest, binding);
      return latest;
    }
    if (latest.status === 'PENDING') {
      if (latest.error !== undefined) throw releasedFailure(latest.error);
      return undefined;
    }
    if ((latest.lease_expires_at ?? 0) < clock.now()) return undefined;
  }
}

/** The transient failure a released record says its worker met, for a waiter to answer with. */
function releasedFailure(error: { code: string; message: string }): FacematchError {
  switch (error.code) {
    case 'IDMETA_TIMEOUT':
      return new IdmetaTimeoutError(error.message);
    case 'IDMETA_UNAVAILABLE':
      return new IdmetaUnavailableError(error.message);
    case 'DEADLINE_EXCEEDED':
      return new DeadlineExceededError(error.message);
    default:
      // Not IDmeta's (AWS busy, a lost lease): the record's message may be internal.
      return new VerificationInProgressError(
        'another request for this verification failed transiently; retry later',
      );
  }
}

/**
 * What a record may say about an error. The record is served by GET: an internal error's own
 * message (it may name a secret's ARN) is not kept, only its code.
 */
function recordableError(error: unknown): { code: string; message: string } {
  const code = error instanceof FacematchError ? error.code : 'INTERNAL_ERROR';
  const message = isExposed(error) ? error.message : 'internal service error; retried';
  return { code, message };
}

/**
 * Stores a state this worker reached while holding the lease, reports it, and, when the state
 * is final, does what follows a final record (events, finalisation, selfie deletion).
 */
async function store(
  deps: VerifyDeps,
  next: StoredVerdict,
  leaseOwner: string,
  budget: CallBudget,
): Promise<void> {
  // A final state may hold a paid answer that exists nowhere else: saved until the deadline, not
  // for one round of the SDK's attempts. A released one only waits for its lease if lost, and
  // must not hold a Lambda against a struggling table.
  await deps.store.save(
    next,
    leaseOwner,
    isFinished(next) ? { retryUntil: budget.deadline } : undefined,
  );
  deps.observer?.recorded?.(next);
  if (isFinished(next)) await housekeeping(deps, next, budget);
}

/**
 * Saves the state IDmeta's failure led to, and rethrows that failure. A final one may have been
 * billed (an unparseable 2xx, a 4xx; not a refused token): if it cannot be saved, the retry
 * after the lease calls IDmeta again, which the operator must hear of, as for a verdict.
 */
async function settleFailure(
  deps: VerifyDeps,
  item: StoredVerdict,
  leaseOwner: string,
  error: unknown,
  budget: CallBudget,
): Promise<never> {
  const now = deps.clock.now();
  const next = isFinalFailure(error)
    ? failedRecord(item, error, now)
    : releasedRecord(item, recordableError(error), now);
  const possiblyBilled = isFinished(next) && !(error instanceof IdmetaTokenError);
  await (possiblyBilled
    ? storePaid(deps, next, leaseOwner, budget)
    : store(deps, next, leaseOwner, budget));
  throw error;
}

/** `store` for a state IDmeta was paid for: a failed save is reported before it is thrown. */
async function storePaid(
  deps: VerifyDeps,
  next: StoredVerdict,
  leaseOwner: string,
  budget: CallBudget,
): Promise<void> {
  try {
    await store(deps, next, leaseOwner, budget);
  } catch (error) {
    deps.observer?.paidVerdictNotSaved?.(next, error);
    throw error;
  }
}

/**
 * After a final record is stored: announce it, close the IDmeta verification we own, drop the
 * selfie. Each step is best effort; the stored verdict is the truth and stands whatever fails.
 */
async function housekeeping(
  deps: VerifyDeps,
  item: StoredVerdict,
  budget: CallBudget,
  options: { deleteOnly?: boolean } = {},
) {
  const { settings, observer } = deps;
  // An anonymous failure is not final (a request naming the object may still take it over):
  // announcing it would tell consumers FAILED and later COMPLETED for one verification.
  if (deps.events && !options.deleteOnly && !isAnonymousFailure(item)) {
    try {
      await deps.events.publish(toEventDetail(item));
    } catch (error) {
      observer?.housekeepingFailed?.('publish-verdict-event', error);
    }
  }
  if (
    item.idmeta_verification_owned &&
    settings.finalizeOwnedVerifications &&
    !options.deleteOnly
  ) {
    try {
      await deps.idmeta.finalizeVerification(
        { templateId: item.template_id, verificationId: item.verification_id },
        budget,
      );
    } catch (error) {
      observer?.housekeepingFailed?.('finalize-verification', error);
    }
  }
  // A MISSING_IDENTITY failure keeps its object: an API request naming it may still come.
  const keepObject = item.status === 'FAILED' && item.error?.code === 'MISSING_IDENTITY';
  if (item.selfie_key && settings.deleteSelfieAfterVerdict && !keepObject) {
    try {
      await deps.selfies.delete(item.selfie_key);
    } catch (error) {
      observer?.housekeepingFailed?.('delete-selfie', error);
    }
  }
}

/** Holding the lease: call IDmeta once, decide, store. */
async function decideClaimed(
  deps: VerifyDeps,
  work: Work & { identity: Identity },
  claimed: StoredVerdict,
  leaseOwner: string,
  image: SelfieImage,
  budget: CallBudget,
): Promise<VerifyOutcome> {
  const { settings, clock } = deps;
  const profile = profileFor(settings.profiles, work.templateId);
  let item: StoredVerdict = {
    ...adoptEntrance(claimed, work),
    policy: { profile: profile.name, version: profile.version },
  };
  let signals: Awaited<ReturnType<typeof readSignals>> | undefined;
  if (deps.history) {
    const current = { verificationId: work.verificationId, now: clock.now() };
    try {
      signals = await readSignals(deps.history, work.nikHash, profile.rules, current);
    } catch (error) {
      return settleFailure(deps, item, leaseOwner, error, budget);
    }
    item = { ...item, signals: recordSignals(signals) };
    const refusal = velocityRefusal(signals, profile.rules, clock.now());
    if (refusal) {
      // Final and announced, like any verdict; nothing was paid, so a plain store.
      await store(deps, failedRecord(item, refusal, clock.now()), leaseOwner, budget);
      deps.observer?.refused?.(refusal, work.source);
      throw refusal;
    }
  }
  // Every state saved from here on records that the check went to IDmeta (velocity counts it).
  item = { ...item, idmeta_at: clock.now() };
  const idmetaBudget: CallBudget = {
    ...budget,
    deadline: budget.deadline - settings.storeReserveMs,
  };
  let result: Awaited<ReturnType<IdmetaPort['facematch']>>;
  try {
    result = await deps.idmeta.facematch(
      {
        verificationId: work.verificationId,
        templateId: work.templateId,
        nik: work.identity.nik,
        name: work.identity.name,
        dateOfBirth: work.identity.dateOfBirth,
        selfie: image,
      },
      idmetaBudget,
    );
  } catch (error) {
    return settleFailure(deps, item, leaseOwner, error, budget);
  }
  const outcome = decide(result, profile.rules, signals);
  const completed = completedRecord(item, result, outcome, clock.now());
  // The selfie a review needs is written before the verdict that opens the review is stored: once
  // stored, a reviewer may close it at once, and a selfie written after that close would outlive
  // it. A selfie written for a verdict that then fails to save is left to the review/ lifecycle.
  const final = await keepReviewSelfie(
    deps.reviewSelfies,
    withReviewSelfieKey(completed, image, deps.reviewSelfies),
    image,
    (error) => deps.observer?.housekeepingFailed?.('keep-review-selfie', error),
  );
  await storePaid(deps, final, leaseOwner, budget);
  return { record: toPublicRecord(final), replayed: false };
}

async function resolveVerificationId(
  deps: VerifyDeps,
  requested: string | undefined,
  templateId: string,
  budget: CallBudget,
): Promise<{ verificationId: string; owned: boolean }> {
  if (requested !== undefined) return { verificationId: requested, owned: false };
  const verificationId = await deps.idmeta.createVerification({ templateId }, budget);
  return { verificationId, owned: true };
}

/** The synchronous path: a request that carries its selfie (inline or as an object key). */
export async function verify(
  request: VerificationRequest,
  deps: VerifyDeps,
  budget: CallBudget,
): Promise<VerifyOutcome> {
  if (request.selfie.kind === 'none') {
    throw new ValidationError('a selfie is required for a synchronous verification', [
      { path: 'selfie_image', message: 'required' },
    ]);
  }
  const arrivedAt = deps.clock.now();
  const templateId = request.templateId ?? deps.settings.defaultTemplateId;
  const { identity } = request;
  const nikHash = await deps.vault.hashNik(identity.nik);
  const inline = request.selfie.kind === 'inline' ? request.selfie.image : undefined;

  // A replay must not even read the selfie again: an object named by key is compared by its
  // key (the id's own), inline bytes by their digest.
  let replayDigests: RequestDigests | undefined;
  if (request.verificationId !== undefined) {
    const existing = await deps.store.get(request.verificationId);
    if (existing && !isAnonymousFailure(existing)) {
      replayDigests = await requestDigests(deps.vault, {
        identity,
        templateId,
        selfie: inline?.bytes,
      });
      assertBound(existing, { nik_hash: nikHash, request_digests: replayDigests });
      if (isFinished(existing)) return { record: toPublicRecord(existing), replayed: true };
    }
  }

  // Bad input is refused here, before any record is written or any call is paid.
  const image =
    request.selfie.kind === 'inline'
      ? request.selfie.image
      : (await readSelfieObject(deps, request.selfie.key, request.verificationId)).image;
  const selfieKey = request.selfie.kind === 's3' ? request.selfie.key : undefined;
  // Inline bytes were digested for the replay check already (an HMAC over up to the size cap).
  const digests =
    inline !== undefined && replayDigests !== undefined
      ? replayDigests
      : await requestDigests(deps.vault, { identity, templateId, selfie: image.bytes });

  const { verificationId, owned } = await resolveVerificationId(
    deps,
    request.verificationId,
    templateId,
    budget,
  );
  const work = {
    verificationId,
    templateId,
    identity,
    nikHash,
    digests,
    arrivedAt,
    source: request.source,
    selfieKey,
    owned,
  };
  return closingOwnedOnFailure(deps, work, budget, async () => {
    const claimed = await claim(deps, work, budget);
    if (claimed.kind === 'answer') return { record: toPublicRecord(claimed.item), replayed: true };
    return decideClaimed(deps, work, claimed.item, claimed.leaseOwner, image, budget);
  });
}

/**
 * An IDmeta verification facematch created for a caller who brought no id must not stay open in
 * the operator's dashboard when the request fails: the caller never learnt the id and cannot
 * continue it. A final failure was already finalised with its FAILED record.
 */
async function closingOwnedOnFailure<T>(
  deps: VerifyDeps,
  work: Pick<Work, 'verificationId' | 'templateId' | 'owned'>,
  budget: CallBudget,
  act: () => Promise<T>,
): Promise<T> {
  try {
    return await act();
  } catch (error) {
    if (work.owned && deps.settings.finalizeOwnedVerifications && !isFinalFailure(error)) {
      await deps.idmeta
        .finalizeVerification(
          { templateId: work.templateId, verificationId: work.verificationId },
          budget,
        )
        .catch((finalizeError: unknown) =>
          deps.observer?.housekeepingFailed?.('finalize-verification', finalizeError),
        );
    }
    throw error;
  }
}

/** The asynchronous path: no selfie yet. Stores a PENDING record and hands out an upload. */
export async function startPendingVerification(
  request: VerificationRequest,
  deps: VerifyDeps,
  budget: CallBudget,
): Promise<PendingOutcome> {
  const templateId = request.templateId ?? deps.settings.defaultTemplateId;
  const nikHash = await deps.vault.hashNik(request.identity.nik);
  const { verificationId, owned } = await resolveVerificationId(
    deps,
    request.verificationId,
    templateId,
    budget,
  );
  return closingOwnedOnFailure(deps, { verificationId, templateId, owned }, budget, () =>
    storePending(request, deps, { verificationId, templateId, owned, nikHash }),
  );
}

async function storePending(
  request: VerificationRequest,
  deps: VerifyDeps,
  ids: { verificationId: string; templateId: string; owned: boolean; nikHash: string },
): Promise<PendingOutcome> {
  const { settings, clock, vault } = deps;
  const { verificationId, templateId, owned, nikHash } = ids;
  const item = newRecord({
    verificationId,
    templateId,
    nikMasked: maskNik(request.identity.nik),
    nikHash,
    source: 'api',
    status: 'PENDING',
    now: clock.now(),
    retentionDays: settings.retentionDays,
    sealedIdentity: await vault.seal(request.identity),
    idmetaVerificationOwned: owned,
    // No selfie yet: the one that completes the verification binds it then.
    requestDigests: await requestDigests(vault, { identity: request.identity, templateId }),
  });
  const created = await deps.store.createPending(item);
  let record = created.created ? item : created.existing;
  let replayed = !created.created;
  if (!created.created && isAnonymousFailure(record)) {
    record = await takeOverAnonymousFailure(deps, item);
    replayed = record.status !== 'PENDING';
  }
  assertBound(record, item);
  if (record.status === 'PENDING' && record.sealed_identity === undefined && item.sealed_identity) {
    // A synchronous request for this id failed transiently and left no identity: its upload
    // would name nobody and wait for ever. It gets the identity this request brings.
    record =
      (await deps.store.sealPending(verificationId, nikHash, item.sealed_identity)) ?? record;
    assertBound(record, item);
  }
  if (record.status !== 'PENDING') return { record: toPublicRecord(record), replayed: true };
  // A fresh form for a record that was already waiting: it waits from now on.
  if (replayed) await deps.store.renewPending(verificationId, nikHash, clock.now());

  const upload = await deps.selfies.createUpload({
    // The exact key, whatever the image type (the bytes decide it).
    key: incomingKey(verificationId, 'jpg'),
    maxBytes: settings.selfieLimits.maxBytes,
    expiresInSeconds: settings.uploadExpiresSeconds,
    // Signed, so an object the form made always says whose it is.
    metadata: { [UPLOAD_MARKER_METADATA]: verificationId },
  });
  return {
    record: toPublicRecord(record),
    replayed,
    upload: { url: upload.url, fields: upload.fields, expires_at: upload.expiresAt },
  };
}

/**
 * An upload that named nobody ended FAILED (MISSING_IDENTITY); a request that names someone takes
 * the id over, through the same claim as the synchronous path, and leaves it PENDING with its
 * identity, for its own upload. Returns `pending` as stored, or the record someone else made of
 * the id meanwhile.
 */
async function takeOverAnonymousFailure(
  deps: VerifyDeps,
  pending: StoredVerdict,
): Promise<StoredVerdict> {
  const now = deps.clock.now();
  const leaseOwner = deps.newLeaseOwner();
  const leaseExpiresAt = now + deps.settings.leaseMs;
  const outcome = await deps.store.claim({
    fresh: {
      ...pending,
      status: 'PROCESSING',
      attempts: 1,
      lease_owner: leaseOwner,
      lease_expires_at: leaseExpiresAt,
    },
    leaseOwner,
    leaseExpiresAt,
    now,
  });
  if (outcome.kind === 'conflict') {
    throw bindingConflict(outcome.item ? bindingDifferences(outcome.item, pending) : []);
  }
  if (outcome.kind !== 'claimed') return outcome.item;
  // Taking over is bookkeeping, not an attempt: the claim's increment is undone.
  const taken: StoredVerdict = {
    ...pending,
    created_at: outcome.item.created_at,
    attempts: Math.max(0, outcome.item.attempts - 1),
  };
  await deps.store.save(taken, leaseOwner);
  return taken;
}

/**
 * Ends a verification that cannot go on (bad object, no identity) as FAILED with its reason,
 * through the same claim so a finished or foreign record is never overwritten.
 */
async function recordPermanentFailure(
  deps: VerifyDeps,
  work: Work,
  error: FacematchError,
  budget: CallBudget,
): Promise<VerifyOutcome> {
  const claimed = await claim(deps, work, budget);
  if (claimed.kind === 'answer') return answeredUpload(deps, claimed.item, work.selfieKey, budget);
  const failed = failedRecord(adoptEntrance(claimed.item, work), error, deps.clock.now());
  await store(deps, failed, claimed.leaseOwner, budget);
  return { record: toPublicRecord(failed), replayed: false };
}

/**
 * The S3 path: an object `incoming/<id>.<ext>` arrived. The identity comes from the PENDING
 * record, else from the object's metadata. Permanent problems end as a FAILED record (returned,
 * not thrown: the message is done); transient ones are thrown for the queue to retry.
 */
export async function verifyUploadedSelfie(
  input: { key: string; verificationId: string },
  deps: VerifyDeps,
  budget: CallBudget,
): Promise<VerifyOutcome> {
  const { settings, vault } = deps;
  const arrivedAt = deps.clock.now();
  const existing = await deps.store.get(input.verificationId);
  if (existing && isFinished(existing) && !isAnonymousFailure(existing)) {
    // The same selfie uploaded again after its verdict: nothing to decide, but the new object is
    // biometric data all the same, and goes like the first one did.
    return answeredUpload(deps, existing, input.key, budget);
  }

  const raw = await readObject(deps, input.key);
  // A foreign object changes no record and is left to the bucket's lifecycle, not deleted: a
  // duplicate notification would then find it gone and end this id FAILED.
  if (raw.kind === 'read') refuseForeignObject(raw.metadata, input.verificationId, 'object');
  if (existing === null && raw.kind === 'read') {
    await refuseOrphanedUpload(deps, input.key, raw.metadata);
  }

  const base = {
    verificationId: input.verificationId,
    arrivedAt,
    source: 's3' as const,
    selfieKey: input.key,
    owned: existing?.idmeta_verification_owned ?? false,
  };
  const pendingIdentity = existing?.sealed_identity
    ? await vault.open(existing.sealed_identity)
    : undefined;

  let object: { image: SelfieImage; metadata: Record<string, string> } | undefined;
  let objectError = raw.kind === 'failed' ? raw.error : undefined;
  if (raw.kind === 'read') {
    try {
      object = {
        image: decodeSelfie(raw.bytes, settings.selfieLimits, { path: 'object' }),
        metadata: raw.metadata,
      };
    } catch (error) {
      if (!(error instanceof FacematchError) || error.transient) throw error;
      objectError = error;
    }
  }

  let identity = pendingIdentity;
  let templateId = existing?.template_id;
  let identityError: FacematchError | undefined;
  if (!identity && object) {
    try {
      const parsed = parseObjectMetadata(object.metadata, { now: deps.clock.now() });
      identity = parsed.identity;
      templateId = parsed.templateId;
    } catch (error) {
      if (!(error instanceof FacematchError)) throw error;
      identityError = error;
    }
  }
  templateId ??= settings.defaultTemplateId;

  // A record without a sealed identity belongs to an API request that named this object as its
  // `selfie_s3_key` (its notification came too): that request decides, this upload names nobody.
  if (!identity && object && existing && !isFinished(existing)) {
    return { record: toPublicRecord(existing), replayed: true };
  }

  if (!identity || !object) {
    const error = objectError ?? identityError ?? new MissingIdentityError();
    // Without an identity the failure is recorded under an empty hash: it names nobody.
    const nikHash = identity
      ? await vault.hashNik(identity.nik)
      : (existing?.nik_hash ?? ANONYMOUS_NIK_HASH);
    const digests = identity ? await requestDigests(vault, { identity, templateId }) : undefined;
    return recordPermanentFailure(
      deps,
      { ...base, templateId, identity, nikHash, digests },
      error,
      budget,
    );
  }

  const work = {
    ...base,
    templateId,
    identity,
    nikHash: await vault.hashNik(identity.nik),
    digests: await requestDigests(vault, { identity, templateId, selfie: object.image.bytes }),
  };
  const claimed = await claim(deps, work, budget);
  if (claimed.kind === 'answer') return answeredUpload(deps, claimed.item, input.key, budget);
  return decideClaimed(deps, work, claimed.item, claimed.leaseOwner, object.image, budget);
}

/**
 * An upload made with our form (it carries the form's signed marker) for an id that has no record:
 * a form is only handed out with a `PENDING` record, so that record was erased (a data subject's
 * erasure) or expired. The person's selfie must not outlive their erasure, nor start a
 * verification nobody asked for: the object is deleted and nothing is recorded.
 */
async function refuseOrphanedUpload(
  deps: VerifyDeps,
  key: string,
  metadata: Record<string, string>,
): Promise<void> {
  if (markedVerificationId(metadata) === undefined) return;
  await deps.selfies.delete(key);
  throw new FacematchError(
    'the upload form was made for a verification that no longer exists; the object was deleted',
    { code: 'UPLOAD_WITHOUT_VERIFICATION', status: 409 },
  );
}

/** An uploaded object as read: its bytes and metadata, or a permanent reason it has none. */
type ObjectRead =
  | { kind: 'read'; bytes: Uint8Array; metadata: Record<string, string> }
  | { kind: 'failed'; error: FacematchError };

async function readObject(deps: VerifyDeps, key: string): Promise<ObjectRead> {
  try {
    const { bytes, metadata } = await deps.selfies.read(key, deps.settings.selfieLimits.maxBytes);
    return { kind: 'read', bytes, metadata };
  } catch (error) {
    if (!(error instanceof FacematchError) || error.transient) throw error;
    return { kind: 'failed', error };
  }
}

/**
 * An upload whose verification already has its answer (a re-upload, or one that lost the race
 * to another worker): nothing to decide, but the object is biometric data all the same and goes
 * as the first one did.
 */
async function answeredUpload(
  deps: VerifyDeps,
  item: StoredVerdict,
  key: string | undefined,
  budget: CallBudget,
): Promise<VerifyOutcome> {
  if (key !== undefined) {
    await housekeeping(deps, { ...item, selfie_key: key }, budget, { deleteOnly: true });
  }
  return { record: toPublicRecord(item), replayed: true };
}

export async function getVerification(
  verificationId: string,
  deps: Pick<VerifyDeps, 'store'>,
): Promise<VerdictRecord> {
  const item = await deps.store.get(verificationId);
  if (!item) throw new NotFoundError('no verification with this id', 'VERIFICATION_NOT_FOUND');
  return toPublicRecord(item);
}

/**
 * A message whose retries are exhausted: the record keeps status PENDING (a redrive from the
 * dead-letter queue may still complete it) and says why it stopped, so no id is ever silent.
 */
export async function markDeadLettered(
  verificationId: string,
  cause: unknown,
  deps: VerifyDeps,
): Promise<VerdictRecord | null> {
  const existing = await deps.store.get(verificationId);
  if (!existing || isFinished(existing)) return existing ? toPublicRecord(existing) : null;
  const now = deps.clock.now();
  const outcome = await claimForHousekeeping(deps, existing);
  if (outcome.kind !== 'claimed')
    return outcome.kind === 'conflict' ? null : toPublicRecord(outcome.item);
  const { leaseOwner } = outcome;
  const last = recordableError(cause);
  const released = releasedRecord(
    outcome.item,
    {
      code: 'DEAD_LETTERED',
      message: `retries exhausted; last error ${last.code}: ${last.message}`,
    },
    now,
  );
  // Not a final state: nothing follows it, so no `store()` (and no budget) is needed.
  await deps.store.save(released, leaseOwner);
  deps.observer?.recorded?.(released);
  return toPublicRecord(released);
}

/**
 * Claims a record a housekeeper (dead-letter marking, the sweeper) read a moment ago. It takes an
 * existing record only: erased since the read, it must not be brought back from the copy. And
 * it is bookkeeping, not another try: the claim's attempt increment is undone.
 */
export async function claimForHousekeeping(
  deps: Pick<VerifyDeps, 'store' | 'clock' | 'newLeaseOwner' | 'settings'>,
  item: StoredVerdict,
): Promise<
  | { kind: 'claimed'; item: StoredVerdict; leaseOwner: string }
  | Exclude<ClaimOutcome, { kind: 'claimed' }>
> {
  const now = deps.clock.now();
  const leaseOwner = deps.newLeaseOwner();
  const outcome = await deps.store.claim({
    fresh: item,
    leaseOwner,
    leaseExpiresAt: now + deps.settings.leaseMs,
    now,
    takeOverOnly: true,
  });
  if (outcome.kind !== 'claimed') return outcome;
  return { kind: 'claimed', item: { ...outcome.item, attempts: item.attempts }, leaseOwner };
}

/**
 * Ends a verification its caller has claimed (the sweeper: an upload that never came) as FAILED,
 * with everything that follows a final record: the event, the finalisation of an IDmeta
 * verification facematch created, the selfie's deletion.
 */
export async function failClaimed(
  deps: VerifyDeps,
  claimed: StoredVerdict,
  leaseOwner: string,
  error: Pick<FacematchError, 'code' | 'message'>,
  budget: CallBudget,
): Promise<VerdictRecord> {
  const failed = failedRecord(claimed, error, deps.clock.now());
  await store(deps, failed, leaseOwner, budget);
  return toPublicRecord(failed);
}
