/**
 * The embedded runtime behind `npm start`: an S3-compatible server, a DynamoDB-compatible server,
 * the IDmeta simulator (unless a real IDmeta is configured) and the HTTP API, all on loopback,
 * driving the very handlers that run in Lambda. State lives under the data directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createDynamoClient, createDynamoDocumentClient } from '../lambda/adapters/aws-clients.ts';
import { createVerdictTable } from '../lambda/adapters/verdict-store.ts';
import {
  createDeliveriesTable,
  DynamoWebhookDeliveries,
} from '../lambda/adapters/webhook-deliveries.ts';
import { encodeNotificationKey, objectCreatedNotification } from '../lambda/adapters/work-queue.ts';
import { parseConfig } from '../lambda/config.ts';
import { FacematchError } from '../lambda/core/errors.ts';
import { type SweepReport, sweep } from '../lambda/core/sweep.ts';
import { messageFromEvent, type RetrySchedule } from '../lambda/core/webhooks.ts';
import { createApiHandler } from '../lambda/handlers/api-handler.ts';
import { problemResponse } from '../lambda/handlers/http.ts';
import { createSelfieUploadedHandler } from '../lambda/handlers/selfie-uploaded-handler.ts';
import { createRuntime, type Runtime } from '../lambda/runtime.ts';
import { parseLocalWebhookConfig } from '../lambda/webhook-config.ts';
import { openApiDocument } from '../lib/openapi.ts';
import {
  LOCAL_AWS_CREDENTIALS,
  LOCAL_AWS_REGION,
  type RunningDynalite,
  type RunningS3rver,
  startDynalite,
  startS3rver,
} from './aws-servers.ts';
import { createConsoleSite } from './console/site.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { type IdmetaSimulator, startIdmetaSimulator } from './idmeta-simulator/server.ts';
import {
  apiGatewayEvent,
  lambdaContext,
  MalformedPathError,
  readBody,
  writeResult,
} from './lambda-shim.ts';
import { listen, onPort } from './listen.ts';
import { LocalQueue } from './queue.ts';
import { postOperationMatcher, refuseForeignRequest } from './request-guard.ts';
import { FileVerdictEvents } from './verdict-events-file.ts';
import { LOCAL_WEBHOOK_TABLE, LocalWebhooks } from './webhooks.ts';

export const LOCAL_BUCKET = 'facematch-selfies';
export const LOCAL_TABLE = 'facematch-verdicts';
export const LOCAL_TEMPLATE_ID = 'local-trust-flow';
const LOOPBACK = '127.0.0.1';
const SIMULATOR_TOKEN = 'sim-local-token';

/** The Lambda timeouts the stack deploys with; the local shim gives handlers the same time. */
const API_TIMEOUT_MS = 28_000;
const QUEUE_TIMEOUT_MS = 120_000;

export interface LocalRuntimeOptions {
  port?: number;
  s3Port?: number;
  dynamoPort?: number;
  simulatorPort?: number;
  dataDir?: string;
  /** Extra or overriding configuration; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Redelivery of failed queue records, as SQS's visibility timeout would. */
  queueRetryDelayMs?: number;
  maxReceiveCount?: number;
  log?: (line: string) => void;
  /** Tests: the local webhook sender's schedule and timeout instead of the deployed ones. */
  webhookSchedule?: RetrySchedule;
  webhookTimeoutMs?: number;
}

export interface LocalRuntime {
  apiUrl: string;
  /** The operator console, `${apiUrl}/console`. */
  consoleUrl: string;
  s3Endpoint: string;
  dynamoEndpoint: string;
  idmetaUrl: string;
  simulator: IdmetaSimulator | undefined;
  bucket: string;
  tableName: string;
  queue: LocalQueue;
  runtime: Runtime;
  /** One sweep now, as the schedule runs it (`FACEMATCH_SWEEP_INTERVAL_MS`, default 60 s). */
  sweepNow(): Promise<SweepReport>;
  /** The in-process webhook sender, when WEBHOOK_URL and WEBHOOK_SECRET are set. */
  webhooks: LocalWebhooks | undefined;
  stop(): Promise<void>;
}

/** How often `npm start` sweeps stuck work; AWS sweeps every 5 minutes. 0 turns it off. */
const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

/** The data key must outlive restarts: every stored NIK hash and sealed identity depends on it. */
async function dataKey(dataDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (env.FACEMATCH_DATA_KEY) return env.FACEMATCH_DATA_KEY;
  const file = join(dataDir, 'data-key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('base64url');
    await writeFile(file, `${key}\n`, { mode: 0o600 });
    return key;
  }
}

const envNumber = (env: NodeJS.ProcessEnv, name: string, fallback: number, max = 65535) => {
  const value = env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > max) {
    throw new Error(
      max === 65535
        ? `${name} must be a port number (got "${value}")`
        : `${name} must be an integer from 0 to ${max} (got "${value}")`,
    );
  }
  return number;
};

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));
  // Before anything starts: a bad WEBHOOK_URL or WEBHOOK_SECRET fails naming it, never its value.
  const webhookConfig = parseLocalWebhookConfig(env);
  const dataDir = resolve(options.dataDir ?? env.FACEMATCH_DATA_DIR ?? '.facematch');
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir);

  const stops: Array<() => Promise<void>> = [unlock];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const maxReceiveCount = options.maxReceiveCount ?? 3;
    const visibilityTimeoutMs = options.queueRetryDelayMs ?? 2_000;
    // Durable like SQS: a crash (kill -9, out of memory) loses no upload's notification.
    const queue = new LocalQueue({
      directory: join(dataDir, 'queue'),
      maxReceiveCount,
      visibilityTimeoutMs,
      // One message per invocation, so that its receive is its claim (see receiveTimeoutMs).
      batchSize: 1,
      onDeadLetter: (record) =>
        log(`dead-lettered message ${record.messageId} after ${maxReceiveCount} receives`),
    });
    const dynamo: RunningDynalite = await onPort(
      'DYNAMODB_PORT',
      options.dynamoPort ?? envNumber(env, 'DYNAMODB_PORT', 8000),
      (port) => startDynalite({ host: LOOPBACK, port, path: join(dataDir, 'dynamodb') }),
    );
    stops.push(() => dynamo.close());
    const s3: RunningS3rver = await onPort(
      'S3_PORT',
      options.s3Port ?? envNumber(env, 'S3_PORT', 4569),
      (port) =>
        startS3rver({
          host: LOOPBACK,
          port,
          directory: join(dataDir, 's3'),
          bucket: env.SELFIE_BUCKET_NAME ?? LOCAL_BUCKET,
        }),
    );
    stops.push(() => s3.close());
    s3.s3rver.on('event', (notification) => {
      // The stack subscribes the queue to object-created events under incoming/ only; so does
      // the bridge (review/ holds the selfies kept for reviewers).
      const created = notification.Records.filter(
        (record) =>
          record.eventName.startsWith('ObjectCreated:') &&
          record.s3.object.key.startsWith('incoming/'),
      );
      if (created.length === 0) return;
      const Records = created.map((record) => ({
        ...record,
        awsRegion: LOCAL_AWS_REGION,
        s3: {
          ...record.s3,
          object: { ...record.s3.object, key: encodeNotificationKey(record.s3.object.key) },
        },
      }));
      // Synchronous: s3rver answers the upload only after this returns, so an acknowledged
      // upload always has its message in the queue's folder (a failure here answers a 500).
      queue.send(JSON.stringify({ Records }));
    });

    let simulator: IdmetaSimulator | undefined;
    let idmetaUrl = env.IDMETA_BASE_URL;
    let idmetaToken = env.IDMETA_TOKEN;
    if (!idmetaUrl) {
      simulator = await startIdmetaSimulator({
        host: LOOPBACK,
        port: options.simulatorPort ?? envNumber(env, 'IDMETA_SIM_PORT', 4010),
        tokens: [SIMULATOR_TOKEN],
      });
      const running = simulator;
      stops.push(() => running.close());
      idmetaUrl = simulator.url;
      idmetaToken = SIMULATOR_TOKEN;
    }

    const aws = { region: LOCAL_AWS_REGION, credentials: { ...LOCAL_AWS_CREDENTIALS } };
    const tableName = env.VERDICT_TABLE_NAME ?? LOCAL_TABLE;
    const dynamoClient = createDynamoClient({ ...aws, endpoint: dynamo.endpoint });
    await createVerdictTable(dynamoClient, tableName);
    // Always there, so `facematch webhooks deliveries` answers (empty) without a webhook set.
    await createDeliveriesTable(dynamoClient, LOCAL_WEBHOOK_TABLE);
    dynamoClient.destroy();

    const config = parseConfig({
      IDMETA_TEMPLATE_ID: LOCAL_TEMPLATE_ID,
      ...env,
      VERDICT_TABLE_NAME: tableName,
      SELFIE_BUCKET_NAME: s3.bucket,
      IDMETA_BASE_URL: idmetaUrl,
      IDMETA_TOKEN: idmetaToken,
      IDMETA_TOKEN_SECRET_ID: undefined,
      FACEMATCH_DATA_KEY: await dataKey(dataDir, env),
      FACEMATCH_DATA_KEY_SECRET_ID: undefined,
      // The local delivery log always exists: an erasure clears a person's deliveries from it.
      WEBHOOK_DELIVERIES_TABLE_NAME: LOCAL_WEBHOOK_TABLE,
    });
    const awsOptions = {
      dynamodb: { ...aws, credentials: { ...LOCAL_AWS_CREDENTIALS }, endpoint: dynamo.endpoint },
      s3: { ...aws, credentials: { ...LOCAL_AWS_CREDENTIALS }, endpoint: s3.endpoint },
    };
    let webhooks: LocalWebhooks | undefined;
    if (webhookConfig !== undefined) {
      const deliveriesClient = createDynamoClient({ ...aws, endpoint: dynamo.endpoint });
      stops.push(async () => deliveriesClient.destroy());
      const running = new LocalWebhooks({
        ...webhookConfig,
        deliveries: new DynamoWebhookDeliveries({
          client: createDynamoDocumentClient({ client: deliveriesClient }),
          tableName: LOCAL_WEBHOOK_TABLE,
        }),
        log,
        ...(options.webhookSchedule === undefined ? {} : { schedule: options.webhookSchedule }),
        ...(options.webhookTimeoutMs === undefined ? {} : { timeoutMs: options.webhookTimeoutMs }),
      });
      stops.push(() => running.stop());
      webhooks = running;
    }
    const events = new FileVerdictEvents(
      join(dataDir, 'events.jsonl'),
      log,
      webhooks === undefined ? undefined : (event) => webhooks?.enqueue(messageFromEvent(event)),
    );
    const apiRuntime = createRuntime(config, {
      busyWaitMs: 10_000,
      aws: awsOptions,
      events,
      subjectEvents: events,
      reviewEvents: events,
    });
    const queueRuntime = createRuntime(config, { busyWaitMs: 0, aws: awsOptions, events });
    const apiHandler = createApiHandler(apiRuntime);
    const queueHandler = createSelfieUploadedHandler(queueRuntime, { maxReceiveCount });

    // Messages sent before this point (uploads during start-up) wait on disk with the others.
    const restored = await queue.start({
      handler: (event, context) => queueHandler(event, context),
      context: () => lambdaContext('facematch-selfie-uploaded', QUEUE_TIMEOUT_MS),
      // The lease plus one handback delay: the redelivery of a message whose worker died finds
      // the claim expired. The local queue delivers one message at a time (below), so a
      // message is received just before its claim.
      receiveTimeoutMs: config.leaseMs + visibilityTimeoutMs,
    });
    stops.push(() => queue.stop());
    if (restored > 0) log(`taking up ${restored} queued message(s) left by the last run`);

    const sweepDeps = queueRuntime.sweepDeps({
      requeue: async (key) => {
        queue.send(objectCreatedNotification(s3.bucket, key));
      },
    });
    const sweepNow = () => sweep(sweepDeps, { deadline: Date.now() + QUEUE_TIMEOUT_MS - 1_000 });
    const sweepIntervalMs = envNumber(
      env,
      'FACEMATCH_SWEEP_INTERVAL_MS',
      DEFAULT_SWEEP_INTERVAL_MS,
      2 ** 31 - 1,
    );
    if (sweepIntervalMs > 0) {
      let sweeping = false;
      const timer = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        sweepNow()
          .then((report) => {
            const acted = Object.entries(report.actions).filter(([, count]) => count > 0);
            if (acted.length > 0) {
              log(`sweep: ${acted.map(([action, count]) => `${action}=${count}`).join(' ')}`);
            }
          })
          .catch((error: unknown) => log(`sweep failed: ${(error as Error).name}`))
          .finally(() => {
            sweeping = false;
          });
      }, sweepIntervalMs);
      timer.unref();
      stops.push(async () => clearInterval(timer));
    }

    const maxRequestBytes = config.selfieLimits.maxBytes * 2 + 64 * 1024;
    // The operator console (GET /console): the public API's client, kept selfies from local S3.
    const consoleSite = createConsoleSite({
      imageOrigins: [new URL(s3.endpoint).origin],
      thresholds: {
        approve: config.policy.approveThreshold,
        reject: config.policy.rejectThreshold,
      },
    });
    let apiUrl = '';
    /** Built on its first request, once `apiUrl` is known; the same text every time. */
    let openApiText: string | undefined;
    const isPostOperation = postOperationMatcher(
      openApiDocument({ local: true }).paths as Record<string, unknown>,
    );
    const server = createServer(async (request, response) => {
      try {
        if (await consoleSite.handle(request, response)) return;
        if (request.url === '/openapi.json' && request.method === 'GET') {
          openApiText ??= JSON.stringify(openApiDocument({ serverUrl: apiUrl, local: true }));
          writeResult(response, {
            statusCode: 200,
            headers: { 'content-type': 'application/json' },
            body: openApiText,
          });
          return;
        }
        if (request.url === '/health' && request.method === 'GET') {
          writeResult(response, {
            statusCode: 200,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ status: 'ok' }),
          });
          return;
        }
        // No IAM here: a foreign Host, another site, or an untyped POST is refused unread.
        const refused = refuseForeignRequest(request, isPostOperation);
        if (refused !== null) {
          request.resume();
          writeResult(response, refused);
          return;
        }
        const body = await readBody(request, maxRequestBytes);
        if (body === null) {
          // The rest of the body was not read: this connection cannot carry another request.
          writeResult(
            response,
            problemResponse(
              new FacematchError(`the request body is larger than ${maxRequestBytes} bytes`, {
                code: 'BODY_TOO_LARGE',
                status: 413,
              }),
              { connection: 'close' },
            ),
          );
          if (!request.complete) response.once('finish', () => request.socket.destroy());
          return;
        }
        const result: APIGatewayProxyResult = await apiHandler(
          apiGatewayEvent(request, body),
          lambdaContext('facematch-api', API_TIMEOUT_MS),
        );
        writeResult(response, result);
      } catch (error) {
        if (error instanceof MalformedPathError) {
          writeResult(response, problemResponse(error));
          return;
        }
        log(`local API failed: ${(error as Error).name}`);
        if (!response.headersSent) response.writeHead(500);
        response.end();
      }
    });
    const port = await onPort('PORT', options.port ?? envNumber(env, 'PORT', 3000), (requested) =>
      listen(server, requested, LOOPBACK),
    );
    apiUrl = `http://${LOOPBACK}:${port}`;
    stops.push(
      () =>
        new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
    );

    return {
      apiUrl,
      consoleUrl: `${apiUrl}/console`,
      s3Endpoint: s3.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      idmetaUrl,
      simulator,
      bucket: s3.bucket,
      tableName,
      queue,
      runtime: apiRuntime,
      sweepNow,
      webhooks,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
