/**
 * S3's judgement of a browser-based upload (a presigned POST, Signature Version 4), for the local
 * S3: s3rver 3.7 stores whatever a form says, so a form made for one verification could write
 * another's key. S3 refuses such a form before it writes a byte; this does the same, with S3's
 * error codes and statuses, so a policy mistake fails locally as it would in AWS.
 *
 * Pure: the form's fields in, the size range the file must fit out, or a `PostPolicyError`.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface PostPolicyContext {
  /** The bucket the form was posted to (the URL's, not a field's). */
  bucket: string;
  /** The region the bucket lives in: a credential scoped to another one is refused. */
  region: string;
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Epoch milliseconds. */
  now: number;
}

/** The bytes the file may have; `maxBytes` undefined when the policy sets no range. */
export interface SizeRange {
  minBytes: number;
  maxBytes: number | undefined;
}

/** An S3 error: `code` is S3's (`AccessDenied`, `EntityTooLarge`...), `status` its HTTP status. */
export class PostPolicyError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly detail: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = 'PostPolicyError';
  }
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/**
 * Fields a policy need not name (S3: the signature, the policy itself, the file, and anything a
 * client marks as for itself with `x-ignore-`).
 */
const isExempt = (name: string) =>
  name === 'policy' ||
  name === 'x-amz-signature' ||
  name === 'file' ||
  name.startsWith('x-ignore-');

const denied = (message: string) => new PostPolicyError('AccessDenied', 403, message);
const invalidPolicy = (message: string) =>
  new PostPolicyError('InvalidPolicyDocument', 400, `Invalid Policy: ${message}`);
const missingField = (name: string) =>
  new PostPolicyError(
    'InvalidArgument',
    400,
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
    { ArgumentName: name, ArgumentValue: '' },
  );

/** SigV4's signing key: the secret, narrowed to one day, region and service. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const step = (key: string | Buffer, data: string) =>
    createHmac('sha256', key).update(data).digest();
  return step(step(step(step(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** The signature of a POST policy: the base64 policy text itself is the string to sign. */
export function signPolicy(
  policyBase64: string,
  secret: string,
  date: string,
  region: string,
): string {
  return createHmac('sha256', signingKey(secret, date, region, 's3'))
    .update(policyBase64)
    .digest('hex');
}

/**
 * Judges a form's fields (lower-cased names; the ones before the file only, as S3 ignores the
 * rest) against its policy. Throws S3's error for the first thing S3 would refuse.
 */
export function checkPostPolicy(
  fields: ReadonlyMap<string, string>,
  context: PostPolicyContext,
): SizeRange {
  const policyText = fields.get('policy');
  // No policy: an anonymous write, which a bucket that is not public refuses.
  if (policyText === undefined) throw denied('Access Denied');
  verifySignature(policyText, fields, context);
  const policy = decodePolicy(policyText);
  if (policy.expiration <= context.now) {
    throw denied('Invalid according to Policy: Policy expired.');
  }
  const covered = new Set<string>();
  const range: SizeRange = { minBytes: 0, maxBytes: undefined };
  for (const condition of policy.conditions) {
    const judged = judgeCondition(condition, fields, context.bucket);
    if (judged.kind === 'range') {
      range.minBytes = Math.max(range.minBytes, judged.min);
      range.maxBytes = Math.min(range.maxBytes ?? judged.max, judged.max);
      continue;
    }
    covered.add(judged.field);
    if (!judged.ok) {
      throw denied(`Invalid according to Policy: Policy Condition failed: ${judged.shown}`);
    }
  }
  const extra = [...fields.keys()].filter((name) => !isExempt(name) && !covered.has(name));
  if (extra.length > 0) {
    throw denied(`Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
  }
  return range;
}

function verifySignature(
  policyText: string,
  fields: ReadonlyMap<string, string>,
  context: PostPolicyContext,
): void {
  const algorithm = fields.get('x-amz-algorithm');
  if (algorithm === undefined) throw missingField('X-Amz-Algorithm');
  if (algorithm !== ALGORITHM) {
    throw new PostPolicyError(
      'InvalidArgument',
      400,
      `only ${ALGORITHM} is supported for POST uploads`,
      { ArgumentName: 'X-Amz-Algorithm', ArgumentValue: algorithm },
    );
  }
  const credential = fields.get('x-amz-credential');
  if (credential === undefined) throw missingField('X-Amz-Credential');
  const amzDate = fields.get('x-amz-date');
  if (amzDate === undefined) throw missingField('X-Amz-Date');
  const signature = fields.get('x-amz-signature');
  if (signature === undefined) throw missingField('X-Amz-Signature');

  const [accessKeyId, date, region, service, terminator, ...rest] = credential.split('/');
  if (
    rest.length > 0 ||
    !/^\d{8}$/.test(date ?? '') ||
    service !== 's3' ||
    terminator !== 'aws4_request' ||
    region === undefined
  ) {
    throw new PostPolicyError(
      'AuthorizationQueryParametersError',
      400,
      'Error parsing the X-Amz-Credential parameter; it must be <key id>/<YYYYMMDD>/<region>/s3/aws4_request',
    );
  }
  if (accessKeyId !== context.credentials.accessKeyId) {
    throw new PostPolicyError(
      'InvalidAccessKeyId',
      403,
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }
  if (region !== context.region) {
    throw new PostPolicyError(
      'AuthorizationQueryParametersError',
      400,
      `Error parsing the X-Amz-Credential parameter; the region '${region}' is wrong; expecting '${context.region}'`,
    );
  }
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(date as string)) {
    throw new PostPolicyError(
      'AuthorizationQueryParametersError',
      400,
      'X-Amz-Date must be YYYYMMDDTHHMMSSZ on the day of the X-Amz-Credential scope',
    );
  }
  const expected = Buffer.from(
    signPolicy(policyText, context.credentials.secretAccessKey, date as string, region),
  );
  const given = Buffer.from(signature.toLowerCase());
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new PostPolicyError(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
}

interface Policy {
  expiration: number;
  conditions: unknown[];
}

function decodePolicy(text: string): Policy {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error('not base64');
    parsed = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidPolicy('Invalid JSON.');
  }
  const { expiration, conditions } = parsed as { expiration?: unknown; conditions?: unknown };
  const expires = typeof expiration === 'string' ? Date.parse(expiration) : Number.NaN;
  if (Number.isNaN(expires)) throw invalidPolicy(`Invalid 'expiration' value.`);
  if (!Array.isArray(conditions)) throw invalidPolicy(`Policy missing conditions.`);
  return { expiration: expires, conditions };
}

type Judged =
  | { kind: 'range'; min: number; max: number }
  | { kind: 'field'; field: string; ok: boolean; shown: string };

/**
 * One condition: `{"field": "value"}`, `["eq", "$field", "value"]`,
 * `["starts-with", "$field", "prefix"]` or `["content-length-range", min, max]`.
 */
function judgeCondition(
  condition: unknown,
  fields: ReadonlyMap<string, string>,
  bucket: string,
): Judged {
  // A missing field is empty. The bucket is the URL's; a `bucket` field naming another one
  // matches nothing.
  const fieldValue = (field: string): string | undefined => {
    if (field !== 'bucket') return fields.get(field) ?? '';
    const named = fields.get('bucket');
    return named === undefined || named === bucket ? bucket : undefined;
  };
  if (typeof condition === 'object' && condition !== null && !Array.isArray(condition)) {
    const entries = Object.entries(condition);
    const [entry] = entries;
    if (entries.length !== 1 || entry === undefined || typeof entry[1] !== 'string') {
      throw invalidPolicy('Invalid Condition.');
    }
    const field = entry[0].toLowerCase();
    return { kind: 'field', field, ok: fieldValue(field) === entry[1], shown: show('eq', field) };
  }
  if (!Array.isArray(condition) || condition.length !== 3)
    throw invalidPolicy('Invalid Condition.');
  const [operator, subject, operand] = condition as [unknown, unknown, unknown];
  const op = typeof operator === 'string' ? operator.toLowerCase() : '';
  if (op === 'content-length-range') {
    const min = Number(subject);
    const max = Number(operand);
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) {
      throw invalidPolicy('Invalid content-length-range.');
    }
    return { kind: 'range', min, max };
  }
  if (
    (op !== 'eq' && op !== 'starts-with') ||
    typeof subject !== 'string' ||
    !subject.startsWith('$') ||
    typeof operand !== 'string'
  ) {
    throw invalidPolicy('Invalid Condition.');
  }
  const field = subject.slice(1).toLowerCase();
  const value = fieldValue(field);
  const ok =
    value !== undefined &&
    (op === 'eq'
      ? value === operand
      : // S3: a Content-Type may list several types, each of which must match.
        (field === 'content-type' ? value.split(',') : [value]).every((part) =>
          part.trim().startsWith(operand),
        ));
  return { kind: 'field', field, ok, shown: show(op, field) };
}

/**
 * The failed condition as S3 names it, without its value: a signed metadata value may say whose
 * upload it is, and an error body is no place for it.
 */
const show = (op: string, field: string) => `["${op}", "$${field}", ...]`;
