import type { FacematchError } from './errors.ts';
import { withMachineDecision } from './review.ts';
import type {
  DecisionOutcome,
  IdmetaCheckResult,
  RequestDigests,
  StoredVerdict,
  VerdictRecord,
  VerificationSource,
  VerificationStatus,
} from './types.ts';

const DAY_SECONDS = 24 * 60 * 60;

export interface NewRecordInput {
  verificationId: string;
  templateId: string;
  nikMasked: string;
  nikHash: string;
  source: VerificationSource;
  status: VerificationStatus;
  now: number;
  retentionDays: number;
  selfieKey?: string | undefined;
  sealedIdentity?: string | undefined;
  idmetaVerificationOwned: boolean;
  requestDigests?: RequestDigests | undefined;
}

export function newRecord(input: NewRecordInput): StoredVerdict {
  const at = new Date(input.now).toISOString();
  const item: StoredVerdict = {
    verification_id: input.verificationId,
    template_id: input.templateId,
    status: input.status,
    decision: null,
    reasons: [],
    face_similarity: null,
    matches: {},
    risk_rating: null,
    idmeta: null,
    nik_masked: input.nikMasked,
    nik_hash: input.nikHash,
    source: input.source,
    attempts: 0,
    created_at: at,
    updated_at: at,
    expires_at: Math.floor(input.now / 1000) + Math.round(input.retentionDays * DAY_SECONDS),
    idmeta_verification_owned: input.idmetaVerificationOwned,
  };
  if (input.selfieKey !== undefined) item.selfie_key = input.selfieKey;
  if (input.sealedIdentity !== undefined) item.sealed_identity = input.sealedIdentity;
  if (input.requestDigests !== undefined) item.request_digests = input.requestDigests;
  return item;
}

/** The item without lease and sealed identity: what a finished or released record keeps. */
function withoutWorkState(item: StoredVerdict): StoredVerdict {
  const {
    lease_owner: _leaseOwner,
    lease_expires_at: _leaseExpiresAt,
    sealed_identity: _sealedIdentity,
    error: _error,
    ...rest
  } = item;
  return rest;
}

export function completedRecord(
  item: StoredVerdict,
  result: IdmetaCheckResult,
  outcome: DecisionOutcome,
  now: number,
): StoredVerdict {
  const at = new Date(now).toISOString();
  // The machine's decision and its history entry; a REVIEW verdict opens a review (review.ts).
  return withMachineDecision(
    {
      ...withoutWorkState(item),
      status: 'COMPLETED',
      decision: outcome.decision,
      reasons: outcome.reasons,
      face_similarity: result.faceSimilarity,
      matches: result.matches,
      risk_rating: result.riskRating,
      idmeta: {
        status: result.rawStatus,
        message: result.message,
        reason_code: result.reasonCode,
        uuid: result.uuid,
        api_request_status: result.apiRequestStatus,
      },
      updated_at: at,
      completed_at: at,
    },
    at,
  );
}

/** A final failure: the verification ends without a decision; `reasons` carries the code. */
export function failedRecord(
  item: StoredVerdict,
  error: Pick<FacematchError, 'code' | 'message'>,
  now: number,
): StoredVerdict {
  const at = new Date(now).toISOString();
  return {
    ...withoutWorkState(item),
    status: 'FAILED',
    decision: null,
    reasons: [error.code],
    error: { code: error.code, message: error.message },
    updated_at: at,
    completed_at: at,
  };
}

/**
 * A transient failure: the lease is given back and the record returns to PENDING so a retry
 * (SQS redelivery, or the caller's repeated POST) can claim it. The sealed identity is kept,
 * because the retry needs it.
 */
export function releasedRecord(
  item: StoredVerdict,
  error: Pick<FacematchError, 'code' | 'message'>,
  now: number,
): StoredVerdict {
  const { lease_owner: _leaseOwner, lease_expires_at: _leaseExpiresAt, ...rest } = item;
  return {
    ...rest,
    status: 'PENDING',
    error: { code: error.code, message: error.message },
    updated_at: new Date(now).toISOString(),
  };
}

export const isFinished = (item: Pick<VerdictRecord, 'status'>): boolean =>
  item.status === 'COMPLETED' || item.status === 'FAILED';

/** The hash of a record that names nobody: an upload that carried no identity. */
export const ANONYMOUS_NIK_HASH = '';

/**
 * A FAILED record of an upload that named nobody (MISSING_IDENTITY). Its object may be the
 * selfie of an API request naming it as `selfie_s3_key` whose notification merely came first,
 * so it is not final for a request that does name someone: such a request may take it over.
 */
export const isAnonymousFailure = (item: Pick<StoredVerdict, 'status' | 'nik_hash'>): boolean =>
  item.status === 'FAILED' && item.nik_hash === ANONYMOUS_NIK_HASH;

/** The public record: what the API returns. Internal attributes never leave the service. */
export function toPublicRecord(item: StoredVerdict): VerdictRecord {
  const {
    nik_hash: _nikHash,
    sealed_identity: _sealedIdentity,
    lease_owner: _leaseOwner,
    lease_expires_at: _leaseExpiresAt,
    idmeta_verification_owned: _owned,
    idmeta_at: _idmetaAt,
    review_selfie_key: _reviewSelfieKey,
    request_digests: _requestDigests,
    ...record
  } = item;
  return record;
}

/**
 * What a downstream service learns of a final verdict: the public record without even the masked
 * NIK. Consumers correlate by `verification_id`, which the operator's own systems already know.
 */
export function toEventDetail(item: StoredVerdict): Omit<VerdictRecord, 'nik_masked'> {
  const { nik_masked: _nikMasked, ...detail } = toPublicRecord(item);
  return detail;
}
