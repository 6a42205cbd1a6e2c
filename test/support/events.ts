/**
 * Lambda events for the handler tests, derived from the real AWS event shapes kept in
 * `test/fixtures/aws-events/` (see SOURCE.md there): each builder clones a fixture and changes
 * only what a case needs, so every other field stays as AWS sends it. Also a capture of the
 * output the handlers leave (Powertools logs and metrics, console lines).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { format } from 'node:util';
import type { APIGatewayProxyEvent, SQSEvent, SQSRecord } from 'aws-lambda';

const FIXTURES = new URL('../fixtures/aws-events/', import.meta.url);

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;

/** An API Gateway REST proxy event from a SigV4-signed (IAM) caller: `POST /verifications`. */
const API_EVENT = fixture<APIGatewayProxyEvent>('apigw-rest-iam-auth.json');
/** An SQS event carrying one S3 object-created notification. */
const SQS_EVENT = fixture<SQSEvent>('s3-sqs-event.json');

const firstOf = <T>(items: T[], what: string): T => {
  const item = items[0];
  if (item === undefined) throw new Error(`fixture has no ${what}`);
  return item;
};
const SQS_RECORD = firstOf(SQS_EVENT.Records, 'SQS record');
const S3_RECORD = firstOf(
  (JSON.parse(SQS_RECORD.body) as { Records: Array<Record<string, unknown>> }).Records,
  'S3 record',
);

export interface ApiEventInput {
  method: string;
  /** The API Gateway resource the request matched, e.g. `/verifications/{verification_id}`. */
  resource: string;
  /** The request path; defaults to `resource` (no path parameters). */
  path?: string;
  pathParameters?: Record<string, string> | null;
  body?: string | null;
  /** Added to the fixture's headers; a `null` value removes a header. */
  headers?: Record<string, string | null>;
  isBase64Encoded?: boolean;
}

/** The fixture event, rerouted and given a body; headers and multi-value headers agree. */
export function apiEvent(input: ApiEventInput): APIGatewayProxyEvent {
  const event = structuredClone(API_EVENT);
  const path = input.path ?? input.resource;
  const headers: Record<string, string> = { ...event.headers } as Record<string, string>;
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return {
    ...event,
    resource: input.resource,
    path,
    httpMethod: input.method,
    headers,
    multiValueHeaders: Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, [value]]),
    ),
    pathParameters: input.pathParameters ?? null,
    body: input.body ?? null,
    isBase64Encoded: input.isBase64Encoded ?? false,
    requestContext: {
      ...event.requestContext,
      httpMethod: input.method,
      resourcePath: input.resource,
      path: `/${event.requestContext.stage}${path}`,
      requestId: randomUUID(),
    },
  };
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** `POST /verifications` with `body` serialised as JSON (or sent as is when a string). */
export function postVerificationEvent(
  body: unknown,
  overrides: Partial<Omit<ApiEventInput, 'method' | 'resource'>> = {},
): APIGatewayProxyEvent {
  return apiEvent({
    method: 'POST',
    resource: '/verifications',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...overrides,
    headers: { ...JSON_HEADERS, ...overrides.headers },
  });
}

/** `GET /verifications/{verification_id}`; `id` is the decoded path parameter. */
export function getVerificationEvent(id: string): APIGatewayProxyEvent {
  return apiEvent({
    method: 'GET',
    resource: '/verifications/{verification_id}',
    path: `/verifications/${encodeURIComponent(id)}`,
    pathParameters: { verification_id: id },
  });
}

/**
 * A person's identity as an uploader puts it into the selfie object's user metadata: S3 user
 * metadata is US-ASCII, so the name goes percent-encoded.
 */
export const uploadMetadata = (who: { nik: string; name: string; date_of_birth: string }) => ({
  nik: who.nik,
  name: encodeURIComponent(who.name),
  'date-of-birth': who.date_of_birth,
});

export interface S3ObjectInput {
  /** The key exactly as S3 puts it in a notification: URL-encoded, a space as `+`. */
  key: string;
  eventName?: string;
}

/** The body S3 sends to SQS: the fixture's notification record, once per object. */
export function s3NotificationBody(objects: Array<S3ObjectInput | string>): string {
  const Records = objects.map((object) => {
    const { key, eventName = 'ObjectCreated:Put' } =
      typeof object === 'string' ? { key: object } : object;
    const record = structuredClone(S3_RECORD) as {
      eventName: string;
      s3: { object: Record<string, unknown> };
    };
    record.eventName = eventName;
    record.s3.object = { ...record.s3.object, key, sequencer: randomUUID().replaceAll('-', '') };
    return record;
  });
  return JSON.stringify({ Records });
}

/** What S3 sends once when a notification configuration is saved (not an object event). */
export function s3TestEventBody(bucket = 'facematch-selfies'): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: new Date().toISOString(),
    Bucket: bucket,
    RequestId: 'C3D13FE58DE4C810',
    HostId: 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
  });
}

export interface SqsRecordInput {
  body: string;
  messageId?: string;
  /** `ApproximateReceiveCount`: 1 on the first delivery. */
  receiveCount?: number;
}

/** One SQS record of the fixture's shape, with a fresh message id unless one is given. */
export function sqsRecord(input: SqsRecordInput): SQSRecord {
  const record = structuredClone(SQS_RECORD);
  const messageId = input.messageId ?? randomUUID();
  return {
    ...record,
    messageId,
    receiptHandle: `${record.receiptHandle.slice(0, 40)}${messageId}`,
    body: input.body,
    md5OfBody: createHash('md5').update(input.body).digest('hex'),
    attributes: {
      ...record.attributes,
      ApproximateReceiveCount: String(input.receiveCount ?? 1),
    },
  };
}

export function sqsEvent(records: SqsRecordInput[]): SQSEvent {
  return { Records: records.map(sqsRecord) };
}

/** A verdict event as EventBridge puts it on a webhook endpoint's queue. */
export const verdictEvent = (id = randomUUID()) => ({
  version: '0',
  id,
  'detail-type': 'Verification Completed',
  source: 'facematch',
  account: '111122223333',
  time: '2026-12-03T10:00:00Z',
  region: 'ap-southeast-3',
  resources: [],
  detail: { verification_id: `ver-${id.slice(0, 8)}`, status: 'COMPLETED', decision: 'APPROVED' },
});

/** The fixture SQS event itself (its one key: `incoming/ver-fixture-1.jpg`). */
export function fixtureSqsEvent(): SQSEvent {
  return structuredClone(SQS_EVENT);
}

// ---------------------------------------------------------------------------------------------
// The output the handlers leave.

export interface CapturedChunk {
  /** `stdout`, `stderr` or `console.<method>`. */
  source: string;
  text: string;
}

export interface OutputCapture {
  readonly chunks: CapturedChunk[];
  /** Everything captured so far, in order. */
  text(): string;
  /** Parsed JSON lines (Powertools log entries, EMF metrics) written to stdout from chunk `from`. */
  jsonLines(from?: number): Array<Record<string, unknown>>;
  /** The same from every captured stream: Powertools writes errors to stderr. */
  allJsonLines(from?: number): Array<Record<string, unknown>>;
  restore(): void;
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

const parseJsonLines = (chunks: CapturedChunk[]): Array<Record<string, unknown>> =>
  chunks
    .flatMap((chunk) => chunk.text.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/**
 * Captures what is written to `process.stdout`/`process.stderr` (where Powertools' own Console
 * writes) and through `console.*` (which vitest reroutes around the streams). Streams captured
 * this way must be patched before the code that writes to them runs; `echo` passes everything
 * through as well, for debugging a failing test.
 */
export function captureOutput(options: { echo?: boolean } = {}): OutputCapture {
  const chunks: CapturedChunk[] = [];
  const restores: Array<() => void> = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const original = stream.write;
    const write = (
      chunk: string | Uint8Array,
      encodingOrCallback?: BufferEncoding | ((error?: Error | null) => void),
      callback?: (error?: Error | null) => void,
    ): boolean => {
      chunks.push({
        source: name,
        text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'),
      });
      if (options.echo) {
        return (original as (...args: unknown[]) => boolean).call(
          stream,
          chunk,
          encodingOrCallback,
          callback,
        );
      }
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      done?.(null);
      return true;
    };
    stream.write = write as typeof stream.write;
    restores.push(() => {
      stream.write = original;
    });
  }
  for (const method of CONSOLE_METHODS) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      chunks.push({ source: `console.${method}`, text: `${format(...args)}\n` });
      if (options.echo) original.apply(console, args);
    };
    restores.push(() => {
      console[method] = original;
    });
  }
  return {
    chunks,
    text: () => chunks.map((chunk) => chunk.text).join(''),
    jsonLines: (from = 0) =>
      parseJsonLines(chunks.slice(from).filter((chunk) => chunk.source === 'stdout')),
    allJsonLines: (from = 0) => parseJsonLines(chunks.slice(from)),
    restore: () => {
      for (const restore of restores.splice(0).reverse()) restore();
    },
  };
}
