/**
 * A loopback stand-in for IDmeta's Dukcapil Data Facematch API (`/work/shared/idmeta/...` is
 * the contract): the three endpoints facematch calls, answered from the fictional registry,
 * with scriptable faults for tests and load runs. See README.md beside this file.
 *
 * Never part of a Lambda bundle. Run on its own with
 *   npx tsx local/idmeta-simulator/server.ts      (IDMETA_SIM_PORT, default 4010)
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { listen, onPort } from '../listen.ts';
import {
  loadRegistry,
  parseSimDate,
  type SimDate,
  type SimPerson,
  type SimRegistry,
  sameDate,
} from './registry.ts';

export type SimEndpoint =
  | 'create-verification'
  | 'dukcapilfacematch'
  | 'finalize-verification'
  | 'other';

/** One call to an IDmeta endpoint. Deliberately without NIK, name or selfie. */
export interface SimCall {
  endpoint: SimEndpoint;
  verificationId?: string;
  /** The status answered; 0 while no answer was sent (a `hang`, or still in progress). */
  httpStatus: number;
  /** Epoch milliseconds when the request arrived. */
  at: number;
}

export type SimFaultBody =
  | 'malformed-json'
  | 'html'
  | 'result-as-string'
  | 'boolean-status'
  | 'success-false';

export interface SimFault {
  /** Answer this status (with a plausible body for it) instead of the normal answer. */
  status?: number;
  /** Sent as the `Retry-After` header. */
  retryAfter?: number | string;
  /** Extra delay before answering. */
  latencyMs?: number;
  /** Never answer: keep the socket open until the client gives up or the server closes. */
  hang?: boolean;
  /** Answer the body in this shape (status 200 unless `status` says otherwise). */
  body?: SimFaultBody;
}

export interface IdmetaSimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback only: `127.0.0.1` (default), another `127.x.y.z`, `::1` or `localhost`. */
  host?: string;
  /** Accepted bearer tokens; default `['sim-token']`. */
  tokens?: string[];
  /** Default: the shipped registry.json. */
  registry?: SimRegistry;
  /** Delay before every answer of the IDmeta endpoints. */
  latencyMs?: number;
  /** For load runs: this share (0-1) of facematch calls answers `status`. */
  faultRate?: { probability: number; status: number };
  /** One line per call, without personal data. Default: silent. */
  log?: (line: string) => void;
}

export interface IdmetaSimulator {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  url: string;
  port: number;
  close(): Promise<void>;
  calls(): SimCall[];
  resetCalls(): void;
  setTokens(tokens: string[]): void;
  /** Appends faults to the FIFO; with `verificationId`, only calls for that id take them. */
  scriptFaults(faults: SimFault[], match?: { verificationId?: string }): void;
  clearFaults(): void;
}

export const DEFAULT_SIM_TOKEN = 'sim-token';
/** Bodies above this are refused with 413, as IDmeta's web server would (guessed limit). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Scores below this make the simulated IDmeta answer `REJECTED` (its own guessed cut-off). */
export const SIM_REJECT_BELOW = 40;
/** The score answered for a selfie that belongs to another registry person. */
export const OTHER_PERSON_SCORE = '12.4';

const API_PREFIX = '/api/v1/verification/';
const FAULT_BODIES: readonly SimFaultBody[] = [
  'malformed-json',
  'html',
  'result-as-string',
  'boolean-status',
  'success-false',
];
/** Beyond this, an oversized body is no longer drained but the connection is cut. */
const MAX_DRAIN_BYTES = 8 * MAX_BODY_BYTES;
/** Long load runs must not grow the call log without bound: older entries are dropped. */
const MAX_LOGGED_CALLS = 100_000;

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

// ---------------------------------------------------------------------------------------------
// Faults

function isHttpStatus(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 200 && (value as number) <= 599;
}

/** Validates a fault from an untrusted source (HTTP control endpoint); throws on nonsense. */
export function parseFault(value: unknown): SimFault {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('a fault must be an object');
  }
  const raw = value as Record<string, unknown>;
  const fault: SimFault = {};
  for (const [key, field] of Object.entries(raw)) {
    switch (key) {
      case 'status':
        if (!isHttpStatus(field)) throw new Error('fault.status must be an HTTP status');
        fault.status = field;
        break;
      case 'retryAfter':
        if (typeof field !== 'number' && typeof field !== 'string') {
          throw new Error('fault.retryAfter must be a number or a string');
        }
        fault.retryAfter = field;
        break;
      case 'latencyMs':
        if (typeof field !== 'number' || !(field >= 0)) {
          throw new Error('fault.latencyMs must be a non-negative number');
        }
        fault.latencyMs = field;
        break;
      case 'hang':
        if (typeof field !== 'boolean') throw new Error('fault.hang must be a boolean');
        fault.hang = field;
        break;
      case 'body':
        if (!FAULT_BODIES.includes(field as SimFaultBody)) {
          throw new Error(`fault.body must be one of ${FAULT_BODIES.join(', ')}`);
        }
        fault.body = field as SimFaultBody;
        break;
      default:
        throw new Error(`unknown fault field "${key}"`);
    }
  }
  return fault;
}

/**
 * The `x-sim-fault` header: `key=value` pairs separated by `;` (or `,`), e.g. `status=503`,
 * `status=429;retry-after=1`, `hang`, `body=html`, `latency=300`.
 */
export function parseFaultHeader(header: string): SimFault {
  const fault: Record<string, unknown> = {};
  for (const part of header.split(/[;,]/)) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const key = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? undefined : trimmed.slice(eq + 1).trim();
    switch (key) {
      case 'status':
        fault.status = Number(value);
        break;
      case 'retry-after':
        if (value === undefined || value === '') throw new Error('retry-after needs a value');
        fault.retryAfter = /^\d+$/.test(value) ? Number(value) : value;
        break;
      case 'latency':
      case 'latency-ms':
        fault.latencyMs = value !== undefined && /^\d+$/.test(value) ? Number(value) : -1;
        break;
      case 'hang':
        fault.hang = value === undefined || value === 'true' || value === '1';
        break;
      case 'body':
        fault.body = value;
        break;
      default:
        throw new Error(`unknown key "${key}"`);
    }
  }
  return parseFault(fault);
}

/** The compact header form of a fault, for log lines. */
export function formatFault(fault: SimFault): string {
  const parts: string[] = [];
  if (fault.status !== undefined) parts.push(`status=${fault.status}`);
  if (fault.retryAfter !== undefined) parts.push(`retry-after=${fault.retryAfter}`);
  if (fault.latencyMs !== undefined) parts.push(`latency=${fault.latencyMs}`);
  if (fault.hang === true) parts.push('hang');
  if (fault.body !== undefined) parts.push(`body=${fault.body}`);
  return parts.join(';');
}

// ---------------------------------------------------------------------------------------------
// The facematch check

export interface FacematchInput {
  nik: string;
  name: string;
  dateOfBirth: SimDate;
  selfie: Buffer;
  templateId: string;
  verificationId: string;
}

type FieldErrors = Record<string, string[]>;

const FACEMATCH_FIELDS = [
  'date_of_birth',
  'name',
  'nik',
  'selfie_image',
  'template_id',
  'verification_id',
] as const;

const MATCH_FIELDS_AFTER_PERCENTAGE = [
  'place_of_birth',
  'address',
  'gender',
  'marital_status',
  'job_type',
  'province',
  'city',
  'district',
  'subdistrict',
  'rt',
  'rw',
] as const;

const normaliseName = (name: string): string =>
  name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

const label = (field: string): string => field.replaceAll('_', ' ');

function isJpegOrPng(bytes: Buffer): boolean {
  const jpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const png =
    bytes.length > 8 &&
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return jpeg || png;
}

/** A data URI (`data:image/jpeg;base64,...`) or bare base64 to bytes; a message when not. */
function decodeSelfie(value: string): Buffer | string {
  let payload = value;
  const dataUri = /^data:([^;,]*)(;[^,]*)?,/i.exec(value);
  if (dataUri !== null) {
    if (!/^image\/(jpeg|jpg|png)$/i.test(dataUri[1] ?? '') || !/;base64$/i.test(dataUri[2] ?? '')) {
      return 'The selfie image must be a base64 data URI of type: jpeg, jpg, png.';
    }
    payload = value.slice(dataUri[0].length);
  }
  payload = payload.replace(/\s+/g, '');
  if (payload === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(payload)) {
    return 'The selfie image field must be valid base64.';
  }
  const bytes = Buffer.from(payload, 'base64');
  return isJpegOrPng(bytes) ? bytes : 'The selfie image must be a file of type: jpeg, jpg, png.';
}

function requireStrings(
  body: Record<string, unknown>,
  fields: readonly string[],
  errors: FieldErrors,
): void {
  for (const field of fields) {
    const value = body[field];
    // Laravel's `required` also refuses null and the empty (or blank) string.
    if (
      value === undefined ||
      value === null ||
      (typeof value === 'string' && value.trim() === '')
    ) {
      errors[field] = [`The ${label(field)} field is required.`];
    } else if (typeof value !== 'string') {
      errors[field] = [`The ${label(field)} field must be a string.`];
    }
  }
}

/** Laravel-style validation of the facematch body: the input, or the errors per field. */
export function validateFacematch(
  body: Record<string, unknown>,
): { input: FacematchInput } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  requireStrings(body, FACEMATCH_FIELDS, errors);
  const str = (field: string): string => (typeof body[field] === 'string' ? body[field] : '');
  let dateOfBirth: SimDate | null = null;
  if (errors.date_of_birth === undefined) {
    dateOfBirth = parseSimDate(str('date_of_birth'));
    if (dateOfBirth === null) {
      errors.date_of_birth = [
        'The date of birth field must be a valid date in the format d-m-Y or Y-m-d.',
      ];
    }
  }
  if (errors.nik === undefined && str('nik').length !== 16) {
    errors.nik = ['The nik field must be 16 characters.'];
  }
  let selfie: Buffer | null = null;
  if (errors.selfie_image === undefined) {
    const decoded = decodeSelfie(str('selfie_image'));
    if (typeof decoded === 'string') errors.selfie_image = [decoded];
    else selfie = decoded;
  }
  if (Object.keys(errors).length > 0 || dateOfBirth === null || selfie === null) {
    // In the doc's field order, as Laravel lists them.
    const ordered: FieldErrors = {};
    for (const field of FACEMATCH_FIELDS) {
      const messages = errors[field];
      if (messages !== undefined) ordered[field] = messages;
    }
    return { errors: ordered };
  }
  return {
    input: {
      nik: str('nik'),
      name: str('name'),
      dateOfBirth,
      selfie,
      templateId: str('template_id'),
      verificationId: str('verification_id'),
    },
  };
}

export interface RegistryIndex {
  byNik: Map<string, SimPerson>;
  bySha256: Map<string, { nik: string; score: string }>;
}

export function indexRegistry(registry: SimRegistry): RegistryIndex {
  const byNik = new Map<string, SimPerson>();
  const bySha256 = new Map<string, { nik: string; score: string }>();
  for (const person of registry.people) {
    byNik.set(person.nik, person);
    for (const image of person.reference_images) {
      bySha256.set(image.sha256.toLowerCase(), { nik: person.nik, score: image.score });
    }
  }
  return { byNik, bySha256 };
}

/** A deterministic low score (5.0-39.9) for a selfie the registry does not know. */
export function unknownImageScore(sha256: string): string {
  return (5 + (Number.parseInt(sha256.slice(0, 8), 16) % 350) / 10).toFixed(1);
}

function scoreSelfie(index: RegistryIndex, person: SimPerson, selfie: Buffer): string {
  const sha256 = createHash('sha256').update(selfie).digest('hex');
  const known = index.bySha256.get(sha256);
  if (known === undefined) return unknownImageScore(sha256);
  return known.nik === person.nik ? known.score : OTHER_PERSON_SCORE;
}

export interface FacematchAnswer {
  status: string | boolean;
  message: string;
  result: unknown;
  risk_rating: string | null;
  api_request_status: number;
}

/** The doc's response shape (same keys, same order) for a validated request. */
export function answerFacematch(index: RegistryIndex, input: FacematchInput): FacematchAnswer {
  const person = index.byNik.get(input.nik);
  if (person === undefined) {
    // Not in the registry. IDmeta documents no failure codes; "1" is this simulator's guess.
    return {
      status: 'REJECTED',
      message: 'OK',
      result: {
        success: true,
        message: 'NIK tidak terdaftar',
        data: facematchData({ nik: false, name: null, dob: null, score: null, others: null }, '1'),
      },
      risk_rating: null,
      api_request_status: 1,
    };
  }
  const name = normaliseName(input.name) === normaliseName(person.name);
  const registered = parseSimDate(person.date_of_birth);
  const dob = registered !== null && sameDate(registered, input.dateOfBirth);
  const score = scoreSelfie(index, person, input.selfie);
  // A clean match (all true, score >= 75) and a partial one both come back VERIFIED: the field
  // booleans and the score tell the truth, and facematch's own policy decides REVIEW from them.
  const status = Number(score) < SIM_REJECT_BELOW ? 'REJECTED' : 'VERIFIED';
  return {
    status,
    message: 'OK',
    result: {
      success: true,
      message: 'Berhasil',
      data: facematchData({ nik: true, name, dob, score, others: true }, '0'),
    },
    risk_rating: person.risk_rating,
    api_request_status: 1,
  };
}

function facematchData(
  m: {
    nik: boolean;
    name: boolean | null;
    dob: boolean | null;
    score: string | null;
    others: boolean | null;
  },
  reasonCode: string,
): Record<string, unknown> {
  const data: Record<string, unknown> = {
    nik: m.nik,
    name: m.name,
    date_of_birth: m.dob,
    selfie_image_percentage: m.score,
    liveness_result: null,
    liveness_fail_message: '',
    no_kk: null,
    mother_maiden_name: null,
  };
  for (const field of MATCH_FIELDS_AFTER_PERCENTAGE) data[field] = m.others;
  data.uuid = randomUUID();
  data.url = '';
  data.reason_code = reasonCode;
  data.error_message = null;
  return data;
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as is (with `headers` saying what it is). */
  body: unknown;
}

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers === undefined ? {} : { headers }),
});

const HTML = { 'content-type': 'text/html; charset=UTF-8' };

function htmlPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** What IDmeta's stack plausibly answers for an error status (Laravel JSON, nginx HTML). */
function errorReply(status: number): Reply {
  switch (status) {
    case 401:
      return json(401, { message: 'Unauthenticated.' });
    case 403:
      return json(403, { message: 'This action is unauthorized.' });
    case 422:
      return json(422, { message: 'The given data was invalid.', errors: {} });
    case 429:
      return json(429, { message: 'Too Many Attempts.' });
    case 500:
      return json(500, { message: 'Server Error' });
    case 502:
    case 504:
      // Gateways in front of the application answer HTML, not JSON.
      return { status, headers: HTML, body: htmlPage(status) };
    default:
      return json(status, { message: STATUS_CODES[status] ?? 'Error' });
  }
}

function validationReply(errors: FieldErrors): Reply {
  const messages = Object.values(errors).flat();
  const more = messages.length - 1;
  const message =
    more > 0
      ? `${messages[0]} (and ${more} more error${more === 1 ? '' : 's'})`
      : (messages[0] ?? 'The given data was invalid.');
  return json(422, { message, errors });
}

type BodyResult = { kind: 'ok'; text: string } | { kind: 'too-large' } | { kind: 'aborted' };

/** Reads the body; an oversized one is drained (so the client sees the 413) but not kept. */
function readBody(req: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_DRAIN_BYTES) req.destroy();
    });
    req.on('end', () =>
      resolve(
        size > MAX_BODY_BYTES
          ? { kind: 'too-large' }
          : { kind: 'ok', text: Buffer.concat(chunks).toString('utf8') },
      ),
    );
    req.on('error', () => resolve({ kind: 'aborted' }));
    req.on('close', () => {
      if (!req.complete) resolve({ kind: 'aborted' });
    });
  });
}

/** The body as a JSON object; an empty body counts as `{}` (as in Laravel); null when not JSON. */
function parseJsonObject(text: string): Record<string, unknown> | null {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function endpointOf(pathname: string): SimEndpoint {
  if (!pathname.startsWith(API_PREFIX)) return 'other';
  const name = pathname.slice(API_PREFIX.length).replace(/\/+$/, '');
  return name === 'create-verification' ||
    name === 'dukcapilfacematch' ||
    name === 'finalize-verification'
    ? name
    : 'other';
}

function bearerToken(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1]?.trim() ?? null;
}

/** Applies a body fault to a normal facematch answer. */
function shapeFacematch(answer: FacematchAnswer, body: SimFaultBody | undefined): unknown {
  switch (body) {
    case 'result-as-string':
      return { ...answer, result: JSON.stringify(answer.result) };
    case 'boolean-status':
      return { ...answer, status: true };
    case 'success-false':
      return {
        status: false,
        message: 'Failed',
        result: { success: false, message: 'Gagal memproses permintaan', data: null },
        risk_rating: null,
        api_request_status: 2,
      };
    default:
      return answer;
  }
}

/** `malformed-json` and `html` replace any body; other body faults are shaped by the caller. */
function rawBodyFault(
  status: number,
  body: SimFaultBody | undefined,
  normal: unknown,
): Reply | null {
  if (body === 'malformed-json') {
    const text = JSON.stringify(normal);
    return {
      status,
      headers: { 'content-type': 'application/json' },
      body: text.slice(0, Math.max(1, Math.floor(text.length / 2))),
    };
  }
  if (body === 'html') {
    return {
      status,
      headers: HTML,
      body: '<!DOCTYPE html><html><head><title>IDmeta</title></head><body><h1>Whoops, looks like something went wrong.</h1></body></html>',
    };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The server

interface QueuedFault {
  fault: SimFault;
  verificationId?: string;
}

export async function startIdmetaSimulator(
  options: IdmetaSimulatorOptions = {},
): Promise<IdmetaSimulator> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new Error(`the IDmeta simulator listens on loopback only, not on "${host}"`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid simulator port: ${port}`);
  }
  const rate = options.faultRate;
  if (
    rate !== undefined &&
    (!(rate.probability >= 0 && rate.probability <= 1) || !isHttpStatus(rate.status))
  ) {
    throw new Error('faultRate needs a probability between 0 and 1 and an HTTP status');
  }
  const index = indexRegistry(options.registry ?? loadRegistry());
  const log = options.log ?? (() => {});
  let tokens = new Set(options.tokens ?? [DEFAULT_SIM_TOKEN]);
  const callLog: SimCall[] = [];
  let faults: QueuedFault[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;

  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        });

  const scriptFaults = (list: SimFault[], match?: { verificationId?: string }): void => {
    for (const fault of list) {
      faults.push({
        fault: { ...fault },
        ...(match?.verificationId === undefined ? {} : { verificationId: match.verificationId }),
      });
    }
  };

  /** The first queued fault this call may take (unscoped, or scoped to its id), removed. */
  const takeFault = (verificationId: string | undefined): SimFault | undefined => {
    const position = faults.findIndex(
      (queued) => queued.verificationId === undefined || queued.verificationId === verificationId,
    );
    if (position === -1) return undefined;
    const [taken] = faults.splice(position, 1);
    return taken?.fault;
  };

  const send = (res: ServerResponse, reply: Reply): void => {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { ...reply.headers };
    let payload: string;
    if (typeof reply.body === 'string') {
      payload = reply.body;
      headers['content-type'] ??= 'text/plain; charset=UTF-8';
    } else {
      payload = JSON.stringify(reply.body);
      headers['content-type'] ??= 'application/json';
    }
    headers['content-length'] = String(Buffer.byteLength(payload));
    res.writeHead(reply.status, headers);
    res.end(payload);
  };

  async function handleControl(
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
  ): Promise<void> {
    const route = `${req.method} ${pathname.replace(/\/+$/, '')}`;
    if (route === 'GET /__sim/calls') {
      send(res, json(200, { calls: callLog.map((call) => ({ ...call })) }));
      return;
    }
    if (route === 'DELETE /__sim/faults') {
      faults = [];
      send(res, json(200, { faults: 0 }));
      return;
    }
    if (!['POST /__sim/reset', 'POST /__sim/faults', 'POST /__sim/tokens'].includes(route)) {
      send(res, json(404, { message: 'Not Found' }));
      return;
    }
    const read = await readBody(req);
    if (read.kind !== 'ok') {
      if (read.kind === 'too-large') send(res, json(413, { message: 'Payload Too Large' }));
      return;
    }
    const body = parseJsonObject(read.text);
    if (body === null) {
      send(res, json(400, { message: 'The request body is not a JSON object.' }));
      return;
    }
    try {
      if (route === 'POST /__sim/reset') {
        callLog.length = 0;
        faults = [];
        send(res, json(200, { reset: true }));
      } else if (route === 'POST /__sim/faults') {
        if (!Array.isArray(body.faults)) throw new Error('"faults" must be an array');
        const scope = body.verification_id;
        if (scope !== undefined && typeof scope !== 'string') {
          throw new Error('"verification_id" must be a string');
        }
        scriptFaults(
          body.faults.map(parseFault),
          scope === undefined ? undefined : { verificationId: scope },
        );
        send(res, json(200, { faults: faults.length }));
      } else {
        const list = body.tokens;
        if (!Array.isArray(list) || !list.every((token) => typeof token === 'string')) {
          throw new Error('"tokens" must be an array of strings');
        }
        tokens = new Set(list);
        send(res, json(200, { tokens: list.length }));
      }
    } catch (error) {
      send(res, json(400, { message: (error as Error).message }));
    }
  }

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: SimEndpoint,
  ): Promise<void> {
    const started = Date.now();
    const call: SimCall = { endpoint, httpStatus: 0, at: started };
    callLog.push(call);
    if (callLog.length > MAX_LOGGED_CALLS) callLog.splice(0, callLog.length - MAX_LOGGED_CALLS);
    let faultNote = '';
    const finish = (reply: Reply): void => {
      if (closing) return;
      call.httpStatus = reply.status;
      send(res, reply);
      const id = call.verificationId === undefined ? '' : ` verification_id=${call.verificationId}`;
      log(
        `idmeta-sim ${req.method} ${endpoint} -> ${reply.status} (${Date.now() - started} ms)${id}${faultNote}`,
      );
    };

    const read = await readBody(req);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      finish(json(413, { message: 'Payload Too Large' }));
      return;
    }
    if (endpoint === 'other') {
      finish(json(404, { message: 'Not Found' }));
      return;
    }
    if (req.method !== 'POST') {
      finish(
        json(
          405,
          { message: `The ${req.method} method is not supported for this route.` },
          {
            allow: 'POST',
          },
        ),
      );
      return;
    }
    const token = bearerToken(req);
    if (token === null || !tokens.has(token)) {
      finish(errorReply(401));
      return;
    }
    const body = parseJsonObject(read.text);
    if (body === null) {
      finish(json(400, { message: 'The request body is not valid JSON.' }));
      return;
    }
    const verificationId =
      typeof body.verification_id === 'string' ? body.verification_id : undefined;
    if (verificationId !== undefined) call.verificationId = verificationId;

    // Faults come after authentication and before validation: the header first (it does not
    // consume the queue), then the scripted FIFO, then the random load-run rate.
    let fault: SimFault | undefined;
    const header = req.headers['x-sim-fault'];
    if (typeof header === 'string') {
      try {
        fault = parseFaultHeader(header);
      } catch (error) {
        finish(json(400, { message: `invalid x-sim-fault header: ${(error as Error).message}` }));
        return;
      }
    } else if (endpoint === 'dukcapilfacematch') {
      fault = takeFault(verificationId);
      if (fault === undefined && rate !== undefined && Math.random() < rate.probability) {
        fault = { status: rate.status, ...(rate.status === 429 ? { retryAfter: 1 } : {}) };
      }
    }
    if (fault !== undefined) faultNote = ` fault=${formatFault(fault)}`;

    await sleep((options.latencyMs ?? 0) + (fault?.latencyMs ?? 0));
    if (closing) return;
    if (fault?.hang === true) {
      log(`idmeta-sim ${req.method} ${endpoint} -> (hanging)${faultNote}`);
      return;
    }
    const extraHeaders: Record<string, string> =
      fault?.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
    const withHeaders = (reply: Reply): Reply => ({
      ...reply,
      headers: { ...reply.headers, ...extraHeaders },
    });
    if (fault?.status !== undefined && fault.body === undefined && fault.status >= 300) {
      finish(withHeaders(errorReply(fault.status)));
      return;
    }

    const normal = answer(endpoint, body);
    if ('errors' in normal) {
      finish(validationReply(normal.errors));
      return;
    }
    if (endpoint === 'create-verification') {
      call.verificationId = (normal.body as { verification: { id: string } }).verification.id;
    }
    const status = fault?.status ?? 200;
    const raw = rawBodyFault(status, fault?.body, normal.body);
    if (raw !== null) {
      finish(withHeaders(raw));
      return;
    }
    const shaped =
      endpoint === 'dukcapilfacematch'
        ? shapeFacematch(normal.body as FacematchAnswer, fault?.body)
        : normal.body;
    finish(withHeaders(json(status, shaped)));
  }

  function answer(
    endpoint: SimEndpoint,
    body: Record<string, unknown>,
  ): { body: unknown } | { errors: FieldErrors } {
    if (endpoint === 'dukcapilfacematch') {
      const checked = validateFacematch(body);
      return 'errors' in checked ? checked : { body: answerFacematch(index, checked.input) };
    }
    const errors: FieldErrors = {};
    if (endpoint === 'create-verification') {
      requireStrings(body, ['template_id'], errors);
      if (Object.keys(errors).length > 0) return { errors };
      const now = new Date().toISOString();
      return {
        body: {
          message: 'Verification created successfully',
          verification: {
            id: `sim-${randomUUID()}`,
            template_id: body.template_id,
            status: 99,
            status_message: 'EMPTY',
            metadata: body.metadata ?? null,
            created_at: now,
            updated_at: now,
          },
        },
      };
    }
    requireStrings(body, ['template_id', 'verification_id'], errors);
    if (Object.keys(errors).length > 0) return { errors };
    return {
      body: {
        verification_id: body.verification_id,
        status: 2,
        status_message: 'REVIEW_NEEDED',
        finalized: true,
      },
    };
  }

  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://simulator').pathname;
    const handled = pathname.startsWith('/__sim/')
      ? handleControl(req, res, pathname)
      : handleApi(req, res, endpointOf(pathname));
    handled.catch((error: unknown) => {
      console.error('idmeta-sim: internal error', error);
      if (!res.headersSent) send(res, json(500, { message: 'Server Error' }));
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  // It also runs on its own (not only under npm start): it names its own port variable.
  await onPort('IDMETA_SIM_PORT', port, (requested) => listen(server, requested, host));
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  log(`idmeta-sim listening on ${url}`);

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        // Hanging and keep-alive sockets would hold close() open: cut them.
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
    calls: () => callLog.map((call) => ({ ...call })),
    resetCalls: () => {
      callLog.length = 0;
    },
    setTokens: (list) => {
      tokens = new Set(list);
    },
    scriptFaults,
    clearFaults: () => {
      faults = [];
    },
  };
}

// Standalone: `npx tsx local/idmeta-simulator/server.ts` (tokens: IDMETA_SIM_TOKENS, comma-separated).
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const sim = await startIdmetaSimulator({
    port: Number(process.env.IDMETA_SIM_PORT ?? 4010),
    ...(process.env.IDMETA_SIM_TOKENS === undefined
      ? {}
      : { tokens: process.env.IDMETA_SIM_TOKENS.split(',').map((token) => token.trim()) }),
    log: (line) => console.log(line),
  });
  console.log(`IDmeta simulator on ${sim.url} (Ctrl-C to stop)`);
  process.once('SIGINT', () => void sim.close());
  process.once('SIGTERM', () => void sim.close());
}
