import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { verdictRecordSchema } from '../../lambda/core/record-schema.ts';
import { DOCUMENTED_STATUSES, openApiDocument } from '../../lib/openapi.ts';

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

  it('describes the request body from the schema the handler validates with', () => {
    const schemas = (openApiDocument().components as { schemas: Record<string, unknown> }).schemas;

    expect(schemas.VerificationRequest).toMatchObject({
      type: 'object',
      required: ['nik', 'name', 'date_of_birth'],
      properties: {
        verification_id: { maxLength: 128 },
        selfie_image: { type: 'string' },
        selfie_s3_key: { type: 'string' },
      },
    });
  });
});

describe('the record schema', () => {
  it('accepts a well-formed record and refuses an unknown decision or an out-of-range similarity', () => {
    const base = {
      verification_id: 'v-1',
      template_id: 't',
      status: 'COMPLETED',
      decision: 'APPROVED',
      reasons: ['ALL_CHECKS_PASSED'],
      face_similarity: 98.7,
      matches: { nik: true, name: null },
      risk_rating: 'LOW',
      idmeta: {
        status: 'VERIFIED',
        message: 'OK',
        reason_code: '0',
        uuid: 'u',
        api_request_status: 1,
      },
      nik_masked: '3174********0012',
      source: 'api',
      attempts: 1,
      created_at: '2026-11-26T00:00:00.000Z',
      updated_at: '2026-11-26T00:00:00.000Z',
      expires_at: 1798264065,
    };

    expect(z.safeParse(verdictRecordSchema, base).success).toBe(true);
    expect(z.safeParse(verdictRecordSchema, { ...base, decision: 'MAYBE' }).success).toBe(false);
    expect(z.safeParse(verdictRecordSchema, { ...base, face_similarity: 120 }).success).toBe(false);
  });
});
