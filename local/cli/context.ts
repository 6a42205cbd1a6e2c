/**
 * What a command runs against: where it writes, the environment it reads, and the outside world
 * it may be handed (a fake fetch, static credentials, a fixed clock) so it can be tested whole.
 */
import {
  type ApiClient,
  type CredentialsSource,
  createApiClient,
  type FetchLike,
} from './api-client.ts';

export interface Writer {
  write(chunk: string): unknown;
  /** Progress lines are drawn only on a terminal. */
  isTTY?: boolean;
}

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
}

export interface CliDeps {
  env?: Record<string, string | undefined>;
  fetch?: FetchLike;
  /** Default: the standard AWS credential chain, resolved only when a request is signed. */
  credentials?: CredentialsSource;
  now?: () => Date;
  /** Reads all of stdin (`--identity-file -`); default: the process's. */
  readStdin?: () => Promise<string>;
  /** `facematch console`: how it opens the page (default: the platform's opener). */
  openBrowser?: (url: string) => void;
  /** `facematch console`: stops it (default: SIGINT or SIGTERM). */
  stop?: AbortSignal;
}

export interface CliContext extends CliDeps {
  io: CliIo;
  env: Record<string, string | undefined>;
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';

/** The `--endpoint` line of every API command's usage. */
export const ENDPOINT_OPTION = `  --endpoint URL          the API (default: $FACEMATCH_ENDPOINT, else ${DEFAULT_ENDPOINT});
                          a non-loopback URL must be https and is signed with SigV4`;

export const endpointOf = (flag: string | undefined, env: CliContext['env']): string =>
  flag ?? (env.FACEMATCH_ENDPOINT?.trim() || DEFAULT_ENDPOINT);

/** The API client a command uses: the `--endpoint` flag (or the default) and the context's world. */
export const apiClientFor = (context: CliContext, endpointFlag: string | undefined): ApiClient =>
  createApiClient({
    endpoint: endpointOf(endpointFlag, context.env),
    env: context.env,
    fetch: context.fetch,
    credentials: context.credentials,
    now: context.now,
  });
