/** The domain vocabulary shared by core, adapters and handlers. No behaviour lives here. */

export interface CalendarDate {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
}

export type SelfieMime = 'image/jpeg' | 'image/png';

/** A selfie whose bytes were checked: a real JPEG/PNG within the size and pixel limits. */
export interface SelfieImage {
  bytes: Uint8Array;
  mime: SelfieMime;
  width: number;
  height: number;
}

export interface SelfieLimits {
  /** Largest decoded selfie accepted, in bytes (`SELFIE_MAX_BYTES`). */
  maxBytes: number;
  /** Smallest accepted width and height, in pixels. */
  minWidth: number;
  minHeight: number;
  /** Largest accepted width and height: a declared size beyond this is refused unread. */
  maxDimension: number;
  /**
   * Largest accepted width x height (`SELFIE_MAX_PIXELS`): a small file may declare a huge
   * canvas (a decompression bomb) that would cost IDmeta, or its decoder, far more than a selfie.
   */
  maxPixels: number;
}

/** The personal part of a request: never logged, never stored in clear. */
export interface Identity {
  nik: string;
  name: string;
  dateOfBirth: CalendarDate;
}

export type VerificationSource = 'api' | 's3';

export type SelfieInput =
  | { kind: 'inline'; image: SelfieImage }
  | { kind: 's3'; key: string }
  | { kind: 'none' };

/** A validated request, as both entrances hand it to `verify()`. */
export interface VerificationRequest {
  verificationId?: string | undefined;
  templateId?: string | undefined;
  identity: Identity;
  selfie: SelfieInput;
  source: VerificationSource;
}

export type VerificationStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED';
export type Decision = 'APPROVED' | 'REVIEW' | 'REJECTED';

export type FieldMatches = Record<string, boolean | null>;

/** What IDmeta's facematch check answered, normalised (see adapters/idmeta-response.ts). */
export interface IdmetaCheckResult {
  /** `VERIFIED`/`REJECTED` when the top-level status says so; `UNKNOWN` otherwise. */
  outcome: 'VERIFIED' | 'REJECTED' | 'UNKNOWN';
  /** The top-level `status` as IDmeta sent it (string or boolean). */
  rawStatus: string | boolean | null;
  message: string | null;
  /** Field matches as returned: true, false, or null (not returned / not checked). */
  matches: FieldMatches;
  /** `selfie_image_percentage` as a number 0-100, or null when absent. */
  faceSimilarity: number | null;
  riskRating: string | null;
  reasonCode: string | null;
  uuid: string | null;
  apiRequestStatus: number | null;
}

export interface IdmetaSummary {
  status: string | boolean | null;
  message: string | null;
  reason_code: string | null;
  uuid: string | null;
  api_request_status: number | null;
}

/** The verdict record: the DynamoDB item's public part and the API's response body. */
export interface VerdictRecord {
  verification_id: string;
  template_id: string;
  status: VerificationStatus;
  decision: Decision | null;
  reasons: string[];
  face_similarity: number | null;
  matches: FieldMatches;
  risk_rating: string | null;
  idmeta: IdmetaSummary | null;
  nik_masked: string;
  source: VerificationSource;
  selfie_key?: string;
  attempts: number;
  error?: { code: string; message: string };
  created_at: string;
  updated_at: string;
  completed_at?: string;
  /** Epoch seconds; the table's TTL attribute. */
  expires_at: number;
  // Round 2: what decided, on what evidence, and who looked at it since.
  policy?: { profile: string; version: string };
  signals?: VerificationSignals;
  /** The decision the policy reached, kept when a reviewer overrides it. */
  machine_decision?: Decision | null;
  review?: ReviewState | null;
  history?: HistoryEntry[];
}

export interface VerificationSignals {
  nik_attempts_24h: number;
  nik_previously_approved: boolean;
}

export type ReviewDecision = 'APPROVED' | 'REJECTED';

export const REVIEW_REASONS = [
  'FACE_CONFIRMED',
  'FACE_NOT_CONFIRMED',
  'IDENTITY_CONFIRMED',
  'IDENTITY_NOT_CONFIRMED',
  'FRAUD_SUSPECTED',
  'OTHER',
] as const;
export type ReviewReason = (typeof REVIEW_REASONS)[number];

export interface ReviewState {
  state: 'OPEN' | 'CLOSED';
  opened_at: string;
  decision?: ReviewDecision;
  reason?: ReviewReason;
  /** Free text: lives in the record only, never logged, announced or measured. */
  note?: string;
  /** The caller's IAM principal (`local` locally); never a value from a request body. */
  reviewer?: string;
  reviewed_at?: string;
}

export interface HistoryEntry {
  at: string;
  /** `system` for the policy's decision, else the reviewer. */
  actor: string;
  action: 'DECIDED' | 'REVIEWED';
  decision: Decision;
  reason?: string;
}

/**
 * What binds a verification id to the request that first used it: keyed digests (HMAC under the
 * data key) of each field, never the values. `selfie` only once a request carried one: a request
 * without a selfie (the async path) binds none, and the selfie that completes it binds it then.
 */
export interface RequestDigests {
  nik: string;
  name: string;
  date_of_birth: string;
  template_id: string;
  selfie?: string;
}

/**
 * The stored item: the public record plus what only the service may see. `nik_hash` is a keyed
 * hash (never the NIK); `sealed_identity` is the encrypted identity a PENDING record keeps until
 * its selfie arrives, removed when the verification ends.
 */
export interface StoredVerdict extends VerdictRecord {
  nik_hash: string;
  sealed_identity?: string;
  lease_owner?: string;
  /** Epoch milliseconds after which another worker may take the verification over. */
  lease_expires_at?: number;
  /** Whether facematch created the IDmeta verification (and so owns its finalisation). */
  idmeta_verification_owned?: boolean;
  /** Epoch ms when this verification's check was sent to IDmeta (velocity counts these). */
  idmeta_at?: number;
  /** The selfie kept for an open review (`review/<id>.<jpg|png>`), until the review closes. */
  review_selfie_key?: string;
  /** The request this id is bound to; absent on records older than the binding, and anonymous ones. */
  request_digests?: RequestDigests;
}

export interface DecisionPolicy {
  /** Face similarity (0-100) at or above which a clean match is APPROVED. */
  approveThreshold: number;
  /** Face similarity below which the verification is REJECTED. */
  rejectThreshold: number;
}

/** A profile's rules with every field resolved (see core/profiles.ts). */
export interface PolicyRules extends DecisionPolicy {
  /** Match fields beyond nik, name and date_of_birth that must be `true` to approve. */
  requiredMatches: string[];
  /** What a HIGH risk rating does: at best REVIEW, or REJECTED. */
  highRisk: 'review' | 'reject';
  velocity: {
    /** Earlier verifications of the NIK in the window from which the best decision is REVIEW. */
    reviewAfter: number;
    /** Earlier verifications in the window from which a request is refused before IDmeta. */
    refuseAfter: number;
    windowHours: number;
  };
  /** Whether another APPROVED verification of the NIK forces REVIEW, or is only reported. */
  duplicate: 'ignore' | 'review';
  duplicateDays: number;
}

/** The rules one verdict is decided by: its key in `POLICY_PROFILES`, and their version. */
export interface ResolvedProfile {
  /** `default` or a `template_id`. */
  name: string;
  /** First 12 hex of the SHA-256 of the rules' canonical JSON. */
  version: string;
  rules: PolicyRules;
}

/** What a person's history says about this verification (keyed NIK hash only). */
export interface SignalSummary {
  /** Earlier verifications of this NIK that reached IDmeta inside the velocity window. */
  attempts: number;
  /** Another verification of this NIK was APPROVED within `duplicateDays`. */
  previouslyApproved: boolean;
  /** Epoch ms each counted attempt reached IDmeta, oldest first (for `Retry-After`). */
  attemptTimes: number[];
}

export interface DecisionOutcome {
  decision: Decision;
  reasons: string[];
}
