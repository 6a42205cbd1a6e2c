/**
 * The selfie file `verify` sends: checked before anything goes over the wire (there, a readable
 * regular file of at most 5 MiB whose first bytes say JPEG or PNG).
 */
import { readFile, stat } from 'node:fs/promises';
import { CliError } from './errors.ts';

export const SELFIE_MAX_BYTES = 5 * 1024 * 1024;

export type SelfieMime = 'image/jpeg' | 'image/png';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const startsWith = (bytes: Uint8Array, prefix: number[], at = 0) =>
  prefix.every((byte, index) => bytes[at + index] === byte);
const ascii = (bytes: Uint8Array, from: number, to: number) =>
  Buffer.from(bytes.subarray(from, to)).toString('latin1');

/** JPEG or PNG by magic bytes; for a few other image types, their name (for the message). */
export function sniffImage(bytes: Uint8Array): SelfieMime | { other: string } | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, PNG_SIGNATURE)) return 'image/png';
  if (ascii(bytes, 0, 4) === 'GIF8') return { other: 'a GIF image' };
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') {
    return { other: 'a WebP image' };
  }
  if (
    ascii(bytes, 4, 8) === 'ftyp' &&
    /^(heic|heix|heim|heis|hevc|mif1|msf1|avif)$/.test(ascii(bytes, 8, 12))
  ) {
    return { other: 'a HEIC/HEIF/AVIF image' };
  }
  if (ascii(bytes, 0, 2) === 'BM') return { other: 'a BMP image' };
  return null;
}

const megabytes = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

export async function readSelfieFile(
  path: string,
  maxBytes = SELFIE_MAX_BYTES,
): Promise<{ bytes: Buffer; mime: SelfieMime }> {
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(`the selfie ${path} is not a file`);
    if (info.size > maxBytes) {
      throw new CliError(
        `the selfie ${path} is ${megabytes(info.size)}; the limit is ${megabytes(maxBytes)}`,
      );
    }
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`selfie file not found: ${path}`);
    if (code === 'EACCES') throw new CliError(`cannot read the selfie ${path}: permission denied`);
    throw new CliError(`cannot read the selfie ${path}: ${(error as Error).message}`);
  }
  // The file may have grown between stat and read.
  if (bytes.length > maxBytes) {
    throw new CliError(
      `the selfie ${path} is ${megabytes(bytes.length)}; the limit is ${megabytes(maxBytes)}`,
    );
  }
  if (bytes.length === 0) throw new CliError(`the selfie ${path} is empty`);
  const kind = sniffImage(bytes);
  if (kind === null) throw new CliError(`the selfie ${path} is not a JPEG or PNG image`);
  if (typeof kind === 'object') {
    throw new CliError(`the selfie ${path} is ${kind.other}; facematch accepts JPEG or PNG`);
  }
  return { bytes, mime: kind };
}
