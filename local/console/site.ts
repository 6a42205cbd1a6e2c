/**
 * The console's own pages: `GET /console` (HTML carrying the per-run token), `/console/console.js`
 * and `/console/console.css`, built from `page/` by esbuild the first time they are asked for
 * (in memory, about 100 ms), so `npm ci` and `npm start` need no build step. Every answer carries
 * a strict Content-Security-Policy and is given only to a loopback `Host` (DNS rebinding).
 * Served by `npm start` (local/server.ts) and by the `facematch console` proxy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { isLoopbackHost } from '../request-guard.ts';

export const CONSOLE_TOKEN_HEADER = 'x-facematch-console-token';

export interface ConsoleSiteOptions {
  /** The per-run token the page sends on every API call; a fresh random one by default. */
  token?: string;
  /** Origins the kept selfies are shown from (the presigned S3 GET), besides self, blob: and data:. */
  imageOrigins?: readonly string[];
  /** The thresholds the similarity gauge draws (the API does not publish them). */
  thresholds?: { approve: number; reject: number };
}

export interface ConsoleSite {
  readonly token: string;
  /** Answers a `/console` request and returns true; returns false for any other path. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
}

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

interface BuiltPage {
  html: string;
  version: string;
  script: Asset;
  style: Asset;
}

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));

const asset = (type: string, body: Buffer): Asset => ({
  type,
  body,
  gzip: gzipSync(body, { level: 9 }),
  etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 20)}"`,
});

/** One build per process: the page is the same for every site in it. */
let built: Promise<BuiltPage> | undefined;

export function buildConsolePage(): Promise<BuiltPage> {
  built ??= (async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [`${PAGE_DIR}main.ts`, `${PAGE_DIR}console.css`],
      bundle: true,
      minify: true,
      format: 'esm',
      target: ['chrome111', 'firefox115', 'safari16.4'],
      write: false,
      outdir: 'out',
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
    });
    const output = (suffix: string) => {
      const file = result.outputFiles.find((candidate) => candidate.path.endsWith(suffix));
      if (!file) throw new Error(`the console build wrote no ${suffix}`);
      return Buffer.from(file.contents);
    };
    const script = asset('text/javascript; charset=utf-8', output('main.js'));
    const style = asset('text/css; charset=utf-8', output('console.css'));
    const version = createHash('sha256')
      .update(script.body)
      .update(style.body)
      .digest('hex')
      .slice(0, 12);
    return { html: await readFile(`${PAGE_DIR}index.html`, 'utf8'), version, script, style };
  })();
  // A failed build is not remembered: the next request tries again (and shows the error again).
  built.catch(() => {
    built = undefined;
  });
  return built;
}

/** `127.0.0.1:<port>` or `localhost:<port>` of the socket the request came in on: nothing else. */
export const isConsoleHost = (request: IncomingMessage): boolean =>
  isLoopbackHost(request, ['127.0.0.1', 'localhost']);

export function contentSecurityPolicy(imageOrigins: readonly string[] = []): string {
  return [
    "default-src 'self'",
    `img-src ${["'self'", 'blob:', 'data:', ...imageOrigins].join(' ')}`,
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "media-src 'self' blob:",
    "font-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const escapeAttribute = (value: string) =>
  value.replace(/[&"<>]/g, (char) => `&#${char.charCodeAt(0)};`);

export function createConsoleSite(options: ConsoleSiteOptions = {}): ConsoleSite {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const thresholds = options.thresholds ?? { approve: 75, reject: 40 };
  const headers = {
    'content-security-policy': contentSecurityPolicy(options.imageOrigins),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(self), microphone=(), geolocation=()',
  };
  let html: Asset | undefined;

  const send = (
    request: IncomingMessage,
    response: ServerResponse,
    status: number,
    body: Asset | { type: string; text: string },
    extra: Record<string, string> = {},
  ) => {
    const common = { ...headers, ...extra, 'content-type': body.type };
    if ('text' in body) {
      response.writeHead(status, { ...common, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body.text);
      return;
    }
    if (request.headers['if-none-match'] === body.etag) {
      response.writeHead(304, { ...common, etag: body.etag });
      response.end();
      return;
    }
    const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const bytes = gzip ? body.gzip : body.body;
    response.writeHead(status, {
      ...common,
      // The HTML carries the token: never cached. The assets revalidate by ETag.
      'cache-control': body === html ? 'no-store' : 'no-cache',
      etag: body.etag,
      vary: 'accept-encoding',
      'content-length': String(bytes.length),
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : bytes);
  };

  return {
    token,
    async handle(request, response) {
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      if (pathname !== '/console' && !pathname.startsWith('/console/')) return false;
      const text = (body: string) => ({ type: 'text/plain; charset=utf-8', text: `${body}\n` });
      if (!isConsoleHost(request)) {
        send(request, response, 403, text('this console answers only to 127.0.0.1 or localhost'));
        return true;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        send(request, response, 405, text('the console is read with GET'), { allow: 'GET, HEAD' });
        return true;
      }
      let page: BuiltPage;
      try {
        page = await buildConsolePage();
      } catch (error) {
        send(
          request,
          response,
          500,
          text(`the console could not be built: ${(error as Error).message}`),
        );
        return true;
      }
      html ??= asset(
        'text/html; charset=utf-8',
        Buffer.from(
          page.html
            .replaceAll('{{token}}', escapeAttribute(token))
            .replaceAll('{{approve}}', String(thresholds.approve))
            .replaceAll('{{reject}}', String(thresholds.reject))
            .replaceAll('{{version}}', page.version),
        ),
      );
      if (pathname === '/console' || pathname === '/console/') send(request, response, 200, html);
      else if (pathname === '/console/console.js') send(request, response, 200, page.script);
      else if (pathname === '/console/console.css') send(request, response, 200, page.style);
      else send(request, response, 404, text('no such console file'));
      return true;
    },
  };
}
