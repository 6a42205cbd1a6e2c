/**
 * What stands in for IAM in front of the local API (`npm start`): it has no authentication, and a
 * page in the developer's browser can reach 127.0.0.1. So the local server answers an API call
 * only when it comes from here:
 * - its `Host` is `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>` (DNS rebinding: a
 *   hostile name resolved to 127.0.0.1 still sends its own name);
 * - no `Sec-Fetch-Site` other than `same-origin` or `none`, no `Origin` but the server's own
 *   (CSRF; the console page it serves calls same-origin);
 * - a POST to an operation has a JSON body type, stated (a cross-site form or a typeless Blob
 *   needs no preflight; `application/json` does, and the server answers no preflight).
 * Refusals are problem documents: 403 `FORBIDDEN_ORIGIN` (lib/openapi.ts, `ForbiddenOrigin`) and
 * the operations' own 415 `UNSUPPORTED_CONTENT_TYPE`.
 */
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { FacematchError } from '../lambda/core/errors.ts';
import { isJsonMediaType, problemResponse } from '../lambda/handlers/http.ts';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;

/**
 * True when `Host` names this server by one of `names` (a loopback name), with the port of the
 * socket the request came in on: a page of another site, or DNS rebinding, names something else.
 */
export function isLoopbackHost(
  request: IncomingMessage,
  names: readonly string[] = LOOPBACK_NAMES,
): boolean {
  const port = request.socket.localPort;
  const host = request.headers.host?.toLowerCase();
  return names.some((name) => host === `${name}:${port}`);
}

/** A browser names where a request comes from; anything but this server's own origin is refused. */
export function isCrossSite(request: IncomingMessage): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  return origin !== `http://${request.headers.host?.toLowerCase()}`;
}

const forbidden = (detail: string) =>
  problemResponse(new FacematchError(detail, { code: 'FORBIDDEN_ORIGIN', status: 403 }));

/**
 * The refusal for a request the local API must not serve, or null. `isPostOperation` says
 * whether a path is one of the operations that take a POST body (others answer 404/405 as usual).
 */
export function refuseForeignRequest(
  request: IncomingMessage,
  isPostOperation: (path: string) => boolean,
): APIGatewayProxyResult | null {
  if (!isLoopbackHost(request)) {
    const port = request.socket.localPort;
    return forbidden(
      `this API answers only to 127.0.0.1:${port}, localhost:${port} or [::1]:${port}`,
    );
  }
  if (isCrossSite(request)) return forbidden('this API answers only to its own origin');
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (
    request.method === 'POST' &&
    isPostOperation(path) &&
    !isJsonMediaType(request.headers['content-type'] ?? '')
  ) {
    return problemResponse(
      new FacematchError('the request body must be application/json, stated in Content-Type', {
        code: 'UNSUPPORTED_CONTENT_TYPE',
        status: 415,
      }),
    );
  }
  return null;
}

/** Paths of the document's POST operations, as the local server routes them (a trailing `/` too). */
export function postOperationMatcher(paths: Record<string, unknown>): (path: string) => boolean {
  const patterns = Object.entries(paths)
    .filter(([, item]) => typeof item === 'object' && item !== null && 'post' in item)
    .map(
      ([template]) =>
        new RegExp(
          `^${template
            .split(/(\{[^}]+\})/)
            .map((part) =>
              part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
            )
            .join('')}/?$`,
        ),
    );
  return (path) => patterns.some((pattern) => pattern.test(path));
}
