/**
 * The facematch HTTP API as the CLI calls it. Loopback endpoints (the local server) are called
 * as they are; any other endpoint is an API Gateway stage behind IAM auth, so the request is
 * signed with SigV4 (service `execute-api`) over the exact bytes sent: method, path with the
 * stage, query, host, content type and body. fetch, credentials and the clock can be injected.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { CliError } from './errors.ts';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export type CredentialsSource = AwsCredentials | (() => Promise<AwsCredentials>);

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
}

/** The part of `fetch` the client uses; the global `fetch` is one. */
export type FetchLike = (url: string, init: FetchInit) => Promise<Response>;

export interface ApiClientOptions {
  endpoint: string;
  fetch?: FetchLike;
  credentials?: CredentialsSource;
  /** For `AWS_REGION` / `AWS_DEFAULT_REGION` when the host does not name the region. */
  env?: Record<string, string | undefined>;
  /** Default: sign unless the endpoint is loopback. */
  sign?: boolean;
  now?: () => Date;
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  statusText: string;
  contentType: string;
  text: string;
  /** `Facematch-Replayed: true`: the stored answer of an identical earlier request. */
  replayed?: boolean;
  headers?: Headers;
}

/** A request passed through as it came (the console proxy): raw JSON bytes and its own query. */
export interface ForwardedRequest {
  method: 'GET' | 'POST';
  /** The API path after the stage, e.g. `/verifications/abc/review`. */
  path: string;
  query?: URLSearchParams;
  body?: Uint8Array;
}

export interface ApiClient {
  readonly endpoint: URL;
  /** The signing region, or null when requests go unsigned. */
  readonly signingRegion: string | null;
  postVerification(body: unknown): Promise<ApiResponse>;
  getVerification(verificationId: string): Promise<ApiResponse>;
  /** GET /verifications?review=open: one page of the open review queue. */
  listOpenReviews(page: { limit?: number; cursor?: string }): Promise<ApiResponse>;
  /** POST /verifications/{id}/review. */
  postReview(verificationId: string, body: unknown): Promise<ApiResponse>;
  /** `POST /data-subjects/{search|erase}`: the NIK goes in the body, never in the URL. */
  postDataSubject(action: 'search' | 'erase', body: { nik: string }): Promise<ApiResponse>;
  forward(request: ForwardedRequest): Promise<ApiResponse>;
}

/** API Gateway gives up after 29 s; a little more covers the network. */
const DEFAULT_TIMEOUT_MS = 35_000;
const ACCEPT = 'application/json, application/problem+json';

export function parseEndpoint(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`the endpoint "${raw}" is not a URL (e.g. http://127.0.0.1:3000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`the endpoint must be an http or https URL (got ${url.protocol})`);
  }
  if (url.username || url.password) {
    throw new CliError('the endpoint must not carry a user name or password');
  }
  return url;
}

/** 127.0.0.0/8, ::1 (also as a v4-mapped address) and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '::1' ||
    /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(host)
  );
}

/** `abc.execute-api.ap-southeast-3.amazonaws.com` (or its VPC endpoint form) names its region. */
export function regionFromHost(hostname: string): string | null {
  const match =
    /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/.exec(
      hostname.toLowerCase(),
    );
  return match?.[1] ?? null;
}

/** RFC 3986 encoding, as SigV4 canonicalises it, so the sent and the signed query agree. */
const escapeUri = (value: string) =>
  encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );

async function resolveCredentials(
  source: CredentialsSource | undefined,
  region: string,
): Promise<AwsCredentials> {
  try {
    if (source === undefined) {
      const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
      return await fromNodeProviderChain({ clientConfig: { region } })();
    }
    return typeof source === 'function' ? await source() : source;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `no AWS credentials to sign the request with (standard chain: AWS_ACCESS_KEY_ID and ` +
        `AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, container or instance role): ${reason}`,
    );
  }
}

function networkError(error: unknown, where: URL, timeoutMs: number): CliError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new CliError(`no answer from ${where} within ${Math.round(timeoutMs / 1000)} s`);
  }
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string }) : null;
  const reason =
    cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  const hint =
    reason === 'ECONNREFUSED' && isLoopbackHost(where.hostname)
      ? ' (is `facematch serve` running on that port?)'
      : '';
  return new CliError(`cannot reach ${where}: ${reason}${hint}`);
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const endpoint = parseEndpoint(options.endpoint);
  const env = options.env ?? {};
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sign = options.sign ?? !isLoopbackHost(endpoint.hostname);

  let signingRegion: string | null = null;
  if (sign) {
    if (endpoint.protocol !== 'https:' && !isLoopbackHost(endpoint.hostname)) {
      throw new CliError(
        `refusing to send a SigV4-signed request over plain http to ${endpoint.host}: ` +
          'use the https URL of the API (only loopback endpoints may be http)',
      );
    }
    signingRegion =
      regionFromHost(endpoint.hostname) ||
      env.AWS_REGION?.trim() ||
      env.AWS_DEFAULT_REGION?.trim() ||
      null;
    if (!signingRegion) {
      throw new CliError(
        `cannot tell the AWS region of ${endpoint.host} from its name: set AWS_REGION`,
      );
    }
  }

  // The stage (`/prod`) and any query of the endpoint stay on every request.
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  async function send(
    method: string,
    pathSuffix: string,
    body?: unknown,
    raw?: { bytes?: Uint8Array; query?: URLSearchParams },
  ): Promise<ApiResponse> {
    const params = [...endpoint.searchParams, ...(raw?.query ?? [])];
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of params) {
      const seen = query[name];
      query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    const queryString = params
      .map(([name, value]) => `${escapeUri(name)}=${escapeUri(value)}`)
      .join('&');
    const path = `${basePath}${pathSuffix}`;
    const url = `${endpoint.protocol}//${endpoint.host}${path}${queryString ? `?${queryString}` : ''}`;
    const bytes =
      raw?.bytes ??
      (body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body)));
    let headers: Record<string, string> = { accept: ACCEPT };
    if (bytes) headers['content-type'] = 'application/json';

    if (signingRegion) {
      const credentials = await resolveCredentials(options.credentials, signingRegion);
      const signer = new SignatureV4({
        service: 'execute-api',
        region: signingRegion,
        credentials,
        sha256: Sha256,
      });
      const signed = await signer.sign(
        {
          method,
          protocol: endpoint.protocol,
          hostname: endpoint.hostname,
          port: endpoint.port ? Number(endpoint.port) : undefined,
          path,
          query,
          // fetch sends exactly this Host (the URL's host, default port omitted).
          headers: { ...headers, host: endpoint.host },
          body: bytes,
        },
        { signingDate: now() },
      );
      const { host: _host, ...rest } = signed.headers;
      headers = rest;
    }

    const where = new URL(`${endpoint.origin}${path}`);
    let response: Response;
    let text: string;
    try {
      response = await fetchImpl(url, {
        method,
        headers,
        ...(bytes ? { body: bytes } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw networkError(error, where, timeoutMs);
    }
    return {
      status: response.status,
      statusText: response.statusText,
      contentType: response.headers.get('content-type') ?? '',
      text,
      replayed: response.headers.get('facematch-replayed') === 'true',
      headers: response.headers,
    };
  }

  /** The path of one verification. URL parsing would resolve `.` and `..` away from it. */
  const verificationPath = (verificationId: string) => {
    if (verificationId === '' || verificationId === '.' || verificationId === '..') {
      throw new CliError(`"${verificationId}" is not a verification id`);
    }
    return `/verifications/${encodeURIComponent(verificationId)}`;
  };

  return {
    endpoint,
    signingRegion,
    postVerification: (body) => send('POST', '/verifications', body),
    getVerification: async (verificationId) => send('GET', verificationPath(verificationId)),
    listOpenReviews: async (page) => {
      const query = new URLSearchParams({ review: 'open' });
      if (page.limit !== undefined) query.set('limit', String(page.limit));
      if (page.cursor !== undefined) query.set('cursor', page.cursor);
      return send('GET', '/verifications', undefined, { query });
    },
    postReview: async (verificationId, body) =>
      send('POST', `${verificationPath(verificationId)}/review`, body),
    postDataSubject: (action, body) => send('POST', `/data-subjects/${action}`, body),
    forward: (request) =>
      send(request.method, request.path, undefined, { bytes: request.body, query: request.query }),
  };
}
