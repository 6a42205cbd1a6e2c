/**
 * What the entrances validate, as data: a field is a list of checks run in order, each a pattern,
 * a length or a test, each with the message its issue carries (never the value: values are
 * personal). The Lambda parses with these directly: a request is a handful of strings, and a
 * schema library's code and schemas cost a twentieth of the api's cold start (README,
 * "Performance"). lib/request-schemas.ts turns the same fields into zod schemas for the OpenAPI
 * document and API Gateway's models, and test/unit/openapi.test.ts holds the document to the
 * verdicts these fields give.
 */

/** A field's value, or every issue found (messages only). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: string[] };

interface Failure {
  message: string;
  /** When this check fails, the checks after it are skipped (their messages would only repeat). */
  abort?: boolean;
}

export type TextCheck =
  /** Rewrites the value before the checks that follow (trimming, Unicode normalisation). */
  | { kind: 'rewrite'; rewrite: (value: string) => string }
  | ({ kind: 'pattern'; pattern: RegExp } & Failure)
  /** In Unicode code points, not UTF-16 units: a name in any script counts as it reads. */
  | ({ kind: 'minLength' | 'maxLength'; length: number } & Failure)
  /** A rule no pattern can say; the document leaves it to the description. */
  | ({ kind: 'test'; test: (value: string) => boolean } & Failure);

/** What the document says of a field (lib/request-schemas.ts). */
export type FieldSpec =
  | { kind: 'text'; checks: readonly TextCheck[]; description?: string }
  | { kind: 'enum'; values: readonly [string, ...string[]]; description?: string }
  | { kind: 'boolean'; description?: string };

export interface Field<T> {
  readonly spec: FieldSpec;
  /** Absent (`undefined`) is valid, and parses to `undefined`. */
  readonly optional: boolean;
  parse(input: unknown): Parsed<T>;
}

export type FieldValue<F> = F extends Field<infer T> ? T : never;

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const failed = (...issues: string[]): Parsed<never> => ({ ok: false, issues });

/**
 * Code points: a surrogate pair is one. Counted without copying the string (a hostile body may
 * put megabytes in a 100-character field).
 */
function codePointLength(value: string): number {
  let count = value.length;
  for (let index = 0; index < value.length - 1; index += 1) {
    const isPair =
      (value.charCodeAt(index) & 0xfc00) === 0xd800 &&
      (value.charCodeAt(index + 1) & 0xfc00) === 0xdc00;
    if (isPair) {
      count -= 1;
      index += 1;
    }
  }
  return count;
}

/** Counted in code points only where UTF-16 units could disagree with them about the limit. */
function lengthFails(check: { kind: 'minLength' | 'maxLength'; length: number }, value: string) {
  const units = value.length;
  if (check.kind === 'maxLength') {
    return units > check.length && codePointLength(value) > check.length;
  }
  return units < check.length * 2 && codePointLength(value) < check.length;
}

function runTextChecks(checks: readonly TextCheck[], input: string): Parsed<string> {
  let value = input;
  const issues: string[] = [];
  for (const check of checks) {
    if (check.kind === 'rewrite') {
      value = check.rewrite(value);
      continue;
    }
    const fails =
      check.kind === 'pattern'
        ? !check.pattern.test(value)
        : check.kind === 'test'
          ? !check.test(value)
          : lengthFails(check, value);
    if (!fails) continue;
    issues.push(check.message);
    if (check.abort) break;
  }
  return issues.length > 0 ? failed(...issues) : ok(value);
}

export interface TextOptions {
  description?: string;
  /** The issue when the value is absent or not a string. */
  notText?: (input: unknown) => string;
}

const requiredText = (input: unknown) => (input === undefined ? 'is required' : 'must be a string');

/** A string, rewritten and checked by `checks` in order. */
export function text(checks: readonly TextCheck[], options: TextOptions = {}): Field<string> {
  const notText = options.notText ?? requiredText;
  return {
    spec: { kind: 'text', checks, ...describe(options.description) },
    optional: false,
    parse: (input) =>
      typeof input === 'string' ? runTextChecks(checks, input) : failed(notText(input)),
  };
}

/**
 * `field`, then `next` on its value once it is valid (a date parsed, a name decoded): the document
 * describes `field`, which is what the client sends.
 */
export function andThen<T, U>(field: Field<T>, next: (value: T) => Parsed<U>): Field<U> {
  return {
    spec: field.spec,
    optional: field.optional,
    parse(input) {
      const parsed = field.parse(input);
      return parsed.ok ? next(parsed.value) : parsed;
    },
  };
}

/** One of `values`; `issue` says what is wrong with anything else (`undefined`: absent). */
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  issue: (input: unknown) => string,
  description?: string,
): Field<V[number]> {
  return {
    spec: { kind: 'enum', values, ...describe(description) },
    optional: false,
    parse: (input) =>
      typeof input === 'string' && values.includes(input) ? ok(input) : failed(issue(input)),
  };
}

export function boolean(issue: string, description?: string): Field<boolean> {
  return {
    spec: { kind: 'boolean', ...describe(description) },
    optional: false,
    parse: (input) => (typeof input === 'boolean' ? ok(input) : failed(issue)),
  };
}

export function optional<T>(field: Field<T>): Field<T | undefined> {
  return {
    spec: field.spec,
    optional: true,
    parse: (input) => (input === undefined ? ok(undefined) : field.parse(input)),
  };
}

const describe = (description: string | undefined) =>
  description === undefined ? {} : { description };

/** `text`'s checks, spelled as they read. */
export const rewrite = (fn: (value: string) => string): TextCheck => ({
  kind: 'rewrite',
  rewrite: fn,
});
export const trim = rewrite((value) => value.trim());
export const pattern = (regex: RegExp, message: string, abort = false): TextCheck => ({
  kind: 'pattern',
  pattern: regex,
  message,
  abort,
});
export const minLength = (length: number, message: string, abort = false): TextCheck => ({
  kind: 'minLength',
  length,
  message,
  abort,
});
export const maxLength = (length: number, message: string, abort = false): TextCheck => ({
  kind: 'maxLength',
  length,
  message,
  abort,
});
export const test = (
  fn: (value: string) => boolean,
  message: string,
  abort = false,
): TextCheck => ({
  kind: 'test',
  test: fn,
  message,
  abort,
});
