/**
 * The API entrance, as a function of a runtime: `api.ts` binds it to the Lambda's runtime, the
 * local server and the tests bind it to theirs. It turns API Gateway REST proxy events into
 * `VerificationRequest`s and records into responses; it knows nothing of IDmeta.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { FacematchError } from '../core/errors.ts';
import { parseVerificationBody } from '../core/request.ts';
import { maxSelfieTextLength } from '../core/selfie.ts';
import { getVerification, startPendingVerification, verify } from '../core/verify.ts';
import { logger, recordLocalRefusal } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { httpProblems, jsonResponse, MethodNotAllowedError, readJsonBody } from './http.ts';
import { invocationBudget } from './invocation.ts';
import { getReviewSelfie, listReviews, postReview, verificationIdOf } from './review-routes.ts';
import { eraseDataSubject, searchDataSubject } from './subject-routes.ts';

/** Kept back from the Lambda's remaining time so the response still gets out. */
const RESPONSE_RESERVE_MS = 500;

async function postVerification(
  runtime: Runtime,
  event: APIGatewayProxyEvent,
  context: Context,
): Promise<APIGatewayProxyResult> {
  const { deps } = runtime;
  const limits = deps.settings.selfieLimits;
  // The body holds the selfie as base64 plus a few short fields.
  const body = readJsonBody(event, maxSelfieTextLength(limits) + 16 * 1024);
  let parsed: ReturnType<typeof parseVerificationBody>;
  try {
    parsed = parseVerificationBody(body, { limits, now: deps.clock.now() });
  } catch (error) {
    if (error instanceof FacematchError) recordLocalRefusal(error, 'api');
    throw error;
  }
  if (parsed.verificationId) logger.appendKeys({ verification_id: parsed.verificationId });
  const request = { ...parsed, source: 'api' as const };
  const budget = invocationBudget(context, RESPONSE_RESERVE_MS);

  if (request.selfie.kind === 'none') {
    const outcome = await startPendingVerification(request, deps, budget);
    logger.appendKeys({ verification_id: outcome.record.verification_id });
    const status = outcome.record.status === 'PENDING' ? 202 : 200;
    return jsonResponse(
      status,
      outcome.upload ? { ...outcome.record, upload: outcome.upload } : outcome.record,
      replayHeaders(outcome.replayed),
    );
  }
  const outcome = await verify(request, deps, budget);
  logger.appendKeys({ verification_id: outcome.record.verification_id });
  return jsonResponse(200, outcome.record, replayHeaders(outcome.replayed));
}

/** The header that says an identical earlier request's stored answer was returned. */
export const REPLAYED_HEADER = 'facematch-replayed';

const replayHeaders = (replayed: boolean): Record<string, string> =>
  replayed ? { [REPLAYED_HEADER]: 'true' } : {};

async function getVerificationById(
  runtime: Runtime,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> {
  return jsonResponse(200, await getVerification(verificationIdOf(event), runtime.deps));
}

type Route =
  | 'post'
  | 'get'
  | 'list-reviews'
  | 'review'
  | 'review-selfie'
  | 'subject-search'
  | 'subject-erase';

/** Each resource's methods, and the route each one takes. */
const ROUTES: Record<string, Record<string, Route>> = {
  '/verifications': { POST: 'post', GET: 'list-reviews' },
  '/verifications/{verification_id}': { GET: 'get' },
  '/verifications/{verification_id}/review': { POST: 'review' },
  '/verifications/{verification_id}/selfie': { GET: 'review-selfie' },
  '/data-subjects/search': { POST: 'subject-search' },
  '/data-subjects/erase': { POST: 'subject-erase' },
};

function route(event: APIGatewayProxyEvent): Route | 'not-found' | 'method-not-allowed' {
  const methods = ROUTES[event.resource];
  if (methods === undefined) return 'not-found';
  return methods[event.httpMethod] ?? 'method-not-allowed';
}

export function createApiHandler(runtime: Runtime) {
  const apiHandler = async (
    event: APIGatewayProxyEvent,
    context: Context,
  ): Promise<APIGatewayProxyResult> => {
    switch (route(event)) {
      case 'post':
        return postVerification(runtime, event, context);
      case 'get':
        return getVerificationById(runtime, event);
      case 'list-reviews':
        return listReviews(runtime, event);
      case 'review':
        return postReview(runtime, event);
      case 'review-selfie':
        return getReviewSelfie(runtime, event);
      case 'subject-search':
        return searchDataSubject(runtime, event);
      case 'subject-erase':
        return eraseDataSubject(runtime, event);
      case 'method-not-allowed':
        throw new MethodNotAllowedError(
          event.httpMethod,
          event.resource,
          Object.keys(ROUTES[event.resource] ?? {}).join(', '),
        );
      default:
        throw new FacematchError('no such route', { code: 'ROUTE_NOT_FOUND', status: 404 });
    }
  };
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>(apiHandler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpProblems());
}
