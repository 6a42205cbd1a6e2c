/**
 * `facematch subject search|erase`: a data subject's access and erasure requests (UU PDP). The
 * NIK is read from a file or stdin, never from the command line, where it would stay in the
 * shell's history and in the process list.
 */
import { readFile } from 'node:fs/promises';
import { parseCommandArgs } from './args.ts';
import { apiClientFor, type CliContext, ENDPOINT_OPTION } from './context.ts';
import { CliError, UsageError } from './errors.ts';
import { clean, EXIT, parseJson, renderProblem, writeAsReceived } from './output.ts';
import { withProgress } from './progress.ts';
import { readAllStdin } from './stdin.ts';

export const SUBJECT_USAGE = `usage: facematch subject search|erase --nik-file PATH [options]

search  POST /data-subjects/search: every verification of one NIK (access request)
erase   POST /data-subjects/erase: deletes every record of that NIK, the selfies they kept and
        their webhook deliveries, and keeps a receipt (erasure request). Needs --yes.

The NIK comes from --nik-file: a file holding the 16 digits, or JSON {"nik": "..."};
"-" reads it from stdin (e.g. from a password manager), so it never lands in shell history.

options:
  --nik-file PATH         where to read the NIK ("-" for stdin)
  --yes                   erase without asking (erase only; it cannot be undone)
${ENDPOINT_OPTION}
  --json                  print the answer exactly as received, and nothing else, on stdout
  -h, --help              this text

exit status: 0 done (search found something or nothing; erase erased or found nothing),
1 error (bad arguments, unreadable NIK file, network or HTTP error)`;

const OPTIONS = {
  'nik-file': { type: 'string' },
  yes: { type: 'boolean' },
  endpoint: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The NIK in a file or on stdin: bare, or as `{"nik": "..."}`. Never echoed in an error. */
export async function readNik(
  path: string,
  input: Pick<CliContext, 'readStdin'> = {},
): Promise<string> {
  let text: string;
  try {
    text =
      path === '-'
        ? await (input.readStdin ?? (() => readAllStdin('the NIK on stdin')))()
        : await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(`cannot read the NIK file ${path === '-' ? '(stdin)' : path}: ${code}`);
  }
  const trimmed = text.trim();
  const parsed = trimmed.startsWith('{') ? parseJson(trimmed) : undefined;
  const nik =
    typeof parsed === 'object' && parsed !== null && 'nik' in parsed
      ? String((parsed as { nik: unknown }).nik)
      : trimmed;
  if (nik === '') throw new CliError('the NIK file is empty');
  // The server validates the NIK itself and names the problem without quoting it.
  return nik;
}

function renderSearch(body: Record<string, unknown>): string {
  const verifications = Array.isArray(body.verifications) ? body.verifications : [];
  const lines = [`NIK ${clean(body.nik_masked ?? '')}: ${verifications.length} verification(s)`];
  for (const entry of verifications as Array<Record<string, unknown>>) {
    lines.push(
      `  ${clean(entry.verification_id)}  ${clean(entry.status)}  ${clean(entry.decision ?? '-')}  ${clean(entry.created_at ?? '')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderErasure(body: Record<string, unknown>): string {
  const erased = (body.erased ?? {}) as Record<string, unknown>;
  const ids = Array.isArray(body.verification_ids) ? body.verification_ids : [];
  if (ids.length === 0) {
    return `nothing to erase: no verification of this NIK was found (receipt ${clean(body.receipt_id)})\n`;
  }
  return (
    `erased ${clean(erased.records)} record(s), ${clean(erased.selfies)} selfie(s), ` +
    `${clean(erased.deliveries)} webhook delivery(ies): ${ids.map(clean).join(', ')}\n` +
    `receipt ${clean(body.receipt_id)}\n`
  );
}

export async function runSubject(argv: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(argv, OPTIONS, SUBJECT_USAGE, true);
  if (parsed === 'help') {
    context.io.stdout.write(`${SUBJECT_USAGE}\n`);
    return 0;
  }
  const { values, positionals } = parsed;
  const [action, ...extra] = positionals;
  if (action !== 'search' && action !== 'erase') {
    throw new UsageError('say search or erase', SUBJECT_USAGE);
  }
  if (extra.length > 0) {
    // Most likely a NIK typed on the command line: refuse it without repeating it.
    throw new UsageError(
      'unexpected argument (the NIK is read from --nik-file, never from the command line)',
      SUBJECT_USAGE,
    );
  }
  if (values['nik-file'] === undefined) throw new UsageError('missing --nik-file', SUBJECT_USAGE);
  if (action === 'erase' && values.yes !== true) {
    throw new UsageError('erase cannot be undone: add --yes to go ahead', SUBJECT_USAGE);
  }
  const nik = await readNik(values['nik-file'], context);

  const client = apiClientFor(context, values.endpoint);
  const response = await withProgress(
    context.io.stderr,
    action === 'erase' ? 'erasing' : 'searching',
    () => client.postDataSubject(action, { nik }),
  );
  const body = parseJson(response.text);
  const ok = response.status === 200 && typeof body === 'object' && body !== null;
  if (values.json && typeof body === 'object' && body !== null) {
    writeAsReceived(response, context.io);
  }
  if (!ok) {
    context.io.stderr.write(renderProblem(response));
    return EXIT.ERROR;
  }
  if (!values.json) {
    const answer = body as Record<string, unknown>;
    context.io.stdout.write(action === 'erase' ? renderErasure(answer) : renderSearch(answer));
  }
  return 0;
}
