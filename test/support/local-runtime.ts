/**
 * `npm start`'s runtime for an end-to-end test file: on free loopback ports, in a scratch data
 * folder, with an S3 client for the local S3 server. Started after the caller has installed its
 * output capture, so the runtime's first log line is caught too (lambda/ and local/ are imported
 * only here, on start).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LocalRuntime } from '../../local/server.ts';

export interface TestLocalRuntime {
  local: LocalRuntime;
  s3: S3Client;
  dataDir: string;
  stop(): Promise<void>;
}

export interface TestLocalRuntimeOptions {
  /** Merged over the suites' IDmeta settings. */
  env?: Record<string, string>;
  /** Where the runtime's own lines go (default: stdout). */
  log?: (line: string) => void;
}

export async function startTestLocalRuntime(
  label: string,
  options: TestLocalRuntimeOptions = {},
): Promise<TestLocalRuntime> {
  const { startLocalRuntime } = await import('../../local/server.ts');
  const { createS3Client } = await import('../../lambda/adapters/s3-client.ts');
  const { LOCAL_AWS_CREDENTIALS } = await import('../../local/aws-servers.ts');
  const dataDir = await mkdtemp(join(tmpdir(), `facematch-${label}-`));
  const local = await startLocalRuntime({
    port: 0,
    s3Port: 0,
    dynamoPort: 0,
    simulatorPort: 0,
    dataDir,
    queueRetryDelayMs: 50,
    env: { IDMETA_TIMEOUT_MS: '3000', IDMETA_MAX_ATTEMPTS: '2', ...options.env },
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  const s3 = createS3Client({
    region: 'ap-southeast-3',
    credentials: { ...LOCAL_AWS_CREDENTIALS },
    endpoint: local.s3Endpoint,
  });
  return {
    local,
    s3,
    dataDir,
    async stop() {
      s3.destroy();
      await local.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
