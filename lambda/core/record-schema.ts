/**
 * The verdict record and the problem document as schemas: the OpenAPI document is generated from
 * them, and contract tests check real responses against them. Handlers do not import this module
 * (they build records from the types), so it costs the Lambda bundles nothing.
 */
import * as z from 'zod/mini';
import { REVIEW_REASONS, type VerdictRecord } from './types.ts';

const nullableString = () => z.nullable(z.string());

export const verdictRecordSchema = z.object({
  verification_id: z.string(),
  template_id: z.string(),
  status: z.enum(['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED']),
  decision: z.nullable(z.enum(['APPROVED', 'REVIEW', 'REJECTED'])),
  reasons: z.array(z.string()).check(z.describe('Stable reason codes; see the README.')),
  face_similarity: z.nullable(z.number().check(z.gte(0), z.lte(100))),
  matches: z
    .record(z.string(), z.nullable(z.boolean()))
    .check(z.describe('Field matches as IDmeta returned them: true, false or null (not checked).')),
  risk_rating: nullableString(),
  idmeta: z.nullable(
    z.object({
      status: z.nullable(z.union([z.string(), z.boolean()])),
      message: nullableString(),
      reason_code: nullableString(),
      uuid: nullableString(),
      api_request_status: z.nullable(z.number()),
    }),
  ),
  nik_masked: z.string().check(z.describe('First 4 and last 4 digits of the NIK.')),
  source: z.enum(['api', 's3']),
  selfie_key: z.optional(z.string()),
  attempts: z.number().check(z.int(), z.gte(0)),
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.optional(z.string()),
  expires_at: z.number().check(z.int(), z.describe('Epoch seconds; the table TTL.')),
  policy: z.optional(
    z
      .object({ profile: z.string(), version: z.string() })
      .check(
        z.describe(
          'The POLICY_PROFILES key that decided (default or the template_id) and the first 12 hex of the SHA-256 of its resolved rules.',
        ),
      ),
  ),
  signals: z.optional(
    z
      .object({
        nik_attempts_24h: z.number().check(z.int(), z.gte(0)),
        nik_previously_approved: z.boolean(),
      })
      .check(
        z.describe(
          "Other verifications of this NIK that reached IDmeta in the profile's velocity window (default 24 h), and whether one was APPROVED within duplicateDays.",
        ),
      ),
  ),
  // Round 2: the review (DESIGN.md "Review").
  machine_decision: z.optional(
    z
      .nullable(z.enum(['APPROVED', 'REVIEW', 'REJECTED']))
      .check(z.describe("The policy's decision, kept when a reviewer overrides it.")),
  ),
  review: z.optional(
    z.nullable(
      z.object({
        state: z.enum(['OPEN', 'CLOSED']),
        opened_at: z.string(),
        decision: z.optional(z.enum(['APPROVED', 'REJECTED'])),
        reason: z.optional(z.enum(REVIEW_REASONS)),
        note: z.optional(z.string().check(z.maxLength(500))),
        reviewer: z.optional(
          z.string().check(z.describe("The reviewer's IAM principal (`local` locally).")),
        ),
        reviewed_at: z.optional(z.string()),
      }),
    ),
  ),
  history: z.optional(
    z.array(
      z.object({
        at: z.string(),
        actor: z.string().check(z.describe('`system` for the policy, else the reviewer.')),
        action: z.enum(['DECIDED', 'REVIEWED']),
        decision: z.enum(['APPROVED', 'REVIEW', 'REJECTED']),
        reason: z.optional(z.string()),
      }),
    ),
  ),
});

/** GET /verifications?review=open: a page of open reviews, oldest first. */
export const reviewPageSchema = z.object({
  items: z.array(verdictRecordSchema),
  next_cursor: z.nullable(
    z.string().check(z.describe('Opaque; pass it back unchanged as `cursor`. Null: last page.')),
  ),
});

/** GET /verifications/{id}/selfie: a presigned GET of the kept selfie. */
export const reviewSelfieSchema = z.object({
  url: z.string().check(z.describe('Presigned GET of the selfie kept for the review.')),
  expires_at: z.string().check(z.describe('When the URL stops working (60 s after issue).')),
});

/** A 202 always carries its upload form: a PENDING record is answered only with one. */
export const pendingResponseSchema = z.extend(verdictRecordSchema, {
  upload: z.object({
    url: z.string(),
    fields: z.record(z.string(), z.string()),
    expires_at: z.string(),
  }),
});

/** `POST /data-subjects/search`: a person's verifications, found by the keyed NIK hash. */
export const subjectSearchResponseSchema = z.object({
  nik_masked: z.string(),
  verifications: z.array(verdictRecordSchema),
});

/** `POST /data-subjects/erase`: what went, and the receipt kept as proof. */
export const erasureResponseSchema = z.object({
  erased: z.object({
    records: z.number().check(z.int()),
    selfies: z.number().check(z.int()),
    deliveries: z.number().check(z.int()),
  }),
  verification_ids: z.array(z.string()),
  receipt_id: z.string(),
});

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().check(z.int()),
  detail: z.string(),
  code: z.string(),
  errors: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
});

// The schema and the type must not drift apart: this line stops compiling if they do.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const RECORD_SCHEMA_MATCHES_TYPE: Same<
  z.output<typeof verdictRecordSchema>,
  VerdictRecord
> = true;
