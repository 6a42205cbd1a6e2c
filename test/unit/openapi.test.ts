import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { verdictRecordSchema } from '../../lambda/core/record-schema.ts';
import {
  dateOfBirthField,
  isSafeId,
  nameField,
  nikField,
  normaliseName,
  parseVerificationBody,
  verificationIdOfSelfieKey,
} from '../../lambda/core/request.ts';
import { DEFAULT_SELFIE_LIMITS } from '../../lambda/core/selfie.ts';
import { DOCUMENTED_STATUSES, openApiDocument, UNROUTED_RESPONSES } from '../../lib/openapi.ts';
import { COMPLETED_RECORD } from '../support/records.ts';

type Operations = Record<string, Record<string, { responses: Record<string, unknown> }>>;

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    // Prepare
    const validator = new Validator();

    // Act
    const result = await validator.validate(
      openApiDocument({ serverUrl: 'http://127.0.0.1:3000' }),
    );

    // Assess
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('declares exactly the routes and statuses the handlers answer', () => {
    const paths = openApiDocument().paths as Operations;

    const declared = Object.fromEntries(
      Object.entries(paths).flatMap(([path, operations]) =>
        Object.entries(operations).map(([method, operation]) => [
          `${method.toUpperCase()} ${path}`,
          Object.keys(operation.responses).map(Number),
        ]),
      ),
    );

    expect(declared).toEqual(
      Object.fromEntries(
        Object.entries(DOCUMENTED_STATUSES).map(([route, statuses]) => [route, [...statuses]]),
      ),
    );
  });

  it('is a valid OpenAPI 3.1 document as the local server serves it, /health included', async () => {
    // Act
    const document = openApiDocument({ serverUrl: 'http://127.0.0.1:3000', local: true });
    const result = await new Validator().validate(document);

    // Assess
    expect(result.errors ?? []).toEqual([]);
    expect(Object.keys(document.paths as object)).toEqual(
      expect.arrayContaining(['/health', '/openapi.json']),
    );
  });

  it('describes the request body from the schema the handler validates with', () => {
    const schemas = (openApiDocument().components as { schemas: Record<string, unknown> }).schemas;

    expect(schemas.VerificationRequest).toMatchObject({
      type: 'object',
      required: ['nik', 'name', 'date_of_birth'],
      not: { required: ['selfie_image', 'selfie_s3_key'] },
      dependentRequired: { selfie_s3_key: ['verification_id'] },
      properties: {
        verification_id: { maxLength: 128, allOf: expect.any(Array) },
        nik: { allOf: expect.arrayContaining([{ pattern: '^\\d{16}$' }]) },
        selfie_image: { type: 'string' },
        selfie_s3_key: { type: 'string', pattern: expect.stringMatching(/^\^incoming/) },
      },
    });
    expect(schemas.PendingVerification).toMatchObject({
      required: expect.arrayContaining(['upload']),
    });
  });

  it('documents the headers DESIGN.md promises: Retry-After on 503, Allow on 405', () => {
    const document = openApiDocument();
    const post = (document.paths as Operations)['/verifications']?.post as unknown as {
      responses: Record<string, { headers?: Record<string, { required: boolean }> }>;
    };
    const responses = (document.components as { responses: Record<string, unknown> }).responses;

    expect(post.responses['503']?.headers?.['Retry-After']?.required).toBe(true);
    expect(post.responses['504']?.headers?.['Retry-After']?.required).toBe(true);
    expect(post.responses['502']?.headers?.['Retry-After']?.required).toBe(false);
    expect(post.responses['200']?.headers).toHaveProperty('Facematch-Replayed');
    expect(responses[UNROUTED_RESPONSES.method]).toMatchObject({
      headers: { Allow: { required: true } },
    });
    expect(document.info).toMatchObject({
      description: expect.stringContaining('ECMA-262 regular expression used with the `u`'),
    });
  });

  it('compiles under a strict JSON Schema 2020-12 validator (no unknown keyword, every pattern ECMA-262 with u)', () => {
    // Prepare
    // Two strict opinions aside: `not: { required: [...] }` names properties declared one level
    // up, and a union type (`["string", "null"]`) is plain JSON Schema.
    const ajv = new Ajv2020({
      strict: true,
      strictRequired: false,
      allowUnionTypes: true,
      allErrors: true,
    });
    const schemas = (openApiDocument().components as { schemas: Record<string, object> }).schemas;

    // Act and assess
    for (const [name, schema] of Object.entries(schemas)) {
      expect(() => ajv.compile(schema), name).not.toThrow();
    }
  });
});

/**
 * The document's request schema and the handler's fields (lambda/core/fields.ts) say the same
 * thing: each field's compiled JSON Schema accepts exactly the values the handler's field accepts. What no schema
 * can say (the future, the NIK against the birth date) is left to descriptions.
 */
describe('the request schema in the document, against the handler', () => {
  const ajv = new Ajv2020({ strict: false });
  const properties = (
    (openApiDocument().components as { schemas: Record<string, { properties: object }> }).schemas
      .VerificationRequest as { properties: Record<string, object> }
  ).properties;
  const documented = (field: string) => {
    const schema = properties[field];
    if (schema === undefined) throw new Error(`no ${field} in the document`);
    return ajv.compile(schema);
  };
  const sameVerdict = (field: string, server: (value: string) => boolean) => {
    const validate = documented(field);
    return (value: string) => {
      expect(validate(value), `${field} ${JSON.stringify(value)}`).toBe(server(value));
    };
  };
  const from = (alphabet: string, maxLength: number) =>
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength });
  const RUNS = { numRuns: 3000 };

  it('verification_id and template_id', () => {
    const agree = sameVerdict('verification_id', isSafeId);
    fc.assert(
      fc.property(fc.oneof(from('aZ09._:-/ \n', 140), from('0123456789-', 40), fc.string()), (id) =>
        agree(id),
      ),
      RUNS,
    );
    for (const id of ['a..b', 'a.', `x${'1'.repeat(16)}`, `x${'1'.repeat(15)}`, 'a'.repeat(129)]) {
      agree(id);
    }
  });

  it('date_of_birth (every day from 1890 to 2410 in both forms, and noise)', () => {
    const agree = sameVerdict('date_of_birth', (date) => dateOfBirthField.parse(date).ok);
    const pad = (value: number) => String(value).padStart(2, '0');
    for (let year = 1890; year <= 2410; year += 1) {
      for (const month of [0, 1, 2, 4, 12, 13]) {
        for (const day of [0, 1, 28, 29, 30, 31, 32]) {
          agree(`${pad(day)}-${pad(month)}-${year}`);
          agree(`${year}-${pad(month)}-${pad(day)}`);
        }
      }
    }
    fc.assert(
      fc.property(from('0123456789-', 12), (date) => agree(date)),
      RUNS,
    );
  });

  it('selfie_s3_key, against the function the handler reads keys with', () => {
    const agree = sameVerdict('selfie_s3_key', (key) => verificationIdOfSelfieKey(key) !== null);
    const id = from('aZ09._:-/\n', 140);
    const extension = fc.constantFrom('jpg', 'JPG', 'jpeg', 'JpEg', 'png', 'gif', 'jpgg', '');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(id, extension).map(([name, ext]) => `incoming/${name}.${ext}`),
          id.map((name) => `incoming/${name}`),
          fc.string(),
        ),
        (key) => agree(key),
      ),
      RUNS,
    );
    for (const key of ['incoming/a..jpg', 'incoming/a..b.jpg', 'incoming/a...jpg']) agree(key);
  });

  it('nik (its shape and structure)', () => {
    const agree = sameVerdict('nik', (nik) => nikField.parse(nik).ok);
    fc.assert(
      fc.property(from('0123456789', 17), (nik) => agree(nik)),
      RUNS,
    );
    const nik = (day: string, month: string, serial = '0001') => `320101${day}${month}93${serial}`;
    for (const day of ['00', '01', '29', '30', '31', '32', '40', '41', '69', '70', '71', '72']) {
      for (const month of ['00', '01', '02', '04', '06', '09', '11', '12', '13']) {
        agree(nik(day, month));
      }
    }
    agree(nik('12', '06', '0000'));
    agree(`0${nik('12', '06').slice(1)}`);
  });

  it('name (as normalised: the handler trims and collapses spaces first)', () => {
    const agree = sameVerdict('name', (name) => nameField.parse(name).ok);
    const alphabet = [
      'a',
      'Z',
      'é',
      '\u0301',
      'م',
      'ṭ',
      ' ',
      '.',
      "'",
      ',',
      '-',
      '1',
      '_',
      '<',
      '\t',
    ];
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 110 }), (name) => {
        if (normaliseName(name) === name) agree(name);
      }),
      RUNS,
    );
  });

  it('refuses both selfie fields, and a selfie_s3_key without a verification_id, as the handler does', () => {
    // Prepare
    const validate = ajv.compile(
      (openApiDocument().components as { schemas: Record<string, object> }).schemas
        .VerificationRequest as object,
    );
    const identity = { nik: '3201011206930001', name: 'Budi', date_of_birth: '12-06-1993' };
    const both = {
      ...identity,
      verification_id: 'v-1',
      selfie_image: 'x',
      selfie_s3_key: 'incoming/v-1.jpg',
    };
    const keyAlone = { ...identity, selfie_s3_key: 'incoming/v-1.jpg' };
    const keyWithId = { ...identity, verification_id: 'v-1', selfie_s3_key: 'incoming/v-1.jpg' };
    const refusal = (body: object) => {
      try {
        parseVerificationBody(body, { limits: DEFAULT_SELFIE_LIMITS, now: Date.UTC(2026, 0, 1) });
        return [];
      } catch (error) {
        return (error as { issues: Array<{ path: string }> }).issues.map((issue) => issue.path);
      }
    };

    // Act and assess
    expect([validate(both), refusal(both)]).toEqual([false, ['selfie_s3_key']]);
    expect([validate(keyAlone), refusal(keyAlone)]).toEqual([false, ['selfie_s3_key']]);
    expect([validate(keyWithId), refusal(keyWithId)]).toEqual([true, []]);
  });
});

describe('the record schema', () => {
  it('accepts a well-formed record and refuses an unknown decision or an out-of-range similarity', () => {
    const base = COMPLETED_RECORD;

    expect(z.safeParse(verdictRecordSchema, base).success).toBe(true);
    expect(z.safeParse(verdictRecordSchema, { ...base, decision: 'MAYBE' }).success).toBe(false);
    expect(z.safeParse(verdictRecordSchema, { ...base, face_similarity: 120 }).success).toBe(false);
  });
});
