/**
 * Attack: DESIGN.md "Review" keeps a review's selfie "until the review closes or
 * retention.reviewSelfieDays (default 7) pass, whichever is first". Only the S3 lifecycle rule
 * enforces the days: the local runtime has none (s3rver never expires), and S3 removes expired
 * objects asynchronously, serving them meanwhile. The selfie route itself never looks at the age,
 * so a selfie kept for a review opened 30 days ago is still handed out.
 */
import { describe, expect, it } from 'vitest';
import { reviewSelfieUrl } from '../../lambda/core/review-service.ts';
import {
  InMemoryReviewSelfies,
  InMemoryReviewStore,
  InMemoryVerdictStore,
} from '../support/in-memory.ts';
import { reviewVerdictItem } from '../support/records.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-03T10:00:00.000Z');

describe('attack: a kept selfie past retention.reviewSelfieDays', () => {
  it('is not handed to a reviewer 30 days after its review opened', async () => {
    const opened = new Date(NOW - 30 * DAY).toISOString();
    const item = reviewVerdictItem(opened, {
      verification_id: 'ver-old',
      machine_decision: 'REVIEW',
      review: { state: 'OPEN', opened_at: opened },
      review_selfie_key: 'review/ver-old.jpg',
    });
    const store = new InMemoryVerdictStore();
    store.items.set(item.verification_id, item);
    const selfies = new InMemoryReviewSelfies();
    selfies.objects.set('review/ver-old.jpg', new Uint8Array([0xff, 0xd8]));
    const deps = {
      store,
      reviews: new InMemoryReviewStore(store),
      selfies,
      clock: { now: () => NOW },
    };

    await expect(reviewSelfieUrl(deps, 'ver-old')).rejects.toMatchObject({ status: 404 });
  });
});
