/**
 * The review routes of the API entrance (DESIGN.md "Review, subjects, worklists"): the open queue,
 * a reviewer's decision and the kept selfie. Thin: parse, call core/review-service.ts, answer. The
 * reviewer is the caller's IAM principal as API Gateway verified it, never a value from the body;
 * the body's note is never logged.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ValidationError } from '../core/errors.ts';
import { isSafeId, validFields } from '../core/request.ts';
import {
  parseReviewBody,
  REVIEW_PAGE_DEFAULT_LIMIT,
  reviewListQueryFields,
} from '../core/review.ts';
import { listOpenReviews, reviewSelfieUrl, reviewVerification } from '../core/review-service.ts';
import { logger } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { jsonResponse, readJsonBody } from './http.ts';
import { callerPrincipal } from './principal.ts';

/** A decision, a reason code and a note of at most 500 characters (4 bytes each at worst). */
const REVIEW_BODY_MAX_BYTES = 8 * 1024;

/** The path's verification id, checked as ids are everywhere (400 otherwise). */
export function verificationIdOf(event: APIGatewayProxyEvent): string {
  const id = event.pathParameters?.verification_id ?? '';
  if (!isSafeId(id)) {
    throw new ValidationError('invalid verification id', [
      { path: 'verification_id', message: 'not a valid verification id' },
    ]);
  }
  logger.appendKeys({ verification_id: id });
  return id;
}

/** The reviewer: the caller's IAM principal (lambda/handlers/principal.ts). */
export const reviewerOf = (event: APIGatewayProxyEvent): string =>
  callerPrincipal(event, 'REVIEWER_UNKNOWN');

export async function listReviews(
  runtime: Runtime,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> {
  const fields = validFields(reviewListQueryFields, event.queryStringParameters ?? {});
  const page = await listOpenReviews(runtime.review, {
    limit: fields.limit === undefined ? REVIEW_PAGE_DEFAULT_LIMIT : Number(fields.limit),
    cursor: fields.cursor,
  });
  return jsonResponse(200, page);
}

export async function postReview(
  runtime: Runtime,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> {
  const id = verificationIdOf(event);
  const reviewer = reviewerOf(event);
  const input = parseReviewBody(readJsonBody(event, REVIEW_BODY_MAX_BYTES));
  return jsonResponse(200, await reviewVerification(runtime.review, id, input, reviewer));
}

export async function getReviewSelfie(
  runtime: Runtime,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> {
  return jsonResponse(200, await reviewSelfieUrl(runtime.review, verificationIdOf(event)));
}
