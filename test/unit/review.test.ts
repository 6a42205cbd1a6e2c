import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambda/core/errors.ts';
import type { VerdictEventDetail } from '../../lambda/core/ports.ts';
import {
  applyReview,
  NotReviewableError,
  parseReviewBody,
  ReviewConflictError,
  withMachineDecision,
} from '../../lambda/core/review.ts';
import {
  listOpenReviews,
  reviewEventDetail,
  reviewSelfieUrl,
  reviewVerification,
} from '../../lambda/core/review-service.ts';
import type { StoredVerdict } from '../../lambda/core/types.ts';
import { verify } from '../../lambda/core/verify.ts';
import {
  InMemoryReviewSelfies,
  InMemoryReviewStore,
  ScriptedIdmeta,
  verifiedResult,
} from '../support/in-memory.ts';
import { reviewVerdictItem } from '../support/records.ts';
import { request, setup } from '../support/verify-setup.ts';

const T0 = Date.parse('2026-05-01T08:00:00.000Z');

const completed = (overrides: Partial<StoredVerdict> = {}): StoredVerdict =>
  reviewVerdictItem(new Date(T0).toISOString(), overrides);

const approve = { decision: 'APPROVED', reason: 'FACE_CONFIRMED', reopen: false } as const;

describe('parseReviewBody', () => {
  it('lists every invalid field at once, without repeating the values', () => {
    // Act
    const act = () => parseReviewBody({ decision: 'MAYBE', reason: 7, note: 'n'.repeat(501) });

    // Assess
    expect(act).toThrow(ValidationError);
    try {
      act();
    } catch (error) {
      const issues = (error as ValidationError).issues;
      expect(issues.map((issue) => issue.path)).toEqual(['decision', 'reason', 'note']);
      expect(JSON.stringify(issues)).not.toContain('MAYBE');
      expect(JSON.stringify(issues)).not.toContain('nnnn');
    }
  });

  it('requires decision and reason, accepts a 500-character note and reopen, ignores a reviewer', () => {
    // Act
    const parsed = parseReviewBody({
      decision: 'REJECTED',
      reason: 'FRAUD_SUSPECTED',
      note: 'n'.repeat(500),
      reopen: true,
      reviewer: 'someone-else',
    });

    // Assess
    expect(parsed).toEqual({
      decision: 'REJECTED',
      reason: 'FRAUD_SUSPECTED',
      note: 'n'.repeat(500),
      reopen: true,
    });
    expect(() => parseReviewBody({})).toThrow(/decision, reason/);
    expect(() => parseReviewBody([])).toThrow(ValidationError);
    expect(() => parseReviewBody({ ...approve, reopen: 'yes' })).toThrow(/reopen/);
  });
});

describe('withMachineDecision', () => {
  it('opens a review for a REVIEW verdict and records the machine decision', () => {
    // Act
    const item = withMachineDecision(completed(), '2026-05-01T08:00:00.000Z');

    // Assess
    expect(item.machine_decision).toBe('REVIEW');
    expect(item.review).toEqual({ state: 'OPEN', opened_at: '2026-05-01T08:00:00.000Z' });
    expect(item.history).toEqual([
      { at: '2026-05-01T08:00:00.000Z', actor: 'system', action: 'DECIDED', decision: 'REVIEW' },
    ]);
  });

  it('gives an automated decision its trail but no review', () => {
    // Act
    const item = withMachineDecision(completed({ decision: 'APPROVED' }), 'now');

    // Assess
    expect(item.review).toBeNull();
    expect(item.history).toHaveLength(1);
    expect(item.machine_decision).toBe('APPROVED');
  });
});

describe('applyReview', () => {
  const open = withMachineDecision(completed({ review_selfie_key: 'review/ver-1.jpg' }), 'then');

  it("replaces the decision with the reviewer's, keeps the machine's reasons and adds the manual one", () => {
    // Act
    const next = applyReview(open, { ...approve, note: 'ok' }, 'arn:aws:iam::1:user/rita', T0 + 5);

    // Assess
    expect(next.decision).toBe('APPROVED');
    expect(next.machine_decision).toBe('REVIEW');
    expect(next.reasons).toEqual(['FACE_INCONCLUSIVE', 'MANUAL_APPROVED']);
    expect(next.review).toMatchObject({
      state: 'CLOSED',
      decision: 'APPROVED',
      reason: 'FACE_CONFIRMED',
      note: 'ok',
      reviewer: 'arn:aws:iam::1:user/rita',
    });
    expect(next.history?.map((entry) => entry.action)).toEqual(['DECIDED', 'REVIEWED']);
    expect(next).not.toHaveProperty('review_selfie_key');
  });

  it('refuses a closed review without reopen, and an appeal keeps every decision', () => {
    // Prepare
    const closed = applyReview(open, approve, 'rita', T0 + 5);

    // Act
    const refused = () => applyReview(closed, { ...approve, decision: 'REJECTED' }, 'sam', T0 + 9);
    const appealed = applyReview(
      closed,
      { decision: 'REJECTED', reason: 'FRAUD_SUSPECTED', reopen: true },
      'sam',
      T0 + 9,
    );

    // Assess
    expect(refused).toThrow(ReviewConflictError);
    expect(appealed.reasons).toEqual(['FACE_INCONCLUSIVE', 'MANUAL_REJECTED']);
    expect(appealed.history?.map((entry) => [entry.actor, entry.decision])).toEqual([
      ['system', 'REVIEW'],
      ['rita', 'APPROVED'],
      ['sam', 'REJECTED'],
    ]);
  });

  it('lets a person appeal an automated decision, and starts the trail of an older record', () => {
    // Act
    const next = applyReview(
      completed({ decision: 'REJECTED', reasons: ['FACE_MISMATCH'] }),
      approve,
      'rita',
      T0 + 5,
    );

    // Assess
    expect(next.machine_decision).toBe('REJECTED');
    expect(next.history?.[0]).toMatchObject({ actor: 'system', decision: 'REJECTED' });
    expect(next.review?.state).toBe('CLOSED');
  });

  it('refuses anything not COMPLETED', () => {
    // Act & Assess
    for (const status of ['PENDING', 'PROCESSING', 'FAILED'] as const) {
      expect(() => applyReview(completed({ status, decision: null }), approve, 'r', T0)).toThrow(
        NotReviewableError,
      );
    }
  });
});

describe('the review use cases over in-memory ports', () => {
  function reviewSetup() {
    const verifying = setup({
      idmeta: new ScriptedIdmeta(verifiedResult({ faceSimilarity: 72 })),
    });
    const reviewSelfies = new InMemoryReviewSelfies();
    const published: Array<{ detail: VerdictEventDetail; type: string }> = [];
    const events = {
      reviewed: async (detail: VerdictEventDetail) => {
        published.push({ detail, type: 'Verification Reviewed' });
      },
    };
    const reviewed: StoredVerdict[] = [];
    const deps = {
      store: verifying.store,
      reviews: new InMemoryReviewStore(verifying.store),
      selfies: reviewSelfies,
      events,
      clock: verifying.clock,
      observer: { reviewed: (item: StoredVerdict) => reviewed.push(item) },
    };
    verifying.deps.reviewSelfies = reviewSelfies;
    return { ...verifying, review: deps, reviewSelfies, published, reviewed };
  }

  it('a REVIEW verdict keeps its selfie after it is stored; a decision deletes it and announces', async () => {
    // Prepare
    const t = reviewSetup();
    await verify(request(), t.deps, t.budget());
    const kept = [...t.reviewSelfies.objects.keys()];

    // Act
    const url = await reviewSelfieUrl(t.review, 'ver-001');
    const record = await reviewVerification(
      t.review,
      'ver-001',
      { ...approve, note: 'private' },
      'rita',
    );

    // Assess
    expect(kept).toEqual(['review/ver-001.jpg']);
    expect(url.url).toContain('X-Amz-Expires=60');
    expect(record.decision).toBe('APPROVED');
    expect(t.reviewSelfies.objects.size).toBe(0);
    expect(t.published).toHaveLength(1);
    expect(t.published[0]?.type).toBe('Verification Reviewed');
    expect(JSON.stringify(t.published[0]?.detail)).not.toMatch(/private|rita|nik_masked/);
    await expect(reviewSelfieUrl(t.review, 'ver-001')).rejects.toMatchObject({ status: 404 });
    expect(t.reviewed).toHaveLength(1);
  });

  it('a failed keep loses no verdict: the record stands and the selfie route says 404', async () => {
    // Prepare
    const t = reviewSetup();
    t.reviewSelfies.failKeep = true;
    const failures: string[] = [];
    t.deps.observer = { housekeepingFailed: (operation) => failures.push(operation) };

    // Act
    const outcome = await verify(request(), t.deps, t.budget());

    // Assess
    expect(outcome.record.review?.state).toBe('OPEN');
    expect(failures).toEqual(['keep-review-selfie']);
    await expect(reviewSelfieUrl(t.review, 'ver-001')).rejects.toMatchObject({
      code: 'SELFIE_NOT_KEPT',
    });
  });

  it('of two decisions read from the same record, the second is a REVIEW_CONFLICT', async () => {
    // Prepare
    const t = reviewSetup();
    await verify(request(), t.deps, t.budget());
    const read = (await t.store.get('ver-001')) as StoredVerdict;
    await reviewVerification(t.review, 'ver-001', approve, 'rita');

    // Act
    const late = await t.review.reviews.decide(
      applyReview(read, { ...approve, decision: 'REJECTED' }, 'sam', t.clock.now()),
      read,
    );

    // Assess
    expect(late).toBe(false);
    expect((await t.store.get('ver-001'))?.decision).toBe('APPROVED');
  });

  it('lists open reviews oldest first and unknown ids are 404', async () => {
    // Prepare
    const t = reviewSetup();
    await verify(request({ verificationId: 'a' }), t.deps, t.budget());
    t.clock.advance(1000);
    await verify(request({ verificationId: 'b' }), t.deps, t.budget());

    // Act
    const page = await listOpenReviews(t.review, { limit: 1 });

    // Assess
    expect(page.items.map((item) => item.verification_id)).toEqual(['a']);
    expect(page.next_cursor).not.toBeNull();
    await expect(reviewVerification(t.review, 'nope', approve, 'r')).rejects.toMatchObject({
      status: 404,
    });
  });

  it('the event detail carries neither note nor reviewer', () => {
    // Act
    const detail = reviewEventDetail(
      applyReview(withMachineDecision(completed(), 'then'), { ...approve, note: 'x' }, 'rita', T0),
    );

    // Assess
    expect(detail.review).not.toHaveProperty('note');
    expect(detail.review).not.toHaveProperty('reviewer');
    expect(detail.history?.[1]?.actor).toBe('reviewer');
    expect(detail).not.toHaveProperty('nik_masked');
  });
});
