/**
 * Per-environment infrastructure configuration: `config/<env>.json`, chosen with `-c env=<env>`,
 * validated here before a single construct exists. Every problem is reported at once, each
 * naming its file and field; unknown fields are refused, so a typo cannot silently fall back to
 * a default. Runtime settings (thresholds, IDmeta timeouts, selfie limits) become the Lambdas'
 * environment variables (DESIGN.md) and are checked again by the runtime's own parser at synth.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { CONFIG_DEFAULTS, sha256Hex } from '../lambda/config.ts';
import { resolveProfiles } from '../lambda/core/profiles.ts';
import { isSafeId } from '../lambda/core/request.ts';
import { ENDPOINT_NAME, WEBHOOK_EVENT_TYPES } from '../lambda/core/webhooks.ts';
import { PROJECT_ROOT } from './bundling.ts';
import { ENV_NAME } from './stack-name.ts';

export class InfraConfigError extends Error {
  override name = 'InfraConfigError';
}

export const CONFIG_DIR = join(PROJECT_ROOT, 'config');

/** API Gateway gives up after 29 s; the API function stops a second earlier to answer itself. */
export const API_FUNCTION_TIMEOUT_SECONDS = 28;

/**
 * What the API path may spend on IDmeta (timeout x attempts) and still answer inside the API
 * function's timeout, with time left for DynamoDB and the response (DESIGN.md: "about 25 s").
 */
export const API_IDMETA_BUDGET_MS = 25_000;

/**
 * Lambda refuses a synchronous request larger than 6 MB (6,291,456 bytes). An inline selfie
 * arrives base64-encoded (x 4/3) inside a JSON body inside the API Gateway event, so the biggest
 * selfie the API path can carry is about 4.5 MB. Larger ones would fail before the handler could
 * answer 413.
 */
export const MAX_INLINE_SELFIE_BYTES = 4_500_000;

/** AWS's advice for SQS event sources: visibility timeout at least 6 x the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Finite retention only: UU PDP wants logs about people destroyed too. */
const LOG_RETENTION_DAYS = Object.values(RetentionDays).filter(
  (days): days is number => typeof days === 'number' && days !== RetentionDays.INFINITE,
);

const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const int = (min: number, max: number) => {
  const message = `must be an integer from ${min} to ${max}`;
  return z.int(message).min(min, message).max(max, message);
};

/** A secret's complete ARN: with the 6-character suffix Secrets Manager appends. */
const COMPLETE_SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

/**
 * `create`, a secret's name, or its complete ARN (with the 6-character suffix Secrets Manager
 * appends). A partial ARN would be a guess: IAM could not scope a grant to it without a wildcard.
 */
const secretReference = z.string().superRefine((value, context) => {
  if (value === 'create') return;
  if (value.startsWith('arn:')) {
    if (!COMPLETE_SECRET_ARN.test(value)) {
      context.addIssue({
        code: 'custom',
        message: 'must be the complete secret ARN, ending in the 6-character suffix',
      });
    }
    return;
  }
  if (!/^[\w/+=.@-]{1,512}$/.test(value)) {
    context.addIssue({
      code: 'custom',
      message: 'must be "create", a secret name or a secret ARN',
    });
  }
});

/**
 * `create` (a bus `facematch-<env>`), an existing bus's name in this account and region, or an
 * existing bus's ARN (another account's bus included: its resource policy must admit this one).
 */
const eventBusReference = z.string().superRefine((value, context) => {
  if (value === 'create') return;
  const pattern = value.startsWith('arn:')
    ? /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[\w.-]{1,256}$/
    : /^[\w.-]{1,256}$/;
  if (!pattern.test(value)) {
    context.addIssue({
      code: 'custom',
      message: value.startsWith('arn:')
        ? 'must be an event bus ARN such as arn:aws:events:ap-southeast-3:111122223333:event-bus/verdicts'
        : 'must be "create", an event bus name (letters, digits and . _ -) or an event bus ARN',
    });
  }
});

const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
    return (
      (url.protocol === 'https:' || (url.protocol === 'http:' && local)) && url.origin === value
    );
  } catch {
    return false;
  }
}, 'must be an origin such as https://app.example.co.id (no path, no wildcard; http only for localhost)');

/**
 * An IAM role or user, or an account's root (break glass), by exact ARN: the bucket policy
 * compares `aws:PrincipalArn` with it, which for a role's session is the role's ARN.
 */
const writerPrincipal = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)\/[\w+=,.@/-]{1,512})$/,
    'must be an IAM role or user ARN (arn:aws:iam::<account>:role/<name>), or arn:aws:iam::<account>:root',
  );

/**
 * One webhook receiver (DESIGN.md "Webhooks"): https only, a signing secret the stack creates
 * (`create`) or an existing one's complete ARN, and the event types it wants (all by default).
 */
const webhookEndpoint = z.strictObject({
  name: z
    .string()
    .regex(ENDPOINT_NAME, 'must be lower-case letters, digits and -, at most 40 characters'),
  url: z.url({ protocol: /^https$/, error: 'must be an https URL' }).refine((value) => {
    const url = new URL(value);
    return url.username === '' && url.password === '';
  }, 'must not carry credentials'),
  secret: z
    .string()
    .refine(
      (value) => value === 'create' || COMPLETE_SECRET_ARN.test(value),
      'must be "create" or the complete ARN of a secret holding a whsec_ value',
    ),
  events: z
    .array(z.enum(Object.values(WEBHOOK_EVENT_TYPES)))
    .min(1, 'must name at least one event type (leave it out for all)')
    .optional(),
});

const templateId = z
  .string()
  .refine(
    (value) => isSafeId(value),
    'must be an IDmeta trust flow id: letters, digits and _ . : - (first a letter or digit)',
  );

export const configSchema = z
  .strictObject({
    /** Pins the stack to an account; without it the stack deploys where the CLI's credentials point. */
    account: accountId.optional(),
    /** Pins the region; Jakarta (ap-southeast-3) keeps Indonesian personal data in Indonesia. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as ap-southeast-3')
      .optional(),
    /** What happens to data-holding resources when they leave the stack. */
    removalPolicy: z.enum(['retain', 'destroy']),
    /** DynamoDB deletion protection on the verdict table. */
    deletionProtection: z.boolean(),
    idmeta: z.strictObject({
      baseUrl: z.url({ protocol: /^https$/, error: 'must be an https URL' }),
      /** `create` (an empty secret to fill in after deploy), a secret name, or a complete ARN. */
      tokenSecret: secretReference,
      /** The customer-managed key of an existing token secret, so the functions may decrypt it. */
      tokenSecretKmsKeyArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/, 'must be a KMS key ARN')
        .optional(),
      templateId,
      timeoutMs: int(100, 120_000).default(CONFIG_DEFAULTS.IDMETA_TIMEOUT_MS),
      maxAttempts: int(1, 10).default(CONFIG_DEFAULTS.IDMETA_MAX_ATTEMPTS),
      dobFormat: z.enum(['DD-MM-YYYY', 'YYYY-MM-DD']).default('DD-MM-YYYY'),
      finalizeOwnedVerifications: z.boolean().default(true),
      /** How many queue-function instances may call IDmeta at once (SQS allows 2 to 1000). */
      maxConcurrency: int(2, 1000),
    }),
    policy: z.strictObject({
      approveThreshold: z.number().min(0).max(100),
      rejectThreshold: z.number().min(0).max(100),
      /**
       * Per-product rules (`POLICY_PROFILES`): `default` and any `template_id`. Each profile's
       * fields are checked by the runtime's own parser below, so both name the same problems.
       */
      profiles: z
        .record(z.string(), z.record(z.string(), z.unknown()))
        .refine((profiles) => Object.hasOwn(profiles, 'default'), 'must have a "default" profile')
        .optional(),
    }),
    retention: z.strictObject({
      /** The verdict record's TTL (DynamoDB `expires_at`). */
      recordDays: int(1, 3650),
      /** Lifecycle expiry of `incoming/` objects: the longest any selfie survives. */
      selfieDays: int(1, 365),
      /** Delete the selfie as soon as its verdict is stored (the lifecycle rule is the backstop). */
      deleteSelfieAfterVerdict: z.boolean().default(true),
      /** CloudWatch log groups and S3 access logs. */
      logDays: z
        .number()
        .refine(
          (days) => LOG_RETENTION_DAYS.includes(days),
          `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
        ),
      /** How far back point-in-time recovery reaches; deleted records live this long in backups. */
      pointInTimeRecoveryDays: int(1, 35).default(35),
      /** Lifecycle expiry of `review/`: a selfie kept for an open review lives at most this long. */
      reviewSelfieDays: int(1, 90).default(7),
      /** How long a data subject's erasure receipt is kept (proof the request was carried out). */
      erasureReceiptDays: int(1, 3650).default(1825),
    }),
    review: z
      .strictObject({
        /** The oldest open review may wait this long before the SLA alarm fires. */
        slaHours: z
          .number()
          .positive()
          .max(24 * 30)
          .default(24),
      })
      .prefault({}),
    selfies: z
      .strictObject({
        maxBytes: int(1024, MAX_INLINE_SELFIE_BYTES).default(4 * 1024 * 1024),
        minDimension: int(1, 4096).default(CONFIG_DEFAULTS.SELFIE_MIN_DIMENSION),
        maxDimension: int(256, 50_000).default(CONFIG_DEFAULTS.SELFIE_MAX_DIMENSION),
        uploadUrlExpiresSeconds: int(60, 7 * 24 * 3600).default(
          CONFIG_DEFAULTS.UPLOAD_URL_EXPIRES_SECONDS,
        ),
        /** Browser origins allowed to POST to the presigned upload URL; none by default. */
        corsAllowedOrigins: z.array(origin).default([]),
        /**
         * IAM principals, besides the API function's role (which signs the upload forms and is
         * always one), that may put objects under `incoming/`; every other principal is denied.
         */
        writerPrincipals: z
          .array(writerPrincipal)
          .refine((arns) => new Set(arns).size === arns.length, 'must not repeat a principal')
          .default([]),
      })
      .prefault({}),
    queue: z.strictObject({
      batchSize: int(1, 10),
      /** Receives before a message goes to the DLQ; the queue function marks the record then. */
      maxReceiveCount: int(1, 1000),
      functionTimeoutSeconds: int(30, 900),
    }),
    api: z.strictObject({
      throttlingRateLimit: z.number().positive().max(10_000),
      throttlingBurstLimit: int(1, 5000),
      /**
       * Accounts whose principals may call the API. Empty: no resource policy (IAM decides, which
       * admits only this account's principals). Not empty: every other account is denied, this
       * one included unless listed.
       */
      allowedAccountIds: z
        .array(accountId)
        .refine((ids) => new Set(ids).size === ids.length, 'must not repeat an account id')
        .default([]),
      /**
       * Access and execution logs need the account's API Gateway CloudWatch role (one per account
       * and region). Set false when another stack or the landing zone already sets it.
       */
      createCloudWatchRole: z.boolean().default(true),
    }),
    events: z
      .strictObject({
        /** Where final verdicts are announced (`EVENT_BUS_NAME`): `create`, a bus name or ARN. */
        busName: eventBusReference.default('create'),
      })
      .prefault({}),
    alarms: z.strictObject({
      email: z.email('must be an e-mail address').optional(),
      /** An existing SNS topic for the alarms instead of the stack's own. */
      topicArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'must be an SNS topic ARN')
        .optional(),
      /** IDmeta attempts that failed, in percent of all attempts over 5 minutes. */
      idmetaErrorRatePercent: z.number().positive().max(100).default(10),
      /** A webhook endpoint's oldest undelivered event older than this raises its alarm. */
      webhookFailMinutes: int(1, 1440).default(30),
    }),
    /** HTTPS receivers of the verdict events, signed per Standard Webhooks; none by default. */
    webhooks: z
      .array(webhookEndpoint)
      .refine(
        (endpoints) =>
          new Set(endpoints.map((endpoint) => endpoint.name)).size === endpoints.length,
        'must not repeat a webhook name',
      )
      .default([]),
  })
  .superRefine((config, context) => {
    const issue = (path: (string | number)[], message: string) =>
      context.addIssue({ code: 'custom', path, message });
    if (config.policy.rejectThreshold > config.policy.approveThreshold) {
      issue(['policy', 'rejectThreshold'], 'must not be above policy.approveThreshold');
    }
    if (config.policy.profiles !== undefined) {
      const resolved = resolveProfiles(config.policy.profiles, config.policy, sha256Hex);
      for (const problem of resolved.problems) {
        issue(['policy', 'profiles', ...problem.path], problem.message);
      }
    }
    if (config.selfies.minDimension > config.selfies.maxDimension) {
      issue(['selfies', 'minDimension'], 'must not be above selfies.maxDimension');
    }
    const idmetaBudgetMs = config.idmeta.timeoutMs * config.idmeta.maxAttempts;
    if (idmetaBudgetMs > API_IDMETA_BUDGET_MS) {
      issue(
        ['idmeta', 'timeoutMs'],
        `idmeta.timeoutMs x idmeta.maxAttempts (${idmetaBudgetMs} ms) must stay within ` +
          `${API_IDMETA_BUDGET_MS} ms, or the API function (${API_FUNCTION_TIMEOUT_SECONDS} s) ` +
          'times out before IDmeta gives up',
      );
    }
    // Records of a batch are processed one after the other, each may spend the whole budget.
    const queueBudgetMs = idmetaBudgetMs * config.queue.batchSize;
    if (config.queue.functionTimeoutSeconds * 1000 <= queueBudgetMs) {
      issue(
        ['queue', 'functionTimeoutSeconds'],
        `must be longer than queue.batchSize x idmeta.timeoutMs x idmeta.maxAttempts ` +
          `(${queueBudgetMs / 1000} s)`,
      );
    }
    // The lifecycle rule must not delete a selfie that the queue still means to retry.
    const retriesSeconds =
      config.queue.maxReceiveCount *
      VISIBILITY_TIMEOUT_FACTOR *
      config.queue.functionTimeoutSeconds;
    if (config.retention.selfieDays * 86_400 < retriesSeconds) {
      issue(
        ['retention', 'selfieDays'],
        `must outlast the queue's retries (queue.maxReceiveCount x ${VISIBILITY_TIMEOUT_FACTOR} x ` +
          `queue.functionTimeoutSeconds = ${Math.ceil(retriesSeconds / 86_400)} days)`,
      );
    }
    if (config.alarms.email !== undefined && config.alarms.topicArn !== undefined) {
      issue(['alarms'], 'give either alarms.email (a new topic) or alarms.topicArn, not both');
    }
    if (
      config.idmeta.tokenSecretKmsKeyArn !== undefined &&
      config.idmeta.tokenSecret === 'create'
    ) {
      issue(
        ['idmeta', 'tokenSecretKmsKeyArn'],
        'applies to an existing secret only; a created secret uses the stack key',
      );
    }
  });

export type FacematchConfig = z.output<typeof configSchema>;
export type FacematchConfigInput = z.input<typeof configSchema>;

export function availableEnvironments(configDir = CONFIG_DIR): string[] {
  if (!existsSync(configDir)) return [];
  return readdirSync(configDir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

const choose = (configDir: string) =>
  `choose one with -c env=<name>, e.g. npx cdk synth -c env=dev ` +
  `(available: ${availableEnvironments(configDir).join(', ') || 'none'})`;

/** The environment name from `-c env=<name>`, or a message that says how to give one. */
export function resolveEnvName(value: unknown, configDir = CONFIG_DIR): string {
  if (value === undefined || value === null || value === '') {
    throw new InfraConfigError(`no environment chosen: ${choose(configDir)}`);
  }
  if (typeof value !== 'string' || !ENV_NAME.test(value)) {
    throw new InfraConfigError(
      `invalid environment name ${JSON.stringify(value)}: lower-case letters, digits and -, ` +
        `at most 16 characters; ${choose(configDir)}`,
    );
  }
  if (!availableEnvironments(configDir).includes(value)) {
    throw new InfraConfigError(
      `unknown environment "${value}": there is no config/${value}.json; ${choose(configDir)}`,
    );
  }
  return value;
}

/** Validates a parsed config object; `source` names it in messages (e.g. `config/dev.json`). */
export function parseInfraConfig(input: unknown, source: string): FacematchConfig {
  const result = configSchema.safeParse(input, {
    error: (issue) => (issue.input === undefined ? 'is required' : undefined),
  });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `  - ${path}: ${issue.message}`;
  });
  throw new InfraConfigError(`${source} is invalid:\n${problems.join('\n')}`);
}

export function loadInfraConfig(envName: string, configDir = CONFIG_DIR): FacematchConfig {
  const file = join(configDir, `${envName}.json`);
  const source = `config/${envName}.json`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InfraConfigError(`${source} could not be read as JSON: ${(error as Error).message}`);
  }
  return parseInfraConfig(raw, source);
}
