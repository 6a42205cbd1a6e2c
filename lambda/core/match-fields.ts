/**
 * The match fields IDmeta's Dukcapil facematch endpoint documents (dukcapil-facematch-api-doc.txt),
 * said once: the answer's parser keeps only these, and a policy profile may require only these.
 */
export const DOCUMENTED_MATCH_FIELDS = [
  'nik',
  'name',
  'date_of_birth',
  'liveness_result',
  'no_kk',
  'mother_maiden_name',
  'place_of_birth',
  'address',
  'gender',
  'marital_status',
  'job_type',
  'province',
  'city',
  'district',
  'subdistrict',
  'rt',
  'rw',
] as const;

/** The ones that answer true or false of the person's data: what `requiredMatches` may name. */
export const KNOWN_MATCH_FIELDS = DOCUMENTED_MATCH_FIELDS.filter(
  (field) => field !== 'liveness_result',
);
