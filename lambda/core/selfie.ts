/**
 * Turns what a caller sent as a selfie into checked bytes, reading only headers and structure:
 * pixels are never decoded, so a hostile image costs at most one linear scan of its bytes.
 */
// The per-format parsers only: the package's main entry also carries eighteen formats we refuse.
import { JPG } from 'image-size/types/jpg';
import { PNG } from 'image-size/types/png';
import { SelfieTooLargeError, UnsupportedSelfieTypeError, ValidationError } from './errors.ts';
import type { SelfieImage, SelfieLimits, SelfieMime } from './types.ts';

export const DEFAULT_SELFIE_LIMITS: SelfieLimits = {
  maxBytes: 5 * 1024 * 1024,
  minWidth: 240,
  minHeight: 240,
  maxDimension: 10000,
  maxPixels: 40_000_000,
};

export interface DecodeSelfieOptions {
  /** Where issues point: `selfie_image` by default; the S3 entrance names its key or object. */
  path?: string;
}

/** Room for `data:image/<type>[;param=value...];base64,` in front of the payload. */
const DATA_URI_HEADER_ALLOWANCE = 256;
const DATA_URI_START = /^data:/i;
const DATA_URI_HEADER = /^data:image\/[^;,]*(?:;[^;,]*)*;base64,/i;
/** RFC 2045 and PEM wrap base64 at 76 or 64 characters; allow a CRLF every 64. */
const LINE_LENGTH = 64;
const WHITESPACE = /[ \t\r\n]+/g;
const HAS_WHITESPACE = /[ \t\r\n]/;
const NOT_BASE64 = /[^A-Za-z0-9+/]/;

const JPEG_MAGIC = [0xff, 0xd8, 0xff] as const;
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/**
 * The longest selfie text that can still hold `maxBytes` of image: base64 of `maxBytes`, a
 * data-URI header and line breaks. Anything longer is refused before a byte is decoded.
 */
export function maxSelfieTextLength(limits: Pick<SelfieLimits, 'maxBytes'>): number {
  const base64Length = Math.ceil(limits.maxBytes / 3) * 4;
  return DATA_URI_HEADER_ALLOWANCE + base64Length + 2 * Math.ceil(base64Length / LINE_LENGTH);
}

/**
 * Checks a selfie and returns its bytes, type and size. `input` is a `data:image/...;base64,`
 * URI, bare base64, or raw bytes. The type comes from the magic bytes only, never from what the
 * caller claims. Throws `SelfieTooLargeError` (413), `UnsupportedSelfieTypeError` (415) or a
 * `ValidationError` (400) with code `SELFIE_UNREADABLE`, `SELFIE_DIMENSIONS_INVALID` or
 * `SELFIE_TOO_SMALL`.
 */
export function decodeSelfie(
  input: string | Uint8Array,
  limits: SelfieLimits,
  options: DecodeSelfieOptions = {},
): SelfieImage {
  const path = options.path ?? 'selfie_image';
  const bytes = typeof input === 'string' ? decodeBase64Selfie(input, limits, path) : input;
  if (bytes.byteLength > limits.maxBytes) {
    throw new SelfieTooLargeError(limits.maxBytes, bytes.byteLength);
  }
  if (bytes.byteLength === 0) throw unreadable(path, 'selfie is empty');

  const mime = sniffMime(bytes);
  if (mime === null) throw new UnsupportedSelfieTypeError();

  const { width, height } = readDimensions(bytes, mime, path);
  // Checked before the structure scan, so an absurd declared size is refused at once.
  if (width < 1 || height < 1 || width > limits.maxDimension || height > limits.maxDimension) {
    throw new ValidationError(
      `selfie dimensions must be between 1 and ${limits.maxDimension} pixels`,
      [{ path, message: `width and height must be between 1 and ${limits.maxDimension} pixels` }],
      { code: 'SELFIE_DIMENSIONS_INVALID' },
    );
  }
  if (width * height > limits.maxPixels) {
    const message = `width x height must be at most ${limits.maxPixels} pixels`;
    throw new ValidationError(
      `selfie has more than ${limits.maxPixels} pixels`,
      [{ path, message }],
      {
        code: 'SELFIE_TOO_MANY_PIXELS',
      },
    );
  }
  if (!isComplete(bytes, mime)) throw unreadable(path, 'selfie is truncated or malformed');
  if (mime === 'image/png') refuseUnneededPngFormat(bytes, path);
  if (width < limits.minWidth || height < limits.minHeight) {
    const message = `selfie must be at least ${limits.minWidth}x${limits.minHeight} pixels`;
    throw new ValidationError(message, [{ path, message }], { code: 'SELFIE_TOO_SMALL' });
  }
  return { bytes, mime, width, height };
}

function unreadable(path: string, message: string, cause?: unknown): ValidationError {
  return new ValidationError(message, [{ path, message }], { code: 'SELFIE_UNREADABLE', cause });
}

function decodeBase64Selfie(text: string, limits: SelfieLimits, path: string): Uint8Array {
  if (text.length > maxSelfieTextLength(limits)) throw new SelfieTooLargeError(limits.maxBytes);

  let payload = text;
  if (DATA_URI_START.test(text)) {
    const header = DATA_URI_HEADER.exec(text.slice(0, DATA_URI_HEADER_ALLOWANCE));
    if (!header) {
      throw unreadable(path, 'selfie must be a data:image/...;base64, URI or bare base64');
    }
    payload = text.slice(header[0].length);
  }
  if (HAS_WHITESPACE.test(payload)) payload = payload.replace(WHITESPACE, '');
  // A search for one bad character is several times faster than matching the whole alphabet.
  const firstPad = payload.indexOf('=');
  const padding = firstPad === -1 ? 0 : payload.length - firstPad;
  const wellPadded =
    padding === 0
      ? payload.length % 4 !== 1
      : padding <= 2 && payload.length % 4 === 0 && payload.endsWith('='.repeat(padding));
  if (!wellPadded || NOT_BASE64.test(payload.slice(0, payload.length - padding))) {
    throw unreadable(path, 'selfie is not valid base64');
  }

  // The exact decoded length, known before decoding: refuse an oversized image unread.
  const decodedLength = Math.floor(((payload.length - padding) * 3) / 4);
  if (decodedLength > limits.maxBytes) {
    throw new SelfieTooLargeError(limits.maxBytes, decodedLength);
  }
  const buffer = Buffer.from(payload, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

const startsWith = (bytes: Uint8Array, magic: readonly number[]): boolean =>
  bytes.byteLength >= magic.length && magic.every((byte, index) => bytes[index] === byte);

function sniffMime(bytes: Uint8Array): SelfieMime | null {
  if (startsWith(bytes, JPEG_MAGIC)) return 'image/jpeg';
  if (startsWith(bytes, PNG_MAGIC)) return 'image/png';
  return null;
}

/** EXIF orientations 5-8 rotate by a quarter turn: the displayed width is the stored height. */
const QUARTER_TURN_ORIENTATIONS = new Set([5, 6, 7, 8]);

function readDimensions(
  bytes: Uint8Array,
  mime: SelfieMime,
  path: string,
): { width: number; height: number } {
  // A Buffer view, not a copy: image-size slices its input, which copies a plain Uint8Array.
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const size = (mime === 'image/png' ? PNG : JPG).calculate(view);
    const { width, height, orientation } = size;
    if (!Number.isInteger(width) || !Number.isInteger(height)) throw new TypeError('no size');
    return orientation !== undefined && QUARTER_TURN_ORIENTATIONS.has(orientation)
      ? { width: height, height: width }
      : { width, height };
  } catch (error) {
    throw unreadable(path, 'selfie header is unreadable', error);
  }
}

/**
 * IHDR's bit depth and colour type (PNG spec 11.2.2), by colour type: what a face match needs is
 * 8 bits a channel. Sixteen bits double every decoded byte for nothing a camera selfie holds, and
 * are the usual shape of a decompression bomb; grey below 8 bits is no photograph. Palette images
 * keep their 1-8 bit indices (each decodes to at most 8-bit RGB).
 */
const PNG_BIT_DEPTHS: Record<number, readonly number[]> = {
  0: [8], // greyscale
  2: [8], // RGB
  3: [1, 2, 4, 8], // palette
  4: [8], // greyscale + alpha
  6: [8], // RGBA
};
/** Offsets of IHDR's bit depth and colour type: signature (8), length (4), type (4), size (8). */
const PNG_BIT_DEPTH_AT = 24;
const PNG_COLOUR_TYPE_AT = 25;

function refuseUnneededPngFormat(bytes: Uint8Array, path: string): void {
  const depth = bytes[PNG_BIT_DEPTH_AT] ?? 0;
  const colourType = bytes[PNG_COLOUR_TYPE_AT] ?? -1;
  if (PNG_BIT_DEPTHS[colourType]?.includes(depth)) return;
  const message = 'a PNG selfie must have 8 bits a channel (palette: 1 to 8 bits)';
  throw new ValidationError(message, [{ path, message }], {
    code: 'SELFIE_PNG_FORMAT_UNSUPPORTED',
  });
}

function isComplete(bytes: Uint8Array, mime: SelfieMime): boolean {
  return mime === 'image/png' ? isCompletePng(bytes) : isCompleteJpeg(bytes);
}

const chunkType = (bytes: Uint8Array, at: number): string =>
  String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);

/**
 * A PNG is a signature and length-prefixed chunks: IHDR first, at least one IDAT, IEND last.
 * Walking the chunk lengths (not the data, not the CRCs) proves every chunk is whole at the
 * cost of one step per chunk; a cut upload loses its IEND or leaves a chunk overrunning the end.
 * Bytes after IEND are tolerated: they do not make the image unreadable.
 */
function isCompletePng(bytes: Uint8Array): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at: number = PNG_MAGIC.length;
  let sawImageData = false;
  let first = true;
  while (at + 12 <= bytes.byteLength) {
    const length = view.getUint32(at);
    const type = chunkType(bytes, at + 4);
    if (first && (type !== 'IHDR' || length !== 13)) return false;
    first = false;
    const end = at + 12 + length;
    if (end > bytes.byteLength) return false;
    if (type === 'IDAT') sawImageData = true;
    if (type === 'IEND') return sawImageData;
    at = end;
  }
  return false;
}

/**
 * A JPEG is length-prefixed marker segments up to the first start-of-scan (SOS), then
 * entropy-coded data in which a 0xFF byte is always followed by 0x00 or a restart marker, and
 * finally an end-of-image marker (FF D9). Walking the segments checks the header is whole;
 * the first FF D9 after the SOS is then the real EOI (never a thumbnail's, which sits in an
 * earlier APP1 segment). A cut upload has none. One native `indexOf` scan, no decoding.
 */
function isCompleteJpeg(bytes: Uint8Array): boolean {
  const length = bytes.byteLength;
  let at = 2;
  while (at + 1 < length) {
    if (bytes[at] !== 0xff) return false;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      // Fill byte before a marker.
      at += 1;
      continue;
    }
    if (marker === 0xd9 || marker === 0xd8) return false;
    if (marker === 0x01 || (marker !== undefined && marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (at + 3 >= length) return false;
    const segmentLength = ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0);
    if (segmentLength < 2) return false;
    const next = at + 2 + segmentLength;
    if (next > length) return false;
    if (marker === 0xda) return hasEndOfImage(bytes, next);
    at = next;
  }
  return false;
}

function hasEndOfImage(bytes: Uint8Array, from: number): boolean {
  let at = bytes.indexOf(0xff, from);
  while (at !== -1 && at + 1 < bytes.byteLength) {
    if (bytes[at + 1] === 0xd9) return true;
    at = bytes.indexOf(0xff, at + 1);
  }
  return false;
}
