/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the very schemas the handlers validate
 * with (and the record schema the contract tests check responses against), so the document
 * cannot describe an API that does not exist. Served by the local server at /openapi.json and
 * written by `npm run build`.
 */
import * as z from 'zod/mini';
import {
  pendingResponseSchema,
  problemSchema,
  verdictRecordSchema,
} from '../lambda/core/record-schema.ts';
import { verificationBodySchema } from '../lambda/core/request.ts';

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodMiniType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    // Transforms and refinements (the NIK's date, the calendar) cannot be expressed in JSON
    // Schema; the document describes the shape and says the rest in descriptions.
    unrepresentable: 'any',
  }) as JsonObject;
  return rest;
}

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const record = (description: string, schema = 'VerdictRecord') => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
});

/** Every status each operation's handler can answer; the contract test holds handlers to it. */
export const DOCUMENTED_STATUSES = {
  'POST /verifications': [200, 202, 400, 409, 413, 415, 429, 500, 502, 503, 504],
  'GET /verifications/{verification_id}': [200, 400, 404, 500, 503],
} as const;

export function openApiDocument(options: { serverUrl?: string } = {}): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'facematch',
      version: '1.0.0',
      summary: 'Indonesian eKYC: NIK, name, date of birth and selfie checked against Dukcapil.',
      description:
        'Decisions (APPROVED, REVIEW, REJECTED) with stable reason codes. Records never hold a ' +
        'raw NIK or name. Errors are RFC 9457 problem documents.',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    security: [{ sigv4: [] }],
    paths: {
      '/verifications': {
        post: {
          operationId: 'createVerification',
          summary: 'Verify a person (with a selfie: synchronous; without: 202 and an upload)',
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/VerificationRequest' } },
            },
          },
          responses: {
            '200': record('The verdict (or the stored one, for a repeated verification_id).'),
            '202': record(
              'No selfie: a PENDING record and a presigned POST for exactly incoming/<id>.jpg (send every field unchanged; a PNG keeps the key), signed with x-amz-meta-verification-id.',
              'PendingVerification',
            ),
            '400': problem('Malformed JSON or invalid fields (every one listed in `errors`).'),
            '409': problem('The verification_id belongs to another person, or is in progress.'),
            '413': problem('The selfie or the body is too large.'),
            '415': problem('The selfie is not a JPEG or PNG, or the body is not JSON.'),
            '429': {
              ...problem(
                'NIK_VELOCITY_EXCEEDED: this NIK reached IDmeta velocity.refuseAfter times in the ' +
                  "profile's window; refused before any paid call, the record ends FAILED. A new " +
                  'verification of the NIK is accepted after Retry-After.',
              ),
              headers: {
                'Retry-After': {
                  description: 'Seconds until the oldest counted attempt leaves the window.',
                  schema: { type: 'integer', minimum: 1 },
                },
              },
            },
            '500': problem('Unexpected failure; nothing more is said.'),
            '502': problem('IDmeta answered with an error.'),
            '503': problem('Too little time left to call IDmeta, or a dependency is busy; retry.'),
            '504': problem('IDmeta did not answer in time; retry.'),
          },
        },
      },
      '/verifications/{verification_id}': {
        get: {
          operationId: 'getVerification',
          summary: 'Read a verdict record',
          parameters: [
            {
              name: 'verification_id',
              in: 'path',
              required: true,
              schema: { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' },
            },
          ],
          responses: {
            '200': record('The record.'),
            '400': problem('Not a valid verification id.'),
            '404': problem('No verification with this id.'),
            '500': problem('Unexpected failure; nothing more is said.'),
            '503': problem('A dependency is busy or unreachable; retry.'),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (API Gateway IAM authorization).',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
      schemas: {
        VerificationRequest: jsonSchema(verificationBodySchema, 'input'),
        VerdictRecord: jsonSchema(verdictRecordSchema, 'output'),
        PendingVerification: jsonSchema(pendingResponseSchema, 'output'),
        Problem: jsonSchema(problemSchema, 'output'),
      },
    },
  };
}
