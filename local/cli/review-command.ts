/**
 * `facematch reviews` (the open review queue, oldest first) and `facematch review ID` (decide
 * one, or appeal a decided one with --reopen). The reviewer is whoever the API says the caller
 * is (the SigV4 principal; `local` on the local server), never a value this command sends.
 */
import { REVIEW_REASONS } from '../../lambda/core/types.ts';
import { parseCommandArgs } from './args.ts';
import { apiClientFor, type CliContext, ENDPOINT_OPTION } from './context.ts';
import { UsageError } from './errors.ts';
import {
  cleanCell,
  EXIT,
  parseJson,
  type ReceivedRecord,
  renderProblem,
  report,
} from './output.ts';
import { withProgress } from './progress.ts';

export const REVIEWS_USAGE = `usage: facematch reviews [options]

Sends GET /verifications?review=open and prints the open reviews, oldest first.

options:
${ENDPOINT_OPTION}
  --limit N               at most N reviews (1 to 100, default 50)
  --cursor CURSOR         the next page (the cursor the previous page printed)
  --json                  print the page exactly as received ({items, next_cursor})
  -h, --help              this text

exit status: 0 the queue was read, 1 error`;

export const REVIEW_USAGE = `usage: facematch review ID (--approve | --reject) --reason CODE [options]

Sends POST /verifications/{ID}/review: a person's decision replaces the machine's (which the
record keeps, with every decision in its history). The reviewer is your AWS principal (local:
"local").

options:
  --approve | --reject    the decision
  --reason CODE           one of ${REVIEW_REASONS.join(', ')}
  --note TEXT             at most 500 characters, kept in the record only (never logged)
  --reopen                decide an already closed review again (an appeal)
${ENDPOINT_OPTION}
  --json                  print the answer exactly as received
  -h, --help              this text

exit status: 0 APPROVED, 4 REJECTED, 1 error (409 REVIEW_CONFLICT: someone else decided first,
or the review is closed and --reopen was not given)`;

const LIST_OPTIONS = {
  endpoint: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const REVIEW_OPTIONS = {
  endpoint: { type: 'string' },
  approve: { type: 'boolean' },
  reject: { type: 'boolean' },
  reason: { type: 'string' },
  note: { type: 'string' },
  reopen: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function age(openedAt: string | undefined, now: number): string {
  const since = openedAt === undefined ? Number.NaN : Date.parse(openedAt);
  if (Number.isNaN(since)) return '-';
  const minutes = Math.max(0, Math.floor((now - since) / 60_000));
  return minutes < 60 ? `${minutes}m` : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

/** One line per open review: what a reviewer needs to pick the next one. */
export function renderQueue(
  page: { items: ReceivedRecord[]; next_cursor: string | null },
  now: number,
): string {
  if (page.items.length === 0) return 'no open reviews\n';
  const rows = [['VERIFICATION', 'OPENED', 'AGE', 'FACE', 'REASONS']];
  for (const item of page.items) {
    rows.push([
      cleanCell(item.verification_id),
      cleanCell(item.review?.opened_at),
      age(item.review?.opened_at, now),
      cleanCell(item.face_similarity),
      cleanCell((item.reasons ?? []).join(',') || '-'),
    ]);
  }
  const widths = rows[0]?.map((_, column) =>
    Math.max(...rows.map((row) => row[column]?.length ?? 0)),
  );
  const lines = rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths?.[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  if (page.next_cursor) lines.push('', `more: facematch reviews --cursor ${page.next_cursor}`);
  return `${lines.join('\n')}\n`;
}

export async function runReviews(argv: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(argv, LIST_OPTIONS, REVIEWS_USAGE);
  if (parsed === 'help') {
    context.io.stdout.write(`${REVIEWS_USAGE}\n`);
    return 0;
  }
  const { values } = parsed;
  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!/^\d+$/.test(values.limit) || limit < 1 || limit > 100) {
      throw new UsageError('--limit must be a whole number from 1 to 100', REVIEWS_USAGE);
    }
  }
  const client = apiClientFor(context, values.endpoint);
  const response = await withProgress(context.io.stderr, 'reading the queue', () =>
    client.listOpenReviews({
      ...(limit === undefined ? {} : { limit }),
      ...(values.cursor === undefined ? {} : { cursor: values.cursor }),
    }),
  );
  let page: { items: ReceivedRecord[]; next_cursor: string | null } | undefined;
  if (response.status === 200) {
    const body = parseJson(response.text) as typeof page;
    if (Array.isArray(body?.items)) page = body;
  }
  if (page === undefined) {
    if (values.json && response.text.trim().startsWith('{')) {
      context.io.stdout.write(`${response.text.trimEnd()}\n`);
    }
    context.io.stderr.write(renderProblem(response));
    return EXIT.ERROR;
  }
  const now = (context.now?.() ?? new Date()).getTime();
  context.io.stdout.write(values.json ? `${response.text.trimEnd()}\n` : renderQueue(page, now));
  return 0;
}

export async function runReview(argv: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(argv, REVIEW_OPTIONS, REVIEW_USAGE, true);
  if (parsed === 'help') {
    context.io.stdout.write(`${REVIEW_USAGE}\n`);
    return 0;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new UsageError('give exactly one verification ID', REVIEW_USAGE);
  }
  if (values.approve === values.reject) {
    throw new UsageError('give exactly one of --approve and --reject', REVIEW_USAGE);
  }
  if (values.reason === undefined) throw new UsageError('missing --reason CODE', REVIEW_USAGE);
  // The reason's spelling is the API's to judge (it answers 400 naming the field).
  const body = {
    decision: values.approve ? 'APPROVED' : 'REJECTED',
    reason: values.reason,
    ...(values.note === undefined ? {} : { note: values.note }),
    ...(values.reopen ? { reopen: true } : {}),
  };
  const client = apiClientFor(context, values.endpoint);
  const response = await withProgress(context.io.stderr, 'reviewing', () =>
    client.postReview(positionals[0] ?? '', body),
  );
  return report(response, context.io, { json: values.json === true });
}
