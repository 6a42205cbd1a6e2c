/**
 * Policy profiles (`POLICY_PROFILES`): per-product rules keyed by `default` or a `template_id`.
 * Parsed and resolved once at start-up: a field a profile leaves out comes from `default`, and
 * `default`'s from the environment (`APPROVE_THRESHOLD`, `REJECT_THRESHOLD`) and the defaults
 * below. Every problem is listed at once, each naming its field; values are never personal.
 *
 * The version is a hash of the resolved rules' canonical JSON, so an auditor can tell exactly
 * which rules decided a verdict. Hashing is passed in: the core stays free of `node:crypto`.
 */
import * as z from 'zod/mini';
import { KNOWN_MATCH_FIELDS } from './match-fields.ts';
import { safeIdSchema } from './request.ts';
import type { DecisionPolicy, PolicyRules, ResolvedProfile } from './types.ts';

export { KNOWN_MATCH_FIELDS };

export const DEFAULT_PROFILE = 'default';

/**
 * Match fields IDmeta's Dukcapil facematch documents as booleans (docs: `result.data`); a profile
 * may require any of them. Score, liveness and housekeeping fields are not matches.
 */

export const PROFILE_DEFAULTS = {
  highRisk: 'review',
  velocity: { reviewAfter: 3, refuseAfter: 10, windowHours: 24 },
  duplicate: 'ignore',
  duplicateDays: 90,
} as const;

const threshold = () => z.optional(z.number().check(z.gte(0), z.lte(100)));
/** Counts and periods: whole numbers from 1 (a limit of 0 would refuse everybody). */
const limit = (max: number) =>
  z.optional(
    z.number().check(z.int('must be a whole number'), z.gte(1, 'must be at least 1'), z.lte(max)),
  );

const profileSchema = z.strictObject({
  approveThreshold: threshold(),
  rejectThreshold: threshold(),
  requiredMatches: z.optional(
    z.array(
      z
        .string()
        .check(
          z.refine(
            (field: string) => (KNOWN_MATCH_FIELDS as readonly string[]).includes(field),
            `must be a match field IDmeta returns: ${KNOWN_MATCH_FIELDS.join(', ')}`,
          ),
        ),
    ),
  ),
  highRisk: z.optional(z.enum(['review', 'reject'])),
  velocity: z.optional(
    z.strictObject({
      reviewAfter: limit(1000),
      refuseAfter: limit(1000),
      windowHours: limit(24 * 366),
    }),
  ),
  duplicate: z.optional(z.enum(['ignore', 'review'])),
  duplicateDays: limit(3650),
});

type ProfileInput = z.output<typeof profileSchema>;

const profilesSchema = z.record(
  z
    .string()
    .check(
      z.refine(
        (key: string) => key === DEFAULT_PROFILE || z.safeParse(safeIdSchema, key).success,
        'must be "default" or a template_id',
      ),
    ),
  profileSchema,
);

/** zod/mini carries no messages of its own (no locale): say what is wrong, without the value. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.message !== '' && issue.message !== 'Invalid input') return issue.message;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown setting ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
    case 'invalid_type':
      return `must be ${issue.expected === 'object' || issue.expected === 'array' ? 'an' : 'a'} ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_key': {
      const [inner] = issue.issues;
      return inner ? describeIssue(inner as z.core.$ZodIssue) : 'not a valid key';
    }
    default:
      return issue.message;
  }
}

/** Every profile resolved, by key; `default` is always present. */
export type ProfileSet = Readonly<Record<string, ResolvedProfile>>;

export type ProfileHash = (canonicalJson: string) => string;

/** JSON with object keys sorted at every level: one text per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function resolve(profile: ProfileInput, base: PolicyRules): PolicyRules {
  return {
    approveThreshold: profile.approveThreshold ?? base.approveThreshold,
    rejectThreshold: profile.rejectThreshold ?? base.rejectThreshold,
    // A set: its order and repeats mean nothing, so they must not change the version.
    requiredMatches: [...new Set(profile.requiredMatches ?? base.requiredMatches)].sort(),
    highRisk: profile.highRisk ?? base.highRisk,
    velocity: {
      reviewAfter: profile.velocity?.reviewAfter ?? base.velocity.reviewAfter,
      refuseAfter: profile.velocity?.refuseAfter ?? base.velocity.refuseAfter,
      windowHours: profile.velocity?.windowHours ?? base.velocity.windowHours,
    },
    duplicate: profile.duplicate ?? base.duplicate,
    duplicateDays: profile.duplicateDays ?? base.duplicateDays,
  };
}

/** What the resolved rules make meaningless: thresholds or velocity limits out of order. */
function orderProblems(rules: PolicyRules): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (rules.rejectThreshold > rules.approveThreshold) {
    problems.push({
      path: 'rejectThreshold',
      message: `must not be above approveThreshold (${rules.rejectThreshold} > ${rules.approveThreshold})`,
    });
  }
  if (rules.velocity.reviewAfter > rules.velocity.refuseAfter) {
    problems.push({
      path: 'velocity.reviewAfter',
      message: `must not be above velocity.refuseAfter (${rules.velocity.reviewAfter} > ${rules.velocity.refuseAfter})`,
    });
  }
  return problems;
}

/** A problem with the profiles: the path of the field inside them (`[]`: the whole value). */
export interface ProfileProblem {
  path: string[];
  message: string;
}

/** A problem as a start-up message: `POLICY_PROFILES.payday.velocity.reviewAfter: ...`. */
export const describeProblem = (root: string, problem: ProfileProblem): string =>
  `${[root, ...problem.path].join('.')}: ${problem.message}`;

export type ProfilesOutcome =
  | { profiles: ProfileSet; problems: [] }
  | { profiles: null; problems: ProfileProblem[] };

/**
 * Parses `POLICY_PROFILES` (absent: `default` alone) over the environment's thresholds. Returns
 * every profile resolved and versioned, or every problem with its field's path.
 */
export function parseProfiles(
  text: string | undefined,
  environment: DecisionPolicy,
  hash: ProfileHash,
): ProfilesOutcome {
  let raw: unknown = {};
  if (text !== undefined && text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch {
      return { profiles: null, problems: [{ path: [], message: 'must be a JSON object' }] };
    }
  }
  return resolveProfiles(raw, environment, hash);
}

/** `parseProfiles` for a value already parsed (the stack's `policy.profiles`). */
export function resolveProfiles(
  raw: unknown,
  environment: DecisionPolicy,
  hash: ProfileHash,
): ProfilesOutcome {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { profiles: null, problems: [{ path: [], message: 'must be a JSON object' }] };
  }
  const parsed = z.safeParse(profilesSchema, raw);
  if (!parsed.success) {
    return {
      profiles: null,
      problems: parsed.error.issues.map((issue) => ({
        path: issue.path.map(String),
        message: describeIssue(issue),
      })),
    };
  }
  const environmentRules: PolicyRules = {
    ...PROFILE_DEFAULTS,
    velocity: { ...PROFILE_DEFAULTS.velocity },
    approveThreshold: environment.approveThreshold,
    rejectThreshold: environment.rejectThreshold,
    requiredMatches: [],
  };
  const inputs = parsed.data;
  const base = resolve(inputs[DEFAULT_PROFILE] ?? {}, environmentRules);
  const problems: ProfileProblem[] = [];
  const profiles: Record<string, ResolvedProfile> = {};
  for (const name of [DEFAULT_PROFILE, ...Object.keys(inputs).filter((k) => k !== 'default')]) {
    const rules = name === DEFAULT_PROFILE ? base : resolve(inputs[name] ?? {}, base);
    for (const problem of orderProblems(rules)) {
      problems.push({ path: [name, ...problem.path.split('.')], message: problem.message });
    }
    profiles[name] = { name, version: hash(canonicalJson(rules)).slice(0, 12), rules };
  }
  return problems.length > 0 ? { profiles: null, problems } : { profiles, problems: [] };
}

/** The profile a template is decided by: its own, else `default` (never an error). */
export function profileFor(profiles: ProfileSet, templateId: string): ResolvedProfile {
  const own = Object.hasOwn(profiles, templateId) ? profiles[templateId] : undefined;
  return own ?? (profiles[DEFAULT_PROFILE] as ResolvedProfile);
}
