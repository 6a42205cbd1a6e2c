/**
 * What API Gateway and Lambda do around a handler, done locally: an HTTP request becomes a REST
 * proxy event, a fake context carries the remaining time, and the result becomes the response.
 * The handlers themselves are the very ones deployed.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ValidationError } from '../lambda/core/errors.ts';

export function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:ap-southeast-3:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

const ROUTES: Array<{ resource: string; pattern: RegExp; params: string[] }> = [
  { resource: '/verifications', pattern: /^\/verifications\/?$/, params: [] },
  {
    resource: '/verifications/{verification_id}',
    pattern: /^\/verifications\/([^/]+)\/?$/,
    params: ['verification_id'],
  },
  {
    resource: '/verifications/{verification_id}/review',
    pattern: /^\/verifications\/([^/]+)\/review\/?$/,
    params: ['verification_id'],
  },
  {
    resource: '/verifications/{verification_id}/selfie',
    pattern: /^\/verifications\/([^/]+)\/selfie\/?$/,
    params: ['verification_id'],
  },
];

/**
 * How much of a body over the limit is read and thrown away so its client can read the 413:
 * closing a socket the client is still writing to resets it before the answer is read. Past
 * this, the connection is dropped after the answer (a client sending this much is not waiting).
 */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Reads at most `maxBytes`; answers `null` when the body is larger (the caller sends a 413 and
 * closes the connection). The rest of such a body is read and discarded, not left in the socket.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (size > maxBytes + DRAIN_LIMIT_BYTES) {
        request.pause();
        resolve(null);
      } else chunks.length = 0;
    });
    request.once('end', () => resolve(size > maxBytes ? null : Buffer.concat(chunks)));
    request.once('error', reject);
    // A client gone mid-body: no 'end' will come; settle rather than hold the handler for ever.
    request.once('close', () => {
      if (!request.complete)
        reject(Object.assign(new Error('request aborted'), { name: 'AbortError' }));
    });
  });
}

/** The request path's percent-encoding is broken (`%E0%A4%A`): a 400, as for any bad id. */
export class MalformedPathError extends ValidationError {
  constructor() {
    super('the request path is not valid percent-encoding', [
      { path: 'verification_id', message: 'not valid percent-encoding' },
    ]);
    this.name = 'MalformedPathError';
  }
}

const decodePathSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MalformedPathError();
  }
};

export function apiGatewayEvent(request: IncomingMessage, body: Buffer): APIGatewayProxyEvent {
  const url = new URL(request.url ?? '/', 'http://localhost');
  let resource = url.pathname;
  const pathParameters: Record<string, string> = {};
  for (const route of ROUTES) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    resource = route.resource;
    route.params.forEach((name, index) => {
      pathParameters[name] = decodePathSegment(match[index + 1] ?? '');
    });
    break;
  }
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  const query = Object.fromEntries(url.searchParams);
  const now = Date.now();
  // Binary-safe like API Gateway with binary media types: the handler decodes base64 itself.
  const isBase64Encoded = body.length > 0 && !body.toString('utf8').startsWith('{');
  return {
    resource,
    path: url.pathname,
    httpMethod: request.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body:
      body.length === 0 ? null : isBase64Encoded ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method ?? 'GET',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        // The local runtime's one operator: who reviews and who erases, in records and receipts.
        caller: 'local',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: request.headers['user-agent'] ?? null,
        userArn: null,
      },
      path: url.pathname,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: resource,
    },
  };
}

export function writeResult(response: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  response.writeHead(result.statusCode, headers);
  response.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}
