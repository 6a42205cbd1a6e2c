/**
 * Reading IDmeta's answers. The provider's page documents one happy sample; public integrations
 * show variations (boolean or string `status`, `result` as a JSON string, percentages with a
 * decimal comma), so the parser is tolerant about shape and strict about meaning. It throws only
 * `IdmetaProtocolError` (we cannot understand the body) or `IdmetaCheckFailedError` (IDmeta said
 * the check failed), never anything else, and never puts IDmeta's own text in a message: it may
 * echo the NIK or the name. For the same reason no free text of IDmeta reaches the result: the
 * top-level `message` is kept only when it is one of a few generic status texts (else null),
 * `status` and `risk_rating` only when they are such a text or a single code-like word, and
 * `result.message` and `error_message` are never read.
 */

import { IdmetaCheckFailedError, IdmetaProtocolError } from '../core/errors.ts';
import { DOCUMENTED_MATCH_FIELDS } from '../core/match-fields.ts';
import { containsNikLikeDigits } from '../core/nik.ts';
import type { FieldMatches, IdmetaCheckResult } from '../core/types.ts';

type JsonObject = Record<string, unknown>;

/** Fields of `result.data` the provider documents that are not registry matches. */
const NON_MATCH_FIELDS = new Set([
  'uuid',
  'url',
  'reason_code',
  'error_message',
  'liveness_fail_message',
  'selfie_image_percentage',
  'message',
  'status',
  'success',
]);

/**
 * The match fields the provider documents (dukcapil-facematch-api-doc.txt), and only those: any
 * other key of `result.data` is IDmeta's invention, and its name may be a NIK or a person's name
 * (`{"3201...": true}`). Unknown keys are dropped, never stored, and only counted.
 */
const DOCUMENTED_MATCH_FIELD_SET = new Set<string>(DOCUMENTED_MATCH_FIELDS);

/** Always present in `matches` (null when IDmeta left them out) because the policy reads them. */
const CORE_MATCH_FIELDS = ['nik', 'name', 'date_of_birth'] as const;

/** The id becomes a DynamoDB key and part of S3 keys: keep it to a safe alphabet. */
const VERIFICATION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/**
 * A reason code is stored and published: a few digits (`0`, `12`), or an upper-case code that is
 * visibly one (`E101`, `NOT_FOUND`: a single bare word could be a name, `BUDI`). No run of six
 * digits (a DDMMYY or YYYYMMDD date, a NIK) in either.
 */
const REASON_CODE_PATTERN = /^(?:\d{1,5}|[A-Z]{1,4}\d{1,5}|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)$/;
const REASON_CODE_MAX_LENGTH = 32;
const DATE_LIKE_DIGITS = /\d{6}/;
/** IDmeta's `uuid` is the RFC 9562 text form: anything else is not kept. */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DECIMAL_PATTERN = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
/**
 * The only `message` texts kept (compared trimmed and case-insensitively). IDmeta's texts are
 * undocumented and may echo a name, a date of birth or a NIK with separators, which no masking
 * can reliably find: under UU PDP anything else is dropped (null), not cleaned.
 */
const GENERIC_TEXTS = new Set([
  'ok',
  'success',
  'berhasil',
  'failed',
  'gagal',
  'verified',
  'rejected',
  'not found',
  'data tidak ditemukan',
]);
/**
 * The status and rating words kept (compared case-insensitively): a single word can still be a
 * name (`BUDI`), so these too are an allow-list, not a pattern.
 */
const CODE_WORDS = new Set([
  'verified',
  'rejected',
  'review',
  'review_needed',
  'failed',
  'pending',
  'in_progress',
  'incomplete',
  'empty',
  'success',
  'error',
  'not_found',
  'low',
  'medium',
  'high',
  'very_high',
  'unknown',
  'none',
]);

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseJson(bodyText: string, httpStatus: number, what: string): unknown {
  try {
    return JSON.parse(bodyText);
  } catch {
    // No cause: the SyntaxError's message quotes the body, which may echo personal data.
    throw new IdmetaProtocolError(
      `IDmeta answered ${what} with a body that is not JSON`,
      httpStatus,
    );
  }
}

/** `true`/`false`, or their string spellings; anything else is not a boolean. */
function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true') return true;
    if (text === 'false') return false;
  }
  return undefined;
}

/**
 * A percentage 0-100 from a number or a string ("99.8", "99,8", " 99.8 % "). Anything else,
 * including a value outside 0-100, is null: a score we cannot trust must not approve or reject,
 * and null sends the policy to REVIEW (FACE_SCORE_MISSING). A fraction such as 0.998 is taken
 * at face value (0.998 %): IDmeta documents a 0-100 scale and guessing the scale would be worse.
 */
export function parsePercentage(value: unknown): number | null {
  let number: number;
  if (typeof value === 'number') {
    number = value;
  } else if (typeof value === 'string') {
    const text = value.trim().replace(/\s*%$/, '').replace(',', '.');
    if (!DECIMAL_PATTERN.test(text)) return null;
    number = Number(text);
  } else {
    return null;
  }
  return Number.isFinite(number) && number >= 0 && number <= 100 ? number : null;
}

/** One of the generic status texts, trimmed with its spaces collapsed; otherwise null. */
function genericText(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim().replace(/\s+/g, ' ');
  return GENERIC_TEXTS.has(text.toLowerCase()) ? text : null;
}

/** One of the known status or rating words, or a generic status text, trimmed; otherwise null. */
function codeWord(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return CODE_WORDS.has(text.toLowerCase()) ? text : genericText(text);
}

function codeText(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return typeof value === 'string' ? value.trim() : '';
}

/** `reason_code` when it is a short code with nothing NIK-like or date-like in it; else null. */
function readReasonCode(value: unknown): string | null {
  const text = codeText(value);
  return text.length <= REASON_CODE_MAX_LENGTH &&
    REASON_CODE_PATTERN.test(text) &&
    !DATE_LIKE_DIGITS.test(text) &&
    !containsNikLikeDigits(text)
    ? text
    : null;
}

function readUuid(value: unknown): string | null {
  const text = codeText(value);
  return UUID_PATTERN.test(text) ? text.toLowerCase() : null;
}

function toInteger(value: unknown): number | null {
  const number =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  return Number.isSafeInteger(number) && !(typeof value === 'string' && value.trim() === '')
    ? number
    : null;
}

/** `result` as an object, whether IDmeta sent an object or a JSON string of one. */
function readResult(value: unknown): JsonObject | undefined {
  if (isObject(value)) return value;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      return isObject(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function readMatches(data: JsonObject): { matches: FieldMatches; unknownFields: number } {
  const matches: FieldMatches = {};
  for (const field of CORE_MATCH_FIELDS) matches[field] = null;
  let unknownFields = 0;
  for (const [key, value] of Object.entries(data)) {
    if (NON_MATCH_FIELDS.has(key)) continue;
    if (!DOCUMENTED_MATCH_FIELD_SET.has(key)) {
      unknownFields += 1;
      continue;
    }
    const flag = value === null ? null : toBoolean(value);
    if (flag !== undefined) matches[key] = flag;
  }
  return { matches, unknownFields };
}

/** Only the two documented words decide an outcome; `true` means the call worked, not the person. */
function readOutcome(status: unknown): IdmetaCheckResult['outcome'] {
  if (typeof status !== 'string') return 'UNKNOWN';
  const word = status.trim().toUpperCase();
  return word === 'VERIFIED' || word === 'REJECTED' ? word : 'UNKNOWN';
}

function readRawStatus(status: unknown): string | boolean | null {
  if (typeof status === 'boolean') return status;
  if (typeof status === 'string') return codeWord(status);
  return null;
}

function checkFailed(httpStatus: number, ...sources: unknown[]): IdmetaCheckFailedError {
  let reasonCode: string | null = null;
  for (const source of sources) {
    if (!isObject(source)) continue;
    reasonCode = readReasonCode(source.reason_code);
    if (reasonCode !== null) break;
  }
  return new IdmetaCheckFailedError(
    reasonCode === null
      ? 'IDmeta reported the check as failed'
      : `IDmeta reported the check as failed (reason_code ${reasonCode})`,
    httpStatus,
  );
}

export interface FacematchParseOptions {
  /**
   * How many keys of `result.data` were neither a documented match nor a documented other field
   * (dropped): for a metric. Their names are never passed on: one may be a NIK or a name.
   */
  onUnknownFields?: (count: number) => void;
}

function parseFacematchBody(
  httpStatus: number,
  bodyText: string,
  options: FacematchParseOptions,
): IdmetaCheckResult {
  const body = parseJson(bodyText, httpStatus, 'the facematch check');
  if (!isObject(body)) {
    throw new IdmetaProtocolError('IDmeta facematch answer is not a JSON object', httpStatus);
  }
  const result = readResult(body.result);
  const data = isObject(result?.data) ? result.data : undefined;

  // FACTS: a 2xx with `status === false` or `result.success === false` is a failure. Checked
  // before the shape, so a failure without `data` is reported as what it is.
  if (toBoolean(body.status) === false || toBoolean(result?.success) === false) {
    throw checkFailed(httpStatus, data, result, body);
  }
  if (data === undefined) {
    throw new IdmetaProtocolError(
      result === undefined
        ? 'IDmeta facematch answer has no readable result'
        : 'IDmeta facematch answer has no result.data',
      httpStatus,
    );
  }

  const { matches, unknownFields } = readMatches(data);
  if (unknownFields > 0) options.onUnknownFields?.(unknownFields);
  return {
    outcome: readOutcome(body.status),
    rawStatus: readRawStatus(body.status),
    message: genericText(body.message),
    matches,
    faceSimilarity: parsePercentage(data.selfie_image_percentage),
    riskRating: codeWord(body.risk_rating),
    reasonCode: readReasonCode(data.reason_code),
    uuid: readUuid(data.uuid),
    apiRequestStatus: toInteger(body.api_request_status),
  };
}

/** Any surprise (a bug here, a pathological body) still surfaces as a protocol error. */
function guarded<T>(httpStatus: number, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof IdmetaProtocolError || error instanceof IdmetaCheckFailedError) {
      throw error;
    }
    throw new IdmetaProtocolError('IDmeta answer could not be read', httpStatus, { cause: error });
  }
}

/**
 * Normalises a 2xx answer of `POST /api/v1/verification/dukcapilfacematch`.
 *
 * `outcome` comes from the top-level `status` word only: `"VERIFIED"`/`"REJECTED"` in any case;
 * anything else, including boolean `true`, is `UNKNOWN`. A `true` says the call succeeded, not
 * that the person is verified; the policy already judges the matches and the score, so deriving
 * an outcome from them here would count them twice (UNKNOWN caps the verdict at REVIEW).
 *
 * @throws IdmetaCheckFailedError when IDmeta says the check failed (carries only `reason_code`).
 * @throws IdmetaProtocolError when the body is not JSON or not the documented shape.
 */
export function parseFacematchResponse(
  httpStatus: number,
  bodyText: string,
  options: FacematchParseOptions = {},
): IdmetaCheckResult {
  return guarded(httpStatus, () => parseFacematchBody(httpStatus, bodyText, options));
}

/**
 * Reads `verification.id` from a 2xx answer of `POST /api/v1/verification/create-verification`.
 * A number is accepted and turned into a string. The id must match
 * `^[A-Za-z0-9][A-Za-z0-9_.:-]*$` (at most 128 characters) because it becomes a DynamoDB key
 * and part of S3 keys.
 *
 * @throws IdmetaProtocolError when the body is not JSON or the id is missing or unsafe.
 */
export function parseCreateVerificationResponse(httpStatus: number, bodyText: string): string {
  return guarded(httpStatus, () => {
    const body = parseJson(bodyText, httpStatus, 'create-verification');
    const verification = isObject(body) ? body.verification : undefined;
    const id = isObject(verification) ? verification.id : undefined;
    const text =
      typeof id === 'string'
        ? id.trim()
        : typeof id === 'number' && Number.isSafeInteger(id) && id >= 0
          ? String(id)
          : undefined;
    if (text === undefined) {
      throw new IdmetaProtocolError(
        'IDmeta create-verification answer has no verification.id',
        httpStatus,
      );
    }
    // It becomes a key and is logged: no NIK-like digits, even grouped (stricter than a caller's
    // id, which may group date-and-serial digits: IDmeta's ids have no reason to).
    if (!VERIFICATION_ID_PATTERN.test(text) || containsNikLikeDigits(text)) {
      throw new IdmetaProtocolError(
        'IDmeta create-verification answered a verification.id that is not a safe key',
        httpStatus,
      );
    }
    return text;
  });
}
