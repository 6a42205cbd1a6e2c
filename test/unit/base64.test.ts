/**
 * The hand-written encoder must agree with Node's byte for byte, for every length (the 0, 1 and
 * 2 leftover bytes each pad differently), every byte value, and any place in the target.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Length, writeBase64 } from '../../lambda/adapters/base64.ts';

describe('writeBase64', () => {
  it('writes what Buffer.toString("base64") gives, at the offset asked, and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(16), (source, offset) => {
        // Prepare
        const target = new Uint8Array(offset + base64Length(source.byteLength) + 3).fill(0x2a);

        // Act
        const end = writeBase64(source, target, offset);

        // Assess
        const expected = Buffer.from(source).toString('base64');
        expect(end).toBe(offset + expected.length);
        expect(Buffer.from(target.subarray(offset, end)).toString('latin1')).toBe(expected);
        expect(target.subarray(0, offset).every((byte) => byte === 0x2a)).toBe(true);
        expect(target.subarray(end).every((byte) => byte === 0x2a)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes every byte value in every position of a triple', () => {
    // Prepare: 0..255 three times, shifted by one each time, so each value meets each position.
    const source = Uint8Array.from({ length: 768 + 2 }, (_, i) => i % 256);
    const target = new Uint8Array(base64Length(source.byteLength));

    // Act
    writeBase64(source, target, 0);

    // Assess
    expect(Buffer.from(target).toString('latin1')).toBe(Buffer.from(source).toString('base64'));
  });

  it('refuses a target without room, before writing a byte', () => {
    // Prepare
    const target = new Uint8Array(7).fill(0x2a);

    // Act
    const write = () => writeBase64(Uint8Array.of(1, 2, 3, 4), target, 0);

    // Assess
    expect(write).toThrow(RangeError);
    expect(target.every((byte) => byte === 0x2a)).toBe(true);
  });
});
