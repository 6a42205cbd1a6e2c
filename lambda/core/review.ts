/**
 * Human review (DESIGN.md "Review"): which verdict opens a review, what a reviewer's decision
 * does to the record, and what a review request may say. Pure: the store, the selfie bucket and
 * the announcement are the caller's (core/review-service.ts).
 *
 * The record keeps the whole story: `machine_decision` is what the policy decided, `decision` what
 * stands now, and `history` every decision in order (the policy's `DECIDED`, then each
 * `REVIEWED`), so an appeal can show who overrode what and when.
 */
import { FacematchError } from './errors.ts';
import { boolean, maxLength, oneOf, optional, pattern, test, text } from './fields.ts';
import { validFields } from './request.ts';
import {
  type HistoryEntry,
  REVIEW_REASONS,
  type ReviewDecision,
  type ReviewReason,
  type StoredVerdict,
} from './types.ts';

export const REVIEW_NOTE_MAX_LENGTH = 500;
export const SYSTEM_ACTOR = 'system';
/** The reason a reviewer's decision adds to the machine's reasons. */
export const MANUAL_REASONS = {
  APPROVED: 'MANUAL_APPROVED',
  REJECTED: 'MANUAL_REJECTED',
} as const satisfies Record<ReviewDecision, string>;
const MANUAL_REASON_CODES: readonly string[] = Object.values(MANUAL_REASONS);

// Messages never repeat the value: a note is free text and may be personal.
const requiredOneOf = <const T extends readonly [string, ...string[]]>(
  values: T,
  description: string,
) =>
  oneOf(
    values,
    (input) => (input === undefined ? 'is required' : `must be one of ${values.join(', ')}`),
    description,
  );

/** The POST /verifications/{id}/review body's fields. Unknown keys are ignored (a `reviewer` too). */
export const reviewBodyFields = {
  decision: requiredOneOf(
    ['APPROVED', 'REJECTED'],
    "The reviewer's decision; it replaces the verdict's.",
  ),
  reason: requiredOneOf(REVIEW_REASONS, 'Why, as a stable code.'),
  note: optional(
    text(
      [maxLength(REVIEW_NOTE_MAX_LENGTH, `must be at most ${REVIEW_NOTE_MAX_LENGTH} characters`)],
      { description: 'Free text kept in the record only: never logged, announced or measured.' },
    ),
  ),
  reopen: optional(
    boolean(
      'must be true or false',
      'Decide a closed review again (an appeal); both decisions stay.',
    ),
  ),
};

export const REVIEW_PAGE_DEFAULT_LIMIT = 50;
export const REVIEW_PAGE_MAX_LIMIT = 100;

const PAGE_LIMIT_ISSUE = `must be a whole number from 1 to ${REVIEW_PAGE_MAX_LIMIT}`;

/** GET /verifications's query: the one list there is, the open review queue. */
export const reviewListQueryFields = {
  review: oneOf(
    ['open'],
    (input) => (input === undefined ? 'is required' : 'must be open'),
    'The only list: open reviews, oldest first.',
  ),
  limit: optional(
    text(
      [
        pattern(/^\d{1,3}$/, PAGE_LIMIT_ISSUE, true),
        test(
          (value) => Number(value) >= 1 && Number(value) <= REVIEW_PAGE_MAX_LIMIT,
          PAGE_LIMIT_ISSUE,
        ),
      ],
      {
        description: `Page size, 1 to ${REVIEW_PAGE_MAX_LIMIT} (default ${REVIEW_PAGE_DEFAULT_LIMIT}).`,
      },
    ),
  ),
  cursor: optional(text([], { description: '`next_cursor` of the previous page, unchanged.' })),
};

export interface ReviewInput {
  decision: ReviewDecision;
  reason: ReviewReason;
  note?: string;
  reopen: boolean;
}

/** Validates a review body, listing every invalid field at once. */
export function parseReviewBody(body: unknown): ReviewInput {
  const fields = validFields(reviewBodyFields, body);
  const input: ReviewInput = {
    decision: fields.decision,
    reason: fields.reason,
    reopen: fields.reopen === true,
  };
  if (fields.note !== undefined && fields.note !== '') input.note = fields.note;
  return input;
}

/** 409 `NOT_REVIEWABLE`: only a COMPLETED verdict has a decision a person can confirm or change. */
export class NotReviewableError extends FacematchError {
  constructor(message = 'only a COMPLETED verification can be reviewed') {
    super(message, { code: 'NOT_REVIEWABLE', status: 409 });
    this.name = 'NotReviewableError';
  }
}

/** 409 `REVIEW_CONFLICT`: someone else decided first, or the review is closed (no `reopen`). */
export class ReviewConflictError extends FacematchError {
  constructor(message = 'the review was decided by someone else; read the record again') {
    super(message, { code: 'REVIEW_CONFLICT', status: 409 });
    this.name = 'ReviewConflictError';
  }
}

/**
 * What the policy's verdict adds to a COMPLETED record: the machine's decision and its history
 * entry always (an appeal needs the trail), and an open review when the decision is REVIEW.
 */
export function withMachineDecision(item: StoredVerdict, at: string): StoredVerdict {
  const decision = item.decision;
  if (item.status !== 'COMPLETED' || decision === null) return item;
  const decided: HistoryEntry = { at, actor: SYSTEM_ACTOR, action: 'DECIDED', decision };
  return {
    ...item,
    machine_decision: decision,
    review: opensReview(item) ? { state: 'OPEN', opened_at: at } : null,
    history: [decided],
  };
}

/** A verdict that opens a review: the policy could neither approve nor reject it. */
export const opensReview = (item: Pick<StoredVerdict, 'status' | 'decision'>): boolean =>
  item.status === 'COMPLETED' && item.decision === 'REVIEW';

/** Whether a review is waiting for a reviewer. */
export const isOpenReview = (item: Pick<StoredVerdict, 'review'>): boolean =>
  item.review?.state === 'OPEN';

/**
 * The record after a reviewer's decision. Throws `NotReviewableError` for anything not COMPLETED
 * and `ReviewConflictError` for a closed review without `reopen`. A record written before round 2
 * (no `machine_decision`, no `history`) gets both from what it says, so its trail starts right.
 */
export function applyReview(
  item: StoredVerdict,
  input: ReviewInput,
  reviewer: string,
  now: number,
): StoredVerdict {
  if (item.status !== 'COMPLETED' || item.decision === null) throw new NotReviewableError();
  if (item.review?.state === 'CLOSED' && !input.reopen) {
    throw new ReviewConflictError(
      'the review is already closed; send "reopen": true to decide it again (an appeal)',
    );
  }
  const at = new Date(now).toISOString();
  const machineDecision = item.machine_decision ?? item.decision;
  const history: HistoryEntry[] = item.history ?? [
    {
      at: item.completed_at ?? item.updated_at,
      actor: SYSTEM_ACTOR,
      action: 'DECIDED',
      decision: machineDecision,
    },
  ];
  const { review_selfie_key: _kept, ...rest } = item;
  return {
    ...rest,
    decision: input.decision,
    // The machine's reasons stay; only the latest reviewer's word is added.
    reasons: [
      ...item.reasons.filter((reason) => !MANUAL_REASON_CODES.includes(reason)),
      MANUAL_REASONS[input.decision],
    ],
    machine_decision: machineDecision,
    review: {
      state: 'CLOSED',
      opened_at: item.review?.opened_at ?? at,
      decision: input.decision,
      reason: input.reason,
      ...(input.note === undefined ? {} : { note: input.note }),
      reviewer,
      reviewed_at: at,
    },
    history: [
      ...history,
      { at, actor: reviewer, action: 'REVIEWED', decision: input.decision, reason: input.reason },
    ],
    updated_at: at,
  };
}

/** Where selfies kept for reviewers live in the selfie bucket (its own lifecycle rule). */
export const REVIEW_SELFIE_PREFIX = 'review/';

/** The key a verdict's kept selfie is stored under, by its type. */
export const reviewSelfieKey = (verificationId: string, mime: 'image/jpeg' | 'image/png'): string =>
  `${REVIEW_SELFIE_PREFIX}${verificationId}.${mime === 'image/png' ? 'png' : 'jpg'}`;
