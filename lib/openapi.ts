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
  reviewPageSchema,
  reviewSelfieSchema,
  verdictRecordSchema,
} from '../lambda/core/record-schema.ts';
import { verificationBodySchema } from '../lambda/core/request.ts';
import { reviewBodySchema, reviewListQuerySchema } from '../lambda/core/review.ts';

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
  'POST /verifications': [200, 202, 400, 409, 413, 415, 500, 502, 503, 504],
  'GET /verifications/{verification_id}': [200, 400, 404, 500, 503],
  'GET /verifications': [200, 400, 500, 503],
  'POST /verifications/{verification_id}/review': [200, 400, 404, 409, 413, 415, 500, 503],
  'GET /verifications/{verification_id}/selfie': [200, 400, 404, 500, 503],
} as const;

const verificationIdParameter = {
  name: 'verification_id',
  in: 'path',
  required: true,
  schema: { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' },
};

/** The review queue's query parameters, from the schema the handler validates them with. */
const reviewListParameters = () =>
  Object.entries(reviewListQuerySchema.shape).map(([name, schema]) => ({
    name,
    in: 'query',
    required: !z.safeParse(schema, undefined).success,
    schema: jsonSchema(schema, 'input'),
  }));

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
            '500': problem('Unexpected failure; nothing more is said.'),
            '502': problem('IDmeta answered with an error.'),
            '503': problem('Too little time left to call IDmeta, or a dependency is busy; retry.'),
            '504': problem('IDmeta did not answer in time; retry.'),
          },
        },
        get: {
          operationId: 'listOpenReviews',
          summary: 'Open reviews, oldest first, a page at a time',
          parameters: reviewListParameters(),
          responses: {
            '200': {
              description: 'A page of open reviews and the cursor of the next (null on the last).',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ReviewPage' } },
              },
            },
            '400': problem(
              'review is not "open", limit is out of range, or the cursor is not one this query returned.',
            ),
            '500': problem('Unexpected failure; nothing more is said.'),
            '503': problem('A dependency is busy or unreachable; retry.'),
          },
        },
      },
      '/verifications/{verification_id}': {
        get: {
          operationId: 'getVerification',
          summary: 'Read a verdict record',
          parameters: [verificationIdParameter],
          responses: {
            '200': record('The record.'),
            '400': problem('Not a valid verification id.'),
            '404': problem('No verification with this id.'),
            '500': problem('Unexpected failure; nothing more is said.'),
            '503': problem('A dependency is busy or unreachable; retry.'),
          },
        },
      },
      '/verifications/{verification_id}/review': {
        post: {
          operationId: 'reviewVerification',
          summary:
            "Decide a review, or appeal any COMPLETED verdict; the reviewer is the caller's IAM principal",
          parameters: [verificationIdParameter],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/ReviewRequest' } },
            },
          },
          responses: {
            '200': record(
              "The record: decision is the reviewer's, machine_decision the policy's, history every decision.",
            ),
            '400': problem('Invalid fields (every one listed in `errors`) or verification id.'),
            '404': problem('No verification with this id.'),
            '409': problem(
              'NOT_REVIEWABLE (not COMPLETED), or REVIEW_CONFLICT (decided by someone else first, or closed: send "reopen": true to appeal).',
            ),
            '413': problem('The body is too large.'),
            '415': problem('The body is not JSON.'),
            '500': problem('Unexpected failure; nothing more is said.'),
            '503': problem('A dependency is busy or unreachable; retry.'),
          },
        },
      },
      '/verifications/{verification_id}/selfie': {
        get: {
          operationId: 'getReviewSelfie',
          summary: 'A presigned GET (60 s) of the selfie kept while the review is open',
          parameters: [verificationIdParameter],
          responses: {
            '200': {
              description: 'The URL and when it expires.',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ReviewSelfie' } },
              },
            },
            '400': problem('Not a valid verification id.'),
            '404': problem('No such verification, or no selfie kept for it (any more).'),
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
        ReviewRequest: jsonSchema(reviewBodySchema, 'input'),
        ReviewPage: jsonSchema(reviewPageSchema, 'output'),
        ReviewSelfie: jsonSchema(reviewSelfieSchema, 'output'),
        Problem: jsonSchema(problemSchema, 'output'),
      },
    },
  };
}
