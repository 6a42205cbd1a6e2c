/**
 * The Secrets Manager and EventBridge clients get the same timeouts as the DynamoDB and S3 ones:
 * with the SDK's defaults a stalled socket holds the invocation until Lambda's timeout.
 */
import { type AddressInfo, createServer, type Server } from 'node:net';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSecretsManagerClient,
  isTransientAwsError,
} from '../../lambda/adapters/aws-clients.ts';
import { createEventBridgeClient } from '../../lambda/adapters/eventbridge-client.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../local/aws-servers.ts';

describe('AWS clients against an endpoint that accepts and never answers', () => {
  let silent: Server;
  let endpoint: string;
  const options = () => ({
    region: 'ap-southeast-3',
    credentials: { ...LOCAL_AWS_CREDENTIALS },
    endpoint,
    maxAttempts: 1,
    socketTimeoutMs: 300,
  });

  beforeAll(async () => {
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    silent.close();
  });

  it.each([
    [
      'Secrets Manager',
      () => {
        const client = createSecretsManagerClient(options());
        return client
          .send(new GetSecretValueCommand({ SecretId: 'x' }))
          .finally(() => client.destroy());
      },
    ],
    [
      'EventBridge',
      () => {
        const client = createEventBridgeClient(options());
        return client
          .send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}' }] }))
          .finally(() => client.destroy());
      },
    ],
  ])('%s gives up on a stalled socket, as a transient failure', async (_name, call) => {
    // Act
    const started = Date.now();
    const error = await call().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    // Assess
    expect(error).toBeDefined();
    expect(isTransientAwsError(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
