/**
 * Base64 written straight into a caller's buffer. Node can only produce base64 as a string
 * (`toString('base64')`), which for a 5 MB selfie is 6.7 MB of string on the V8 heap, then
 * copied again into the request body: an encoded copy too many. This writes each output byte
 * once, into place. It is ~4x slower than Node's native encoder (5 ms against 1 ms for 5 MiB on
 * the bench machine), which is noise next to an IDmeta call; the memory is not.
 */

const ALPHABET = new TextEncoder().encode(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
);
const PAD = 0x3d; // '='

/** Length of the padded base64 of `byteLength` bytes. */
export const base64Length = (byteLength: number): number => 4 * Math.ceil(byteLength / 3);

/**
 * Writes the padded base64 of `source` into `target` from `offset`; returns the offset after
 * it. `target` must have `base64Length(source.byteLength)` bytes of room there.
 */
export function writeBase64(source: Uint8Array, target: Uint8Array, offset: number): number {
  const end = offset + base64Length(source.byteLength);
  if (end > target.byteLength) throw new RangeError('base64 target is too small');
  const alphabet = ALPHABET;
  const whole = source.byteLength - (source.byteLength % 3);
  let at = offset;
  for (let i = 0; i < whole; i += 3) {
    const triple =
      ((source[i] as number) << 16) | ((source[i + 1] as number) << 8) | (source[i + 2] as number);
    target[at] = alphabet[triple >>> 18] as number;
    target[at + 1] = alphabet[(triple >>> 12) & 63] as number;
    target[at + 2] = alphabet[(triple >>> 6) & 63] as number;
    target[at + 3] = alphabet[triple & 63] as number;
    at += 4;
  }
  const rest = source.byteLength - whole;
  if (rest > 0) {
    const first = source[whole] as number;
    const second = rest === 2 ? (source[whole + 1] as number) : 0;
    target[at] = alphabet[first >>> 2] as number;
    target[at + 1] = alphabet[((first & 3) << 4) | (second >>> 4)] as number;
    target[at + 2] = rest === 2 ? (alphabet[(second & 15) << 2] as number) : PAD;
    target[at + 3] = PAD;
    at += 4;
  }
  return at;
}
