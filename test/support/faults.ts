/**
 * Fault injection for the reliability suites (fault matrix, hostile input): AWS SDK clients that
 * fail on purpose or count what they send, a DynamoDB endpoint nobody listens on, and runtimes that
 * swap one port for such a client. Everything else stays the production composition root
 * (`createRuntime(parseConfig(env))`), so the faults travel the real path: SDK retries, the
 * verdict store's conditional writes, the handlers' problem documents and batch item failures.
 */
import { createServer } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import {
  createDynamoClient,
  createDynamoDocumentClient,
} from '../../lambda/adapters/aws-clients.ts';
import { S3SelfieStore } from '../../lambda/adapters/selfie-store.ts';
import { DynamoVerdictStore } from '../../lambda/adapters/verdict-store.ts';
import { parseConfig } from '../../lambda/config.ts';
import type { SelfieStore, VerdictStore } from '../../lambda/core/ports.ts';
import type { VerifySettings } from '../../lambda/core/verify.ts';
import type { createApiHandler } from '../../lambda/handlers/api-handler.ts';
import type { createSelfieUploadedHandler } from '../../lambda/handlers/selfie-uploaded-handler.ts';
import { createRuntime, type Runtime } from '../../lambda/runtime.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../local/aws-servers.ts';
import { loadRegistry, referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { lambdaContext } from '../../local/lambda-shim.ts';
import { expectConformingResult } from './conformance.ts';
import { LOCAL_AWS_REGION } from './local-aws.ts';
import type { TestRuntime } from './runtime.ts';

function firstPerson() {
  const person = loadRegistry().people[0];
  if (person === undefined) throw new Error('the registry has no first person');
  return person;
}

/** The registry's first person: the valid identity both suites send, with a matching selfie. */
export const agus = firstPerson();
export const agusSelfie = referenceSelfie(agus.nik);
export const agusIdentity = { nik: agus.nik, name: agus.name, date_of_birth: agus.date_of_birth };

/** The Lambda timeouts the stack deploys with (local/server.ts gives the handlers the same). */
export const API_TIMEOUT_MS = 28_000;
export const QUEUE_TIMEOUT_MS = 120_000;

export type ApiHandler = ReturnType<typeof createApiHandler>;
export type QueueHandler = ReturnType<typeof createSelfieUploadedHandler>;

/**
 * Invokes the API handler as Lambda would, with `remainingMs` of the invocation left. Every
 * result is held to the OpenAPI document: one outside it fails the test.
 */
export async function invokeApi(
  handler: ApiHandler,
  event: APIGatewayProxyEvent,
  remainingMs = API_TIMEOUT_MS,
): Promise<APIGatewayProxyResult> {
  const result = (await handler(
    event,
    lambdaContext('facematch-api', remainingMs),
  )) as APIGatewayProxyResult;
  expectConformingResult(event, result);
  return result;
}

/** Invokes the queue handler as the SQS event source mapping would. */
export const invokeQueue = (
  handler: QueueHandler,
  event: SQSEvent,
  remainingMs = QUEUE_TIMEOUT_MS,
): Promise<SQSBatchResponse> =>
  handler(
    event,
    lambdaContext('facematch-selfie-uploaded', remainingMs),
  ) as Promise<SQSBatchResponse>;

/** A response header, whatever its case. */
export const headerOf = (result: APIGatewayProxyResult, name: string): string | undefined => {
  const value = Object.entries(result.headers ?? {}).find(
    ([key]) => key.toLowerCase() === name.toLowerCase(),
  )?.[1];
  return value === undefined ? undefined : String(value);
};

/** What DynamoDB answers under load, shaped as the SDK's deserialiser would hand it over. */
export type AwsFaultKind = 'throttling' | 'server-error';

/**
 * An error as the SDK builds it from DynamoDB's answer: the name, `$fault` and the HTTP status are
 * what the SDK's retry classifier and `isTransientAwsError` look at.
 */
export function awsServiceError(kind: AwsFaultKind): Error {
  const [name, message, status, fault] =
    kind === 'throttling'
      ? [
          'ProvisionedThroughputExceededException',
          'The level of configured provisioned throughput for the table was exceeded.',
          400,
          'client',
        ]
      : ['InternalServerError', 'Internal server error', 500, 'server'];
  return Object.assign(new Error(message), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status, requestId: 'FAULT-INJECTED', attempts: 1 },
  });
}

/** One SDK attempt: the low-level command name (`GetItemCommand`, ...) and its marshalled input. */
export interface AwsAttempt {
  command: string;
  input: Record<string, unknown>;
}

export interface DynamoFault {
  kind: AwsFaultKind;
  /** How many matching attempts fail; each SDK retry is an attempt of its own. */
  times: number;
  /** Which attempts may fail; all by default. */
  when?: (attempt: AwsAttempt) => boolean;
}

export interface FaultyDynamo {
  /** The verdict store over the faulty client; give it to a runtime with `withStore`. */
  store: DynamoVerdictStore;
  documentClient: DynamoDBDocumentClient;
  /** Every attempt that reached the fault layer, in order, and whether it was failed there. */
  attempts: Array<{ command: string; failed: boolean }>;
  /** Queues a fault; faults are taken in order, each until its `times` are spent. */
  inject(fault: DynamoFault): void;
  destroy(): void;
}

/** A marshalled `PutItem` whose item has this status (the store's verdict and release writes). */
export const putsStatus =
  (status: string) =>
  (attempt: AwsAttempt): boolean =>
    attempt.command === 'PutItemCommand' &&
    (attempt.input.Item as { status?: { S?: string } } | undefined)?.status?.S === status;

export const isCommand =
  (...commands: string[]) =>
  (attempt: AwsAttempt): boolean =>
    commands.includes(attempt.command);

/**
 * A DynamoDB document client built as the Lambdas build theirs, with a middleware below the SDK's
 * retry middleware (the `deserialize` step runs inside every attempt) that throws injected faults
 * before the request is sent. The SDK's own retries therefore see them exactly as they would see
 * DynamoDB's answers: `maxAttempts` (3) attempts, backoff, then the last error.
 */
export function faultyDynamo(t: TestRuntime, tableName = t.localAws.tableName): FaultyDynamo {
  const client = createDynamoClient({
    region: LOCAL_AWS_REGION,
    credentials: { ...LOCAL_AWS_CREDENTIALS },
    endpoint: t.localAws.dynamoEndpoint,
  });
  const documentClient = createDynamoDocumentClient({ client });
  const faults: Array<DynamoFault & { left: number }> = [];
  const attempts: FaultyDynamo['attempts'] = [];
  documentClient.middlewareStack.add(
    (next, context) => async (args) => {
      const attempt: AwsAttempt = {
        command: String(context.commandName),
        input: (args.input ?? {}) as Record<string, unknown>,
      };
      const fault = faults.find((candidate) => candidate.left > 0);
      if (fault && (fault.when?.(attempt) ?? true)) {
        fault.left -= 1;
        attempts.push({ command: attempt.command, failed: true });
        throw awsServiceError(fault.kind);
      }
      attempts.push({ command: attempt.command, failed: false });
      return next(args);
    },
    { step: 'deserialize', name: 'injectDynamoFaults', priority: 'high' },
  );
  return {
    store: new DynamoVerdictStore({ client: documentClient, tableName }),
    documentClient,
    attempts,
    inject: (fault) => faults.push({ ...fault, left: fault.times }),
    destroy: () => client.destroy(),
  };
}

export interface CountingSelfieStore {
  store: S3SelfieStore;
  /** Every S3 command sent, in order, with the key it named. */
  commands: Array<{ command: string; key: string | undefined }>;
  client: S3Client;
}

/** The real S3 selfie store over a client that records every command (HEAD, GET, DELETE). */
export function countingSelfieStore(
  t: TestRuntime,
  bucket = t.localAws.bucket,
): CountingSelfieStore {
  const client = t.localAws.createS3Client();
  const commands: CountingSelfieStore['commands'] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: unknown } | undefined;
      commands.push({
        command: String(context.commandName),
        key: typeof input?.Key === 'string' ? input.Key : undefined,
      });
      return next(args);
    },
    { step: 'initialize', name: 'countS3Commands' },
  );
  return { store: new S3SelfieStore({ client, bucket }), commands, client };
}

/**
 * A selfie store that records every key it is asked to read and, for the keys in
 * `metadataByKey`, answers that user metadata instead of the object's own (S3 carries US-ASCII
 * only; this lets any string reach the metadata parser). Bytes always come from `inner`.
 */
export function recordingSelfieStore(
  inner: SelfieStore,
  metadataByKey = new Map<string, Record<string, string>>(),
): SelfieStore & { reads: string[]; metadataByKey: Map<string, Record<string, string>> } {
  const reads: string[] = [];
  return {
    reads,
    metadataByKey,
    async read(key, maxBytes) {
      reads.push(key);
      const object = await inner.read(key, maxBytes);
      const metadata = metadataByKey.get(key);
      return metadata === undefined ? object : { ...object, metadata };
    },
    delete: (key) => inner.delete(key),
    createUpload: (input) => inner.createUpload(input),
  };
}

/** The runtime with another verdict store; configuration, clients and settings are shared. */
export const withStore = (runtime: Runtime, store: VerdictStore): Runtime => ({
  ...runtime,
  deps: { ...runtime.deps, store },
});

/** The runtime with another selfie store. */
export const withSelfies = (runtime: Runtime, selfies: SelfieStore): Runtime => ({
  ...runtime,
  deps: { ...runtime.deps, selfies },
});

/** The runtime with some settings changed, on a copy: the original's settings are untouched. */
export const withSettings = (runtime: Runtime, settings: Partial<VerifySettings>): Runtime => ({
  ...runtime,
  deps: { ...runtime.deps, settings: { ...runtime.deps.settings, ...settings } },
});

/** A loopback port that was free a moment ago and has nothing listening on it now. */
export async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A runtime of the production composition root whose DynamoDB endpoint is a closed loopback port
 * (connection refused at once); S3 and IDmeta are the test runtime's.
 */
export async function runtimeWithUnreachableDynamo(
  t: TestRuntime,
  options: { busyWaitMs: number },
): Promise<{ runtime: Runtime; endpoint: string }> {
  const endpoint = `http://127.0.0.1:${await closedLoopbackPort()}`;
  const runtime = createRuntime(parseConfig(t.env), {
    busyWaitMs: options.busyWaitMs,
    aws: {
      dynamodb: {
        region: LOCAL_AWS_REGION,
        credentials: { ...LOCAL_AWS_CREDENTIALS },
        endpoint,
        connectionTimeoutMs: 500,
      },
      s3: {
        region: LOCAL_AWS_REGION,
        credentials: { ...LOCAL_AWS_CREDENTIALS },
        endpoint: t.localAws.s3Endpoint,
      },
    },
  });
  return { runtime, endpoint };
}
