/**
 * The identity `verify` sends, read from a JSON file or stdin (`--identity-file PATH` or `-`)
 * rather than from arguments: a NIK, a name and a date of birth typed as arguments land in the
 * shell's history and in every process listing. Nothing read here is ever quoted back in an
 * error: the file holds personal data.
 */
import { readFile, stat } from 'node:fs/promises';
import { CliError } from './errors.ts';
import { readAllStdin, STDIN_MAX_BYTES } from './stdin.ts';

/** The identity file's bound: the stdin reader's. */
const IDENTITY_FILE_MAX_BYTES = STDIN_MAX_BYTES;

export interface IdentityFields {
  nik: string;
  name: string;
  date_of_birth: string;
}

const FIELDS = ['nik', 'name', 'date_of_birth'] as const;

async function readIdentityText(source: string, readStdin: () => Promise<string>) {
  if (source === '-') return { text: await readStdin(), where: 'the identity on stdin' };
  const where = `the identity file ${source}`;
  try {
    const info = await stat(source);
    if (!info.isFile()) throw new CliError(`${where} is not a file`);
    if (info.size > IDENTITY_FILE_MAX_BYTES) {
      throw new CliError(`${where} is over ${IDENTITY_FILE_MAX_BYTES} bytes`);
    }
    return { text: await readFile(source, 'utf8'), where };
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${where} does not exist` : `${where} cannot be read`);
  }
}

/**
 * `{"nik": "...", "name": "...", "date_of_birth": "..."}` from `source` (a path, or `-` for
 * stdin). Other keys are ignored; the values are sent as given, the API validates them.
 */
export async function readIdentityFile(
  source: string,
  readStdin: () => Promise<string> = () => readAllStdin('the identity on stdin'),
): Promise<IdentityFields> {
  const { text, where } = await readIdentityText(source, readStdin);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the text: personal data.
    throw new CliError(`${where} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`${where} must be a JSON object with nik, name and date_of_birth`);
  }
  const record = parsed as Record<string, unknown>;
  const missing = FIELDS.filter(
    (field) => typeof record[field] !== 'string' || (record[field] as string).trim() === '',
  );
  if (missing.length > 0) {
    throw new CliError(`${where} needs a non-empty string for: ${missing.join(', ')}`);
  }
  return {
    nik: record.nik as string,
    name: record.name as string,
    date_of_birth: record.date_of_birth as string,
  };
}
