/**
 * Validation of what the two entrances receive: the POST /verifications body and the user
 * metadata of an uploaded selfie. Each field is defined once (core/fields.ts), used by both
 * entrances and by the OpenAPI document; what depends on the clock (no birth date in the future)
 * or on two fields (the NIK's embedded date against date_of_birth) is checked once, in
 * `finishIdentity`.
 */
import { calendarDateOf, compareCalendarDates, parseCalendarDate } from './dates.ts';
import { type FieldIssue, ValidationError } from './errors.ts';
import {
  andThen,
  type Field,
  type FieldValue,
  failed,
  maxLength,
  minLength,
  ok,
  optional,
  pattern,
  rewrite,
  test,
  text,
  trim,
} from './fields.ts';
import { NIK_PATTERN, NIK_RULES, nikAgreesWithBirthDate } from './nik.ts';
import { decodeSelfie } from './selfie.ts';
import type { CalendarDate, Identity, SelfieInput, SelfieLimits } from './types.ts';

// Messages never repeat the value: the issue's path says which field, and values are personal.

const SAFE_ID_MAX_LENGTH = 128;

// The id rules as regular expressions (none needs a flag), so that the OpenAPI document carries
// them as `pattern`s instead of describing them. `[\s\S]` rather than `.`: it also spans a newline.
const SAFE_ID_FIRST = 'A-Za-z0-9';
const SAFE_ID_REST = 'A-Za-z0-9_.:-';
const SAFE_ID_SHAPE = new RegExp(`^[${SAFE_ID_FIRST}][${SAFE_ID_REST}]*$`);
const NO_DOUBLE_DOT = /^(?![\s\S]*\.\.)/;
const NO_SIXTEEN_DIGITS_AHEAD = '(?![\\s\\S]*\\d{16})';
const NO_SIXTEEN_DIGITS = new RegExp(`^${NO_SIXTEEN_DIGITS_AHEAD}`);

/**
 * `verification_id` and `template_id` become S3 keys and DynamoDB keys: no `/`, no `..`, no
 * control characters, nothing that could climb out of `incoming/`.
 */
export const safeIdField = text(
  [
    maxLength(SAFE_ID_MAX_LENGTH, `must be at most ${SAFE_ID_MAX_LENGTH} characters`),
    pattern(
      SAFE_ID_SHAPE,
      'must start with a letter or digit and contain only letters, digits and _ . : -',
    ),
    pattern(NO_DOUBLE_DOT, 'must not contain ".."'),
    // Ids are logged, and are table and S3 keys: one that carries a NIK would put it in clear
    // there. Grouped digits stay allowed: date-and-serial ids (ord-20241126-12345678) hold 16 of
    // them, and are far more common in ids than a NIK written in groups.
    pattern(NO_SIXTEEN_DIGITS, 'must not contain 16 or more digits in a row (it could be a NIK)'),
  ],
  {
    description:
      'Letters, digits and _ . : - (first a letter or digit), at most 128 characters, no "..", no run of 16 digits.',
  },
);

/** Whether `value` is a safe id (a verification or template id). */
export const isSafeId = (value: unknown): value is string => safeIdField.parse(value).ok;

export const nikField = text(
  [
    trim,
    pattern(NIK_PATTERN, 'must be exactly 16 digits', true),
    ...NIK_RULES.map((rule) => pattern(rule.pattern, rule.message)),
  ],
  {
    description:
      '16-digit NIK: PP RR DD DDMMYY SSSS (province not 0, women: day + 40, serial not 0000).',
  },
);

const NAME_MAX_LENGTH = 100;

/** NFC, so one name has one spelling; runs of spaces of any kind become one ASCII space. */
export const normaliseName = (name: string): string =>
  name
    .normalize('NFC')
    .replace(/\p{Zs}+/gu, ' ')
    .trim();

/**
 * Letters of any script with their combining marks, and the punctuation of Indonesian names and
 * titles ("Dr. H. Ahmad, S.H.", "Ni Made Ayu", "O'Neil"). Single-word names are common.
 */
export const nameField = text(
  [
    rewrite(normaliseName),
    minLength(1, 'must not be empty', true),
    maxLength(NAME_MAX_LENGTH, `must be at most ${NAME_MAX_LENGTH} characters`),
    pattern(/^[\p{L}\p{M} .',-]*$/u, "may contain only letters, spaces and . ' , -", true),
    pattern(/\p{L}/u, 'must contain a letter'),
  ],
  { description: "Name as registered: letters, spaces and . ' , - (trimmed, spaces collapsed)." },
);

const DATE_SHAPE = /^(?:\d{2}-\d{2}-\d{4}|\d{4}-\d{2}-\d{2})$/;
const DAY = '(?:0[1-9]|[12]\\d|3[01])';
const MONTH = '(?:0[1-9]|1[0-2])';
/** A leap year of four digits: divisible by 4, and by 400 when by 100. */
const LEAP_YEAR = '(?:\\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)';
/** Day and month in range, no 30 or 31 February, no 31st of a 30-day month, 29 February in leap years. */
const DATE_IN_CALENDAR = new RegExp(
  `^(?:(?!3[01]-02|31-(?:0[469]|11)|29-02-(?!${LEAP_YEAR}$))${DAY}-${MONTH}-\\d{4}` +
    `|(?!(?!${LEAP_YEAR})\\d{4}-02-29)\\d{4}-(?!02-3[01]|(?:0[469]|11)-31)${MONTH}-${DAY})$`,
);
const FROM_1900 = /^(?:\d{2}-\d{2}-(?:19|[2-9]\d)\d{2}|(?:19|[2-9]\d)\d{2}-\d{2}-\d{2})$/;

/**
 * `DD-MM-YYYY` or `YYYY-MM-DD`, a real date, not before 1900: all of it patterns, so the OpenAPI
 * document says it too. The future needs the clock: `finishIdentity` checks it.
 */
export const dateOfBirthField: Field<CalendarDate> = andThen(
  text(
    [
      trim,
      pattern(DATE_SHAPE, 'must be DD-MM-YYYY or YYYY-MM-DD', true),
      pattern(DATE_IN_CALENDAR, 'is not a real calendar date', true),
      pattern(FROM_1900, 'must not be before 1900-01-01'),
    ],
    {
      description:
        'Date of birth, DD-MM-YYYY or YYYY-MM-DD: a real date from 1900-01-01 to today (a date in the future is refused, which no pattern can say).',
    },
  ),
  (value) => {
    const date = parseCalendarDate(value);
    return date === null ? failed('is not a real calendar date') : ok(date);
  },
);

const UPLOAD_KEY = /^incoming\/(.+)\.([A-Za-z0-9]{1,8})$/;
const UPLOAD_KEY_MAX_LENGTH = 'incoming/'.length + SAFE_ID_MAX_LENGTH + '.12345678'.length;
// Camera file names say `.JPG`: the extension's case does not matter (the bytes decide the type).
const SELFIE_EXTENSION = /^(?:jpg|jpeg|png)$/i;
const ANY_EXTENSION = /^/;

function idOfKey(extension: RegExp, key: string): string | null {
  // No check for `..` in the key: the id itself may not hold `/` or `..`, and an id that ends in
  // a dot (`a.`) has the key `incoming/a..jpg`, which must not be ignored (left PENDING for ever).
  if (key.length > UPLOAD_KEY_MAX_LENGTH) return null;
  const [, id, ext] = UPLOAD_KEY.exec(key) ?? [];
  if (id === undefined || ext === undefined || !extension.test(ext)) return null;
  return isSafeId(id) ? id : null;
}

/**
 * The verification id a selfie key `incoming/<id>.<jpg|jpeg|png>` names, or `null` when the key
 * has any other shape: the rule for `selfie_s3_key`.
 */
export const verificationIdOfSelfieKey = (key: string): string | null =>
  idOfKey(SELFIE_EXTENSION, key);

/**
 * The verification id an uploaded object `incoming/<id>.<any extension>` names, or `null`. The
 * presigned POST lets the uploader choose the extension, so the S3 entrance takes any: the
 * object's bytes then decide (a GIF ends the verification FAILED, not silently PENDING).
 */
export const verificationIdOfUploadKey = (key: string): string | null =>
  idOfKey(ANY_EXTENSION, key);

/** The user metadata an upload form pins to the verification it was issued for. */
/**
 * Every key under which an upload for this id may lie: the extensions the S3 entrance takes (the
 * form's own key is the `.jpg` one). The sweeper looks for an upload there, an erasure deletes it.
 */
export const uploadKeysOf = (verificationId: string): string[] =>
  ['jpg', 'jpeg', 'png'].map((extension) => `incoming/${verificationId}.${extension}`);

export const UPLOAD_MARKER_METADATA = 'verification-id';

/**
 * The verification an object's metadata says it belongs to (`verification-id`, signed into every
 * presigned POST): `undefined` when it says nothing, `null` when what it says is not a safe id.
 */
export function markedVerificationId(metadata: Record<string, string>): string | null | undefined {
  const entry = Object.entries(metadata).find(
    ([name]) => name.toLowerCase() === UPLOAD_MARKER_METADATA,
  );
  if (entry === undefined) return undefined;
  return isSafeId(entry[1]) ? entry[1] : null;
}

/**
 * `verificationIdOfSelfieKey`'s rule as one pattern, built from the id's: the id's characters and
 * length, no `..` inside the id (a dot before the extension's may end it), no run of 16 digits.
 */
const SELFIE_KEY_PATTERN = new RegExp(
  `^incoming/${NO_SIXTEEN_DIGITS_AHEAD}(?![\\s\\S]*\\.\\.[\\s\\S]*\\.)` +
    `[${SAFE_ID_FIRST}][${SAFE_ID_REST}]{0,${SAFE_ID_MAX_LENGTH - 1}}\\.(?:[jJ][pP][eE]?[gG]|[pP][nN][gG])$`,
);

export const selfieKeyField = text(
  [
    pattern(SELFIE_KEY_PATTERN, 'must be incoming/<verification id>.jpg, .jpeg or .png', true),
    // The function stays the authority (the handler and the S3 entrance read ids with it); the
    // pattern above says the same, as a test holds it to.
    test(
      (key) => verificationIdOfSelfieKey(key) !== null,
      'must be incoming/<verification id>.jpg, .jpeg or .png',
    ),
  ],
  {
    description:
      "Key of an uploaded selfie: incoming/<this request's verification_id>.<jpg|jpeg|png>.",
  },
);

/**
 * Only the type here: the size cap and the content are `decodeSelfie`'s, which answer 413/415
 * rather than a 400 field issue.
 */
export const selfieImageField = text([], {
  description: 'JPEG or PNG as a data:image/...;base64, URI or bare base64.',
});

/** A request carries its selfie one way at most. */
const SELFIE_FIELDS = ['selfie_image', 'selfie_s3_key'] as const;

/** The POST /verifications body's fields. Unknown keys are ignored. */
export const verificationBodyFields = {
  verification_id: optional(safeIdField),
  template_id: optional(safeIdField),
  nik: nikField,
  name: nameField,
  date_of_birth: dateOfBirthField,
  selfie_image: optional(selfieImageField),
  selfie_s3_key: optional(selfieKeyField),
};

/**
 * What the document says of the body as a whole. `parseVerificationBody` checks both rules
 * itself, the first with the same list (a key names its verification, so a key needs a
 * verification_id).
 */
export const verificationBodyRules = {
  not: { required: [...SELFIE_FIELDS] },
  dependentRequired: { selfie_s3_key: ['verification_id'] },
  description: 'At most one of selfie_image and selfie_s3_key; neither: 202 and an upload form.',
};

export interface ParsedVerification {
  verificationId?: string;
  templateId?: string;
  identity: Identity;
  selfie: SelfieInput;
}

export interface ParsedObjectMetadata {
  verificationId?: string;
  templateId?: string;
  identity: Identity;
}

type Shape = Record<string, Field<unknown>>;
type ParsedFields<S extends Shape> = { [K in keyof S]?: FieldValue<S[K]> };

/**
 * Parses each field on its own, so every invalid field is reported at once and each valid one
 * is available for the checks that span fields.
 */
function parseFields<S extends Shape>(
  shape: S,
  source: Record<string, unknown>,
  pathOf: (key: string) => string,
  issues: FieldIssue[],
): ParsedFields<S> {
  const fields: ParsedFields<S> = {};
  for (const key of Object.keys(shape) as (keyof S & string)[]) {
    const value = Object.hasOwn(source, key) ? source[key] : undefined;
    const result = (shape[key] as S[typeof key]).parse(value);
    if (result.ok) {
      fields[key] = result.value as FieldValue<S[typeof key]>;
    } else {
      for (const message of result.issues) issues.push({ path: pathOf(key), message });
    }
  }
  return fields;
}

/** `source` when it is a JSON object; else `INVALID_REQUEST` saying so. */
function jsonObject(source: unknown): Record<string, unknown> {
  if (typeof source === 'object' && source !== null && !Array.isArray(source)) {
    return source as Record<string, unknown>;
  }
  throw invalid([{ path: '', message: 'must be a JSON object' }]);
}

/**
 * The fields of a JSON object (a body, a query string), every one valid; else `INVALID_REQUEST`
 * listing every issue. For requests with no check across fields.
 */
export function validFields<S extends Shape>(
  shape: S,
  source: unknown,
): { [K in keyof S]: FieldValue<S[K]> } {
  const issues: FieldIssue[] = [];
  const fields = parseFields(shape, jsonObject(source), String, issues);
  if (issues.length > 0) throw invalid(issues);
  // Every field parsed: a required one has its value, an optional one its value or undefined.
  return fields as { [K in keyof S]: FieldValue<S[K]> };
}

const invalid = (issues: FieldIssue[], code?: string): ValidationError => {
  const paths = [...new Set(issues.map((issue) => issue.path || 'body'))].join(', ');
  return new ValidationError(`invalid request: ${paths}`, issues, code ? { code } : {});
};

interface IdentityPaths {
  nik: string;
  dateOfBirth: string;
}

/**
 * The checks that need the clock or two fields. Throws `INVALID_REQUEST` with every issue so
 * far, or `NIK_DOB_MISMATCH` when all fields are valid but the NIK was issued for another
 * birth date: no Dukcapil record can match, so the paid IDmeta call is saved.
 */
function finishIdentity(
  fields: { nik?: string | undefined; name?: string | undefined; dateOfBirth?: CalendarDate },
  paths: IdentityPaths,
  now: number,
  issues: FieldIssue[],
): Identity {
  const { nik, name, dateOfBirth } = fields;
  if (dateOfBirth && compareCalendarDates(dateOfBirth, calendarDateOf(now)) > 0) {
    issues.push({ path: paths.dateOfBirth, message: 'must not be in the future' });
  }
  if (issues.length > 0 || nik === undefined || name === undefined || !dateOfBirth) {
    throw invalid(issues);
  }
  if (!nikAgreesWithBirthDate(nik, dateOfBirth)) {
    throw invalid(
      [{ path: paths.dateOfBirth, message: `does not agree with the birth date in ${paths.nik}` }],
      'NIK_DOB_MISMATCH',
    );
  }
  return { nik, name, dateOfBirth };
}

/**
 * Validates a POST /verifications body, then decodes its selfie. Throws a `ValidationError`
 * (`INVALID_REQUEST` listing every invalid field, or `NIK_DOB_MISMATCH`), then any error of
 * `decodeSelfie` (413, 415, 400).
 */
export function parseVerificationBody(
  input: unknown,
  options: { limits: SelfieLimits; now: number },
): ParsedVerification {
  const body = jsonObject(input);
  const issues: FieldIssue[] = [];
  const fields = parseFields(verificationBodyFields, body, (key) => key, issues);
  if (SELFIE_FIELDS.every((field) => body[field] !== undefined)) {
    issues.push({ path: 'selfie_s3_key', message: 'must not be sent together with selfie_image' });
  } else if (
    fields.selfie_s3_key !== undefined &&
    verificationIdOfSelfieKey(fields.selfie_s3_key) !== fields.verification_id
  ) {
    // An object under another id's key would be verified twice: once here, once by its upload.
    issues.push({
      path: 'selfie_s3_key',
      message: "must be incoming/<verification_id>.<ext> for this request's verification_id",
    });
  }
  const identity = finishIdentity(
    { nik: fields.nik, name: fields.name, dateOfBirth: fields.date_of_birth },
    { nik: 'nik', dateOfBirth: 'date_of_birth' },
    options.now,
    issues,
  );

  let selfie: SelfieInput = { kind: 'none' };
  if (fields.selfie_image !== undefined) {
    selfie = { kind: 'inline', image: decodeSelfie(fields.selfie_image, options.limits) };
  } else if (fields.selfie_s3_key !== undefined) {
    selfie = { kind: 's3', key: fields.selfie_s3_key };
  }
  return {
    ...(fields.verification_id === undefined ? {} : { verificationId: fields.verification_id }),
    ...(fields.template_id === undefined ? {} : { templateId: fields.template_id }),
    identity,
    selfie,
  };
}

/**
 * S3 user metadata is US-ASCII, so an uploader must percent-encode a name that is not
 * (`encodeURIComponent`). Decoding cannot change a valid ASCII name: `%` is not a name
 * character. A malformed sequence is an issue, not an exception.
 */
const percentEncodedNameField = andThen(text([]), (value) => {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return failed('has a malformed %-escape');
  }
  return nameField.parse(decoded);
});

const objectMetadataFields = {
  'verification-id': optional(safeIdField),
  'template-id': optional(safeIdField),
  nik: nikField,
  name: percentEncodedNameField,
  'date-of-birth': dateOfBirthField,
};

const IDENTITY_METADATA_KEYS = ['nik', 'name', 'date-of-birth'] as const;

/**
 * Validates the identity an uploaded selfie carries in its user metadata (keys `nik`, `name`,
 * `date-of-birth`, `template-id`, `verification-id`; issue paths `metadata.<key>`). With none
 * of the identity keys it throws code `MISSING_IDENTITY`; otherwise as `parseVerificationBody`.
 */
export function parseObjectMetadata(
  metadata: Record<string, string>,
  options: { now: number },
): ParsedObjectMetadata {
  // S3 returns user metadata keys in lower case; other S3-compatible servers may not.
  const source: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) source[key.toLowerCase()] = value;
  const pathOf = (key: string): string => `metadata.${key}`;

  if (IDENTITY_METADATA_KEYS.every((key) => source[key] === undefined)) {
    throw invalid(
      IDENTITY_METADATA_KEYS.map((key) => ({ path: pathOf(key), message: 'is required' })),
      'MISSING_IDENTITY',
    );
  }

  const issues: FieldIssue[] = [];
  const fields = parseFields(objectMetadataFields, source, pathOf, issues);
  const identity = finishIdentity(
    { nik: fields.nik, name: fields.name, dateOfBirth: fields['date-of-birth'] },
    { nik: pathOf('nik'), dateOfBirth: pathOf('date-of-birth') },
    options.now,
    issues,
  );
  const verificationId = fields['verification-id'];
  const templateId = fields['template-id'];
  return {
    ...(verificationId === undefined ? {} : { verificationId }),
    ...(templateId === undefined ? {} : { templateId }),
    identity,
  };
}

/** `POST /data-subjects/search|erase`: the NIK travels in the body, never in a URL. */
export const subjectBodyFields = { nik: nikField };

export function parseSubjectBody(body: unknown): { nik: string } {
  const { nik } = validFields(subjectBodyFields, body);
  return { nik };
}
