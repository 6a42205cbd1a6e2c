/**
 * In-process stand-ins for DynamoDB (dynalite) and S3 (s3rver), speaking the real wire protocols
 * to the real SDK clients. Shared by the embedded runtime (`npm start`) and the integration tests.
 */
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { listen } from './listen.ts';
import { enforcePostPolicies } from './s3rver-post-policy.ts';
import { installS3rverPutFix } from './s3rver-put-fix.ts';

/**
 * s3rver accepts only its built-in account's access key (signatures are not verified, the key id
 * is; a presigned POST's signature is, by s3rver-post-policy.ts). dynalite accepts anything, so one pair serves both. Hand each client a copy: the SDK
 * writes a `$source` marker onto the credentials object it is given.
 */
export const LOCAL_AWS_CREDENTIALS: {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
} = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
};

export interface RunningServer {
  host: string;
  port: number;
  /** `http://host:port`, for the SDK's `endpoint` or `AWS_ENDPOINT_URL_*`. */
  endpoint: string;
  /** Stops listening, drops open (keep-alive) connections and waits for the server to close. */
  close(): Promise<void>;
}

export interface RunningDynalite extends RunningServer {
  server: Server;
}

export interface RunningS3rver extends RunningServer {
  /** Listen to `event` for S3-style object notifications (the local S3 -> queue bridge). */
  s3rver: S3rver;
  directory: string;
  bucket: string;
}

export interface StartDynaliteOptions {
  /** Default `127.0.0.1`: nothing here should be reachable from the network. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** LevelDB directory; in memory when absent. */
  path?: string;
}

export const startDynalite = async (
  options: StartDynaliteOptions = {},
): Promise<RunningDynalite> => {
  const host = options.host ?? '127.0.0.1';
  if (options.path !== undefined) await mkdir(options.path, { recursive: true });
  const server = dynalite({
    // Tables are ACTIVE at once: no polling for CREATING in tests and at start-up.
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  try {
    await listen(server, options.port ?? 0, host);
  } catch (error) {
    // dynalite closes its database (and releases the LevelDB lock on `path`) only when its server
    // closes, and a server that never listened cannot close: listen on any port, then close.
    await listen(server, 0, host)
      .then(() => closeServer(server))
      .catch(() => {});
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    host,
    port,
    endpoint: endpointOf(host, port),
    server,
    close: () => closeServer(server),
  };
};

export interface StartS3rverOptions {
  host?: string;
  port?: number;
  /** Where s3rver keeps buckets and objects; created when missing. */
  directory: string;
  /** Created at start unless it exists. */
  bucket: string;
  /** The bucket's region: a presigned POST scoped to another one is refused. */
  region?: string;
}

/** The region of every local client (test/support/local-aws.ts, local/server.ts). */
export const LOCAL_AWS_REGION = 'ap-southeast-3';

/** What s3rver 3.7's `run()` does, as two steps (its own `listen` returns the server). */
interface S3rverInternals {
  configureBuckets(): Promise<void>;
  listen(port: number, host: string, onListening: () => void): Server;
}

export const startS3rver = async (options: StartS3rverOptions): Promise<RunningS3rver> => {
  const host = options.host ?? '127.0.0.1';
  await mkdir(options.directory, { recursive: true });
  installS3rverPutFix();
  const s3rver = new S3rver({
    address: host,
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket }],
  });
  enforcePostPolicies(s3rver, {
    region: options.region ?? LOCAL_AWS_REGION,
    credentials: LOCAL_AWS_CREDENTIALS,
  });
  // `run()` without its own listen: it leaves the server without an error listener, so a busy
  // port would be an uncaught exception instead of a rejection the caller can explain.
  const internals = s3rver as unknown as S3rverInternals;
  await internals.configureBuckets();
  const server = await new Promise<Server>((resolve, reject) => {
    const started = internals.listen(options.port ?? 0, host, () => {
      started.off('error', reject);
      resolve(started);
    });
    started.once('error', reject);
  });
  s3rver.httpServer = server;
  const { port } = server.address() as AddressInfo;
  return {
    host,
    port,
    endpoint: endpointOf(host, port),
    s3rver,
    directory: options.directory,
    bucket: options.bucket,
    close: () => closeServer(server),
  };
};

const endpointOf = (host: string, port: number): string =>
  `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * `close()` alone waits for every keep-alive socket a client left open; dropping them makes the
 * stop prompt, so a test run or `npm start` exits without dangling handles.
 */
const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
