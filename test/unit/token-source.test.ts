import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerSecret, StaticTokenSource } from '../../lambda/adapters/token-source.ts';
import { ConfigError, FacematchError } from '../../lambda/core/errors.ts';

const SECRET_ID = 'facematch/dev/idmeta-token';
const TOKEN = '20|xXGKsecretTokenValue';
const ROTATED = '21|rotatedTokenValue';

const secretsManager = mockClient(SecretsManagerClient);

function source(overrides: { ttlMs?: number; field?: string; now?: () => number } = {}) {
  return new SecretsManagerSecret({
    client: new SecretsManagerClient({ region: 'ap-southeast-3' }),
    secretId: SECRET_ID,
    ttlMs: overrides.ttlMs ?? 60_000,
    ...(overrides.field === undefined ? {} : { field: overrides.field }),
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
}

const reads = () => secretsManager.commandCalls(GetSecretValueCommand);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('SecretsManagerSecret', () => {
  beforeEach(() => {
    secretsManager.reset();
  });
  afterEach(() => {
    secretsManager.reset();
  });

  it('returns a plain secret string, trimmed, read by its id', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: ` ${TOKEN}\n` });

    // Act
    const token = await source().get();

    // Assess
    expect(token).toBe(TOKEN);
    expect(reads()).toHaveLength(1);
    expect(reads()[0]?.args[0].input).toEqual({ SecretId: SECRET_ID });
  });

  it('returns the named field of a JSON secret', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ token: ` ${TOKEN} `, other: 'x' }) });
    await expect(source({ field: 'token' }).get()).resolves.toBe(TOKEN);
  });

  it('accepts a raw token even when a field is configured', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    await expect(source({ field: 'token' }).get()).resolves.toBe(TOKEN);
  });

  it('refuses a JSON secret without the field, without echoing it', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ api_key: TOKEN }) });
    const error = await rejection(source({ field: 'token' }).get());
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain('"token"');
    expect(String(error)).not.toContain(TOKEN);
  });

  it('serves the cached token within the ttl: one read', async () => {
    let now = 1_000_000;
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    const secret = source({ ttlMs: 10_000, now: () => now });

    await secret.get();
    now += 9_999;
    const again = await secret.get();

    expect(again).toBe(TOKEN);
    expect(reads()).toHaveLength(1);
  });

  it('reads again once the ttl has passed, picking up a rotation', async () => {
    let now = 1_000_000;
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: TOKEN })
      .resolves({ SecretString: ROTATED });
    const secret = source({ ttlMs: 10_000, now: () => now });

    await secret.get();
    now += 10_000;
    const after = await secret.get();

    expect(after).toBe(ROTATED);
    expect(reads()).toHaveLength(2);
  });

  it('with an infinite ttl reads once per container', async () => {
    let now = 1_000_000;
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    const secret = source({ ttlMs: Number.POSITIVE_INFINITY, now: () => now });

    await secret.get();
    now += 365 * 24 * 3_600_000;
    await secret.get();

    expect(reads()).toHaveLength(1);
  });

  it('refresh() reads again even within the ttl, and later gets use the new value', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: TOKEN })
      .resolves({ SecretString: ROTATED });
    const secret = source();

    await secret.get();
    const refreshed = await secret.refresh();
    const cached = await secret.get();

    expect(refreshed).toBe(ROTATED);
    expect(cached).toBe(ROTATED);
    expect(reads()).toHaveLength(2);
  });

  it('coalesces concurrent gets into one read', async () => {
    secretsManager.on(GetSecretValueCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { SecretString: TOKEN };
    });
    const secret = source();

    const tokens = await Promise.all([secret.get(), secret.get(), secret.get(), secret.get()]);

    expect(tokens).toEqual([TOKEN, TOKEN, TOKEN, TOKEN]);
    expect(reads()).toHaveLength(1);
  });

  it('coalesces concurrent refreshes into one read', async () => {
    secretsManager.on(GetSecretValueCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { SecretString: TOKEN };
    });
    const secret = source();

    await Promise.all([secret.refresh(), secret.refresh(), secret.get()]);

    expect(reads()).toHaveLength(1);
  });

  it('does not cache a failed read: the next get tries again', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: TOKEN });
    const secret = source();

    const error = await rejection(secret.get());
    const token = await secret.get();

    expect(error).toBeInstanceOf(FacematchError);
    expect(error).toMatchObject({ code: 'SECRET_UNAVAILABLE', transient: true });
    expect(token).toBe(TOKEN);
    expect(reads()).toHaveLength(2);
  });

  it('wraps Secrets Manager errors with a cause; access or not-found is not transient', async () => {
    const sdkError = new ResourceNotFoundException({
      message: "Secrets Manager can't find the specified secret.",
      $metadata: {},
    });
    secretsManager.on(GetSecretValueCommand).rejects(sdkError);

    const error = await rejection(source().get());

    expect(error).toBeInstanceOf(FacematchError);
    expect(error).toMatchObject({ code: 'SECRET_UNAVAILABLE', transient: false });
    expect((error as Error).cause).toBe(sdkError);
    expect(String(error)).toContain(SECRET_ID);
    expect(String(error)).toContain('ResourceNotFoundException');
  });

  it.each([
    ['empty', ''],
    ['blank', '   \n'],
    ['an empty JSON field', JSON.stringify({ token: ' ' })],
  ])('refuses a secret that is %s with a ConfigError', async (_name, secretString) => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: secretString });
    const error = await rejection(source({ field: 'token' }).get());
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/empty/);
    expect(String(error)).toContain(SECRET_ID);
  });

  it('refuses a binary secret (no SecretString)', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2]) });
    await expect(source().get()).rejects.toBeInstanceOf(ConfigError);
  });

  it('refuses a token with a line break inside, without echoing it', async () => {
    const broken = `${TOKEN}\r\nX-Injected: 1`;
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: broken });
    const error = await rejection(source().get());
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).not.toContain(TOKEN);
  });

  it('never puts the secret value in an error', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ other: TOKEN }) })
      .rejectsOnce(new Error('boom'))
      .resolves({ SecretString: `${TOKEN}\u0000` });
    const secret = source({ field: 'token' });

    const errors = [
      await rejection(secret.get()),
      await rejection(secret.get()),
      await rejection(secret.get()),
    ];

    for (const error of errors) {
      expect(String(error)).not.toContain(TOKEN);
      expect(JSON.stringify(error)).not.toContain(TOKEN);
      expect((error as Error).stack ?? '').not.toContain(TOKEN);
    }
  });

  it('prefetch() reads during init, and never rejects', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('network down'))
      .resolves({ SecretString: TOKEN });
    const secret = source();

    await expect(secret.prefetch()).resolves.toBeUndefined();
    await secret.prefetch();
    const token = await secret.get();

    expect(token).toBe(TOKEN);
    expect(reads()).toHaveLength(2);
  });

  it('refuses an empty secret id and a negative ttl at construction', () => {
    const client = new SecretsManagerClient({ region: 'ap-southeast-3' });
    expect(() => new SecretsManagerSecret({ client, secretId: ' ', ttlMs: 1 })).toThrow(
      ConfigError,
    );
    expect(() => new SecretsManagerSecret({ client, secretId: SECRET_ID, ttlMs: -1 })).toThrow(
      ConfigError,
    );
  });
});

describe('StaticTokenSource', () => {
  it('returns the same token from get and refresh', async () => {
    const tokens = new StaticTokenSource(` ${TOKEN} `);
    await expect(tokens.get()).resolves.toBe(TOKEN);
    await expect(tokens.refresh()).resolves.toBe(TOKEN);
  });

  it('refuses an empty token, naming the variable', () => {
    expect(() => new StaticTokenSource('')).toThrow(/IDMETA_TOKEN/);
  });
});
