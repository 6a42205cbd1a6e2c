import { describe, expect, it } from 'vitest';
import {
  SelfieTooLargeError,
  UnsupportedSelfieTypeError,
  ValidationError,
} from '../../lambda/core/errors.ts';
import {
  DEFAULT_SELFIE_LIMITS,
  decodeSelfie,
  maxSelfieTextLength,
} from '../../lambda/core/selfie.ts';
import type { SelfieLimits } from '../../lambda/core/types.ts';
import { makeJpeg, makePng, makePngHeader } from '../support/images.ts';
import { thrownBy, validationFailure } from '../support/thrown.ts';

const LIMITS: SelfieLimits = DEFAULT_SELFIE_LIMITS;

/** Rewrites the size a JPEG's baseline frame header (SOF0) declares. */
function withJpegSize(jpeg: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(jpeg);
  const frame = copy.indexOf(Buffer.from([0xff, 0xc0]));
  copy.writeUInt16BE(height, frame + 5);
  copy.writeUInt16BE(width, frame + 7);
  return copy;
}

/** Rewrites the size a PNG's IHDR declares (the CRC is left stale: nobody checks it). */
function withPngSize(png: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(png);
  copy.writeUInt32BE(width, 16);
  copy.writeUInt32BE(height, 20);
  return copy;
}

/** Inserts an EXIF APP1 segment carrying only an orientation tag right after the SOI. */
function withExifOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.concat([
    Buffer.from('4d4d002a00000008', 'hex'), // big-endian TIFF header, first IFD at offset 8
    Buffer.from('0001', 'hex'), // one IFD entry:
    Buffer.from('0112000300000001', 'hex'), // tag 274 (orientation), a SHORT, count 1
    Buffer.from([0x00, orientation, 0x00, 0x00]),
    Buffer.from('00000000', 'hex'), // no next IFD
  ]);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, payload, jpeg.subarray(2)]);
}

describe('decodeSelfie: accepted inputs', () => {
  it('decodes bare base64 of a PNG and reads its size from the header', () => {
    // Prepare
    const png = makePng(320, 240);

    // Act
    const selfie = decodeSelfie(png.toString('base64'), LIMITS);

    // Assess
    expect(selfie.mime).toBe('image/png');
    expect([selfie.width, selfie.height]).toEqual([320, 240]);
    expect(Buffer.from(selfie.bytes).equals(png)).toBe(true);
  });

  it('decodes a data URI of a JPEG', () => {
    // Prepare
    const jpeg = makeJpeg(300, 400);

    // Act
    const selfie = decodeSelfie(`data:image/jpeg;base64,${jpeg.toString('base64')}`, LIMITS);

    // Assess
    expect(selfie.mime).toBe('image/jpeg');
    expect([selfie.width, selfie.height]).toEqual([300, 400]);
    expect(Buffer.from(selfie.bytes).equals(jpeg)).toBe(true);
  });

  it('judges the type by the bytes: a JPEG claimed as data:image/png is a JPEG', () => {
    // Prepare
    const jpeg = makeJpeg(300, 300);

    // Act
    const selfie = decodeSelfie(`data:image/png;base64,${jpeg.toString('base64')}`, LIMITS);

    // Assess
    expect(selfie.mime).toBe('image/jpeg');
  });

  it('accepts any data:image header, in any case and with parameters', () => {
    // Prepare
    const base64 = makePng(256, 256).toString('base64');

    // Act
    const upper = decodeSelfie(`DATA:IMAGE/PNG;BASE64,${base64}`, LIMITS);
    const withParameter = decodeSelfie(`data:image/png;name=selfie.png;base64,${base64}`, LIMITS);

    // Assess
    expect(upper.mime).toBe('image/png');
    expect(withParameter.mime).toBe('image/png');
  });

  it('tolerates base64 wrapped in lines, as MIME and PEM encoders write it', () => {
    // Prepare
    const jpeg = makeJpeg(256, 256);
    const wrapped = (jpeg.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');

    // Act
    const selfie = decodeSelfie(`data:image/jpeg;base64,\n${wrapped}\n`, LIMITS);

    // Assess
    expect(Buffer.from(selfie.bytes).equals(jpeg)).toBe(true);
  });

  it('accepts base64 without its trailing padding', () => {
    // Prepare
    let png = makePng(250, 250);
    while (png.length % 3 === 0) png = Buffer.concat([png, Buffer.from([0])]);
    const unpadded = png.toString('base64').replace(/=+$/, '');

    // Act
    const selfie = decodeSelfie(unpadded, LIMITS);

    // Assess
    expect(selfie.bytes.byteLength).toBe(png.length);
  });

  it('takes raw bytes as they are, without copying them', () => {
    // Prepare
    const png = makePng(240, 240);
    const bytes = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);

    // Act
    const selfie = decodeSelfie(bytes, LIMITS);

    // Assess
    expect(selfie.bytes).toBe(bytes);
    expect([selfie.width, selfie.height]).toEqual([240, 240]);
  });

  it('returns a view of the decoded buffer that holds exactly the image', () => {
    // Prepare
    const jpeg = makeJpeg(256, 256);

    // Act
    const selfie = decodeSelfie(jpeg.toString('base64'), LIMITS);

    // Assess
    expect(selfie.bytes).toBeInstanceOf(Uint8Array);
    expect(selfie.bytes.byteLength).toBe(jpeg.length);
  });

  it('tolerates bytes after the end of a JPEG, as phones append (MPF, trailers)', () => {
    // Prepare
    const jpeg = Buffer.concat([makeJpeg(256, 256), Buffer.from('trailer data')]);

    // Act
    const selfie = decodeSelfie(jpeg, LIMITS);

    // Assess
    expect(selfie.mime).toBe('image/jpeg');
  });

  it('reports the displayed size of a JPEG its EXIF orientation turns a quarter', () => {
    // Prepare
    const jpeg = withExifOrientation(makeJpeg(400, 300), 6);

    // Act
    const selfie = decodeSelfie(jpeg, LIMITS);

    // Assess
    expect([selfie.width, selfie.height]).toEqual([300, 400]);
  });
});

describe('decodeSelfie: unreadable input (400 SELFIE_UNREADABLE)', () => {
  it.each([
    ['a character outside the alphabet', 'iVBORw0KGgo*AAAA'],
    ['the URL-safe alphabet', 'iVBORw0KGgo_AAA-'],
    ['padding in the middle', 'iVBO=w0KGgoAAAA'],
    ['too much padding', 'iVBORw0KGg==='],
    ['padding that does not end a quantum', 'iVBORw0KG=='],
    ['a length no base64 can have', 'iVBORw0KGgoAA'],
    ['a second padding character that is not one', 'iVBORw0KGg=A'],
    ['a data URI that is not base64', 'data:image/png,iVBORw0KGgo'],
    ['a data URI of another media type', 'data:text/plain;base64,iVBORw0KGgo='],
    ['empty text', ''],
  ])('refuses %s', (_why, input) => {
    // Act
    const error = validationFailure(() => decodeSelfie(input, LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_UNREADABLE');
    expect(error.status).toBe(400);
    expect(error.issues).toEqual([{ path: 'selfie_image', message: expect.any(String) }]);
  });

  it('points the issue at the path the caller names', () => {
    // Act
    const error = validationFailure(() =>
      decodeSelfie('not base64!', LIMITS, { path: 'selfie_s3_key' }),
    );

    // Assess
    expect(error.issues[0]?.path).toBe('selfie_s3_key');
  });

  it('refuses empty bytes', () => {
    // Act
    const error = validationFailure(() => decodeSelfie(new Uint8Array(0), LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_UNREADABLE');
  });

  it.each([
    ['without its IEND chunk', (png: Buffer) => png.subarray(0, png.length - 12)],
    ['cut in the middle of its image data', (png: Buffer) => png.subarray(0, 200)],
    ['cut inside its header', (png: Buffer) => png.subarray(0, 20)],
    ['cut right after its IHDR', (png: Buffer) => png.subarray(0, 33)],
    [
      'with no image data at all',
      (png: Buffer) => Buffer.concat([png.subarray(0, 33), png.subarray(png.length - 12)]),
    ],
    [
      'whose first chunk is not IHDR',
      (png: Buffer) => {
        const copy = Buffer.from(png);
        copy.write('IHDX', 12, 'latin1');
        return copy;
      },
    ],
  ])('refuses a PNG %s', (_why, corrupt) => {
    // Prepare
    const png = corrupt(makePng(300, 300));

    // Act
    const error = validationFailure(() => decodeSelfie(png, LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_UNREADABLE');
  });

  it.each([
    ['without its EOI marker', (jpeg: Buffer) => jpeg.subarray(0, jpeg.length - 2)],
    ['cut in the middle of its scan', (jpeg: Buffer) => jpeg.subarray(0, jpeg.length / 2)],
    ['cut inside its header', (jpeg: Buffer) => jpeg.subarray(0, 100)],
    ['that is only a start marker', () => Buffer.from([0xff, 0xd8, 0xff])],
    [
      'that ends before any scan',
      (jpeg: Buffer) => Buffer.concat([jpeg.subarray(0, 20), Buffer.from([0xff, 0xd9])]),
    ],
  ])('refuses a JPEG %s', (_why, corrupt) => {
    // Prepare
    const jpeg = corrupt(makeJpeg(300, 300));

    // Act
    const error = validationFailure(() => decodeSelfie(jpeg, LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_UNREADABLE');
  });
});

describe('decodeSelfie: size limits (413)', () => {
  it('refuses decoded bytes over maxBytes', () => {
    // Prepare
    const jpeg = makeJpeg(300, 300);
    const limits = { ...LIMITS, maxBytes: jpeg.length - 1 };

    // Act
    const error = thrownBy(() => decodeSelfie(jpeg.toString('base64'), limits));

    // Assess
    expect(error).toBeInstanceOf(SelfieTooLargeError);
    expect((error as SelfieTooLargeError).status).toBe(413);
  });

  it('accepts a selfie of exactly maxBytes', () => {
    // Prepare
    const jpeg = makeJpeg(300, 300);
    const limits = { ...LIMITS, maxBytes: jpeg.length };

    // Act
    const selfie = decodeSelfie(`data:image/jpeg;base64,${jpeg.toString('base64')}`, limits);

    // Assess
    expect(selfie.bytes.byteLength).toBe(jpeg.length);
  });

  it('refuses raw bytes over maxBytes', () => {
    // Prepare
    const png = makePng(300, 300);

    // Act
    const error = thrownBy(() => decodeSelfie(png, { ...LIMITS, maxBytes: 1000 }));

    // Assess
    expect(error).toBeInstanceOf(SelfieTooLargeError);
  });

  it('refuses text too long to hold maxBytes before reading a character of it', () => {
    // Prepare: not base64 at all, so reading it would have answered 400, not 413.
    const limits = { ...LIMITS, maxBytes: 1000 };
    const tooLong = '!'.repeat(maxSelfieTextLength(limits) + 1);
    const longest = '!'.repeat(maxSelfieTextLength(limits));

    // Act
    const tooLongError = thrownBy(() => decodeSelfie(tooLong, limits));
    const longestError = thrownBy(() => decodeSelfie(longest, limits));

    // Assess
    expect(tooLongError).toBeInstanceOf(SelfieTooLargeError);
    expect(longestError).toBeInstanceOf(ValidationError);
  });

  it('leaves room in the text cap for a data-URI header and wrapped lines', () => {
    // Prepare
    const limits = { ...LIMITS, maxBytes: 3 * 1000 };

    // Act
    const cap = maxSelfieTextLength(limits);

    // Assess: 4000 characters of base64, 63 CRLFs, and a header.
    expect(cap).toBeGreaterThanOrEqual(4000 + 2 * 63 + 'data:image/jpeg;base64,'.length);
  });
});

describe('decodeSelfie: type by magic bytes (415)', () => {
  const gif = Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    Buffer.from([0x40, 0x01, 0x40, 0x01, 0, 0, 0]),
  ]);

  it.each([
    ['a GIF', gif],
    ['a GIF with a whole JPEG inside (polyglot)', Buffer.concat([gif, makeJpeg(256, 256)])],
    ['a JPEG behind a few bytes of HTML', Buffer.concat([Buffer.from('<b>'), makeJpeg(256, 256)])],
    ['a PNG signature one byte short', makePng(256, 256).subarray(1)],
    ['WebP', Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1')],
    ['a JPEG start without its third marker byte', Buffer.from([0xff, 0xd8, 0x00, 0x00])],
  ])('refuses %s', (_why, bytes) => {
    // Act
    const error = thrownBy(() => decodeSelfie(bytes, LIMITS));

    // Assess
    expect(error).toBeInstanceOf(UnsupportedSelfieTypeError);
    expect((error as UnsupportedSelfieTypeError).status).toBe(415);
  });

  it('refuses a GIF even when the data URI claims JPEG', () => {
    // Act
    const error = thrownBy(() =>
      decodeSelfie(`data:image/jpeg;base64,${gif.toString('base64')}`, LIMITS),
    );

    // Assess
    expect(error).toBeInstanceOf(UnsupportedSelfieTypeError);
  });
});

describe('decodeSelfie: dimensions', () => {
  it('refuses a PNG declaring 100000x100000 at once, without reading its pixels', () => {
    // Prepare
    const png = withPngSize(makePng(300, 300), 100_000, 100_000);
    const started = performance.now();

    // Act
    const error = validationFailure(() => decodeSelfie(png, LIMITS));

    // Assess
    expect(performance.now() - started).toBeLessThan(100);
    expect(error.code).toBe('SELFIE_DIMENSIONS_INVALID');
    expect(error.status).toBe(400);
  });

  it('refuses a JPEG declaring more than maxDimension pixels a side', () => {
    // Prepare
    const jpeg = withJpegSize(makeJpeg(300, 300), 60_000, 300);

    // Act
    const error = validationFailure(() => decodeSelfie(jpeg, LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_DIMENSIONS_INVALID');
  });

  it('refuses a PNG declaring a width of zero', () => {
    // Prepare
    const png = withPngSize(makePng(300, 300), 0, 300);

    // Act
    const error = validationFailure(() => decodeSelfie(png, LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_DIMENSIONS_INVALID');
  });

  it('refuses a 10000x10000 PNG (a decompression bomb within maxDimension) over maxPixels, unread', () => {
    // Prepare: 16-bit RGBA, 800 MB once inflated, a few hundred bytes as sent
    const png = makePngHeader(10_000, 10_000, { bitDepth: 16, colourType: 6 });

    // Act
    const error = validationFailure(() => decodeSelfie(png, LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_TOO_MANY_PIXELS');
    expect(error.status).toBe(400);
    expect(error.issues).toEqual([
      { path: 'selfie_image', message: expect.stringContaining(`${LIMITS.maxPixels}`) },
    ]);
  });

  it('accepts exactly maxPixels and refuses one pixel row more', () => {
    // Prepare
    const limits = { ...LIMITS, maxPixels: 300 * 400 };

    // Act / Assess
    expect(decodeSelfie(makePngHeader(300, 400), limits).height).toBe(400);
    expect(validationFailure(() => decodeSelfie(makePngHeader(300, 401), limits)).code).toBe(
      'SELFIE_TOO_MANY_PIXELS',
    );
  });

  it.each([
    ['16-bit RGBA', 16, 6],
    ['16-bit RGB', 16, 2],
    ['16-bit grey', 16, 0],
    ['1-bit grey', 1, 0],
    ['an unknown colour type', 8, 5],
  ])('refuses a %s PNG that IDmeta does not need', (_label, bitDepth, colourType) => {
    // Prepare
    const png = makePngHeader(640, 480, { bitDepth, colourType });

    // Act
    const error = validationFailure(() => decodeSelfie(png, LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_PNG_FORMAT_UNSUPPORTED');
    expect(error.status).toBe(400);
  });

  it.each([
    ['8-bit grey', 8, 0],
    ['8-bit RGB', 8, 2],
    ['4-bit palette', 4, 3],
    ['8-bit palette', 8, 3],
    ['8-bit grey + alpha', 8, 4],
    ['8-bit RGBA', 8, 6],
  ])('accepts a %s PNG', (_label, bitDepth, colourType) => {
    // Act
    const selfie = decodeSelfie(makePngHeader(640, 480, { bitDepth, colourType }), LIMITS);

    // Assess
    expect(selfie.mime).toBe('image/png');
  });

  it('accepts exactly maxDimension', () => {
    // Prepare
    const png = withPngSize(makePng(300, 300), LIMITS.maxDimension, 300);

    // Act
    const selfie = decodeSelfie(png, LIMITS);

    // Assess
    expect(selfie.width).toBe(LIMITS.maxDimension);
  });

  it.each([
    ['a 100x100 PNG', () => makePng(100, 100)],
    ['a 100x100 JPEG', () => makeJpeg(100, 100)],
    ['a PNG one pixel too narrow', () => makePng(239, 400)],
    ['a JPEG one pixel too short', () => makeJpeg(400, 239)],
  ])('refuses %s as too small for a face match', (_why, make) => {
    // Act
    const error = validationFailure(() => decodeSelfie(make(), LIMITS));

    // Assess
    expect(error.code).toBe('SELFIE_TOO_SMALL');
    expect(error.issues[0]?.path).toBe('selfie_image');
  });

  it('accepts exactly the minimum size', () => {
    // Act
    const selfie = decodeSelfie(makeJpeg(240, 240), LIMITS);

    // Assess
    expect([selfie.width, selfie.height]).toEqual([240, 240]);
  });
});

describe('test images', () => {
  it('makeJpeg gives different images for different seeds', () => {
    // Act
    const first = makeJpeg(64, 64, 1);
    const second = makeJpeg(64, 64, 2);

    // Assess
    expect(first.equals(second)).toBe(false);
    expect(makeJpeg(64, 64, 1).equals(first)).toBe(true);
  });
});
