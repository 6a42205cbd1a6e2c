/** `facematch get ID`: a stored verification, as it is now. */
import { parseCommandArgs } from './args.ts';
import { apiClientFor, type CliContext, ENDPOINT_OPTION } from './context.ts';
import { UsageError } from './errors.ts';
import { report } from './output.ts';
import { withProgress } from './progress.ts';

export const GET_USAGE = `usage: facematch get ID [options]

Sends GET /verifications/{ID} and prints the record.

options:
${ENDPOINT_OPTION}
  --json                  print the answer exactly as received (the record, or the problem
                          document of an error), and nothing else, on stdout
  -h, --help              this text

exit status: 0 APPROVED, 3 REVIEW, 4 REJECTED, 5 no decision yet (PENDING, PROCESSING),
1 error (also a FAILED record, or 404 for an unknown id)`;

const OPTIONS = {
  endpoint: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runGet(argv: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(argv, OPTIONS, GET_USAGE, true);
  if (parsed === 'help') {
    context.io.stdout.write(`${GET_USAGE}\n`);
    return 0;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError('missing the verification ID', GET_USAGE);
  if (positionals.length > 1) {
    throw new UsageError(`one verification ID at a time (got ${positionals.length})`, GET_USAGE);
  }
  const [verificationId = ''] = positionals;

  const client = apiClientFor(context, values.endpoint);
  const response = await withProgress(context.io.stderr, 'fetching', () =>
    client.getVerification(verificationId),
  );
  return report(response, context.io, { json: values.json === true });
}
