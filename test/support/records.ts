import type { StoredVerdict } from '../../lambda/core/types.ts';

/** A well-formed public verdict record, as the API answers it: for schema and checker tests. */
export const COMPLETED_RECORD = {
  verification_id: 'v-1',
  template_id: 't',
  status: 'COMPLETED',
  decision: 'APPROVED',
  reasons: ['ALL_CHECKS_PASSED'],
  face_similarity: 98.7,
  matches: { nik: true, name: null },
  risk_rating: 'LOW',
  idmeta: {
    status: 'VERIFIED',
    message: 'OK',
    reason_code: '0',
    uuid: 'u',
    api_request_status: 1,
  },
  nik_masked: '3174********0012',
  source: 'api',
  attempts: 1,
  created_at: '2026-11-26T00:00:00.000Z',
  updated_at: '2026-11-26T00:00:00.000Z',
  expires_at: 1798264065,
};

/** A stored verdict that came out REVIEW at `at` (an ISO time), as the table holds it. */
export function reviewVerdictItem(
  at: string,
  overrides: Partial<StoredVerdict> = {},
): StoredVerdict {
  return {
    verification_id: 'ver-1',
    template_id: 'tf',
    status: 'COMPLETED',
    decision: 'REVIEW',
    reasons: ['FACE_INCONCLUSIVE'],
    face_similarity: 72,
    matches: {},
    risk_rating: 'LOW',
    idmeta: null,
    nik_masked: '3201********0001',
    nik_hash: 'hash',
    source: 'api',
    attempts: 1,
    created_at: at,
    updated_at: at,
    completed_at: at,
    expires_at: 0,
    ...overrides,
  };
}
