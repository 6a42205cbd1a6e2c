/**
 * Where the IDmeta API token (and any other string secret, such as the data key) comes from. In
 * AWS it lives in Secrets Manager and is cached per Lambda instance with an explicit expiry;
 * locally it is `IDMETA_TOKEN`. The value never appears in an error message, a cause or a log.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, FacematchError } from '../core/errors.ts';

export interface TokenSource {
  /** The current token, cached when the source caches. */
  get(): Promise<string>;
  /** Re-reads the token, bypassing the cache (after IDmeta answered 401). */
  refresh(): Promise<string>;
}

export interface SecretsManagerSecretOptions {
  client: SecretsManagerClient;
  /** Secret name or ARN (`IDMETA_TOKEN_SECRET_ID`). */
  secretId: string;
  /** How long a fetched value is served from memory before it is read again. */
  ttlMs: number;
  /** When set, a JSON secret `{"<field>": "..."}` is accepted as well as the raw token. */
  field?: string;
  now?: () => number;
}

/**
 * Secrets Manager errors that no retry will fix: the operator must change IAM, the secret id or
 * the key policy. Everything else (throttling, network, 5xx) is transient.
 */
const PERMANENT_SECRET_ERRORS = new Set([
  'AccessDeniedException',
  'ResourceNotFoundException',
  'DecryptionFailure',
  'InvalidParameterException',
  'InvalidRequestException',
  'ValidationException',
]);

// biome-ignore lint/suspicious/noControlCharactersInRegex: a header value must not contain them
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * A token that would make an invalid `Authorization` header. Caught here because `fetch` reports
 * an invalid header as a TypeError, which looks like a connection failure and would be retried.
 */
function assertUsableToken(token: string, origin: string): string {
  if (token === '') {
    throw new ConfigError(`${origin} is empty`);
  }
  if (CONTROL_CHARACTERS.test(token)) {
    throw new ConfigError(`${origin} contains control characters`);
  }
  return token;
}

/** `IDMETA_TOKEN` for the local run: nothing to re-read, so `refresh()` returns the same value. */
export class StaticTokenSource implements TokenSource {
  readonly #token: string;

  constructor(token: string, origin = 'IDMETA_TOKEN') {
    this.#token = assertUsableToken(token.trim(), origin);
  }

  get(): Promise<string> {
    return Promise.resolve(this.#token);
  }

  refresh(): Promise<string> {
    return Promise.resolve(this.#token);
  }
}

/**
 * A string secret in Secrets Manager, cached for `ttlMs` so a rotated token is picked up without
 * a redeploy (`Infinity` reads once per container). Concurrent reads share one request; a failed read is not cached, so the next call
 * tries again. Errors:
 * - the secret is empty, binary, or JSON without the field: `ConfigError` (the operator must fix
 *   the secret; a retry cannot help, and `IdmetaTokenError` would wrongly say IDmeta refused it);
 * - Secrets Manager failed: a `FacematchError` with code `SECRET_UNAVAILABLE`, the SDK error
 *   as `cause`, transient unless the failure is one only the operator can fix (access, not found).
 */
export class SecretsManagerSecret implements TokenSource {
  readonly #client: SecretsManagerClient;
  readonly #secretId: string;
  readonly #ttlMs: number;
  readonly #field: string | undefined;
  readonly #now: () => number;
  #cached: { token: string; expiresAt: number } | undefined;
  #inFlight: Promise<string> | undefined;

  constructor(options: SecretsManagerSecretOptions) {
    if (options.secretId.trim() === '') {
      throw new ConfigError('IDMETA_TOKEN_SECRET_ID is empty');
    }
    // Infinity is allowed: a key that must never change under running code is read once.
    if (Number.isNaN(options.ttlMs) || options.ttlMs < 0) {
      throw new ConfigError('the secret cache ttlMs must be a number of milliseconds >= 0');
    }
    this.#client = options.client;
    this.#secretId = options.secretId;
    this.#ttlMs = options.ttlMs;
    this.#field = options.field;
    this.#now = options.now ?? Date.now;
  }

  get(): Promise<string> {
    const cached = this.#cached;
    if (cached !== undefined && this.#now() < cached.expiresAt) {
      return Promise.resolve(cached.token);
    }
    return this.#read();
  }

  /**
   * Drops the cache and reads again. Joins a read already in flight instead of starting another:
   * a burst of 401s then costs one Secrets Manager call, and that read is newer than the refused
   * token.
   */
  refresh(): Promise<string> {
    this.#cached = undefined;
    return this.#read();
  }

  /**
   * Starts a read during Lambda init, where it runs before the first request is billed. Never
   * rejects: a failure is not cached, so the first `get()` retries and reports it where the
   * handler can turn it into a response.
   */
  async prefetch(): Promise<void> {
    try {
      await this.get();
    } catch {
      // Reported by the next get().
    }
  }

  #read(): Promise<string> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    const read = this.#fetch().then(
      (token) => {
        this.#cached = { token, expiresAt: this.#now() + this.#ttlMs };
        this.#inFlight = undefined;
        return token;
      },
      (error: unknown) => {
        this.#cached = undefined;
        this.#inFlight = undefined;
        throw error;
      },
    );
    this.#inFlight = read;
    return read;
  }

  async #fetch(): Promise<string> {
    let secretString: string | undefined;
    try {
      const output = await this.#client.send(
        new GetSecretValueCommand({ SecretId: this.#secretId }),
      );
      secretString = output.SecretString;
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      const permanent = PERMANENT_SECRET_ERRORS.has(name);
      throw new FacematchError(
        `could not read secret ${this.#secretId} from Secrets Manager${name === '' ? '' : ` (${name})`}`,
        {
          code: 'SECRET_UNAVAILABLE',
          status: permanent ? 500 : 503,
          transient: !permanent,
          cause: error,
        },
      );
    }
    const origin = `secret ${this.#secretId}`;
    if (secretString === undefined) {
      throw new ConfigError(`${origin} has no SecretString (a binary secret is not supported)`);
    }
    return assertUsableToken(this.#extract(secretString.trim(), origin), origin);
  }

  /** The raw token, or the named field of a JSON secret (the console's key/value form). */
  #extract(secret: string, origin: string): string {
    const field = this.#field;
    if (field === undefined || !secret.startsWith('{')) return secret;
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret);
    } catch {
      // A raw token that happens to start with a brace.
      return secret;
    }
    const value =
      typeof parsed === 'object' && parsed !== null
        ? (parsed as Record<string, unknown>)[field]
        : undefined;
    if (typeof value !== 'string') {
      throw new ConfigError(`${origin} is JSON without a string field "${field}"`);
    }
    return value.trim();
  }
}
