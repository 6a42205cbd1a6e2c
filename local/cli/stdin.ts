/** Personal data piped to the CLI (a NIK, an identity) rather than typed as arguments. */
import { CliError } from './errors.ts';

/** Far more than a NIK or `{"nik": ..., "name": ..., "date_of_birth": ...}` needs. */
export const STDIN_MAX_BYTES = 64 * 1024;

/** All of stdin as text, at most `maxBytes`; `what` names it in the error (never its content). */
export async function readAllStdin(what: string, maxBytes = STDIN_MAX_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += bytes.length;
    if (size > maxBytes) throw new CliError(`${what} is over ${maxBytes} bytes`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}
