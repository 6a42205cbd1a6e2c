import { describe, expect, it } from 'vitest';
import {
  checkPostPolicy,
  type PostPolicyContext,
  PostPolicyError,
  signPolicy,
} from '../../local/post-policy.ts';

const NOW = Date.parse('2025-01-15T08:00:00.000Z');
const CONTEXT: PostPolicyContext = {
  bucket: 'facematch-selfies',
  region: 'ap-southeast-3',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  now: NOW,
};
const CREDENTIAL = 'S3RVER/20250115/ap-southeast-3/s3/aws4_request';

/** A form as createPresignedPost makes it: every field named by the policy, signed. */
function form(
  options: {
    conditions?: unknown[];
    expiration?: string;
    fields?: Record<string, string>;
    credential?: string;
    secret?: string;
    policyText?: string;
  } = {},
): Map<string, string> {
  const fields: Record<string, string> = {
    bucket: 'facematch-selfies',
    'x-amz-algorithm': 'AWS4-HMAC-SHA256',
    'x-amz-credential': options.credential ?? CREDENTIAL,
    'x-amz-date': '20250115T080000Z',
    key: 'incoming/atk-1.jpg',
    'x-amz-meta-verification-id': 'atk-1',
    'content-type': 'image/jpeg',
    ...options.fields,
  };
  const conditions = options.conditions ?? [
    { bucket: 'facematch-selfies' },
    { key: 'incoming/atk-1.jpg' },
    { 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256' },
    { 'X-Amz-Credential': CREDENTIAL },
    { 'X-Amz-Date': '20250115T080000Z' },
    { 'x-amz-meta-verification-id': 'atk-1' },
    ['content-length-range', 1, 1024],
    ['starts-with', '$Content-Type', 'image/'],
  ];
  const policy =
    options.policyText ??
    Buffer.from(
      JSON.stringify({ expiration: options.expiration ?? '2025-01-15T08:15:00.000Z', conditions }),
    ).toString('base64');
  const [, date = '', region = ''] = (options.credential ?? CREDENTIAL).split('/');
  const signature = signPolicy(policy, options.secret ?? 'S3RVER', date, region);
  return new Map(Object.entries({ ...fields, policy, 'x-amz-signature': signature }));
}

/** The S3 error code `checkPostPolicy` throws, or 'accepted'. */
const verdict = (fields: Map<string, string>, context: Partial<PostPolicyContext> = {}) => {
  try {
    checkPostPolicy(fields, { ...CONTEXT, ...context });
    return 'accepted';
  } catch (error) {
    if (error instanceof PostPolicyError) return error.code;
    throw error;
  }
};

describe('checkPostPolicy', () => {
  it('accepts a signed form that meets every condition, and returns its size range', () => {
    expect(checkPostPolicy(form(), CONTEXT)).toEqual({ minBytes: 1, maxBytes: 1024 });
  });

  it('refuses the form posted to another bucket, or naming another bucket in a field', () => {
    expect(verdict(form(), { bucket: 'someone-elses' })).toBe('AccessDenied');
    expect(verdict(form({ fields: { bucket: 'someone-elses' } }))).toBe('AccessDenied');
  });

  it('refuses a credential for another key id or region, and a date outside its scope', () => {
    const otherRegion = 'S3RVER/20250115/us-east-1/s3/aws4_request';
    expect(verdict(form({ credential: 'AKIAOTHER/20250115/ap-southeast-3/s3/aws4_request' }))).toBe(
      'InvalidAccessKeyId',
    );
    expect(verdict(form({ credential: otherRegion }))).toBe('AuthorizationQueryParametersError');
    expect(verdict(form({ fields: { 'x-amz-date': '20250116T080000Z' } }))).toBe(
      'AuthorizationQueryParametersError',
    );
    expect(verdict(form({ credential: 'S3RVER/20250115/ap-southeast-3/s3' }))).toBe(
      'AuthorizationQueryParametersError',
    );
  });

  it('refuses a form without the SigV4 fields, or with another algorithm', () => {
    const withoutAlgorithm = form();
    withoutAlgorithm.delete('x-amz-algorithm');
    const withoutSignature = form();
    withoutSignature.delete('x-amz-signature');
    const withoutPolicy = form();
    withoutPolicy.delete('policy');

    expect(verdict(withoutAlgorithm)).toBe('InvalidArgument');
    expect(verdict(withoutSignature)).toBe('InvalidArgument');
    expect(verdict(withoutPolicy)).toBe('AccessDenied');
    expect(verdict(form({ fields: { 'x-amz-algorithm': 'AWS4-HMAC-SHA1' } }))).toBe(
      'InvalidArgument',
    );
  });

  it('refuses a signed policy that is not base64 JSON, or whose condition it does not know', () => {
    expect(verdict(form({ policyText: 'not base64!' }))).toBe('InvalidPolicyDocument');
    expect(verdict(form({ policyText: Buffer.from('[1]').toString('base64') }))).toBe(
      'InvalidPolicyDocument',
    );
    expect(verdict(form({ conditions: [['matches', '$key', '.*']] }))).toBe(
      'InvalidPolicyDocument',
    );
    expect(verdict(form({ expiration: 'tomorrow' }))).toBe('InvalidPolicyDocument');
  });

  it('refuses a policy whose expiration has come', () => {
    expect(verdict(form({ expiration: new Date(NOW).toISOString() }))).toBe('AccessDenied');
  });

  it('judges starts-with on the key, every type of a Content-Type list, field names in any case', () => {
    const prefixed = (key: string, type = 'image/png') =>
      form({
        conditions: [
          ['starts-with', '$key', 'incoming/'],
          ['starts-with', '$content-type', 'image/'],
          ['eq', '$X-AMZ-META-VERIFICATION-ID', 'atk-1'],
          { bucket: 'facematch-selfies' },
          { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
          { 'x-amz-credential': CREDENTIAL },
          { 'x-amz-date': '20250115T080000Z' },
        ],
        fields: { key, 'content-type': type },
      });

    expect(verdict(prefixed('incoming/atk-1.jpg'))).toBe('accepted');
    expect(verdict(prefixed('private/atk-1.jpg'))).toBe('AccessDenied');
    expect(verdict(prefixed('incoming/atk-1.jpg', 'image/png, text/html'))).toBe('AccessDenied');
  });

  it('lets x-ignore- fields through unsigned, and refuses any other unsigned field', () => {
    expect(verdict(form({ fields: { 'x-ignore-note': 'anything' } }))).toBe('accepted');
    expect(verdict(form({ fields: { acl: 'public-read' } }))).toBe('AccessDenied');
  });

  it('names a failed condition without quoting its value', () => {
    // Act
    const error = (() => {
      try {
        checkPostPolicy(form({ fields: { 'x-amz-meta-verification-id': 'victim-1' } }), CONTEXT);
      } catch (thrown) {
        return thrown as PostPolicyError;
      }
    })();

    // Assess
    expect(error?.status).toBe(403);
    expect(error?.message).toContain('$x-amz-meta-verification-id');
    expect(error?.message).not.toContain('atk-1');
    expect(error?.message).not.toContain('victim-1');
  });
});
