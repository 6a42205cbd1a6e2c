import type {
  DecisionOutcome,
  DecisionPolicy,
  IdmetaCheckResult,
  PolicyRules,
  SignalSummary,
} from './types.ts';

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
  /** A match field the profile's `requiredMatches` names is false. */
  REQUIRED_MATCH_FAILED: 'REQUIRED_MATCH_FAILED',
  /** A match field the profile's `requiredMatches` names was not checked (null or absent). */
  REQUIRED_MATCH_UNVERIFIED: 'REQUIRED_MATCH_UNVERIFIED',
  /** This NIK reached IDmeta `velocity.reviewAfter` times or more in the window: at best REVIEW. */
  NIK_VELOCITY: 'NIK_VELOCITY',
  /** Another verification of this NIK was APPROVED within `duplicateDays`. */
  NIK_PREVIOUSLY_VERIFIED: 'NIK_PREVIOUSLY_VERIFIED',
} as const;

export type ReasonCode = (typeof REASON)[keyof typeof REASON];

/** `unchecked`: IDmeta returned null. It weighs like `review`, but once something rejects it is
 * only noise (a NIK that is not found leaves every other field null), so it is dropped then.
 * `notice`: reported, decides nothing (a previous approval where the profile ignores it). */
type Severity = 'reject' | 'review' | 'unchecked' | 'notice';

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
export function decide(
  result: IdmetaCheckResult,
  policy: DecisionPolicy & Partial<PolicyRules>,
  signals?: Pick<SignalSummary, 'attempts' | 'previouslyApproved'>,
): DecisionOutcome {
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
  for (const field of policy.requiredMatches ?? []) {
    // nik, name and date_of_birth are required anyway, with their own reasons.
    if (field === 'nik' || field === 'name' || field === 'date_of_birth') continue;
    add(
      matchFinding(
        result.matches[field],
        { reason: REASON.REQUIRED_MATCH_FAILED, severity: 'review' },
        REASON.REQUIRED_MATCH_UNVERIFIED,
      ),
    );
  }
  if (result.riskRating?.trim().toUpperCase() === 'HIGH') {
    add({ reason: REASON.HIGH_RISK, severity: policy.highRisk === 'reject' ? 'reject' : 'review' });
  }
  if (signals && policy.velocity && signals.attempts >= policy.velocity.reviewAfter) {
    add({ reason: REASON.NIK_VELOCITY, severity: 'review' });
  }
  if (signals?.previouslyApproved) {
    add({
      reason: REASON.NIK_PREVIOUSLY_VERIFIED,
      severity: policy.duplicate === 'review' ? 'review' : 'notice',
    });
  }

  // One reason per code: two required fields that failed say REQUIRED_MATCH_FAILED once.
  const reasonsOf = (list: Finding[]) => [...new Set(list.map((finding) => finding.reason))];
  const deciding = findings.filter((finding) => finding.severity !== 'notice');
  if (deciding.length === 0) {
    return {
      decision: 'APPROVED',
      reasons: [REASON.ALL_CHECKS_PASSED, ...reasonsOf(findings)],
    };
  }
  if (findings.some((finding) => finding.severity === 'reject')) {
    const relevant = findings.filter((finding) => finding.severity !== 'unchecked');
    return { decision: 'REJECTED', reasons: reasonsOf(relevant) };
  }
  return { decision: 'REVIEW', reasons: reasonsOf(findings) };
}
