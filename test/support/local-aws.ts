/**
 * One dynalite and one s3rver per call, on free loopback ports, with a fresh table and bucket and
 * SDK clients built exactly as the Lambdas build theirs (only the endpoint differs).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  createDynamoClient,
  createDynamoDocumentClient,
} from '../../lambda/adapters/aws-clients.ts';
import { createS3Client } from '../../lambda/adapters/s3-client.ts';
import { createVerdictTable } from '../../lambda/adapters/verdict-store.ts';
import {
  LOCAL_AWS_CREDENTIALS,
  LOCAL_AWS_REGION,
  type RunningServer,
  startDynalite,
  startS3rver,
} from '../../local/aws-servers.ts';

export { LOCAL_AWS_REGION };

export interface LocalAws {
  dynamoEndpoint: string;
  s3Endpoint: string;
  tableName: string;
  bucket: string;
  documentClient: DynamoDBDocumentClient;
  dynamoClient: DynamoDBClient;
  s3Client: S3Client;
  /** Builds another S3 client for the same server (e.g. one with a counting middleware). */
  createS3Client(): S3Client;
  stop(): Promise<void>;
}

export const startLocalAws = async (options: { dataDir?: string } = {}): Promise<LocalAws> => {
  const suffix = randomBytes(6).toString('hex');
  const tableName = `facematch-verdicts-test-${suffix}`;
  const bucket = `facematch-selfies-test-${suffix}`;
  const ownedDir =
    options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'facematch-s3rver-')) : undefined;
  const s3Directory = ownedDir ?? join(options.dataDir as string, 's3');

  const servers: RunningServer[] = [];
  const clients: Array<{ destroy(): void }> = [];
  const stop = async (): Promise<void> => {
    // Clients first: destroying their agents closes the keep-alive sockets from our side.
    for (const client of clients) client.destroy();
    await Promise.all(servers.map((server) => server.close()));
    if (ownedDir !== undefined) await rm(ownedDir, { recursive: true, force: true });
  };

  try {
    const dynamo = await startDynalite(
      options.dataDir === undefined ? {} : { path: join(options.dataDir, 'dynamodb') },
    );
    servers.push(dynamo);
    const s3 = await startS3rver({ directory: s3Directory, bucket });
    servers.push(s3);

    const clientOptions = { region: LOCAL_AWS_REGION };
    const dynamoClient = createDynamoClient({
      ...clientOptions,
      credentials: { ...LOCAL_AWS_CREDENTIALS },
      endpoint: dynamo.endpoint,
    });
    clients.push(dynamoClient);
    const documentClient = createDynamoDocumentClient({ client: dynamoClient });
    const newS3Client = (): S3Client => {
      const client = createS3Client({
        ...clientOptions,
        credentials: { ...LOCAL_AWS_CREDENTIALS },
        endpoint: s3.endpoint,
      });
      clients.push(client);
      return client;
    };
    const s3Client = newS3Client();

    await createVerdictTable(dynamoClient, tableName);

    return {
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      tableName,
      bucket,
      documentClient,
      dynamoClient,
      s3Client,
      createS3Client: newS3Client,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};
