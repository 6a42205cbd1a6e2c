import type { DecisionOutcome, DecisionPolicy, IdmetaCheckResult } from './types.ts';

/**
 * Stable reason codes. Operators build rules and dashboards on them: add codes, never rename.
 * A verdict lists every finding, not just the one that decided it, so a reviewer sees the
 * whole picture (a REJECTED verdict may also say NAME_MISMATCH).
 */
export const REASON = {
  ALL_CHECKS_PASSED: 'ALL_CHECKS_PASSED',
  IDMETA_REJECTED: 'IDMETA_REJECTED',
  IDMETA_STATUS_UNKNOWN: 'IDMETA_STATUS_UNKNOWN',
  NIK_NOT_FOUND: 'NIK_NOT_FOUND',
  NIK_UNVERIFIED: 'NIK_UNVERIFIED',
  NAME_MISMATCH: 'NAME_MISMATCH',
  NAME_UNVERIFIED: 'NAME_UNVERIFIED',
  DOB_MISMATCH: 'DOB_MISMATCH',
  DOB_UNVERIFIED: 'DOB_UNVERIFIED',
  FACE_BELOW_THRESHOLD: 'FACE_BELOW_THRESHOLD',
  FACE_INCONCLUSIVE: 'FACE_INCONCLUSIVE',
  FACE_SCORE_MISSING: 'FACE_SCORE_MISSING',
  HIGH_RISK: 'HIGH_RISK',
  /** `api_request_status` was returned and is not 1 (0 pending, 2 failed): never approved. */
  IDMETA_REQUEST_INCOMPLETE: 'IDMETA_REQUEST_INCOMPLETE',
} as const;

export type ReasonCode = (typeof REASON)[keyof typeof REASON];

/** `unchecked`: IDmeta returned null. It weighs like `review`, but once something rejects it is
 * only noise (a NIK that is not found leaves every other field null), so it is dropped then. */
type Severity = 'reject' | 'review' | 'unchecked';

interface Finding {
  reason: ReasonCode;
  severity: Severity;
}

/** Fails fast on thresholds that would make the policy meaningless (checked at start-up). */
export function assertValidPolicy(policy: DecisionPolicy): void {
  const { approveThreshold, rejectThreshold } = policy;
  const inRange = (value: number) => Number.isFinite(value) && value >= 0 && value <= 100;
  if (!inRange(approveThreshold) || !inRange(rejectThreshold)) {
    throw new RangeError('approve and reject thresholds must be numbers between 0 and 100');
  }
  if (rejectThreshold > approveThreshold) {
    throw new RangeError('the reject threshold must not be above the approve threshold');
  }
}

function matchFinding(
  value: boolean | null | undefined,
  onFalse: Finding,
  onMissing: ReasonCode,
): Finding | null {
  if (value === true) return null;
  if (value === false) return onFalse;
  return { reason: onMissing, severity: 'unchecked' };
}

function faceFinding(similarity: number | null, policy: DecisionPolicy): Finding | null {
  if (similarity === null) return { reason: REASON.FACE_SCORE_MISSING, severity: 'unchecked' };
  if (similarity < policy.rejectThreshold) {
    return { reason: REASON.FACE_BELOW_THRESHOLD, severity: 'reject' };
  }
  if (similarity < policy.approveThreshold) {
    return { reason: REASON.FACE_INCONCLUSIVE, severity: 'review' };
  }
  return null;
}

/**
 * APPROVED only when IDmeta verified, its request completed (`api_request_status` 1 or not
 * returned) and every signal is positive; REJECTED when IDmeta rejected,
 * the NIK is unknown or the face clearly differs; REVIEW for everything in between, including
 * anything IDmeta left null: an unchecked field is not a passed one.
 */
export function decide(result: IdmetaCheckResult, policy: DecisionPolicy): DecisionOutcome {
  const findings: Finding[] = [];
  const add = (finding: Finding | null) => {
    if (finding) findings.push(finding);
  };

  if (result.outcome === 'REJECTED') {
    add({ reason: REASON.IDMETA_REJECTED, severity: 'reject' });
  } else if (result.outcome === 'UNKNOWN') {
    add({ reason: REASON.IDMETA_STATUS_UNKNOWN, severity: 'review' });
  }
  // IDmeta documents 0 pending, 1 success, 2 failed; null means it was not returned.
  if (typeof result.apiRequestStatus === 'number' && result.apiRequestStatus !== 1) {
    add({ reason: REASON.IDMETA_REQUEST_INCOMPLETE, severity: 'review' });
  }
  add(
    matchFinding(
      result.matches.nik,
      { reason: REASON.NIK_NOT_FOUND, severity: 'reject' },
      REASON.NIK_UNVERIFIED,
    ),
  );
  add(
    matchFinding(
      result.matches.name,
      { reason: REASON.NAME_MISMATCH, severity: 'review' },
      REASON.NAME_UNVERIFIED,
    ),
  );
  add(
    matchFinding(
      result.matches.date_of_birth,
      { reason: REASON.DOB_MISMATCH, severity: 'review' },
      REASON.DOB_UNVERIFIED,
    ),
  );
  add(faceFinding(result.faceSimilarity, policy));
  if (result.riskRating?.trim().toUpperCase() === 'HIGH') {
    add({ reason: REASON.HIGH_RISK, severity: 'review' });
  }

  if (findings.length === 0) {
    return { decision: 'APPROVED', reasons: [REASON.ALL_CHECKS_PASSED] };
  }
  if (findings.some((finding) => finding.severity === 'reject')) {
    const relevant = findings.filter((finding) => finding.severity !== 'unchecked');
    return { decision: 'REJECTED', reasons: relevant.map((finding) => finding.reason) };
  }
  return { decision: 'REVIEW', reasons: findings.map((finding) => finding.reason) };
}
