/** Codes in words, for a person at the queue. Unknown codes are shown as they are. */

const REASONS: Record<string, string> = {
  ALL_CHECKS_PASSED: 'Every check passed.',
  IDMETA_REJECTED: 'IDmeta rejected the verification.',
  IDMETA_STATUS_UNKNOWN: 'IDmeta answered with a status that is neither verified nor rejected.',
  IDMETA_REQUEST_INCOMPLETE: 'IDmeta did not finish the check (pending or failed request).',
  NIK_NOT_FOUND: 'The NIK is not in the civil registry (Dukcapil).',
  NIK_UNVERIFIED: 'The NIK was not checked.',
  NAME_MISMATCH: 'The name does not match the registry.',
  NAME_UNVERIFIED: 'The name was not checked.',
  DOB_MISMATCH: 'The date of birth does not match the registry.',
  DOB_UNVERIFIED: 'The date of birth was not checked.',
  FACE_BELOW_THRESHOLD:
    'The selfie does not look like the registry photo (below the reject threshold).',
  FACE_INCONCLUSIVE:
    'The selfie may or may not be the registry photo (between the two thresholds).',
  FACE_SCORE_MISSING: 'No face similarity was returned.',
  HIGH_RISK: 'IDmeta rates this identity high risk.',
  NIK_VELOCITY: 'This NIK was verified several times recently.',
  NIK_VELOCITY_EXCEEDED: 'This NIK was verified too many times recently; refused before any check.',
  NIK_PREVIOUSLY_VERIFIED: 'Another verification of this NIK was approved recently.',
  MANUAL_APPROVED: 'A reviewer approved it.',
  MANUAL_REJECTED: 'A reviewer rejected it.',
};

export const reasonInWords = (code: string) => REASONS[code] ?? code;

/** The review reasons the API accepts (DESIGN.md "Review, subjects, worklists"). */
export const REVIEW_REASONS: ReadonlyArray<readonly [string, string]> = [
  ['FACE_CONFIRMED', 'Face confirmed'],
  ['FACE_NOT_CONFIRMED', 'Face not confirmed'],
  ['IDENTITY_CONFIRMED', 'Identity confirmed'],
  ['IDENTITY_NOT_CONFIRMED', 'Identity not confirmed'],
  ['FRAUD_SUSPECTED', 'Fraud suspected'],
  ['OTHER', 'Other (say why in the note)'],
];

export const reviewReasonInWords = (code: string | undefined) =>
  REVIEW_REASONS.find(([value]) => value === code)?.[1] ?? code ?? '';

const FIELDS: Record<string, string> = {
  nik: 'NIK',
  name: 'Name',
  date_of_birth: 'Date of birth',
  place_of_birth: 'Place of birth',
  address: 'Address',
  gender: 'Gender',
  marital_status: 'Marital status',
  job_type: 'Occupation',
  province: 'Province',
  city: 'City',
  district: 'District',
  subdistrict: 'Subdistrict',
  rt: 'RT',
  rw: 'RW',
  liveness_result: 'Liveness',
  no_kk: 'Family card number (KK)',
  mother_maiden_name: "Mother's maiden name",
};

export const fieldInWords = (field: string) => FIELDS[field] ?? field.replace(/_/g, ' ');

export const STATUS_WORDS: Record<string, string> = {
  PENDING: 'waiting for the selfie or a retry',
  PROCESSING: 'being checked now',
  COMPLETED: 'finished',
  FAILED: 'failed',
};
