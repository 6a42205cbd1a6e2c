/**
 * Runtime configuration: environment variables (DESIGN.md), parsed and validated once at start-up.
 * Every problem is reported at once, each naming its variable, never echoing a secret's value.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from './core/errors.ts';
import { assertValidPolicy } from './core/policy.ts';
import { describeProblem, type ProfileSet, parseProfiles } from './core/profiles.ts';
import type { DecisionPolicy, SelfieLimits } from './core/types.ts';

export type SecretRef = { kind: 'secret'; secretId: string } | { kind: 'static'; value: string };

export interface RuntimeConfig {
  tableName: string;
  bucketName: string;
  idmeta: {
    baseUrl: string;
    token: SecretRef;
    defaultTemplateId: string;
    timeoutMs: number;
    maxAttempts: number;
    dobFormat: 'DD-MM-YYYY' | 'YYYY-MM-DD';
    finalizeOwnedVerifications: boolean;
  };
  /** Key material for the NIK hash and the sealed identity of PENDING records. */
  dataKey: SecretRef;
  secretCacheTtlMs: number;
  /** The environment's thresholds: what `default` profile fields left out come from. */
  policy: DecisionPolicy;
  /** `POLICY_PROFILES`, resolved and versioned. */
  profiles: ProfileSet;
  selfieLimits: SelfieLimits;
  retentionDays: number;
  leaseMs: number;
  uploadExpiresSeconds: number;
  deleteSelfieAfterVerdict: boolean;
  /** EventBridge bus for verdict events; none are published when unset. */
  eventBusName: string | undefined;
  /**
   * The deployment's name (`FACEMATCH_ENV`, `local` when unset): every metric carries it as the
   * `environment` dimension, so environments sharing an account and region do not mix.
   */
  environment: string;
  /** The sweeper's patience (DESIGN.md: worklists); see lambda/core/sweep.ts. */
  sweep: { uploadGraceMs: number; giveUpMs: number; batchSize: number };
  /** The selfie queue's URL, where the sweeper hands uploads back (its Lambda only). */
  selfieQueueUrl: string | undefined;
  /** How long a review's kept selfie may be handed out (`retention.reviewSelfieDays`). */
  reviewSelfieDays: number;
  /** The webhook delivery log, whose entries a data subject's erasure deletes (when webhooks exist). */
  webhookDeliveriesTableName: string | undefined;
}

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  optional(name: string): string | undefined {
    return this.raw(name);
  }

  string(name: string, fallback?: string): string {
    const value = this.raw(name) ?? fallback;
    if (value === undefined) {
      this.problems.push(`${name} is required`);
      return '';
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number, integer = true): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    ) {
      this.problems.push(
        `${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got "${text}")`,
      );
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.raw(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (['true', '1', 'yes'].includes(text)) return true;
    if (['false', '0', 'no'].includes(text)) return false;
    this.problems.push(`${name} must be true or false (got "${text}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    if ((allowed as readonly string[]).includes(text)) return text as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${text}")`);
    return fallback;
  }

  url(name: string): string {
    const text = this.string(name);
    if (text === '') return text;
    try {
      const parsed = new URL(text);
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme');
      return text.replace(/\/+$/, '');
    } catch {
      this.problems.push(`${name} must be an http(s) URL (got "${text}")`);
      return '';
    }
  }

  /** A secret comes from Secrets Manager (`<name>_SECRET_ID`) or, locally, the variable itself. */
  secret(secretIdName: string, staticName: string, minLength = 1): SecretRef {
    const secretId = this.raw(secretIdName);
    if (secretId !== undefined) return { kind: 'secret', secretId };
    const value = this.raw(staticName);
    if (value === undefined) {
      this.problems.push(`${secretIdName} (or, for local use, ${staticName}) is required`);
      return { kind: 'static', value: '' };
    }
    if (value.length < minLength) {
      this.problems.push(`${staticName} must be at least ${minLength} characters long`);
    }
    return { kind: 'static', value };
  }
}

export const CONFIG_DEFAULTS = {
  IDMETA_TIMEOUT_MS: 8_000,
  IDMETA_MAX_ATTEMPTS: 3,
  APPROVE_THRESHOLD: 75,
  REJECT_THRESHOLD: 40,
  SELFIE_MAX_BYTES: 5 * 1024 * 1024,
  SELFIE_MIN_DIMENSION: 240,
  SELFIE_MAX_DIMENSION: 10_000,
  SELFIE_MAX_PIXELS: 40_000_000,
  RECORD_RETENTION_DAYS: 30,
  REVIEW_SELFIE_DAYS: 7,
  VERIFICATION_LEASE_MS: 120_000,
  SECRET_CACHE_TTL_MS: 300_000,
  UPLOAD_URL_EXPIRES_SECONDS: 900,
  SWEEP_UPLOAD_GRACE_SECONDS: 900,
  SWEEP_GIVE_UP_HOURS: 24,
  SWEEP_BATCH_SIZE: 100,
} as const;

/** A profile's version: the SHA-256 of its canonical JSON (core/profiles.ts keeps 12 hex). */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

export function parseConfig(env: Env = process.env): RuntimeConfig {
  const read = new Reader(env);
  const d = CONFIG_DEFAULTS;
  const minDimension = read.number('SELFIE_MIN_DIMENSION', d.SELFIE_MIN_DIMENSION, 1, 4096);
  const policy = {
    approveThreshold: read.number('APPROVE_THRESHOLD', d.APPROVE_THRESHOLD, 0, 100, false),
    rejectThreshold: read.number('REJECT_THRESHOLD', d.REJECT_THRESHOLD, 0, 100, false),
  };
  const profiles = parseProfiles(read.optional('POLICY_PROFILES'), policy, sha256Hex);
  for (const problem of profiles.problems) {
    read.problems.push(describeProblem('POLICY_PROFILES', problem));
  }
  const config: RuntimeConfig = {
    tableName: read.string('VERDICT_TABLE_NAME'),
    bucketName: read.string('SELFIE_BUCKET_NAME'),
    idmeta: {
      baseUrl: read.url('IDMETA_BASE_URL'),
      token: read.secret('IDMETA_TOKEN_SECRET_ID', 'IDMETA_TOKEN'),
      defaultTemplateId: read.string('IDMETA_TEMPLATE_ID'),
      timeoutMs: read.number('IDMETA_TIMEOUT_MS', d.IDMETA_TIMEOUT_MS, 100, 120_000),
      maxAttempts: read.number('IDMETA_MAX_ATTEMPTS', d.IDMETA_MAX_ATTEMPTS, 1, 10),
      dobFormat: read.oneOf('IDMETA_DOB_FORMAT', ['DD-MM-YYYY', 'YYYY-MM-DD'], 'DD-MM-YYYY'),
      finalizeOwnedVerifications: read.boolean('IDMETA_FINALIZE', true),
    },
    dataKey: read.secret('FACEMATCH_DATA_KEY_SECRET_ID', 'FACEMATCH_DATA_KEY', 32),
    secretCacheTtlMs: read.number('SECRET_CACHE_TTL_MS', d.SECRET_CACHE_TTL_MS, 0, 86_400_000),
    policy,
    profiles: profiles.profiles ?? {},
    selfieLimits: {
      maxBytes: read.number('SELFIE_MAX_BYTES', d.SELFIE_MAX_BYTES, 1024, 20 * 1024 * 1024),
      minWidth: minDimension,
      minHeight: minDimension,
      maxDimension: read.number('SELFIE_MAX_DIMENSION', d.SELFIE_MAX_DIMENSION, 256, 50_000),
      maxPixels: read.number('SELFIE_MAX_PIXELS', d.SELFIE_MAX_PIXELS, 65_536, 250_000_000),
    },
    retentionDays: read.number('RECORD_RETENTION_DAYS', d.RECORD_RETENTION_DAYS, 1, 3650),
    leaseMs: read.number('VERIFICATION_LEASE_MS', d.VERIFICATION_LEASE_MS, 1_000, 3_600_000),
    uploadExpiresSeconds: read.number(
      'UPLOAD_URL_EXPIRES_SECONDS',
      d.UPLOAD_URL_EXPIRES_SECONDS,
      60,
      7 * 24 * 3600,
    ),
    deleteSelfieAfterVerdict: read.boolean('SELFIE_DELETE_AFTER_VERDICT', true),
    eventBusName: read.optional('EVENT_BUS_NAME'),
    environment: read.string('FACEMATCH_ENV', 'local'),
    sweep: {
      uploadGraceMs:
        read.number('SWEEP_UPLOAD_GRACE_SECONDS', d.SWEEP_UPLOAD_GRACE_SECONDS, 0, 7 * 86_400) *
        1000,
      giveUpMs: read.number('SWEEP_GIVE_UP_HOURS', d.SWEEP_GIVE_UP_HOURS, 1, 14 * 24) * 3_600_000,
      batchSize: read.number('SWEEP_BATCH_SIZE', d.SWEEP_BATCH_SIZE, 1, 1000),
    },
    selfieQueueUrl: read.optional('SELFIE_QUEUE_URL'),
    webhookDeliveriesTableName: read.optional('WEBHOOK_DELIVERIES_TABLE_NAME'),
    reviewSelfieDays: read.number('REVIEW_SELFIE_DAYS', d.REVIEW_SELFIE_DAYS, 1, 90),
  };
  // The stack's own environment names; anything else is a typo that would split the metrics.
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(config.environment)) {
    read.problems.push(
      `FACEMATCH_ENV must be a lower-case name such as dev or prod (got "${config.environment}")`,
    );
  }
  try {
    assertValidPolicy(config.policy);
  } catch (error) {
    read.problems.push(`APPROVE_THRESHOLD/REJECT_THRESHOLD: ${(error as Error).message}`);
  }
  // A lease shorter than the IDmeta budget lets a second worker take over (and pay again) while
  // the first is still retrying.
  const idmetaBudgetMs = config.idmeta.timeoutMs * config.idmeta.maxAttempts;
  if (config.leaseMs < idmetaBudgetMs) {
    read.problems.push(
      `VERIFICATION_LEASE_MS (${config.leaseMs}) must be at least IDMETA_TIMEOUT_MS x IDMETA_MAX_ATTEMPTS (${idmetaBudgetMs})`,
    );
  }
  if (read.problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${read.problems.join('; ')}`);
  }
  return config;
}
