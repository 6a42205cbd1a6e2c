import { describe, expect, it } from 'vitest';
import { parseConfig, sha256Hex } from '../../lambda/config.ts';
import { ConfigError } from '../../lambda/core/errors.ts';
import {
  canonicalJson,
  describeProblem,
  parseProfiles,
  profileFor,
} from '../../lambda/core/profiles.ts';
import { thrownBy as thrown } from '../support/thrown.ts';

const ENV_THRESHOLDS = { approveThreshold: 75, rejectThreshold: 40 };

/** The profiles, and the problems as start-up names them. */
function parseText(text: string) {
  const parsed = parseProfiles(text, ENV_THRESHOLDS, sha256Hex);
  const problems = parsed.problems.map((problem) => describeProblem('POLICY_PROFILES', problem));
  return { profiles: parsed.profiles, problems };
}

const parse = (json: unknown) => parseText(JSON.stringify(json));

function resolved(json: unknown) {
  const parsed = parse(json);
  if (parsed.profiles === null) throw new Error(parsed.problems.join('; '));
  return parsed.profiles;
}

const BASE_ENV = {
  VERDICT_TABLE_NAME: 'facematch-verdicts',
  SELFIE_BUCKET_NAME: 'facematch-selfies',
  IDMETA_BASE_URL: 'https://idmeta.example',
  IDMETA_TOKEN: 'token',
  IDMETA_TEMPLATE_ID: 'tf-default',
  FACEMATCH_DATA_KEY: 'k'.repeat(32),
};

describe('POLICY_PROFILES validation: every problem listed, each naming its field', () => {
  it('names an unknown match field in requiredMatches', () => {
    const parsed = parse({ default: { requiredMatches: ['place_of_birth', 'shoe_size'] } });

    expect(parsed.profiles).toBeNull();
    expect(parsed.problems).toEqual([
      expect.stringMatching(/^POLICY_PROFILES\.default\.requiredMatches\.1: must be a match field/),
    ]);
  });

  it('names thresholds out of order, also when the order breaks only once resolved from default', () => {
    const parsed = parse({
      default: { approveThreshold: 70, rejectThreshold: 50 },
      payday: { approveThreshold: 45 },
    });

    expect(parsed.problems).toEqual([
      'POLICY_PROFILES.payday.rejectThreshold: must not be above approveThreshold (50 > 45)',
    ]);
  });

  it('names velocity limits below 1, not whole, or out of order, and lists them all at once', () => {
    const parsed = parse({
      default: { velocity: { reviewAfter: 0 }, duplicateDays: 0 },
      mortgage: { velocity: { refuseAfter: 2.5, windowHours: -1 } },
      payday: { velocity: { reviewAfter: 8, refuseAfter: 4 } },
    });

    // Shape problems are reported before order problems can be judged.
    expect(parsed.problems).toEqual(
      expect.arrayContaining([
        'POLICY_PROFILES.default.velocity.reviewAfter: must be at least 1',
        'POLICY_PROFILES.default.duplicateDays: must be at least 1',
        'POLICY_PROFILES.mortgage.velocity.refuseAfter: must be a whole number',
        'POLICY_PROFILES.mortgage.velocity.windowHours: must be at least 1',
      ]),
    );
    expect(parsed.problems).toHaveLength(4);
    expect(parse({ payday: { velocity: { reviewAfter: 8, refuseAfter: 4 } } }).problems).toEqual([
      'POLICY_PROFILES.payday.velocity.reviewAfter: must not be above velocity.refuseAfter (8 > 4)',
    ]);
  });

  it('names unknown settings, wrong enums, bad keys and text that is not a JSON object', () => {
    expect(parse({ default: { aproveThreshold: 80 } }).problems).toEqual([
      expect.stringMatching(/^POLICY_PROFILES\.default: .*aproveThreshold/),
    ]);
    expect(parse({ default: { highRisk: 'ignore' } }).problems).toEqual([
      expect.stringMatching(/^POLICY_PROFILES\.default\.highRisk: /),
    ]);
    expect(parse({ '../etc': {} }).problems).toEqual([
      expect.stringMatching(/^POLICY_PROFILES\.\.\.\/etc: must be "default" or a template_id/),
    ]);
    expect(parseText('{not json').problems).toEqual(['POLICY_PROFILES: must be a JSON object']);
    expect(parse([1, 2]).problems).toEqual(['POLICY_PROFILES: must be a JSON object']);
  });

  it('names a number that is not whole once, a hole in a list, and never skips a __proto__ key', () => {
    expect(
      parse({ default: { duplicateDays: 0.5, velocity: { windowHours: -3.1 } } }).problems,
    ).toEqual([
      'POLICY_PROFILES.default.velocity.windowHours: must be a whole number',
      'POLICY_PROFILES.default.duplicateDays: must be a whole number',
    ]);
    expect(parseText('{"default":{"requiredMatches":["name",null]}}').problems).toEqual([
      'POLICY_PROFILES.default.requiredMatches.1: must be a string',
    ]);
    // JSON.parse makes `__proto__` an own key: a profile under it is refused, not dropped.
    expect(parseText('{"__proto__":{"approveThreshold":20}}').problems).toEqual([
      'POLICY_PROFILES.__proto__: must be "default" or a template_id',
    ]);
  });

  it('fails the start-up naming the variable and the field', () => {
    const error = thrown(() =>
      parseConfig({
        ...BASE_ENV,
        POLICY_PROFILES: JSON.stringify({ payday: { requiredMatches: ['nickname'] } }),
      }),
    );

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('POLICY_PROFILES.payday.requiredMatches.0');
  });
});

describe('POLICY_PROFILES resolution', () => {
  it('fills what default leaves out from the environment and the documented defaults', () => {
    const { rules } = resolved({}).default ?? expect.fail('no default');

    expect(rules).toEqual({
      approveThreshold: 75,
      rejectThreshold: 40,
      requiredMatches: [],
      highRisk: 'review',
      velocity: { reviewAfter: 3, refuseAfter: 10, windowHours: 24 },
      duplicate: 'ignore',
      duplicateDays: 90,
    });
  });

  it('fills what a template profile leaves out from default, field by field', () => {
    const profiles = resolved({
      default: { approveThreshold: 80, velocity: { windowHours: 48 }, duplicate: 'review' },
      mortgage: { requiredMatches: ['place_of_birth'], velocity: { refuseAfter: 5 } },
    });

    expect(profiles.mortgage?.rules).toMatchObject({
      approveThreshold: 80,
      rejectThreshold: 40,
      requiredMatches: ['place_of_birth'],
      velocity: { reviewAfter: 3, refuseAfter: 5, windowHours: 48 },
      duplicate: 'review',
    });
  });

  it('gives a template with no profile the default one, never an error', () => {
    const profiles = resolved({ mortgage: { highRisk: 'reject' } });

    expect(profileFor(profiles, 'tf-unknown').name).toBe('default');
    expect(profileFor(profiles, 'mortgage').name).toBe('mortgage');
    // Not a prototype key either.
    expect(profileFor(profiles, 'constructor').name).toBe('default');
  });

  it('versions a profile by the SHA-256 of its resolved rules: 12 hex, changing with the rules', () => {
    const before = resolved({ payday: { approveThreshold: 80 } }).payday?.version;
    const after = resolved({ payday: { approveThreshold: 81 } }).payday?.version;
    const fromDefault = resolved({ default: { approveThreshold: 80 }, payday: {} }).payday?.version;

    expect(before).toMatch(/^[0-9a-f]{12}$/);
    expect(after).not.toBe(before);
    // Same rules, however they were written: the same version.
    expect(fromDefault).toBe(before);
  });

  it('keeps the version whatever the key order or the order of requiredMatches', () => {
    const a = resolved({
      p: { highRisk: 'reject', requiredMatches: ['address', 'place_of_birth'], duplicateDays: 30 },
    }).p?.version;
    const b = resolved({
      p: { duplicateDays: 30, requiredMatches: ['place_of_birth', 'address'], highRisk: 'reject' },
    }).p?.version;

    expect(a).toBe(b);
  });

  it('writes canonical JSON with sorted keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });
});
