/**
 * The review routes' use cases, through ports: list the open queue, decide a review (or appeal an
 * automated verdict), hand a reviewer the kept selfie, and keep it in the first place. The rules
 * of what a decision does to a record are `review.ts`'s; this module only orders the steps.
 */
import { NotFoundError } from './errors.ts';
import type { Clock, ReviewEvents, ReviewSelfies, ReviewStore, VerdictStore } from './ports.ts';
import { toEventDetail, toPublicRecord } from './record.ts';
import {
  applyReview,
  isOpenReview,
  ReviewConflictError,
  type ReviewInput,
  reviewSelfieKey,
} from './review.ts';
import type { SelfieImage, StoredVerdict, VerdictRecord } from './types.ts';

/** How long a reviewer's presigned GET of a kept selfie stays valid. */
export const REVIEW_SELFIE_URL_SECONDS = 60;

export interface ReviewObserver {
  /** A review was decided (never given the note: it is not measured). */
  reviewed?(item: StoredVerdict): void;
  /** The age of the oldest open review was read (null: the queue is empty). */
  queueMeasured?(oldestOpenSince: number | null, now: number): void;
  housekeepingFailed?(
    operation: 'publish-review-event' | 'delete-review-selfie',
    error: unknown,
  ): void;
}

export interface ReviewDeps {
  store: Pick<VerdictStore, 'get'>;
  reviews: ReviewStore;
  selfies?: ReviewSelfies;
  /**
   * `retention.reviewSelfieDays`: a kept selfie is handed out no longer than this after its review
   * opened, whatever the bucket's lifecycle (S3 expires objects late; s3rver never) still holds.
   */
  selfieDays?: number;
  events?: ReviewEvents;
  clock: Clock;
  observer?: ReviewObserver;
}

const DEFAULT_REVIEW_SELFIE_DAYS = 7;
const DAY_MS = 86_400_000;

export interface ReviewPage {
  items: VerdictRecord[];
  next_cursor: string | null;
}

const notFound = () => new NotFoundError('no verification with this id', 'VERIFICATION_NOT_FOUND');

/** Open reviews, oldest first. Measures the queue's age on the way: the alarm watches it. */
export async function listOpenReviews(
  deps: ReviewDeps,
  page: { limit: number; cursor?: string | undefined },
): Promise<ReviewPage> {
  const { items, nextCursor } = await deps.reviews.listOpen(page.limit, page.cursor);
  // The first page starts at the oldest open review: no second read to know its age.
  const oldest =
    page.cursor === undefined
      ? items[0]?.review?.opened_at
        ? Date.parse(items[0].review.opened_at)
        : null
      : await deps.reviews.oldestOpenSince();
  deps.observer?.queueMeasured?.(oldest, deps.clock.now());
  return { items: items.map(toPublicRecord), next_cursor: nextCursor };
}

/** Reads the queue's oldest open review and reports its age (the scheduled measure, the CLI). */
export async function measureReviewQueue(deps: ReviewDeps): Promise<number | null> {
  const oldest = await deps.reviews.oldestOpenSince();
  deps.observer?.queueMeasured?.(oldest, deps.clock.now());
  return oldest;
}

/**
 * Decides a review. `reviewer` is the caller's principal, never a value from the body. Of two
 * decisions at once exactly one is written; the other is `REVIEW_CONFLICT`.
 */
export async function reviewVerification(
  deps: ReviewDeps,
  verificationId: string,
  input: ReviewInput,
  reviewer: string,
): Promise<VerdictRecord> {
  const item = await deps.store.get(verificationId);
  if (!item) throw notFound();
  const next = applyReview(item, input, reviewer, deps.clock.now());
  if (!(await deps.reviews.decide(next, item))) throw new ReviewConflictError();
  deps.observer?.reviewed?.(next);
  // The decision stands whatever fails below: each step is reported, none undoes it.
  if (item.review_selfie_key !== undefined && deps.selfies) {
    try {
      await deps.selfies.delete(item.review_selfie_key);
    } catch (error) {
      deps.observer?.housekeepingFailed?.('delete-review-selfie', error);
    }
  }
  if (deps.events) {
    try {
      await deps.events.reviewed(reviewEventDetail(next));
    } catch (error) {
      deps.observer?.housekeepingFailed?.('publish-review-event', error);
    }
  }
  await measureReviewQueue(deps).catch(() => {});
  return toPublicRecord(next);
}

/** What consumers learn of a review: the record without the note and without the reviewer. */
export function reviewEventDetail(item: StoredVerdict): ReturnType<typeof toEventDetail> {
  const detail = toEventDetail(item);
  if (detail.review) {
    const { note: _note, reviewer: _reviewer, ...review } = detail.review;
    detail.review = review;
  }
  if (detail.history) {
    // A history entry's actor is a reviewer's principal: consumers see only that a person acted.
    detail.history = detail.history.map((entry) =>
      entry.action === 'REVIEWED' ? { ...entry, actor: 'reviewer' } : entry,
    );
  }
  return detail;
}

/** A 60-second presigned GET of the selfie kept for an open review. */
export async function reviewSelfieUrl(
  deps: ReviewDeps,
  verificationId: string,
): Promise<{ url: string; expires_at: string }> {
  const item = await deps.store.get(verificationId);
  if (!item) throw notFound();
  const openedAt = item.review ? Date.parse(item.review.opened_at) : Number.NaN;
  const keptUntil = openedAt + (deps.selfieDays ?? DEFAULT_REVIEW_SELFIE_DAYS) * DAY_MS;
  const key =
    Number.isFinite(openedAt) && deps.clock.now() < keptUntil ? item.review_selfie_key : undefined;
  const url =
    key !== undefined && deps.selfies
      ? await deps.selfies.presign(key, REVIEW_SELFIE_URL_SECONDS)
      : null;
  if (url === null) {
    throw new NotFoundError('no selfie is kept for this verification', 'SELFIE_NOT_KEPT');
  }
  return { url: url.url, expires_at: url.expiresAt };
}

/**
 * The key a verdict that opens a review names for its selfie, set before the object is written
 * and the verdict stored (see `keepReviewSelfie`).
 */
export function withReviewSelfieKey(
  item: StoredVerdict,
  image: Pick<SelfieImage, 'mime'>,
  selfies: ReviewSelfies | undefined,
): StoredVerdict {
  if (selfies === undefined || !isOpenReview(item)) return item;
  return { ...item, review_selfie_key: reviewSelfieKey(item.verification_id, image.mime) };
}

/**
 * Writes the selfie of a verdict that opens a review, before the verdict is stored (a reviewer may
 * close the review the moment it is). Best effort: when the write fails, the verdict is stored
 * without the key (the selfie route answers 404, the review still works); an object whose
 * verdict is never stored is bounded by the lifecycle rule on `review/`. Returns the verdict to
 * store.
 */
export async function keepReviewSelfie(
  selfies: ReviewSelfies | undefined,
  item: StoredVerdict,
  image: Pick<SelfieImage, 'bytes' | 'mime'>,
  onFailure: (error: unknown) => void,
): Promise<StoredVerdict> {
  if (item.review_selfie_key === undefined || !selfies) return item;
  try {
    await selfies.keep(item.review_selfie_key, image);
    return item;
  } catch (error) {
    onFailure(error);
    const { review_selfie_key: _unkept, ...rest } = item;
    return rest;
  }
}
