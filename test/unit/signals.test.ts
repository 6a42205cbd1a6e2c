import { describe, expect, it } from 'vitest';
import {
  type FacematchError,
  IdmetaUnavailableError,
  VelocityExceededError,
} from '../../lambda/core/errors.ts';
import { decide, REASON } from '../../lambda/core/policy.ts';
import type { PolicyRules } from '../../lambda/core/types.ts';
import { verify, verifyUploadedSelfie } from '../../lambda/core/verify.ts';
import { verifiedResult } from '../support/in-memory.ts';
import { JPEG, NIK, OTHER_NIK, profiles, request, setup } from '../support/verify-setup.ts';

const HOUR = 3_600_000;

/** The documented defaults over thresholds 75/40 (test/unit/profiles.test.ts spells them out). */
const RULES: PolicyRules = profiles().default?.rules ?? expect.fail('no default profile');

const noSignals = { attempts: 0, previouslyApproved: false };

describe('decide under a profile', () => {
  it('sends a verdict to REVIEW when a required match field is false or unchecked', () => {
    const rules = { ...RULES, requiredMatches: ['place_of_birth', 'address'] };
    const result = verifiedResult({
      matches: { nik: true, name: true, date_of_birth: true, place_of_birth: false },
    });

    expect(decide(result, rules, noSignals)).toEqual({
      decision: 'REVIEW',
      reasons: [REASON.REQUIRED_MATCH_FAILED, REASON.REQUIRED_MATCH_UNVERIFIED],
    });
    expect(decide(result, RULES, noSignals).decision).toBe('APPROVED');
  });

  it('rejects a HIGH risk rating where the profile says highRisk: reject', () => {
    const result = verifiedResult({ riskRating: 'HIGH' });

    expect(decide(result, { ...RULES, highRisk: 'reject' }, noSignals)).toEqual({
      decision: 'REJECTED',
      reasons: [REASON.HIGH_RISK],
    });
    expect(decide(result, RULES, noSignals).decision).toBe('REVIEW');
  });

  it('caps the decision at REVIEW with NIK_VELOCITY from reviewAfter earlier attempts, and never softens a rejection', () => {
    const clean = verifiedResult();
    const velocity = { attempts: 3, previouslyApproved: false };

    expect(decide(clean, RULES, { attempts: 2, previouslyApproved: false }).decision).toBe(
      'APPROVED',
    );
    expect(decide(clean, RULES, velocity)).toEqual({
      decision: 'REVIEW',
      reasons: [REASON.NIK_VELOCITY],
    });
    expect(decide(verifiedResult({ faceSimilarity: 10 }), RULES, velocity)).toEqual({
      decision: 'REJECTED',
      reasons: [REASON.FACE_BELOW_THRESHOLD, REASON.NIK_VELOCITY],
    });
  });

  it('reports a previous approval, forcing REVIEW only where duplicate is review', () => {
    const seen = { attempts: 0, previouslyApproved: true };

    expect(decide(verifiedResult(), RULES, seen)).toEqual({
      decision: 'APPROVED',
      reasons: [REASON.ALL_CHECKS_PASSED, REASON.NIK_PREVIOUSLY_VERIFIED],
    });
    expect(decide(verifiedResult(), { ...RULES, duplicate: 'review' }, seen)).toEqual({
      decision: 'REVIEW',
      reasons: [REASON.NIK_PREVIOUSLY_VERIFIED],
    });
  });
});

/** Small limits so a test reaches them in a few calls. */
const TIGHT = { default: { velocity: { reviewAfter: 2, refuseAfter: 3, windowHours: 24 } } };

function tightSetup(profileJson: unknown = TIGHT) {
  const refusals: Array<{ code: string; source: string }> = [];
  const published: unknown[] = [];
  const t = setup({ profiles: profileJson });
  t.deps.observer = {
    refused: (error: FacematchError, source) => refusals.push({ code: error.code, source }),
  };
  t.deps.events = { publish: async (detail) => void published.push(detail) };
  return { ...t, refusals, published };
}

async function refusalOf(act: Promise<unknown>): Promise<VelocityExceededError> {
  const error = await act.then(
    () => expect.fail('expected a velocity refusal'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(VelocityExceededError);
  return error as VelocityExceededError;
}

describe('velocity through the API entrance', () => {
  it('reviews from reviewAfter, then refuses before any paid call with Retry-After, and stores a FAILED record', async () => {
    const { deps, idmeta, clock, budget, store, refusals, published } = tightSetup();
    const decisions: Array<string | null> = [];
    for (const id of ['v-1', 'v-2', 'v-3']) {
      const { record } = await verify(request({ verificationId: id }), deps, budget());
      decisions.push(record.decision);
      clock.advance(HOUR);
    }

    const error = await refusalOf(verify(request({ verificationId: 'v-4' }), deps, budget()));

    expect(decisions).toEqual(['APPROVED', 'APPROVED', 'REVIEW']);
    expect(store.items.get('v-3')).toMatchObject({
      reasons: [REASON.NIK_VELOCITY, REASON.NIK_PREVIOUSLY_VERIFIED],
      signals: { nik_attempts_24h: 2, nik_previously_approved: true },
    });
    expect(idmeta.facematchCalls).toHaveLength(3);
    expect(error).toMatchObject({ code: 'NIK_VELOCITY_EXCEEDED', status: 429 });
    // v-1 reached IDmeta 3 h ago: it leaves the 24 h window in 21 h.
    expect(error.retryAfterSeconds).toBe(21 * 3600);
    expect(store.items.get('v-4')).toMatchObject({
      status: 'FAILED',
      decision: null,
      reasons: ['NIK_VELOCITY_EXCEEDED'],
      error: { code: 'NIK_VELOCITY_EXCEEDED' },
      signals: { nik_attempts_24h: 3 },
      policy: { profile: 'default', version: expect.stringMatching(/^[0-9a-f]{12}$/) },
    });
    expect(store.items.get('v-4')).not.toHaveProperty('idmeta_at');
    expect(store.items.get('v-4')).not.toHaveProperty('lease_owner');
    expect(refusals).toEqual([{ code: 'NIK_VELOCITY_EXCEEDED', source: 'api' }]);
    expect(published.at(-1)).toMatchObject({ verification_id: 'v-4', status: 'FAILED' });
  });

  it('does not count replays, refusals, nor other people', async () => {
    const { deps, idmeta, budget, store } = tightSetup();
    await verify(request({ verificationId: 'r-1' }), deps, budget());
    for (let i = 0; i < 5; i++) await verify(request({ verificationId: 'r-1' }), deps, budget());
    const other = {
      nik: OTHER_NIK,
      name: 'Siti Rahayu',
      dateOfBirth: { year: 1993, month: 6, day: 12 },
    };
    for (let i = 0; i < 3; i++) {
      await verify(request({ verificationId: `o-${i}`, identity: other }), deps, budget());
    }

    const { record } = await verify(request({ verificationId: 'r-2' }), deps, budget());
    await verify(request({ verificationId: 'r-3' }), deps, budget());
    await refusalOf(verify(request({ verificationId: 'r-4' }), deps, budget()));
    await refusalOf(verify(request({ verificationId: 'r-5' }), deps, budget()));
    const afterRefusals = await refusalOf(
      verify(request({ verificationId: 'r-6' }), deps, budget()),
    );

    expect(record.signals).toEqual({ nik_attempts_24h: 1, nik_previously_approved: true });
    expect(store.items.get('r-6')?.signals?.nik_attempts_24h).toBe(3);
    expect(afterRefusals.code).toBe('NIK_VELOCITY_EXCEEDED');
    expect(idmeta.facematchCalls.filter((call) => call.nik === NIK)).toHaveLength(3);
  });

  it('accepts the NIK again once the oldest counted attempt slides out of the window', async () => {
    const { deps, idmeta, clock, budget } = tightSetup();
    for (const id of ['w-1', 'w-2', 'w-3']) {
      await verify(request({ verificationId: id }), deps, budget());
      clock.advance(HOUR);
    }
    const refused = await refusalOf(verify(request({ verificationId: 'w-4' }), deps, budget()));

    clock.advance(refused.retryAfterSeconds * 1000 - 1000);
    const stillRefused = await refusalOf(
      verify(request({ verificationId: 'w-5' }), deps, budget()),
    );
    clock.advance(1000);
    const { record } = await verify(request({ verificationId: 'w-6' }), deps, budget());

    expect(stillRefused.retryAfterSeconds).toBe(1);
    expect(record).toMatchObject({ status: 'COMPLETED', signals: { nik_attempts_24h: 2 } });
    expect(idmeta.facematchCalls).toHaveLength(4);
  });

  it('lets concurrent attempts for one NIK past the limit by at most the number in flight', async () => {
    // Prepare: refuseAfter - 1 attempts already counted, so exactly one more is allowed; IDmeta
    // slow enough that every request of a wave reads the history before any of them is saved.
    const { deps, idmeta, budget } = tightSetup({ default: { velocity: { refuseAfter: 5 } } });
    for (const id of ['c-0', 'c-1', 'c-2', 'c-3']) {
      await verify(request({ verificationId: id }), deps, budget());
    }
    const slow = async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return verifiedResult();
    };
    idmeta.answerNext(...Array.from({ length: 12 }, () => slow));
    const inFlight = 4;

    // Act: three waves of `inFlight` requests at once.
    let passed = 0;
    let refused = 0;
    for (let wave = 0; wave < 3; wave++) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: inFlight }, (_, i) =>
          verify(request({ verificationId: `c-${wave}-${i}` }), deps, budget()),
        ),
      );
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') passed += 1;
        else if (outcome.reason instanceof VelocityExceededError) refused += 1;
      }
    }

    // Assess: one was allowed; the first wave's others slipped past only because none of the
    // wave had been saved when each read the history. The later waves see them and are refused.
    expect(passed).toBeGreaterThanOrEqual(1);
    expect(passed).toBeLessThanOrEqual(1 + (inFlight - 1));
    expect(refused).toBe(3 * inFlight - passed);
    expect(idmeta.facematchCalls).toHaveLength(4 + passed);
  });

  it('counts a verification released after a transient IDmeta failure once, and never against its own retry', async () => {
    const { deps, idmeta, budget, store } = tightSetup();
    idmeta.answerNext(new IdmetaUnavailableError('IDmeta 503', 503));
    await expect(verify(request({ verificationId: 't-1' }), deps, budget())).rejects.toThrow(
      IdmetaUnavailableError,
    );
    const released = store.items.get('t-1');

    const { record: retried } = await verify(request({ verificationId: 't-1' }), deps, budget());
    const { record: next } = await verify(request({ verificationId: 't-2' }), deps, budget());

    expect(released).toMatchObject({ status: 'PENDING', idmeta_at: expect.any(Number) });
    expect(retried.signals?.nik_attempts_24h).toBe(0);
    expect(next.signals?.nik_attempts_24h).toBe(1);
  });

  it('reads the person index once per verification, and not at all for a replay', async () => {
    const { deps, history, budget } = tightSetup();

    await verify(request({ verificationId: 'q-1' }), deps, budget());
    await verify(request({ verificationId: 'q-1' }), deps, budget());
    await verify(request({ verificationId: 'q-2' }), deps, budget());

    expect(history.queries).toBe(2);
  });
});

describe('velocity through the S3 entrance', () => {
  it('ends a refused upload FAILED with NIK_VELOCITY_EXCEEDED, without calling IDmeta, and drops the selfie', async () => {
    const { deps, idmeta, budget, store, selfies, refusals } = tightSetup();
    for (const id of ['s-1', 's-2', 's-3']) {
      await verify(request({ verificationId: id }), deps, budget());
    }
    selfies.objects.set('incoming/s-4.jpg', {
      bytes: JPEG,
      metadata: { nik: NIK, name: 'Budi Santoso Wijaya', 'date-of-birth': '12-06-1993' },
    });

    const error = await refusalOf(
      verifyUploadedSelfie({ key: 'incoming/s-4.jpg', verificationId: 's-4' }, deps, budget()),
    );

    expect(error.code).toBe('NIK_VELOCITY_EXCEEDED');
    expect(idmeta.facematchCalls).toHaveLength(3);
    expect(store.items.get('s-4')).toMatchObject({
      status: 'FAILED',
      source: 's3',
      error: { code: 'NIK_VELOCITY_EXCEEDED' },
    });
    expect(selfies.deleted).toContain('incoming/s-4.jpg');
    expect(refusals).toEqual([{ code: 'NIK_VELOCITY_EXCEEDED', source: 's3' }]);
  });
});

describe('previously approved', () => {
  it('marks another APPROVED verification of the NIK within duplicateDays, and forgets it after', async () => {
    const { deps, clock, budget } = tightSetup({ default: { duplicateDays: 30 } });
    const { record: first } = await verify(request({ verificationId: 'd-1' }), deps, budget());
    clock.advance(2 * 24 * HOUR);
    const { record: second } = await verify(request({ verificationId: 'd-2' }), deps, budget());
    clock.advance(31 * 24 * HOUR);
    // d-2 was approved 31 days ago, d-1 33: both out of the 30 days.
    const { record: third } = await verify(request({ verificationId: 'd-3' }), deps, budget());

    expect(first.signals).toEqual({ nik_attempts_24h: 0, nik_previously_approved: false });
    expect(second).toMatchObject({
      decision: 'APPROVED',
      reasons: ['ALL_CHECKS_PASSED', 'NIK_PREVIOUSLY_VERIFIED'],
      signals: { nik_previously_approved: true },
    });
    expect(third).toMatchObject({ reasons: ['ALL_CHECKS_PASSED'] });
  });

  it('forces REVIEW where the profile says duplicate: review, for its template only', async () => {
    const { deps, budget } = tightSetup({ onboarding: { duplicate: 'review' } });
    await verify(request({ verificationId: 'p-1' }), deps, budget());

    const { record: plain } = await verify(request({ verificationId: 'p-2' }), deps, budget());
    const { record: strict } = await verify(
      request({ verificationId: 'p-3', templateId: 'onboarding' }),
      deps,
      budget(),
    );

    expect(plain.decision).toBe('APPROVED');
    expect(strict).toMatchObject({
      decision: 'REVIEW',
      reasons: ['NIK_PREVIOUSLY_VERIFIED'],
      policy: { profile: 'onboarding' },
    });
  });
});

describe('profiles through verify()', () => {
  it('decides one IDmeta answer differently per template, and records which profile and version decided', async () => {
    const json = { mortgage: { requiredMatches: ['place_of_birth'], approveThreshold: 90 } };
    const { deps, idmeta, budget } = tightSetup(json);
    const answer = verifiedResult({
      faceSimilarity: 85,
      matches: { nik: true, name: true, date_of_birth: true, place_of_birth: null },
    });
    idmeta.answerNext(answer, answer);

    const { record: payday } = await verify(request({ verificationId: 'm-1' }), deps, budget());
    const { record: mortgage } = await verify(
      request({ verificationId: 'm-2', templateId: 'mortgage' }),
      deps,
      budget(),
    );

    const expected = profiles(json);
    expect(payday).toMatchObject({
      decision: 'APPROVED',
      policy: { profile: 'default', version: expected.default?.version },
    });
    expect(mortgage).toMatchObject({
      decision: 'REVIEW',
      reasons: ['FACE_INCONCLUSIVE', 'REQUIRED_MATCH_UNVERIFIED', 'NIK_PREVIOUSLY_VERIFIED'],
      policy: { profile: 'mortgage', version: expected.mortgage?.version },
    });
    expect(expected.mortgage?.version).not.toBe(expected.default?.version);
  });
});
