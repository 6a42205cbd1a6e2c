import { describe, expect, it } from 'vitest';
import { assertValidPolicy, decide, REASON } from '../../lambda/core/policy.ts';
import type { IdmetaCheckResult } from '../../lambda/core/types.ts';
import { verifiedResult } from '../support/in-memory.ts';

const policy = { approveThreshold: 75, rejectThreshold: 40 };

const result = (overrides: Partial<IdmetaCheckResult> = {}): IdmetaCheckResult =>
  verifiedResult({ uuid: 'f26c9465-9e81-4f58-980f-a94d42aa519d', ...overrides });

describe('decide', () => {
  it('approves a verified identity whose every match is true and face is above the bar', () => {
    expect(decide(result(), policy)).toEqual({
      decision: 'APPROVED',
      reasons: [REASON.ALL_CHECKS_PASSED],
    });
  });

  it('approves at exactly the approve threshold (the threshold is inclusive)', () => {
    expect(decide(result({ faceSimilarity: 75 }), policy).decision).toBe('APPROVED');
  });

  it('rejects when IDmeta rejected, even with good fields', () => {
    const outcome = decide(result({ outcome: 'REJECTED', rawStatus: 'REJECTED' }), policy);
    expect(outcome).toEqual({ decision: 'REJECTED', reasons: [REASON.IDMETA_REJECTED] });
  });

  it('rejects an unknown NIK and does not pad the reasons with the fields it left unchecked', () => {
    const outcome = decide(
      result({
        outcome: 'REJECTED',
        matches: { nik: false, name: null, date_of_birth: null },
        faceSimilarity: null,
      }),
      policy,
    );
    expect(outcome).toEqual({
      decision: 'REJECTED',
      reasons: [REASON.IDMETA_REJECTED, REASON.NIK_NOT_FOUND],
    });
  });

  it('rejects a face clearly below the reject threshold and keeps other mismatches as context', () => {
    const outcome = decide(
      result({ faceSimilarity: 39.9, matches: { nik: true, name: false, date_of_birth: true } }),
      policy,
    );
    expect(outcome.decision).toBe('REJECTED');
    expect(outcome.reasons).toEqual([REASON.NAME_MISMATCH, REASON.FACE_BELOW_THRESHOLD]);
  });

  it.each([
    [{ matches: { nik: true, name: false, date_of_birth: true } }, [REASON.NAME_MISMATCH]],
    [{ matches: { nik: true, name: true, date_of_birth: false } }, [REASON.DOB_MISMATCH]],
    [{ matches: { nik: true, name: null, date_of_birth: true } }, [REASON.NAME_UNVERIFIED]],
    [{ matches: { nik: null, name: true, date_of_birth: true } }, [REASON.NIK_UNVERIFIED]],
    [{ matches: { nik: true, name: true } }, [REASON.DOB_UNVERIFIED]],
    [{ faceSimilarity: 74.99 }, [REASON.FACE_INCONCLUSIVE]],
    [{ faceSimilarity: 40 }, [REASON.FACE_INCONCLUSIVE]],
    [{ faceSimilarity: null }, [REASON.FACE_SCORE_MISSING]],
    [{ riskRating: 'HIGH' }, [REASON.HIGH_RISK]],
    [{ riskRating: ' high ' }, [REASON.HIGH_RISK]],
    [{ outcome: 'UNKNOWN' as const, rawStatus: true }, [REASON.IDMETA_STATUS_UNKNOWN]],
  ])('sends %o to REVIEW with reasons %o', (overrides, reasons) => {
    expect(decide(result(overrides), policy)).toEqual({ decision: 'REVIEW', reasons });
  });

  it('lists every finding that sends a verification to review', () => {
    const outcome = decide(
      result({
        matches: { nik: true, name: false, date_of_birth: false },
        faceSimilarity: 60,
        riskRating: 'HIGH',
      }),
      policy,
    );
    expect(outcome).toEqual({
      decision: 'REVIEW',
      reasons: [
        REASON.NAME_MISMATCH,
        REASON.DOB_MISMATCH,
        REASON.FACE_INCONCLUSIVE,
        REASON.HIGH_RISK,
      ],
    });
  });

  describe('api_request_status (0 pending, 1 success, 2 failed)', () => {
    it.each([0, 2, 3, -1])(
      'a VERIFIED answer with api_request_status %i goes to REVIEW, never APPROVED',
      (apiRequestStatus) => {
        expect(decide(result({ apiRequestStatus }), policy)).toEqual({
          decision: 'REVIEW',
          reasons: [REASON.IDMETA_REQUEST_INCOMPLETE],
        });
      },
    );

    it('1 (success) or null (not returned) changes nothing', () => {
      expect(decide(result({ apiRequestStatus: 1 }), policy).decision).toBe('APPROVED');
      expect(decide(result({ apiRequestStatus: null }), policy)).toEqual({
        decision: 'APPROVED',
        reasons: [REASON.ALL_CHECKS_PASSED],
      });
    });

    it('an absent field (an older record) changes nothing', () => {
      const { apiRequestStatus: _absent, ...rest } = result();
      expect(decide(rest as IdmetaCheckResult, policy).decision).toBe('APPROVED');
    });

    it('does not soften a rejection, and is listed with the other review findings', () => {
      expect(
        decide(result({ outcome: 'REJECTED', rawStatus: 'REJECTED', apiRequestStatus: 2 }), policy),
      ).toEqual({
        decision: 'REJECTED',
        reasons: [REASON.IDMETA_REJECTED, REASON.IDMETA_REQUEST_INCOMPLETE],
      });
      expect(decide(result({ apiRequestStatus: 0, riskRating: 'HIGH' }), policy)).toEqual({
        decision: 'REVIEW',
        reasons: [REASON.IDMETA_REQUEST_INCOMPLETE, REASON.HIGH_RISK],
      });
    });
  });

  it('follows the configured thresholds', () => {
    const strict = { approveThreshold: 90, rejectThreshold: 80 };
    expect(decide(result({ faceSimilarity: 85 }), strict).decision).toBe('REVIEW');
    expect(decide(result({ faceSimilarity: 79 }), strict).decision).toBe('REJECTED');
    expect(decide(result({ faceSimilarity: 90 }), strict).decision).toBe('APPROVED');
  });
});

describe('assertValidPolicy', () => {
  it('accepts equal thresholds (no review band)', () => {
    expect(() => assertValidPolicy({ approveThreshold: 70, rejectThreshold: 70 })).not.toThrow();
  });

  it.each([
    { approveThreshold: 60, rejectThreshold: 70 },
    { approveThreshold: 101, rejectThreshold: 40 },
    { approveThreshold: 75, rejectThreshold: -1 },
    { approveThreshold: Number.NaN, rejectThreshold: 40 },
  ])('refuses %o', (candidate) => {
    expect(() => assertValidPolicy(candidate)).toThrow(RangeError);
  });
});
