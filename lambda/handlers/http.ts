/**
 * HTTP plumbing for the API entrance: bodies in, RFC 9457 problem documents out. Client faults
 * are data with their status; anything unexpected becomes a plain 500 with no internals.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { isTransientAwsError } from '../adapters/aws-clients.ts';
import {
  ConflictError,
  FacematchError,
  isExposed,
  ValidationError,
  VelocityExceededError,
} from '../core/errors.ts';
import { logger } from '../observability.ts';
import { mapStackFrames } from './stack-frames.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function problemResponse(
  error: FacematchError,
  extraHeaders: Record<string, string> = {},
): APIGatewayProxyResult {
  const status = error.status;
  const problem: Record<string, unknown> = {
    type: `urn:facematch:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail: error.message,
    code: error.code,
  };
  if (error instanceof ValidationError || error instanceof ConflictError) {
    problem.errors = error.issues;
  }
  const headers: Record<string, string> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
    ...extraHeaders,
  };
  if (error.transient && status >= 500) headers['retry-after'] = '1';
  // When this NIK's oldest counted attempt leaves the window (RFC 9110: delay in seconds).
  if (error instanceof VelocityExceededError) {
    headers['retry-after'] = String(error.retryAfterSeconds);
  }
  return { statusCode: status, headers, body: JSON.stringify(problem) };
}

/** 405, with the methods the resource does allow (RFC 9110 asks for an `Allow` header). */
export class MethodNotAllowedError extends FacematchError {
  readonly allow: string;

  constructor(method: string, resource: string, allow: string) {
    super(`${method} is not allowed on ${resource}`, { code: 'METHOD_NOT_ALLOWED', status: 405 });
    this.name = 'MethodNotAllowedError';
    this.allow = allow;
  }
}

const SERVICE_BUSY = new FacematchError('the service is busy; retry shortly', {
  code: 'SERVICE_UNAVAILABLE',
  status: 503,
  transient: true,
});

const INTERNAL = new FacematchError('the service failed unexpectedly; it has been logged', {
  code: 'INTERNAL_ERROR',
  status: 500,
});

/**
 * Logs what is safe of an unexpected error: its name and the stack frames, not its message,
 * which for a foreign error may quote input (a JSON parser quotes the text it choked on).
 */
export function safeErrorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error_name: typeof error };
  // Only frame lines: a multi-line message continues past the stack's first line.
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 7)
    .join('\n');
  const fields: Record<string, unknown> = {
    error_name: error.name,
    // Bundled, the frames point at minified chunks: mapped back to our TypeScript here.
    stack_frames: mapStackFrames(frames),
  };
  if (error instanceof FacematchError) {
    fields.error_code = error.code;
    fields.error_message = error.message;
  }
  return fields;
}

export function httpProblems(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  const httpProblemsOnError = async (
    request: Request<APIGatewayProxyEvent, APIGatewayProxyResult>,
  ) => {
    const { error } = request;
    if (isExposed(error)) {
      if (error.status >= 500) logger.warn('request failed', safeErrorFields(error));
      const allow = error instanceof MethodNotAllowedError ? { allow: error.allow } : undefined;
      request.response = problemResponse(error, allow);
      return;
    }
    if (isTransientAwsError(error)) {
      // Throttling, a 5xx or an unreachable endpoint after the SDK's own retries: the caller's
      // retry will likely succeed, and nothing was written or paid, so say so (and nothing more).
      logger.warn('AWS dependency unavailable', safeErrorFields(error));
      request.response = problemResponse(SERVICE_BUSY);
      return;
    }
    logger.error('unexpected error', safeErrorFields(error));
    request.response = problemResponse(INTERNAL);
  };
  return { onError: httpProblemsOnError };
}

/** The media types read as JSON: `application/json` and any `application/...+json`. */
export const isJsonMediaType = (contentType: string): boolean =>
  /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim());

/** Reads a JSON body within `maxBytes`, decoding base64 bodies (binary media types). */
export function readJsonBody(event: APIGatewayProxyEvent, maxBytes: number): unknown {
  const contentType = Object.entries(event.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'content-type',
  )?.[1];
  if (contentType && !isJsonMediaType(contentType)) {
    throw new FacematchError('the request body must be application/json', {
      code: 'UNSUPPORTED_CONTENT_TYPE',
      status: 415,
    });
  }
  const raw = event.body ?? '';
  const size = event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw);
  if (size > maxBytes) {
    throw new FacematchError(`the request body is larger than ${maxBytes} bytes`, {
      code: 'BODY_TOO_LARGE',
      status: 413,
    });
  }
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (text.trim() === '') {
    throw new ValidationError('the request body is empty', [
      { path: '', message: 'a JSON object is required' },
    ]);
  }
  try {
    return JSON.parse(text);
  } catch {
    // The parser's own message quotes the body: it is dropped, not kept as a cause.
    throw new ValidationError(
      'the request body is not valid JSON',
      [{ path: '', message: 'malformed JSON' }],
      { code: 'MALFORMED_JSON' },
    );
  }
}
