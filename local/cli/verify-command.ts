/** `facematch verify`: one synchronous verification with the selfie inline. */
import { parseCommandArgs, requireOptions } from './args.ts';
import { apiClientFor, type CliContext, ENDPOINT_OPTION } from './context.ts';
import { UsageError } from './errors.ts';
import { type IdentityFields, readIdentityFile } from './identity-file.ts';
import { report } from './output.ts';
import { withProgress } from './progress.ts';
import { readSelfieFile } from './selfie-file.ts';

export const VERIFY_USAGE = `usage: facematch verify --identity-file FILE|- --selfie FILE [options]
       facematch verify --nik NIK --name NAME --dob DATE --selfie FILE [options]

Sends POST /verifications with the selfie inline and prints the verdict.

required:
  --identity-file FILE    the identity as JSON: {"nik": "...", "name": "...",
                          "date_of_birth": "DD-MM-YYYY or YYYY-MM-DD"}; "-" reads it from
                          stdin. Prefer it: arguments land in the shell history and in
                          process listings
  or all of:
  --nik NIK               the 16-digit NIK (only ever printed masked)
  --name NAME             full name as in the civil registry
  --dob DATE              date of birth, DD-MM-YYYY or YYYY-MM-DD (sent as given)
  and:
  --selfie FILE           a JPEG or PNG of at most 5 MiB (5242880 bytes)

options:
  --verification-id ID    your id for it; the identical request again returns the stored
                          verdict (printed "replayed"); the same id with anything else
                          is refused (default: one the service creates)
  --template-id ID        the IDmeta template (default: the environment's)
${ENDPOINT_OPTION}
  --json                  print the answer exactly as received (the record, or the problem
                          document of an error), and nothing else, on stdout
  -h, --help              this text

exit status: 0 APPROVED, 3 REVIEW, 4 REJECTED, 5 no decision yet, 1 error

example, with agus.json written in an editor (not with echo: that is history again):
  {"nik": "3174051403880012", "name": "Agus Wibisono Hartanto", "date_of_birth": "14-03-1988"}

  facematch verify --identity-file agus.json \\
    --selfie local/idmeta-simulator/images/p1-agus-hartanto.jpg`;

const OPTIONS = {
  nik: { type: 'string' },
  name: { type: 'string' },
  dob: { type: 'string' },
  selfie: { type: 'string' },
  'identity-file': { type: 'string' },
  'verification-id': { type: 'string' },
  'template-id': { type: 'string' },
  endpoint: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runVerify(argv: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(argv, OPTIONS, VERIFY_USAGE);
  if (parsed === 'help') {
    context.io.stdout.write(`${VERIFY_USAGE}\n`);
    return 0;
  }
  const { values } = parsed;
  const identityFile = values['identity-file'];
  if (identityFile !== undefined) {
    const given = (['nik', 'name', 'dob'] as const).filter((flag) => values[flag] !== undefined);
    if (given.length > 0) {
      const flags = given.map((flag) => `--${flag}`).join(', ');
      throw new UsageError(`--identity-file and ${flags} exclude each other`, VERIFY_USAGE);
    }
    requireOptions(values, ['identity-file', 'selfie'], VERIFY_USAGE);
  } else {
    requireOptions(values, ['nik', 'name', 'dob', 'selfie'], VERIFY_USAGE);
  }
  const { selfie = '' } = values;

  // A bad endpoint, region or scheme is reported before the selfie is even read.
  const client = apiClientFor(context, values.endpoint);
  const identity: IdentityFields =
    identityFile === undefined
      ? { nik: values.nik ?? '', name: values.name ?? '', date_of_birth: values.dob ?? '' }
      : await readIdentityFile(identityFile, context.readStdin);
  const image = await readSelfieFile(selfie);
  const body = {
    ...(values['verification-id'] ? { verification_id: values['verification-id'] } : {}),
    ...(values['template-id'] ? { template_id: values['template-id'] } : {}),
    ...identity,
    selfie_image: `data:${image.mime};base64,${image.bytes.toString('base64')}`,
  };

  const response = await withProgress(context.io.stderr, 'verifying', () =>
    client.postVerification(body),
  );
  return report(response, context.io, { json: values.json === true });
}
