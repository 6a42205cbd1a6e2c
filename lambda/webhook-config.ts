/**
 * Webhook configuration, parsed once at start-up. The sender function reads the endpoints the
 * stack wrote (`WEBHOOK_ENDPOINTS`, `WEBHOOK_DELIVERIES_TABLE_NAME`); the local runtime reads a
 * developer's `WEBHOOK_URL` and `WEBHOOK_SECRET`. Every problem names its variable; a secret's
 * value is never echoed.
 */
import { ConfigError } from './core/errors.ts';
import { assertWebhookUrl, ENDPOINT_NAME, parseWebhookSecret } from './core/webhooks.ts';

type Env = Record<string, string | undefined>;

export interface DeployedWebhookEndpoint {
  name: string;
  url: string;
  /** Secrets Manager ARN of the endpoint's signing secret. */
  secretId: string;
  /** The endpoint's queue: records from it belong to this endpoint. */
  queueArn: string;
  queueUrl: string;
}

export interface WebhookSenderConfig {
  tableName: string;
  endpoints: DeployedWebhookEndpoint[];
  environment: string;
  secretCacheTtlMs: number;
}

const nonEmpty = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
};

export function parseWebhookSenderConfig(env: Env = process.env): WebhookSenderConfig {
  const problems: string[] = [];
  const tableName = nonEmpty(env.WEBHOOK_DELIVERIES_TABLE_NAME);
  if (tableName === undefined) problems.push('WEBHOOK_DELIVERIES_TABLE_NAME is required');
  let endpoints: DeployedWebhookEndpoint[] = [];
  try {
    const parsed: unknown = JSON.parse(env.WEBHOOK_ENDPOINTS ?? '');
    if (!Array.isArray(parsed)) throw new Error('not an array');
    endpoints = parsed.map((entry: Record<string, unknown>, index) => {
      const field = (name: string) => {
        const value = entry?.[name];
        if (typeof value !== 'string' || value === '') {
          throw new Error(`entry ${index} has no ${name}`);
        }
        return value;
      };
      const endpoint = {
        name: field('name'),
        url: field('url'),
        secretId: field('secretId'),
        queueArn: field('queueArn'),
        queueUrl: field('queueUrl'),
      };
      if (!ENDPOINT_NAME.test(endpoint.name)) throw new Error(`entry ${index} has a bad name`);
      assertWebhookUrl(endpoint.url, `WEBHOOK_ENDPOINTS entry ${index} url`, {
        allowLoopbackHttp: false,
      });
      return endpoint;
    });
  } catch (error) {
    problems.push(
      `WEBHOOK_ENDPOINTS must be the stack's JSON list of endpoints (${(error as Error).message})`,
    );
  }
  const ttlText = nonEmpty(env.SECRET_CACHE_TTL_MS);
  const secretCacheTtlMs = ttlText === undefined ? 300_000 : Number(ttlText);
  if (!Number.isInteger(secretCacheTtlMs) || secretCacheTtlMs < 0) {
    problems.push('SECRET_CACHE_TTL_MS must be a non-negative integer');
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return {
    tableName: tableName as string,
    endpoints,
    environment: nonEmpty(env.FACEMATCH_ENV) ?? 'local',
    secretCacheTtlMs,
  };
}

export interface LocalWebhookConfig {
  url: string;
  key: Uint8Array;
}

/**
 * `WEBHOOK_URL` and `WEBHOOK_SECRET` for `npm start`: both or neither. http is allowed to
 * loopback only, so a developer can point it at their own service and nothing else goes out
 * unencrypted.
 */
export function parseLocalWebhookConfig(env: Env): LocalWebhookConfig | undefined {
  const url = nonEmpty(env.WEBHOOK_URL);
  const secret = nonEmpty(env.WEBHOOK_SECRET);
  if (url === undefined && secret === undefined) return undefined;
  const problems: string[] = [];
  if (url === undefined) problems.push('WEBHOOK_URL is required when WEBHOOK_SECRET is set');
  let key: Uint8Array | undefined;
  try {
    key = parseWebhookSecret(secret, 'WEBHOOK_SECRET');
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (url !== undefined) {
    try {
      assertWebhookUrl(url, 'WEBHOOK_URL', { allowLoopbackHttp: true });
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0 || key === undefined || url === undefined) {
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return { url, key };
}
