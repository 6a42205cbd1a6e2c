/**
 * Secrets are fetched once per cache period and connections are kept alive and reused. Each
 * service the runtime talks to (DynamoDB on dynalite, S3 on s3rver, the IDmeta simulator and a
 * loopback fake of Secrets Manager) sits behind a TCP proxy that counts the client connections
 * it accepts; the fake Secrets Manager counts GetSecretValue per secret. A fresh child process
 * builds the runtime exactly as a Lambda does (`IDMETA_TOKEN_SECRET_ID` and
 * `FACEMATCH_DATA_KEY_SECRET_ID` set, `AWS_ENDPOINT_URL_SECRETS_MANAGER` pointing at the fake)
 * and runs the verifications one after another, as one Lambda container would.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { AwsClientOptions } from '../lambda/adapters/aws-clients.ts';
import { parseConfig } from '../lambda/config.ts';
import { verify } from '../lambda/core/verify.ts';
import { createRuntime } from '../lambda/runtime.ts';
import { LOCAL_AWS_CREDENTIALS } from '../local/aws-servers.ts';
import { DEFAULT_SIM_TOKEN } from '../local/idmeta-simulator/server.ts';
import { LOCAL_AWS_REGION } from '../test/support/local-aws.ts';
import { API_BUSY_WAIT_MS, startTestRuntime, TEST_DATA_KEY } from '../test/support/runtime.ts';
import { runChild } from './child-process.ts';
import { budget, inlineRequest, SELFIE, s3Request } from './fixtures.ts';

interface CountingProxy {
  url: string;
  connections(): number;
  close(): Promise<void>;
}

/** A loopback TCP proxy to `target` that counts the connections clients open to it. */
async function countingProxy(target: string): Promise<CountingProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections += 1;
    const upstream = connect({ host: hostname, port: Number(port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface FakeSecretsManager {
  url: string;
  /** GetSecretValue calls per SecretId. */
  reads: Map<string, number>;
  close(): Promise<void>;
}

/** Secrets Manager's GetSecretValue (awsJson1.1) on loopback, for the SDK's real client. */
async function fakeSecretsManager(secrets: Record<string, string>): Promise<FakeSecretsManager> {
  const reads = new Map<string, number>();
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': String(Buffer.byteLength(text)),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  };
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      let secretId = '';
      try {
        secretId = String(
          (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId?: unknown }).SecretId ??
            '',
        );
      } catch {
        // Answered below as an unknown secret.
      }
      const value = secrets[secretId];
      if (target !== 'secretsmanager.GetSecretValue' || value === undefined) {
        answer(res, 400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
        return;
      }
      reads.set(secretId, (reads.get(secretId) ?? 0) + 1);
      answer(res, 200, {
        ARN: `arn:aws:secretsmanager:${LOCAL_AWS_REGION}:000000000000:secret:${secretId}-AbCdEf`,
        Name: secretId,
        SecretString: value,
        VersionId: randomUUID(),
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Math.floor(Date.now() / 1000),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    reads,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface ConnectionsChildInput {
  aws: { dynamodb: AwsClientOptions; s3: AwsClientOptions };
  keys: string[];
  /** Keep verifying (cycling through fresh ids, inline selfie) until this long has passed. */
  minDurationMs: number;
}

export interface ConnectionsChildResult {
  verifications: number;
  elapsedMs: number;
}

/** Child: a Lambda container's life, as the handler module starts it. */
export async function connectionsChild(
  input: ConnectionsChildInput,
): Promise<ConnectionsChildResult> {
  const runtime = createRuntime(parseConfig(process.env), {
    busyWaitMs: API_BUSY_WAIT_MS,
    aws: input.aws,
  });
  void runtime.prefetch();
  const started = performance.now();
  let verifications = 0;
  for (const key of input.keys) {
    const id = key.slice('incoming/'.length, key.lastIndexOf('.'));
    const outcome = await verify(s3Request(id, key), runtime.deps, budget());
    if (outcome.record.decision !== 'APPROVED') throw new Error(`${id}: not APPROVED`);
    verifications += 1;
  }
  while (performance.now() - started < input.minDurationMs) {
    const outcome = await verify(inlineRequest(`conn-t-${verifications}`), runtime.deps, budget());
    if (outcome.record.decision !== 'APPROVED') throw new Error('inline: not APPROVED');
    verifications += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { verifications, elapsedMs: performance.now() - started };
}

export interface ConnectionsPhase {
  label: string;
  secretTtlMs: number;
  verifications: number;
  elapsedMs: number;
  secretReads: { token: number; dataKey: number };
  connections: { idmeta: number; dynamodb: number; s3: number; secretsManager: number };
  idmetaCalls: number;
}

const TOKEN_SECRET = 'facematch/bench/idmeta-token';
const DATA_KEY_SECRET = 'facematch/bench/data-key';

export async function measureConnections(options: {
  verifications: number;
  ttlPhase: { ttlMs: number; durationMs: number };
}): Promise<ConnectionsPhase[]> {
  const t = await startTestRuntime();
  const fake = await fakeSecretsManager({
    [TOKEN_SECRET]: JSON.stringify({ token: DEFAULT_SIM_TOKEN }),
    [DATA_KEY_SECRET]: TEST_DATA_KEY,
  });
  const proxies: CountingProxy[] = [];
  try {
    const phases: ConnectionsPhase[] = [];
    const runPhase = async (
      label: string,
      count: number,
      secretTtlMs: number,
      minDurationMs: number,
    ) => {
      const proxy = async (target: string) => {
        const created = await countingProxy(target);
        proxies.push(created);
        return created;
      };
      const idmeta = await proxy(t.simulator.url);
      const dynamodb = await proxy(t.localAws.dynamoEndpoint);
      const s3 = await proxy(t.localAws.s3Endpoint);
      const secretsManager = await proxy(fake.url);
      fake.reads.clear();
      t.simulator.resetCalls();
      const keys: string[] = [];
      for (let i = 0; i < count; i++) {
        const key = `incoming/conn-${label}-${i}.jpg`;
        await t.localAws.s3Client.send(
          new PutObjectCommand({
            Bucket: t.localAws.bucket,
            Key: key,
            Body: SELFIE.bytes,
            ContentType: SELFIE.mime,
          }),
        );
        keys.push(key);
      }
      const credentials = { ...LOCAL_AWS_CREDENTIALS };
      const { IDMETA_TOKEN: _token, FACEMATCH_DATA_KEY: _key, ...base } = t.env;
      const result = await runChild<ConnectionsChildResult>('connections', {
        input: {
          aws: {
            dynamodb: { region: LOCAL_AWS_REGION, endpoint: dynamodb.url, credentials },
            s3: { region: LOCAL_AWS_REGION, endpoint: s3.url, credentials },
          },
          keys,
          minDurationMs,
        } satisfies ConnectionsChildInput,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          ...base,
          IDMETA_BASE_URL: idmeta.url,
          IDMETA_TOKEN_SECRET_ID: TOKEN_SECRET,
          FACEMATCH_DATA_KEY_SECRET_ID: DATA_KEY_SECRET,
          SECRET_CACHE_TTL_MS: String(secretTtlMs),
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
          AWS_REGION: LOCAL_AWS_REGION,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        timeoutMs: 180_000,
      });
      phases.push({
        label,
        secretTtlMs,
        verifications: result.verifications,
        elapsedMs: result.elapsedMs,
        secretReads: {
          token: fake.reads.get(TOKEN_SECRET) ?? 0,
          dataKey: fake.reads.get(DATA_KEY_SECRET) ?? 0,
        },
        connections: {
          idmeta: idmeta.connections(),
          dynamodb: dynamodb.connections(),
          s3: s3.connections(),
          secretsManager: secretsManager.connections(),
        },
        idmetaCalls: t.simulator.calls().filter((call) => call.endpoint === 'dukcapilfacematch')
          .length,
      });
    };
    await runPhase('reuse', options.verifications, 300_000, 0);
    await runPhase('ttl', 0, options.ttlPhase.ttlMs, options.ttlPhase.durationMs);
    return phases;
  } finally {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await fake.close();
    await t.stop();
  }
}
