/**
 * The request fields the handlers parse with (lambda/core/fields.ts) as zod schemas, for what is
 * built, not run: the OpenAPI document (lib/openapi.ts) and API Gateway's request models
 * (lib/verification-api.ts). Built from the fields themselves, check by check, so the document
 * says what the handlers do; test/unit/openapi.test.ts holds the document to the fields' verdicts.
 */
import * as z from 'zod/mini';
import type { Field, FieldSpec, TextCheck } from '../lambda/core/fields.ts';
import {
  safeIdField,
  subjectBodyFields,
  verificationBodyFields,
  verificationBodyRules,
} from '../lambda/core/request.ts';
import { reviewBodyFields } from '../lambda/core/review.ts';

function checkOf(check: TextCheck): z.core.$ZodCheck<string> {
  if (check.kind === 'rewrite') return z.overwrite(check.rewrite);
  const failure = { error: check.message, abort: check.abort ?? false };
  switch (check.kind) {
    case 'pattern':
      return z.regex(check.pattern, failure);
    case 'minLength':
      return z.minLength(check.length, failure);
    case 'maxLength':
      return z.maxLength(check.length, failure);
    case 'test':
      return z.refine(check.test, failure);
  }
}

function schemaOfSpec(spec: FieldSpec): z.ZodMiniType {
  const described = spec.description === undefined ? [] : [z.describe(spec.description)];
  switch (spec.kind) {
    case 'text':
      return z.string().check(...spec.checks.map(checkOf), ...described);
    case 'enum':
      return z.enum(spec.values).check(...described);
    case 'boolean':
      return z.boolean().check(...described);
  }
}

/** One field as a schema: optional when the field may be absent. */
export function schemaOf(field: Field<unknown>): z.ZodMiniType {
  const schema = schemaOfSpec(field.spec);
  return field.optional ? z.optional(schema) : schema;
}

/** Fields as an object schema (unknown keys ignored, as the handlers ignore them). */
function objectSchemaOf<S extends Record<string, Field<unknown>>>(
  fields: S,
): z.ZodMiniObject<{ [K in keyof S]: z.ZodMiniType }> {
  const shape = Object.fromEntries(
    Object.entries(fields).map(([name, field]) => [name, schemaOf(field)]),
  ) as { [K in keyof S]: z.ZodMiniType };
  return z.object(shape);
}

export const safeIdSchema = schemaOf(safeIdField);

export const verificationBodySchema = objectSchemaOf(verificationBodyFields).check(
  z.meta({
    not: verificationBodyRules.not,
    dependentRequired: verificationBodyRules.dependentRequired,
  }),
  z.describe(verificationBodyRules.description),
);

export const subjectBodySchema = objectSchemaOf(subjectBodyFields);

export const reviewBodySchema = objectSchemaOf(reviewBodyFields);
