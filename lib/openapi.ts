/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the very schemas the handlers validate
 * with (and the record schema the contract tests check responses against), so the document
 * cannot describe an API that does not exist. Served by the local server at /openapi.json and
 * written by `npm run build`.
 */
import * as z from 'zod/mini';
import {
  erasureResponseSchema,
  pendingResponseSchema,
  problemSchema,
  reviewPageSchema,
  reviewSelfieSchema,
  subjectSearchResponseSchema,
  verdictRecordSchema,
} from '../lambda/core/record-schema.ts';
import { reviewListQueryFields } from '../lambda/core/review.ts';
import {
  reviewBodySchema,
  safeIdSchema,
  schemaOf,
  subjectBodySchema,
  verificationBodySchema,
} from './request-schemas.ts';

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

type ResponseHeaders = Record<string, JsonObject>;

const problem = (description: string, headers?: ResponseHeaders) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const record = (description: string, schema = 'VerdictRecord', headers?: ResponseHeaders) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
});

/** `Retry-After` in seconds: always on a 503, on a 502 or 504 when a retry may succeed. */
const retryAfter = (required: boolean): ResponseHeaders => ({
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    required,
    schema: { type: 'integer', minimum: 0 },
  },
});

/** On a 200/202 that returns the stored record of an identical earlier request (no call made). */
const replayedHeader: ResponseHeaders = {
  'Facematch-Replayed': {
    description:
      'Present (`true`) on a replay: the stored record of an identical earlier request for the same verification_id, nothing called or paid.',
    required: false,
    schema: { type: 'string', const: 'true' },
  },
};

/**
 * Every status each operation can answer (429: the NIK velocity of round 2, and API Gateway's
 * throttling); the contract test holds the document to it.
 */
export const DOCUMENTED_STATUSES = {
  'POST /verifications': [200, 202, 400, 409, 413, 415, 429, 500, 502, 503, 504],
  'GET /verifications/{verification_id}': [200, 400, 404, 500, 503],
  'GET /verifications': [200, 400, 500, 503],
  'POST /verifications/{verification_id}/review': [200, 400, 404, 409, 413, 415, 500, 503],
  'GET /verifications/{verification_id}/selfie': [200, 400, 404, 500, 503],
  'POST /data-subjects/search': [200, 400, 413, 415, 500, 503],
  'POST /data-subjects/erase': [200, 400, 413, 415, 500, 503],
} as const;

const verificationIdParameter = {
  name: 'verification_id',
  in: 'path',
  required: true,
  schema: jsonSchema(safeIdSchema, 'input'),
};

/** The review queue's query parameters, from the fields the handler validates them with. */
const reviewListParameters = () =>
  Object.entries(reviewListQueryFields).map(([name, field]) => ({
    name,
    in: 'query',
    required: !field.optional,
    schema: jsonSchema(schemaOf(field), 'input'),
  }));

/** A data subject's request: the NIK in the body (never the URL), an answer of `schema`. */
const dataSubjectOperation = (
  operationId: string,
  summary: string,
  answer: string,
  schema: string,
) => ({
  post: {
    operationId,
    summary,
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/DataSubjectRequest' } },
      },
    },
    responses: {
      '200': record(answer, schema),
      '400': problem('Malformed JSON or an invalid NIK (listed in `errors`, never quoted).'),
      '413': problem('The body is too large.'),
      '415': problem('The body is not JSON.'),
      '500': problem('Unexpected failure; nothing more is said.'),
      '503': problem(
        'A dependency is busy or unreachable; retry (an erasure resumes).',
        retryAfter(true),
      ),
    },
  },
});

/**
 * What the local server answers outside the documented operations (API Gateway answers those
 * itself, before any handler): the conformance checker holds it to these two.
 */
export const UNROUTED_RESPONSES = {
  method: 'MethodNotAllowed',
  path: 'RouteNotFound',
  /** Any path: a foreign `Host`, another site's `Origin` or `Sec-Fetch-Site` (local/request-guard.ts). */
  forbidden: 'ForbiddenOrigin',
} as const;

const DESCRIPTION = [
  'Decisions (APPROVED, REVIEW, REJECTED) with stable reason codes. Records never hold a raw NIK ' +
    'or name. Errors are RFC 9457 problem documents.',
  'Every `pattern` is an ECMA-262 regular expression used with the `u` (Unicode) flag, as JSON ' +
    'Schema 2020-12 specifies: `name` uses the property escapes `\\p{L}` and `\\p{M}`, which ' +
    "Python's `re` module rejects (its `regex` module accepts them). The other patterns use " +
    'lookaheads and classes every common dialect reads alike.',
  'On the local server, any other method on a listed path answers 405 with `Allow` ' +
    '(`#/components/responses/MethodNotAllowed`), and any other path 404 ' +
    '(`#/components/responses/RouteNotFound`).',
  'The local server has no IAM: it answers 403 (`#/components/responses/ForbiddenOrigin`) on ' +
    'every path but `/health` and `/openapi.json` to a request whose `Host` is not ' +
    '`127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>`, or whose `Origin` or ' +
    '`Sec-Fetch-Site` names another site; and 415 to a POST whose `Content-Type` is not JSON, ' +
    'absent included.',
].join('\n\n');

/** `GET /health` and `GET /openapi.json`: served by the local server only. */
const LOCAL_PATHS = {
  '/health': {
    get: {
      operationId: 'getHealth',
      summary: 'Whether the local runtime is up (local server only)',
      security: [],
      responses: {
        '200': {
          description: 'Up.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { status: { const: 'ok' } },
                required: ['status'],
              },
            },
          },
        },
      },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This document (local server only)',
      security: [],
      responses: {
        '200': {
          description: 'The OpenAPI 3.1 document.',
          content: {
            'application/json': {
              schema: { type: 'object', required: ['openapi', 'info', 'paths'] },
            },
          },
        },
      },
    },
  },
};

export interface OpenApiOptions {
  serverUrl?: string;
  /** The local server's own document: adds `/health` and `/openapi.json`. */
  local?: boolean;
}

export function openApiDocument(options: OpenApiOptions = {}): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'facematch',
      version: '1.0.0',
      summary: 'Indonesian eKYC: NIK, name, date of birth and selfie checked against Dukcapil.',
      description: DESCRIPTION,
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
            '200': record(
              'The verdict (or the stored one, for an identical repeated request).',
              'VerdictRecord',
              replayedHeader,
            ),
            '202': record(
              'No selfie: a PENDING record and a presigned POST for exactly incoming/<id>.jpg (send every field unchanged; a PNG keeps the key), signed with x-amz-meta-verification-id.',
              'PendingVerification',
              replayedHeader,
            ),
            '400': problem('Malformed JSON or invalid fields (every one listed in `errors`).'),
            '409': problem(
              'VERIFICATION_ID_CONFLICT: the verification_id is bound to a different request (`errors` name the differing fields: nik, name, date_of_birth, template_id, selfie_image); or VERIFICATION_IN_PROGRESS: retry later.',
            ),
            '413': problem('The selfie or the body is too large.'),
            '415': problem('The selfie is not a JPEG or PNG, or the body is not JSON.'),
            '429': problem(
              'NIK_VELOCITY_EXCEEDED: this NIK reached IDmeta velocity.refuseAfter times in the ' +
                "profile's window; refused before any paid call, the record ends FAILED. A new " +
                'verification of the NIK is accepted after Retry-After. (API Gateway also answers ' +
                '429 when it throttles the caller.)',
              {
                'Retry-After': {
                  description: 'Seconds until the oldest counted attempt leaves the window.',
                  required: false,
                  schema: { type: 'integer', minimum: 1 },
                },
              },
            ),
            '500': problem('Unexpected failure; nothing more is said.'),
            '502': problem(
              'IDmeta answered with an error (with Retry-After when a retry may succeed).',
              retryAfter(false),
            ),
            '503': problem(
              'Too little time left to call IDmeta, or a dependency is busy; retry.',
              retryAfter(true),
            ),
            '504': problem('IDmeta did not answer in time; retry.', retryAfter(true)),
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
            '503': problem('A dependency is busy or unreachable; retry.', retryAfter(true)),
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
            '503': problem('A dependency is busy or unreachable; retry.', retryAfter(true)),
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
            '503': problem('A dependency is busy or unreachable; retry.', retryAfter(true)),
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
            '503': problem('A dependency is busy or unreachable; retry.', retryAfter(true)),
          },
        },
      },
      '/data-subjects/search': dataSubjectOperation(
        'searchDataSubject',
        'Every verification of one NIK (a data subject access request)',
        'The records, oldest first, and the NIK masked.',
        'DataSubjectSearch',
      ),
      '/data-subjects/erase': dataSubjectOperation(
        'eraseDataSubject',
        'Erase every record of one NIK, its kept selfies and webhook deliveries (idempotent)',
        'What was erased and the receipt kept; nothing found is a 200 with zero counts.',
        'DataSubjectErasure',
      ),
      ...(options.local ? LOCAL_PATHS : {}),
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
      responses: {
        [UNROUTED_RESPONSES.method]: problem(
          'Local server: the path exists, the method does not (code METHOD_NOT_ALLOWED).',
          {
            Allow: {
              description: 'The methods the path allows, comma-separated (RFC 9110).',
              required: true,
              schema: { type: 'string', pattern: '^[A-Z]+(?:, ?[A-Z]+)*$' },
            },
          },
        ),
        [UNROUTED_RESPONSES.path]: problem('Local server: no such path (code ROUTE_NOT_FOUND).'),
        [UNROUTED_RESPONSES.forbidden]: {
          description:
            'Local server: a foreign Host, or a request from another site (code FORBIDDEN_ORIGIN).',
          content: {
            'application/problem+json': {
              schema: {
                allOf: [
                  { $ref: '#/components/schemas/Problem' },
                  { properties: { code: { const: 'FORBIDDEN_ORIGIN' } }, required: ['code'] },
                ],
              },
            },
          },
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
        DataSubjectRequest: jsonSchema(subjectBodySchema, 'input'),
        DataSubjectSearch: jsonSchema(subjectSearchResponseSchema, 'output'),
        DataSubjectErasure: jsonSchema(erasureResponseSchema, 'output'),
      },
    },
  };
}
