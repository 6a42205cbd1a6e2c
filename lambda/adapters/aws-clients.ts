/**
 * The AWS SDK clients, configured in one place so every handler, the local runtime and the
 * integration tests talk to DynamoDB and S3 the same way. Build them once per process (at module
 * scope in a Lambda) so the keep-alive sockets survive between invocations.
 *
 * The clients a cold start may not need (S3, EventBridge, SQS) live in modules of their own
 * (s3-client.ts, eventbridge-client.ts, sqs-client.ts): in a split bundle, a client this module
 * imported would be read at every cold start.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Jakarta: where an Indonesian eKYC service keeps its data when nothing else is said. */
export const DEFAULT_AWS_REGION = 'ap-southeast-3';

export interface AwsClientOptions {
  /** Defaults to `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `ap-southeast-3`. */
  region?: string;
  /**
   * An explicit endpoint (local servers, tests). Without it the SDK itself reads
   * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`.
   */
  endpoint?: string;
  /** Without it, the SDK's default provider chain (the Lambda role in AWS). */
  credentials?: S3ClientConfig['credentials'];
  /** Total attempts including the first; default 3. */
  maxAttempts?: number;
  /** Default 3000 ms: a TCP connect that slow means the endpoint is not there. */
  connectionTimeoutMs?: number;
  /** Idle-socket timeout; default 10000 ms, so a stalled response fails and is retried. */
  socketTimeoutMs?: number;
  /** Sockets per agent; default 50. */
  maxSockets?: number;
}

type ServiceEndpointVariable =
  | 'AWS_ENDPOINT_URL_S3'
  | 'AWS_ENDPOINT_URL_DYNAMODB'
  | 'AWS_ENDPOINT_URL_SECRETS_MANAGER'
  | 'AWS_ENDPOINT_URL_EVENTBRIDGE'
  | 'AWS_ENDPOINT_URL_SQS';

export interface ResolvedCommon {
  region: string;
  maxAttempts: number;
  requestHandler: NodeHttpHandler;
  credentials?: S3ClientConfig['credentials'];
  endpoint?: string;
  endpointOverridden: boolean;
}

const resolveRegion = (options: AwsClientOptions, env: NodeJS.ProcessEnv): string =>
  nonEmpty(options.region) ??
  nonEmpty(env.AWS_REGION) ??
  nonEmpty(env.AWS_DEFAULT_REGION) ??
  DEFAULT_AWS_REGION;

/**
 * Whether this client will talk to something other than the AWS endpoint. The SDK resolves the
 * environment variables itself (verified in @smithy/core endpoints for 3.1164: the service
 * variable, then `AWS_ENDPOINT_URL`, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`); we only need
 * to know whether it will, to pick path-style addressing and checksum behaviour.
 */
const isEndpointOverridden = (
  options: AwsClientOptions,
  env: NodeJS.ProcessEnv,
  variable: ServiceEndpointVariable,
): boolean => {
  if (nonEmpty(options.endpoint) !== undefined) return true;
  const ignored = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.trim().toLowerCase() === 'true';
  if (ignored) return false;
  return nonEmpty(env[variable]) !== undefined || nonEmpty(env.AWS_ENDPOINT_URL) !== undefined;
};

const createRequestHandler = (options: AwsClientOptions): NodeHttpHandler => {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 50 };
  return new NodeHttpHandler({
    // Both agents: the local servers speak plain HTTP on loopback, AWS speaks HTTPS.
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    socketTimeout: options.socketTimeoutMs ?? 10_000,
  });
};

export const resolveCommon = (
  options: AwsClientOptions,
  variable: ServiceEndpointVariable,
): ResolvedCommon => {
  // process.env, not an injected copy: the SDK reads the endpoint variables from there too.
  const env = process.env;
  const endpoint = nonEmpty(options.endpoint);
  return {
    region: resolveRegion(options, env),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: createRequestHandler(options),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(endpoint === undefined ? {} : { endpoint }),
    endpointOverridden: isEndpointOverridden(options, env, variable),
  };
};

/** The common configuration, for a service that needs nothing else when its endpoint is moved. */
export const plainConfig = (
  options: AwsClientOptions,
  variable: ServiceEndpointVariable,
): Omit<ResolvedCommon, 'endpointOverridden'> => {
  const { endpointOverridden: _ignored, ...common } = resolveCommon(options, variable);
  return common;
};

export const createDynamoClient = (options: AwsClientOptions = {}): DynamoDBClient => {
  const config: DynamoDBClientConfig = plainConfig(options, 'AWS_ENDPOINT_URL_DYNAMODB');
  return new DynamoDBClient(config);
};

/**
 * The document client the verdict store uses. `removeUndefinedValues` because optional record
 * fields are often present-but-undefined in TypeScript objects; DynamoDB must simply not store
 * them. Pass `client` to wrap a client you already built (and will `destroy()` yourself: the
 * document client's own `destroy()` does nothing).
 */
export const createDynamoDocumentClient = (
  options: AwsClientOptions & { client?: DynamoDBClient } = {},
): DynamoDBDocumentClient => {
  const { client, ...clientOptions } = options;
  return DynamoDBDocumentClient.from(client ?? createDynamoClient(clientOptions), {
    marshallOptions: { removeUndefinedValues: true },
  });
};

/**
 * The token and data-key secrets, with the same timeouts as the other clients: the SDK's own
 * default waits on a stalled socket for as long as the Lambda lives.
 */
export const createSecretsManagerClient = (options: AwsClientOptions = {}): SecretsManagerClient =>
  new SecretsManagerClient(plainConfig(options, 'AWS_ENDPOINT_URL_SECRETS_MANAGER'));

const THROTTLING_ERROR_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'LimitExceededException',
  'TransactionInProgressException',
  'TransactionConflictException',
]);
const TRANSIENT_ERROR_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalServerError',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  // An S3 object replaced between HEAD and a conditional GET: a fresh read will succeed.
  'PreconditionFailed',
]);
const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * Whether an AWS SDK error (after the SDK's own retries) is worth another try later: throttling,
 * 5xx, timeouts and network failures. Handlers use it to choose between handing the message back
 * to SQS and recording FAILED. Mirrors the SDK's own classification in `@smithy/core/retry`, an
 * internal package of the SDK we do not want to depend on directly.
 */
export const isTransientAwsError = (error: unknown): boolean => isTransient(error, 0);

/** DynamoDB refused a conditional write: the item is not as the writer expected (not a fault). */
export const isConditionalCheckFailed = (error: unknown): boolean =>
  (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';

function isTransient(error: unknown, depth: number): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const candidate = error as {
    name?: unknown;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    cause?: unknown;
  };
  if (candidate.name === 'AbortError') return false;
  if (candidate.$retryable !== undefined && candidate.$retryable !== null) return true;
  const name = typeof candidate.name === 'string' ? candidate.name : '';
  if (THROTTLING_ERROR_NAMES.has(name) || TRANSIENT_ERROR_NAMES.has(name)) return true;
  if (typeof candidate.code === 'string' && NETWORK_ERROR_CODES.has(candidate.code)) return true;
  const status = candidate.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status === 429 || (status >= 500 && status <= 599))) {
    return true;
  }
  return candidate.cause !== undefined && isTransient(candidate.cause, depth + 1);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
