/**
 * Attack: the selfie kept for a review is written AFTER the REVIEW verdict is stored and after
 * its housekeeping (event publish, IDmeta finalise). A reviewer who decides in that window (the
 * record is already in the queue) deletes nothing; then the keep writes the object. The result:
 * a selfie under review/ that no record names, outliving a closed review for reviewSelfieDays.
 */
import { describe, expect, it } from 'vitest';
import { reviewVerification } from '../../lambda/core/review-service.ts';
import type { StoredVerdict } from '../../lambda/core/types.ts';
import { verify } from '../../lambda/core/verify.ts';
import {
  InMemoryReviewSelfies,
  InMemoryReviewStore,
  ScriptedIdmeta,
  verifiedResult,
} from '../support/in-memory.ts';
import { request, setup } from '../support/verify-setup.ts';

describe('attack: review decided while the verdict is still being kept', () => {
  it('leaves no kept selfie behind once the review is closed', async () => {
    const t = setup({ idmeta: new ScriptedIdmeta(verifiedResult({ faceSimilarity: 72 })) });
    const selfies = new InMemoryReviewSelfies();
    t.deps.reviewSelfies = selfies;
    const review = {
      store: t.store,
      reviews: new InMemoryReviewStore(t.store),
      selfies,
      clock: t.clock,
    };
    let closed: Awaited<ReturnType<typeof reviewVerification>> | undefined;
    // The verdict event is published after the record is stored: a reviewer acts right then.
    t.deps.events = {
      publish: async (detail: { verification_id: string }) => {
        closed = await reviewVerification(
          review,
          detail.verification_id,
          { decision: 'REJECTED', reason: 'FACE_NOT_CONFIRMED', reopen: false },
          'rita',
        );
      },
    } as unknown as typeof t.deps.events;

    await verify(request(), t.deps, t.budget());

    expect(closed?.review?.state).toBe('CLOSED');
    const stored = (await t.store.get('ver-001')) as StoredVerdict;
    expect(stored.review_selfie_key).toBeUndefined();
    // The closed review's selfie must be gone; it is still there.
    expect([...selfies.objects.keys()]).toEqual([]);
  });
});
