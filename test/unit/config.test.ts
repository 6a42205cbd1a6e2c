import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, parseConfig } from '../../lambda/config.ts';
import { ConfigError } from '../../lambda/core/errors.ts';

const minimal = {
  VERDICT_TABLE_NAME: 'verdicts',
  SELFIE_BUCKET_NAME: 'selfies',
  IDMETA_BASE_URL: 'https://integrate.idmetagroup.com/',
  IDMETA_TOKEN_SECRET_ID: 'arn:aws:secretsmanager:ap-southeast-3:111122223333:secret:idmeta',
  IDMETA_TEMPLATE_ID: 'trust-flow-1',
  FACEMATCH_DATA_KEY_SECRET_ID: 'facematch-data-key',
};

function problemsOf(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('fills every optional value with its documented default', () => {
    const config = parseConfig(minimal);

    expect(config.idmeta.baseUrl).toBe('https://integrate.idmetagroup.com');
    expect(config.idmeta.token).toEqual({
      kind: 'secret',
      secretId: minimal.IDMETA_TOKEN_SECRET_ID,
    });
    expect(config.idmeta.timeoutMs).toBe(CONFIG_DEFAULTS.IDMETA_TIMEOUT_MS);
    expect(config.idmeta.maxAttempts).toBe(3);
    expect(config.idmeta.dobFormat).toBe('DD-MM-YYYY');
    expect(config.policy).toEqual({ approveThreshold: 75, rejectThreshold: 40 });
    expect(config.selfieLimits).toEqual({
      maxBytes: 5 * 1024 * 1024,
      minWidth: 240,
      minHeight: 240,
      maxDimension: 10_000,
      maxPixels: 40_000_000,
    });
    expect(config.retentionDays).toBe(30);
    expect(config.deleteSelfieAfterVerdict).toBe(true);
    expect(config.environment).toBe('local');
  });

  it('takes the environment name from FACEMATCH_ENV and refuses one that would split metrics', () => {
    expect(parseConfig({ ...minimal, FACEMATCH_ENV: 'staging' }).environment).toBe('staging');
    expect(problemsOf({ ...minimal, FACEMATCH_ENV: 'Prod ' })).toMatch(
      /FACEMATCH_ENV must be a lower-case name/,
    );
  });

  it('takes a local token and data key from the environment when no secret id is given', () => {
    const { IDMETA_TOKEN_SECRET_ID: _t, FACEMATCH_DATA_KEY_SECRET_ID: _k, ...rest } = minimal;
    const config = parseConfig({
      ...rest,
      IDMETA_TOKEN: '20|local-token',
      FACEMATCH_DATA_KEY: 'x'.repeat(32),
    });
    expect(config.idmeta.token).toEqual({ kind: 'static', value: '20|local-token' });
    expect(config.dataKey).toEqual({ kind: 'static', value: 'x'.repeat(32) });
  });

  it('names every missing variable in one error', () => {
    const message = problemsOf({});
    for (const name of [
      'VERDICT_TABLE_NAME',
      'SELFIE_BUCKET_NAME',
      'IDMETA_BASE_URL',
      'IDMETA_TOKEN_SECRET_ID',
      'IDMETA_TEMPLATE_ID',
      'FACEMATCH_DATA_KEY_SECRET_ID',
    ]) {
      expect(message).toContain(name);
    }
  });

  it.each([
    ['IDMETA_TIMEOUT_MS', 'soon'],
    ['IDMETA_MAX_ATTEMPTS', '0'],
    ['IDMETA_DOB_FORMAT', 'MM/DD/YYYY'],
    ['APPROVE_THRESHOLD', '150'],
    ['SELFIE_MAX_BYTES', '12.5'],
    ['RECORD_RETENTION_DAYS', '-3'],
    ['IDMETA_BASE_URL', 'ftp://idmeta.example'],
    ['SELFIE_DELETE_AFTER_VERDICT', 'maybe'],
  ])('refuses an invalid %s and names it', (name, value) => {
    expect(problemsOf({ ...minimal, [name]: value })).toContain(name);
  });

  it('refuses a reject threshold above the approve threshold', () => {
    expect(problemsOf({ ...minimal, APPROVE_THRESHOLD: '50', REJECT_THRESHOLD: '60' })).toContain(
      'REJECT_THRESHOLD',
    );
  });

  it('refuses a lease shorter than the IDmeta budget, which would let a second worker pay again', () => {
    const message = problemsOf({
      ...minimal,
      IDMETA_TIMEOUT_MS: '10000',
      IDMETA_MAX_ATTEMPTS: '3',
      VERIFICATION_LEASE_MS: '20000',
    });
    expect(message).toContain('VERIFICATION_LEASE_MS');
  });

  it('never echoes a local secret in its error', () => {
    const { FACEMATCH_DATA_KEY_SECRET_ID: _k, ...rest } = minimal;
    const message = problemsOf({ ...rest, FACEMATCH_DATA_KEY: 'short-secret-value' });
    expect(message).toContain('FACEMATCH_DATA_KEY');
    expect(message).not.toContain('short-secret-value');
  });
});
