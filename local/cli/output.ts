/**
 * What the CLI prints and the status it exits with. A record goes to stdout, readable or (with
 * `--json`) exactly as received; problems go to stderr (and, with `--json`, the problem document
 * as received to stdout too). Strings from the server are printed
 * without control characters, and a NIK only ever masked.
 */
import type { VerdictRecord } from '../../lambda/core/types.ts';
import type { ApiResponse } from './api-client.ts';
import type { CliIo } from './context.ts';

/** Decisions keep 0/3/4; a record with no decision yet is not an error but is not a yes either. */
export const EXIT = {
  APPROVED: 0,
  ERROR: 1,
  REVIEW: 3,
  REJECTED: 4,
  UNDECIDED: 5,
} as const;

export const EXIT_STATUS_TEXT = `exit status:
  0  APPROVED
  3  REVIEW
  4  REJECTED
  5  no decision yet: the record is PENDING or PROCESSING (not an error; ask again with get)
  1  error: bad arguments, unreadable selfie, network or HTTP error, or a FAILED record`;

export interface UploadInstructions {
  url?: string;
  fields?: Record<string, string>;
  expires_at?: string;
}

/** A record as received: the contract's fields, none of them trusted to be there. */
export type ReceivedRecord = Partial<VerdictRecord> & {
  verification_id: string;
  status: string;
  upload?: UploadInstructions;
};

export function isRecord(value: unknown): value is ReceivedRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return typeof record.verification_id === 'string' && typeof record.status === 'string';
}

export function exitCodeFor(record: { status?: unknown; decision?: unknown }): number {
  switch (record.decision) {
    case 'APPROVED':
      return EXIT.APPROVED;
    case 'REVIEW':
      return EXIT.REVIEW;
    case 'REJECTED':
      return EXIT.REJECTED;
  }
  if (record.status === 'PENDING' || record.status === 'PROCESSING') return EXIT.UNDECIDED;
  // FAILED, or COMPLETED without a decision (a broken record): an error either way.
  return EXIT.ERROR;
}

/** Server text on a terminal: no escape sequences, no line breaks. */
export const clean = (value: unknown) => String(value).replace(/\p{Cc}/gu, ' ');

/** `clean`, with `-` for an absent value: a table's empty cell. */
export const cleanCell = (value: unknown) => clean(value ?? '-');

/** The API only returns `nik_masked`; should anything ever send a full NIK, it is masked here. */
export const maskNik = (value: string) =>
  /^\d{16}$/.test(value) ? `${value.slice(0, 4)}********${value.slice(12)}` : value;

const describeMatch = (value: unknown) => (value === true ? 'yes' : value === false ? 'NO' : '-');

/** The decisive fields by name; of the others, mismatches by name and the rest counted. */
const KEY_FIELDS = ['nik', 'name', 'date_of_birth'];

export function describeMatches(matches: Record<string, unknown>): string {
  const parts = KEY_FIELDS.filter((field) => field in matches).map(
    (field) => `${field} ${describeMatch(matches[field])}`,
  );
  const others = Object.entries(matches).filter(([field]) => !KEY_FIELDS.includes(field));
  const yes = others.filter(([, value]) => value === true).length;
  const no = others.filter(([, value]) => value === false).map(([field]) => `${clean(field)} NO`);
  const unknown = others.length - yes - no.length;
  const rest = [
    ...(yes > 0 ? [`${yes} yes`] : []),
    ...no,
    ...(unknown > 0 ? [`${unknown} not returned`] : []),
  ];
  if (rest.length > 0) parts.push(`others: ${rest.join(', ')}`);
  return parts.join(', ');
}

export function renderRecord(record: ReceivedRecord): string {
  const rows: Array<[string, string]> = [];
  const decision = record.decision ?? null;
  rows.push(['decision', decision ? clean(decision) : 'none yet']);
  const reasons = Array.isArray(record.reasons) ? record.reasons : [];
  rows.push(['reasons', reasons.length > 0 ? reasons.map(clean).join(', ') : '-']);
  rows.push([
    'face similarity',
    typeof record.face_similarity === 'number' ? `${record.face_similarity}%` : '-',
  ]);
  if (record.matches && typeof record.matches === 'object') {
    const line = describeMatches(record.matches);
    if (line) rows.push(['matches', line]);
  }
  if (record.risk_rating) rows.push(['risk rating', clean(record.risk_rating)]);
  rows.push([
    'NIK',
    typeof record.nik_masked === 'string' ? clean(maskNik(record.nik_masked)) : '-',
  ]);
  rows.push(['verification id', clean(record.verification_id)]);
  rows.push(['status', clean(record.status)]);
  if (record.error) {
    rows.push(['error', `${clean(record.error.code)}: ${clean(record.error.message)}`]);
  }
  if (record.upload?.url) {
    rows.push(['upload to', clean(record.upload.url)]);
    if (record.upload.expires_at) rows.push(['upload expires', clean(record.upload.expires_at)]);
  }
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return `${rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join('\n')}\n`;
}

interface ProblemLike {
  title?: unknown;
  detail?: unknown;
  status?: unknown;
  errors?: unknown;
  /** API Gateway's own refusals (`{"message": "Missing Authentication Token"}`). */
  message?: unknown;
  Message?: unknown;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A problem (RFC 9457) or any other failed answer, for stderr. */
export function renderProblem(response: ApiResponse): string {
  const parsed = parseJson(response.text);
  const problem: ProblemLike =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {};
  const title =
    typeof problem.title === 'string' && problem.title ? problem.title : response.statusText;
  const lines = [`error: HTTP ${response.status}${title ? ` ${clean(title)}` : ''}`];
  const detail = problem.detail ?? problem.message ?? problem.Message;
  if (typeof detail === 'string' && detail) {
    lines[0] = `${lines[0]}: ${clean(detail)}`;
  } else if (parsed === undefined && response.text.trim()) {
    const snippet = clean(response.text.trim()).slice(0, 300);
    lines[0] = `${lines[0]}: ${snippet}${response.text.trim().length > 300 ? '...' : ''}`;
  }
  if (Array.isArray(problem.errors)) {
    for (const entry of problem.errors) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { path, message } = entry as { path?: unknown; message?: unknown };
      const where = typeof path === 'string' && path ? clean(path) : '(body)';
      lines.push(`  ${where}: ${clean(message ?? 'invalid')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The API's answer on stdout as it came, ending in a newline. */
export function writeAsReceived(response: ApiResponse, io: CliIo): void {
  io.stdout.write(response.text.endsWith('\n') ? response.text : `${response.text}\n`);
}

/**
 * Prints an answer of the API and returns the exit status: the record's (see `exitCodeFor`) or
 * 1 for a problem or anything that is not a record.
 */
export function report(response: ApiResponse, io: CliIo, options: { json: boolean }): number {
  const ok = response.status >= 200 && response.status < 300;
  if (!ok || /^application\/problem\+json\b/i.test(response.contentType)) {
    // A script asked for JSON: it gets the problem document as well (its `code`), if it is one.
    const body = parseJson(response.text);
    if (options.json && typeof body === 'object' && body !== null) writeAsReceived(response, io);
    io.stderr.write(renderProblem(response));
    return EXIT.ERROR;
  }
  const record = parseJson(response.text);
  if (!isRecord(record)) {
    io.stderr.write(
      `error: HTTP ${response.status}: the answer is not a verification record (is the endpoint a facematch API?)\n`,
    );
    return EXIT.ERROR;
  }
  if (options.json) {
    writeAsReceived(response, io);
  } else {
    io.stdout.write(renderRecord(record));
    if (response.replayed) {
      io.stdout.write('replayed: the stored verdict of an identical earlier request\n');
    }
  }
  return exitCodeFor(record);
}
