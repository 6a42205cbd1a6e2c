import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  SelfieTooLargeError,
  UnsupportedSelfieTypeError,
  type ValidationError,
} from '../../lambda/core/errors.ts';
import {
  parseObjectMetadata,
  parseVerificationBody,
  verificationIdOfSelfieKey,
  verificationIdOfUploadKey,
} from '../../lambda/core/request.ts';
import { DEFAULT_SELFIE_LIMITS, maxSelfieTextLength } from '../../lambda/core/selfie.ts';
import { verificationBodySchema } from '../../lib/request-schemas.ts';
import { makeJpeg, makePng } from '../support/images.ts';
import { thrownBy, validationFailure } from '../support/thrown.ts';

// 18:00 UTC is already 2 June 2024 in Jakarta.
const NOW = Date.parse('2024-06-01T18:00:00Z');
const OPTIONS = { limits: DEFAULT_SELFIE_LIMITS, now: NOW };
const NIK = '3201011206930001';
const FEMALE_NIK = '3201015206930002';

const validBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  nik: NIK,
  name: 'Budi Santoso',
  date_of_birth: '12-06-1993',
  ...overrides,
});

const pathsOf = (error: ValidationError): string[] => [
  ...new Set(error.issues.map((issue) => issue.path)),
];

describe('parseVerificationBody: a valid body', () => {
  it('returns the identity, the ids and no selfie', () => {
    // Prepare
    const body = validBody({ verification_id: 'ver-123', template_id: 'tpl_9' });

    // Act
    const parsed = parseVerificationBody(body, OPTIONS);

    // Assess
    expect(parsed).toEqual({
      verificationId: 'ver-123',
      templateId: 'tpl_9',
      identity: {
        nik: NIK,
        name: 'Budi Santoso',
        dateOfBirth: { year: 1993, month: 6, day: 12 },
      },
      selfie: { kind: 'none' },
    });
  });

  it('leaves out the ids the caller did not send', () => {
    // Act
    const parsed = parseVerificationBody(validBody(), OPTIONS);

    // Assess
    expect(Object.keys(parsed).sort()).toEqual(['identity', 'selfie']);
  });

  it('ignores keys it does not know', () => {
    // Act
    const parsed = parseVerificationBody(validBody({ extra: { deep: true }, admin: 1 }), OPTIONS);

    // Assess
    expect(parsed).not.toHaveProperty('extra');
    expect(parsed.identity.nik).toBe(NIK);
  });

  it('reads date_of_birth as YYYY-MM-DD too', () => {
    // Act
    const parsed = parseVerificationBody(validBody({ date_of_birth: '1993-06-12' }), OPTIONS);

    // Assess
    expect(parsed.identity.dateOfBirth).toEqual({ year: 1993, month: 6, day: 12 });
  });

  it('trims the spaces around nik and date_of_birth', () => {
    // Act
    const parsed = parseVerificationBody(
      validBody({ nik: `  ${NIK} `, date_of_birth: ' 12-06-1993 ' }),
      OPTIONS,
    );

    // Assess
    expect(parsed.identity.nik).toBe(NIK);
    expect(parsed.identity.dateOfBirth.day).toBe(12);
  });

  it('accepts a woman whose NIK carries the day plus 40', () => {
    // Act
    const parsed = parseVerificationBody(validBody({ nik: FEMALE_NIK }), OPTIONS);

    // Assess
    expect(parsed.identity.nik).toBe(FEMALE_NIK);
  });
});

describe('parseVerificationBody: collecting issues', () => {
  it.each([null, [], 'text', 42, true, undefined])(
    'refuses a body that is not an object (%j) at path ""',
    (body) => {
      // Act
      const error = validationFailure(() => parseVerificationBody(body, OPTIONS));

      // Assess
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.issues).toEqual([{ path: '', message: 'must be a JSON object' }]);
    },
  );

  it('reports all three invalid fields of a body at once', () => {
    // Prepare
    const body = { nik: '12345', name: 'R2-D2', date_of_birth: '31-02-1993' };

    // Act
    const error = validationFailure(() => parseVerificationBody(body, OPTIONS));

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.status).toBe(400);
    expect(pathsOf(error)).toEqual(['nik', 'name', 'date_of_birth']);
  });

  it('says which required fields are missing', () => {
    // Act
    const error = validationFailure(() => parseVerificationBody({}, OPTIONS));

    // Assess
    expect(error.issues).toEqual([
      { path: 'nik', message: 'is required' },
      { path: 'name', message: 'is required' },
      { path: 'date_of_birth', message: 'is required' },
    ]);
  });

  it('says which fields have the wrong type', () => {
    // Prepare
    const body = validBody({ nik: 3201011206930001, verification_id: 7, selfie_image: {} });

    // Act
    const error = validationFailure(() => parseVerificationBody(body, OPTIONS));

    // Assess
    expect(error.issues).toEqual([
      { path: 'verification_id', message: 'must be a string' },
      { path: 'nik', message: 'must be a string' },
      { path: 'selfie_image', message: 'must be a string' },
    ]);
  });

  it('never repeats the NIK or the name in its messages', () => {
    // Prepare
    const body = { nik: '0201013213930000', name: 'Budi <script>', date_of_birth: '2099-01-01' };

    // Act
    const error = validationFailure(() => parseVerificationBody(body, OPTIONS));

    // Assess
    const everything = `${error.message} ${JSON.stringify(error.issues)}`;
    expect(everything).not.toContain('0201013213930000');
    expect(everything).not.toContain('script');
  });
});

describe('parseVerificationBody: name', () => {
  it.each([
    ['Sukarno', 'Sukarno'],
    ['Dr. H. Ahmad, S.H.', 'Dr. H. Ahmad, S.H.'],
    ["Ni Luh Putu Ayu O'Neil-Wijaya", "Ni Luh Putu Ayu O'Neil-Wijaya"],
    ['  Budi    Santoso  ', 'Budi Santoso'],
    ['Budi\u00a0\u3000Santoso', 'Budi Santoso'],
    ['Nguye\u0302\u0303n', 'Nguy\u1ec5n'],
    ['محمد عبد الله', 'محمد عبد الله'],
    ['a'.repeat(100), 'a'.repeat(100)],
  ])('accepts %j and returns it normalised', (name, expected) => {
    // Prepare
    const body = validBody({ name });

    // Act
    const parsed = parseVerificationBody(body, OPTIONS);

    // Assess
    expect(parsed.identity.name).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'only spaces'],
    ['Budi2', 'a digit'],
    ['Budi <b>', 'markup'],
    ['Budi 😀', 'an emoji'],
    ['Bu\u0000di', 'a NUL'],
    ['Budi\tSantoso', 'a tab inside'],
    ['Budi\nSantoso', 'a newline inside'],
    ['Budi_Santoso', 'an underscore'],
    ['. - ,', 'no letter at all'],
    ['a'.repeat(101), 'more than 100 characters'],
  ])('refuses %j (%s)', (name) => {
    // Act
    const error = validationFailure(() => parseVerificationBody(validBody({ name }), OPTIONS));

    // Assess
    expect(pathsOf(error)).toEqual(['name']);
  });
});

describe('parseVerificationBody: nik', () => {
  it.each([
    ['320101120693000', 'too short'],
    ['3201-0112-0693-0001', 'with separators'],
    ['0201011206930001', 'starting with 0'],
    ['3201013206930001', 'day 32'],
    ['3201011213930001', 'month 13'],
    ['3201013102930001', '31 February'],
    ['3201011206930000', 'serial 0000'],
  ])('refuses %s (%s) at nik', (nik) => {
    // Act
    const error = validationFailure(() => parseVerificationBody(validBody({ nik }), OPTIONS));

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(pathsOf(error)).toEqual(['nik']);
  });
});

describe('parseVerificationBody: date_of_birth', () => {
  it.each([
    ['29-02-2000', '3201012902000001'],
    ['01-01-1900', '3201010101000001'],
    ['02-06-2024', '3201010206240001'],
  ])('accepts %s: a leap day, the earliest date, today in Jakarta', (dob, nik) => {
    // Act
    const parsed = parseVerificationBody(validBody({ nik, date_of_birth: dob }), OPTIONS);

    // Assess
    expect(parsed.identity.dateOfBirth).toBeDefined();
  });

  it.each([
    ['29-02-1900', '3201012902000001', '1900 was not a leap year'],
    ['29-02-2023', '3201012902230001', '2023 was not a leap year'],
    ['03-06-2024', '3201010306240001', 'tomorrow in Jakarta is the future'],
    ['31-12-1899', '3201013112990001', 'before 1900'],
    ['12/06/1993', NIK, 'another format'],
    ['1993-06-12T00:00:00Z', NIK, 'a timestamp'],
  ])('refuses %s (%s)', (dob, nik) => {
    // Act
    const error = validationFailure(() =>
      parseVerificationBody(validBody({ nik, date_of_birth: dob }), OPTIONS),
    );

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(pathsOf(error)).toEqual(['date_of_birth']);
  });
});

describe('parseVerificationBody: NIK against date_of_birth', () => {
  it('refuses a NIK issued for another birth date with its own code', () => {
    // Act
    const error = validationFailure(() =>
      parseVerificationBody(validBody({ date_of_birth: '13-06-1993' }), OPTIONS),
    );

    // Assess
    expect(error.code).toBe('NIK_DOB_MISMATCH');
    expect(error.status).toBe(400);
    expect(error.issues).toEqual([{ path: 'date_of_birth', message: expect.any(String) }]);
  });

  it('refuses a woman whose date of birth is read without the 40 taken off', () => {
    // Act
    const error = validationFailure(() =>
      parseVerificationBody(validBody({ nik: FEMALE_NIK, date_of_birth: '12-06-1994' }), OPTIONS),
    );

    // Assess
    expect(error.code).toBe('NIK_DOB_MISMATCH');
  });

  it('reports ordinary field issues first, and not a mismatch among them', () => {
    // Act
    const error = validationFailure(() =>
      parseVerificationBody(validBody({ date_of_birth: '13-06-1993', name: '' }), OPTIONS),
    );

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(pathsOf(error)).toEqual(['name']);
  });
});

describe('parseVerificationBody: verification_id and template_id', () => {
  it.each([
    'ver-123',
    'A',
    'abc_DEF.1:2-3',
    'a9'.repeat(64),
    `kyc-${'9'.repeat(15)}`,
    // A UUID breaks its digits with letters; a date-and-serial id groups 16 of them.
    'f26c9465-9e81-4f58-980f-a94d42aa519d',
    'ord-20241126-12345678',
  ])('accepts %j', (id) => {
    // Act
    const parsed = parseVerificationBody(
      validBody({ verification_id: id, template_id: id }),
      OPTIONS,
    );

    // Assess
    expect(parsed.verificationId).toBe(id);
    expect(parsed.templateId).toBe(id);
  });

  it.each([
    ['../../etc/passwd', 'path traversal'],
    ['a/b', 'a slash'],
    ['a..b', 'two dots'],
    ['.hidden', 'a leading dot'],
    ['-x', 'a leading dash'],
    ['a b', 'a space'],
    ['a\u0000b', 'a NUL'],
    ['a\nb', 'a newline'],
    ['ä', 'a non-ASCII letter'],
    ['', 'nothing'],
    ['9'.repeat(129), 'more than 128 characters'],
    ['loan-3201011206930001', 'a NIK'],
  ])('refuses %j (%s) in both ids', (id) => {
    // Act
    const error = validationFailure(() =>
      parseVerificationBody(validBody({ verification_id: id, template_id: id }), OPTIONS),
    );

    // Assess
    expect(pathsOf(error)).toEqual(['verification_id', 'template_id']);
  });
});

describe('parseVerificationBody: selfie', () => {
  it('decodes selfie_image into an inline selfie', () => {
    // Prepare
    const body = validBody({ selfie_image: makePng(300, 300).toString('base64') });

    // Act
    const parsed = parseVerificationBody(body, OPTIONS);

    // Assess
    expect(parsed.selfie).toMatchObject({
      kind: 'inline',
      image: { mime: 'image/png', width: 300, height: 300 },
    });
  });

  it('judges a selfie claimed as data:image/png by its bytes', () => {
    // Prepare
    const jpeg = makeJpeg(300, 300);
    const body = validBody({ selfie_image: `data:image/png;base64,${jpeg.toString('base64')}` });

    // Act
    const parsed = parseVerificationBody(body, OPTIONS);

    // Assess
    expect(parsed.selfie).toMatchObject({ kind: 'inline', image: { mime: 'image/jpeg' } });
  });

  it.each([
    ['ver-123', 'incoming/ver-123.jpg'],
    ['ver-123', 'incoming/ver-123.jpeg'],
    ['ver.2024:1', 'incoming/ver.2024:1.png'],
  ])('passes selfie_s3_key of %s (%s) on as an S3 selfie', (verificationId, key) => {
    // Act
    const parsed = parseVerificationBody(
      validBody({ verification_id: verificationId, selfie_s3_key: key }),
      OPTIONS,
    );

    // Assess
    expect(parsed.selfie).toEqual({ kind: 's3', key });
  });

  it.each([
    [{ verification_id: 'ver-1', selfie_s3_key: 'incoming/ver-2.jpg' }, 'another id'],
    [{ selfie_s3_key: 'incoming/ver-2.jpg' }, 'no verification_id'],
  ] as Array<[Record<string, string>, string]>)(
    'refuses a selfie_s3_key that names %s',
    (fields) => {
      // Act
      const error = validationFailure(() => parseVerificationBody(validBody(fields), OPTIONS));

      // Assess
      expect(pathsOf(error)).toEqual(['selfie_s3_key']);
    },
  );

  it.each([
    ['incoming/../secret.jpg', 'path traversal'],
    ['incoming/a..b.jpg', 'an id with two dots'],
    ['incoming/a/b.jpg', 'a sub-folder'],
    ['/incoming/abc.jpg', 'a leading slash'],
    ['other/abc.jpg', 'another prefix'],
    ['incoming/abc.gif', 'another extension'],
    ['incoming/abc', 'no extension'],
    ['incoming/.jpg', 'no id'],
    ['incoming/abc.jpg\n', 'a trailing newline'],
    [`incoming/${'a'.repeat(129)}.jpg`, 'an id over 128 characters'],
  ])('refuses selfie_s3_key %j (%s)', (key) => {
    // Act
    const error = validationFailure(() =>
      parseVerificationBody(validBody({ selfie_s3_key: key }), OPTIONS),
    );

    // Assess
    expect(pathsOf(error)).toEqual(['selfie_s3_key']);
  });

  it('refuses selfie_image and selfie_s3_key together, at selfie_s3_key', () => {
    // Prepare
    const body = validBody({
      selfie_image: makePng(300, 300).toString('base64'),
      selfie_s3_key: 'incoming/ver-1.png',
    });

    // Act
    const error = validationFailure(() => parseVerificationBody(body, OPTIONS));

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.issues).toEqual([
      { path: 'selfie_s3_key', message: 'must not be sent together with selfie_image' },
    ]);
  });

  it('answers 413 for a selfie_image too long to fit the limit, without decoding it', () => {
    // Prepare: not base64 at all, so decoding it would have answered 400.
    const selfie = '!'.repeat(maxSelfieTextLength(DEFAULT_SELFIE_LIMITS) + 1);
    const started = performance.now();

    // Act
    const error = thrownBy(() =>
      parseVerificationBody(validBody({ selfie_image: selfie }), OPTIONS),
    );

    // Assess
    expect(error).toBeInstanceOf(SelfieTooLargeError);
    expect((error as SelfieTooLargeError).status).toBe(413);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('answers 415 for a selfie that is not a JPEG or PNG', () => {
    // Prepare
    const gif = Buffer.from('GIF89a\x40\x01\x40\x01\x00\x00\x00', 'latin1').toString('base64');

    // Act
    const error = thrownBy(() =>
      parseVerificationBody(validBody({ selfie_image: `data:image/jpeg;base64,${gif}` }), OPTIONS),
    );

    // Assess
    expect(error).toBeInstanceOf(UnsupportedSelfieTypeError);
  });

  it('answers 400 at selfie_image for a selfie that is not base64', () => {
    // Act
    const error = validationFailure(() =>
      parseVerificationBody(validBody({ selfie_image: 'not*base64' }), OPTIONS),
    );

    // Assess
    expect(error.code).toBe('SELFIE_UNREADABLE');
    expect(pathsOf(error)).toEqual(['selfie_image']);
  });

  it('reports invalid fields before looking at the selfie', () => {
    // Prepare
    const selfie = '!'.repeat(maxSelfieTextLength(DEFAULT_SELFIE_LIMITS) + 1);

    // Act
    const error = validationFailure(() =>
      parseVerificationBody(validBody({ nik: '1', selfie_image: selfie }), OPTIONS),
    );

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(pathsOf(error)).toEqual(['nik']);
  });
});

describe('verificationIdOfSelfieKey', () => {
  it('gives the verification id a selfie key names, or null', () => {
    // Act / Assess
    expect(verificationIdOfSelfieKey('incoming/ver-1.jpg')).toBe('ver-1');
    expect(verificationIdOfSelfieKey('incoming/ver.1.png')).toBe('ver.1');
    expect(verificationIdOfSelfieKey('incoming/../ver-1.jpg')).toBeNull();
    expect(verificationIdOfSelfieKey('processed/ver-1.jpg')).toBeNull();
  });

  it('gives an id that ends in a dot from its key, which then holds two dots in a row', () => {
    // Prepare: "a." is a valid id; its upload key is incoming/a..jpg (found by the hostile-input
    // property test: the key was ignored, so the verification would stay PENDING for ever).
    const parsed = parseVerificationBody(
      validBody({ verification_id: 'a.', selfie_s3_key: 'incoming/a..jpg' }),
      OPTIONS,
    );

    // Act / Assess
    expect(parsed.verificationId).toBe('a.');
    expect(verificationIdOfSelfieKey('incoming/a..jpg')).toBe('a.');
    expect(verificationIdOfUploadKey('incoming/a..JPG')).toBe('a.');
  });
});

describe('verificationBodySchema', () => {
  it('describes the body as JSON Schema for the OpenAPI document', () => {
    // Act
    const schema = z.toJSONSchema(verificationBodySchema, { io: 'input' });

    // Assess
    expect(schema).toMatchObject({
      type: 'object',
      required: ['nik', 'name', 'date_of_birth'],
      properties: {
        verification_id: { type: 'string', maxLength: 128 },
        selfie_image: { type: 'string' },
        selfie_s3_key: { type: 'string' },
      },
    });
  });
});

describe('parseObjectMetadata', () => {
  const metadata = (overrides: Record<string, string> = {}): Record<string, string> => ({
    nik: NIK,
    name: 'Budi%20Santoso',
    'date-of-birth': '1993-06-12',
    ...overrides,
  });

  it('reads the identity and ids from S3 user metadata', () => {
    // Act
    const parsed = parseObjectMetadata(
      metadata({ 'verification-id': 'ver-1', 'template-id': 'tpl-1' }),
      { now: NOW },
    );

    // Assess
    expect(parsed).toEqual({
      verificationId: 'ver-1',
      templateId: 'tpl-1',
      identity: { nik: NIK, name: 'Budi Santoso', dateOfBirth: { year: 1993, month: 6, day: 12 } },
    });
  });

  it('decodes a percent-encoded non-ASCII name', () => {
    // Act
    const parsed = parseObjectMetadata(
      metadata({ name: encodeURIComponent('Siti Nurhaliza Ṣāliḥ') }),
      { now: NOW },
    );

    // Assess
    expect(parsed.identity.name).toBe('Siti Nurhaliza Ṣāliḥ');
  });

  it('takes an ASCII name as it is', () => {
    // Act
    const parsed = parseObjectMetadata(metadata({ name: 'Dr. H. Ahmad, S.H.' }), { now: NOW });

    // Assess
    expect(parsed.identity.name).toBe('Dr. H. Ahmad, S.H.');
  });

  it('reports a malformed percent escape in the name as an issue', () => {
    // Act
    const error = validationFailure(() =>
      parseObjectMetadata(metadata({ name: 'Sit%E0%A4%A' }), { now: NOW }),
    );

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(pathsOf(error)).toEqual(['metadata.name']);
  });

  it('applies the body rules and names the metadata keys in the paths', () => {
    // Act
    const error = validationFailure(() =>
      parseObjectMetadata(
        metadata({
          nik: '12',
          name: 'Budi%3Cscript%3E',
          'date-of-birth': '2099-01-01',
          'verification-id': '../x',
        }),
        { now: NOW },
      ),
    );

    // Assess
    expect(pathsOf(error)).toEqual([
      'metadata.verification-id',
      'metadata.nik',
      'metadata.name',
      'metadata.date-of-birth',
    ]);
  });

  it('refuses a date of birth in the future', () => {
    // Act
    const error = validationFailure(() =>
      parseObjectMetadata(metadata({ nik: '3201010306240001', 'date-of-birth': '03-06-2024' }), {
        now: NOW,
      }),
    );

    // Assess
    expect(error.issues).toEqual([
      { path: 'metadata.date-of-birth', message: 'must not be in the future' },
    ]);
  });

  it('refuses a NIK issued for another birth date with NIK_DOB_MISMATCH', () => {
    // Act
    const error = validationFailure(() =>
      parseObjectMetadata(metadata({ 'date-of-birth': '1993-06-13' }), { now: NOW }),
    );

    // Assess
    expect(error.code).toBe('NIK_DOB_MISMATCH');
    expect(pathsOf(error)).toEqual(['metadata.date-of-birth']);
  });

  it('says MISSING_IDENTITY when the object carries no identity at all', () => {
    // Act
    const error = validationFailure(() =>
      parseObjectMetadata({ 'template-id': 'tpl-1', other: 'x' }, { now: NOW }),
    );

    // Assess
    expect(error.code).toBe('MISSING_IDENTITY');
    expect(pathsOf(error)).toEqual(['metadata.nik', 'metadata.name', 'metadata.date-of-birth']);
  });

  it('says INVALID_REQUEST when only part of the identity is there', () => {
    // Act
    const error = validationFailure(() =>
      parseObjectMetadata({ nik: NIK, 'date-of-birth': '1993-06-12' }, { now: NOW }),
    );

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.issues).toEqual([{ path: 'metadata.name', message: 'is required' }]);
  });

  it('reads metadata keys in any case', () => {
    // Act
    const parsed = parseObjectMetadata(
      { NIK: NIK, Name: 'Budi', 'Date-Of-Birth': '12-06-1993' },
      { now: NOW },
    );

    // Assess
    expect(parsed.identity.name).toBe('Budi');
  });
});
