/**
 * Who is calling: the IAM principal API Gateway authenticated (SigV4), as the reviewer of a review
 * or the requester of an erasure; `local` from the local shim. Never a value from the body, which
 * anyone could write.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { FacematchError } from '../core/errors.ts';

/** `userArn` for IAM callers, else `caller`; 403 with `code` for a caller with neither. */
export function callerPrincipal(event: APIGatewayProxyEvent, code: string): string {
  const identity = event.requestContext?.identity;
  const principal = identity?.userArn ?? identity?.caller;
  if (!principal) {
    // Only an unauthenticated route could get here: IAM authorization always names the caller.
    throw new FacematchError('the caller has no IAM identity', { code, status: 403 });
  }
  return principal;
}
