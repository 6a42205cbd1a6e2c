/**
 * Policy profiles (`POLICY_PROFILES`): per-product rules keyed by `default` or a `template_id`.
 * Parsed and resolved once at start-up: a field a profile leaves out comes from `default`, and
 * `default`'s from the environment (`APPROVE_THRESHOLD`, `REJECT_THRESHOLD`) and the defaults
 * below. Every problem is listed at once, each naming its field; values are never personal.
 *
 * The version is a hash of the resolved rules' canonical JSON, so an auditor can tell exactly
 * which rules decided a verdict. Hashing is passed in: the core stays free of `node:crypto`.
 */
import { KNOWN_MATCH_FIELDS } from './match-fields.ts';
import { isSafeId } from './request.ts';
import type { DecisionPolicy, PolicyRules, ResolvedProfile } from './types.ts';

export const DEFAULT_PROFILE = 'default';

export const PROFILE_DEFAULTS = {
  highRisk: 'review',
  velocity: { reviewAfter: 3, refuseAfter: 10, windowHours: 24 },
  duplicate: 'ignore',
  duplicateDays: 90,
} as const;

/** A profile as written: every field may be left out. */
interface ProfileInput {
  approveThreshold?: number;
  rejectThreshold?: number;
  requiredMatches?: string[];
  highRisk?: PolicyRules['highRisk'];
  velocity?: Partial<PolicyRules['velocity']>;
  duplicate?: PolicyRules['duplicate'];
  duplicateDays?: number;
}

type Problems = ProfileProblem[];

/** An object as JSON makes one: nothing inherited to read settings from, no array, no Date. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Checks a number: a number, whole when it must be, then in range (both ends named). */
function checkNumber(
  value: unknown,
  path: string[],
  range: { min: number; max: number; whole: boolean },
  problems: Problems,
): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    problems.push({ path, message: 'must be a number' });
    return;
  }
  if (range.whole && !Number.isSafeInteger(value)) {
    problems.push({ path, message: 'must be a whole number' });
    return;
  }
  if (value < range.min) problems.push({ path, message: `must be at least ${range.min}` });
  if (value > range.max) problems.push({ path, message: `must be at most ${range.max}` });
}

const threshold = { min: 0, max: 100, whole: false };
/** Counts and periods: whole numbers from 1 (a limit of 0 would refuse everybody). */
const limit = (max: number) => ({ min: 1, max, whole: true });

function checkChoice(
  value: unknown,
  choices: readonly string[],
  path: string[],
  problems: Problems,
): void {
  if (typeof value !== 'string' || !choices.includes(value)) {
    const listed = choices.map((choice) => JSON.stringify(choice)).join(', ');
    problems.push({ path, message: `must be one of ${listed}` });
  }
}

function checkMatches(value: unknown, path: string[], problems: Problems): void {
  if (!Array.isArray(value)) {
    problems.push({ path, message: 'must be an array' });
    return;
  }
  // Every index, holes too (`forEach` would skip them).
  for (let index = 0; index < value.length; index += 1) {
    const field: unknown = value[index];
    const at = [...path, String(index)];
    if (typeof field !== 'string') problems.push({ path: at, message: 'must be a string' });
    else if (!(KNOWN_MATCH_FIELDS as readonly string[]).includes(field)) {
      problems.push({
        path: at,
        message: `must be a match field IDmeta returns: ${KNOWN_MATCH_FIELDS.join(', ')}`,
      });
    }
  }
}

/**
 * An object of known settings only: each present one is checked by `checks`, then any other key
 * is named (a misspelt setting must not be ignored in silence).
 */
function checkSettings(
  value: unknown,
  path: string[],
  checks: Record<string, (setting: unknown, at: string[]) => void>,
  problems: Problems,
): void {
  if (!isPlainObject(value)) {
    problems.push({ path, message: 'must be an object' });
    return;
  }
  for (const [name, check] of Object.entries(checks)) {
    if (value[name] !== undefined) check(value[name], [...path, name]);
  }
  const unknown = Object.keys(value).filter((key) => !Object.hasOwn(checks, key));
  if (unknown.length > 0) {
    const named = unknown.map((key) => `"${key}"`).join(', ');
    problems.push({ path, message: `unknown setting ${named}` });
  }
}

function checkProfile(value: unknown, path: string[], problems: Problems): void {
  const number = (range: typeof threshold) => (setting: unknown, at: string[]) =>
    checkNumber(setting, at, range, problems);
  checkSettings(
    value,
    path,
    {
      approveThreshold: number(threshold),
      rejectThreshold: number(threshold),
      requiredMatches: (setting, at) => checkMatches(setting, at, problems),
      highRisk: (setting, at) => checkChoice(setting, ['review', 'reject'], at, problems),
      velocity: (setting, at) =>
        checkSettings(
          setting,
          at,
          {
            reviewAfter: number(limit(1000)),
            refuseAfter: number(limit(1000)),
            windowHours: number(limit(24 * 366)),
          },
          problems,
        ),
      duplicate: (setting, at) => checkChoice(setting, ['ignore', 'review'], at, problems),
      duplicateDays: number(limit(3650)),
    },
    problems,
  );
}

/** Every problem of the profiles' shape; none means `raw` is a record of `ProfileInput`s. */
function shapeProblems(raw: Record<string, unknown>): Problems {
  const problems: Problems = [];
  for (const [name, profile] of Object.entries(raw)) {
    if (name !== DEFAULT_PROFILE && !isSafeId(name)) {
      problems.push({ path: [name], message: 'must be "default" or a template_id' });
      continue;
    }
    checkProfile(profile, [name], problems);
  }
  return problems;
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

/** The profiles, as a whole, are not a JSON object (or not JSON). */
const notAnObject = (): ProfilesOutcome => ({
  profiles: null,
  problems: [{ path: [], message: 'must be a JSON object' }],
});

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
      return notAnObject();
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
  if (!isPlainObject(raw)) return notAnObject();
  const shape = shapeProblems(raw);
  if (shape.length > 0) return { profiles: null, problems: shape };
  const environmentRules: PolicyRules = {
    ...PROFILE_DEFAULTS,
    velocity: { ...PROFILE_DEFAULTS.velocity },
    approveThreshold: environment.approveThreshold,
    rejectThreshold: environment.rejectThreshold,
    requiredMatches: [],
  };
  const inputs = raw as Record<string, ProfileInput>;
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
