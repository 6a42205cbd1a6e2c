/**
 * `facematch console`: the console on 127.0.0.1, its API calls passed to a deployed stage and
 * signed with SigV4 from the operator's AWS credentials, which never reach the browser. The proxy
 * holds those credentials, so it is a target and defends itself:
 * - it listens on loopback only;
 * - it answers only to a `Host` of `127.0.0.1:<port>` or `localhost:<port>` (DNS rebinding: a
 *   hostile name that resolves to 127.0.0.1 still sends its own name);
 * - every API call carries the per-run token in `X-Facematch-Console-Token`, which only the page
 *   it served knows (a header, not a cookie: another site's page cannot make a browser send it);
 * - a cross-site `Origin` or `Sec-Fetch-Site` is refused; a POST body must be JSON;
 * - it passes on only the API's own routes, with only the headers the API needs.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type ApiClientOptions, createApiClient, regionFromHost } from '../cli/api-client.ts';
import { readBody } from '../lambda-shim.ts';
import { listen } from '../listen.ts';
import { isCrossSite } from '../request-guard.ts';
import { CONSOLE_TOKEN_HEADER, createConsoleSite, isConsoleHost } from './site.ts';

export interface ConsoleProxyOptions extends Omit<ApiClientOptions, 'timeoutMs'> {
  /** 0 (the default): a free port. */
  port?: number;
  thresholds?: { approve: number; reject: number };
  /** The largest request body passed on; API Gateway's own limit is 10 MB. */
  maxBodyBytes?: number;
}

export interface ConsoleProxy {
  url: string;
  port: number;
  token: string;
  /** The SigV4 region, or null when the endpoint is loopback and calls go unsigned. */
  signingRegion: string | null;
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** The public API's routes (DESIGN.md "HTTP API"); nothing else is passed on. */
const API_ROUTES = [
  /^\/verifications$/,
  /^\/verifications\/[^/]+$/,
  /^\/verifications\/[^/]+\/(?:review|selfie)$/,
  /^\/data-subjects\/(?:search|erase)$/,
];
/** Headers of the API's answer the page may need; nothing else comes back. */
const ANSWER_HEADERS = ['retry-after', 'allow', 'facematch-replayed'];

function problem(
  response: ServerResponse,
  status: number,
  code: string,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  response.end(
    JSON.stringify({
      type: `urn:facematch:problem:${code.toLowerCase().replace(/_/g, '-')}`,
      title,
      status,
      detail,
      code,
      errors: [],
    }),
  );
}

const sameToken = (sent: string | string[] | undefined, token: string) => {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

const isJson = (contentType: string | undefined) =>
  /^application\/json\s*(?:;\s*charset=utf-8\s*)?$/i.test(contentType?.trim() ?? '');

/** Where presigned selfie URLs of this endpoint point: the region's S3 (virtual-hosted or path). */
function imageOrigins(endpoint: URL): string[] {
  const region = regionFromHost(endpoint.hostname);
  if (region) return [`https://*.s3.${region}.amazonaws.com`, `https://s3.${region}.amazonaws.com`];
  // A loopback API (`npm start`): its S3 is on another loopback port.
  return ['http://127.0.0.1:*', 'http://localhost:*'];
}

export async function startConsoleProxy(options: ConsoleProxyOptions): Promise<ConsoleProxy> {
  const client = createApiClient(options);
  const token = randomBytes(32).toString('base64url');
  const site = createConsoleSite({
    token,
    imageOrigins: imageOrigins(client.endpoint),
    thresholds: options.thresholds,
  });
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const port = request.socket.localPort;
    if (!isConsoleHost(request)) {
      request.resume();
      problem(
        response,
        403,
        'HOST_NOT_ALLOWED',
        'Host not allowed',
        `this console answers only to 127.0.0.1:${port} or localhost:${port}`,
      );
      return;
    }
    const url = new URL(request.url ?? '/', `http://${LOOPBACK}`);
    if (url.pathname === '/' && (request.method === 'GET' || request.method === 'HEAD')) {
      response.writeHead(302, { location: '/console' });
      response.end();
      return;
    }
    if (await site.handle(request, response)) return;

    if (!API_ROUTES.some((route) => route.test(url.pathname))) {
      problem(response, 404, 'ROUTE_NOT_FOUND', 'Not Found', 'no such route');
      return;
    }
    if (isCrossSite(request)) {
      problem(response, 403, 'CROSS_SITE_REFUSED', 'Forbidden', 'only the console page may call');
      return;
    }
    if (!sameToken(request.headers[CONSOLE_TOKEN_HEADER], token)) {
      problem(
        response,
        403,
        'CONSOLE_TOKEN_REQUIRED',
        'Forbidden',
        `every API call needs this run's token in ${CONSOLE_TOKEN_HEADER}: reload the console`,
      );
      return;
    }
    const method = request.method;
    if (method !== 'GET' && method !== 'POST') {
      problem(response, 405, 'METHOD_NOT_ALLOWED', 'Method Not Allowed', `${method} is not used`, {
        allow: 'GET, POST',
      });
      return;
    }
    let body: Buffer | undefined;
    if (method === 'POST') {
      if (!isJson(request.headers['content-type'])) {
        problem(
          response,
          415,
          'UNSUPPORTED_CONTENT_TYPE',
          'Unsupported Media Type',
          'the body must be application/json',
        );
        return;
      }
      const read = await readBody(request, maxBodyBytes);
      if (read === null) {
        problem(
          response,
          413,
          'BODY_TOO_LARGE',
          'Content Too Large',
          `the request body is larger than ${maxBodyBytes} bytes`,
        );
        return;
      }
      body = read;
    }
    const answer = await client.forward({
      method,
      path: url.pathname,
      query: url.searchParams,
      ...(body ? { body } : {}),
    });
    const headers: Record<string, string> = {
      'content-type': answer.contentType || 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    };
    for (const name of ANSWER_HEADERS) {
      const value = answer.headers?.get(name);
      if (value) headers[name] = value;
    }
    response.writeHead(answer.status, headers);
    response.end(answer.text);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // Credentials or the network: the reason is ours (never the API's body), safe to show.
      const reason = error instanceof Error ? error.message : String(error);
      if (response.headersSent) response.end();
      else problem(response, 502, 'API_UNREACHABLE', 'The API could not be reached', reason);
    });
  });
  const port = await listen(server, options.port ?? 0, LOOPBACK);
  return {
    url: `http://${LOOPBACK}:${port}/console`,
    port,
    token,
    signingRegion: client.signingRegion,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
