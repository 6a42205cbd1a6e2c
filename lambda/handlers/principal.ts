/**
 * Who is calling: the IAM principal API Gateway authenticated (SigV4), as the reviewer of a review
 * or the requester of an erasure. Never a value from the body, which anyone could write.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';

export function callerPrincipal(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  const principal = identity?.userArn ?? identity?.caller;
  if (!principal) {
    // Every method is IAM-authorized, so API Gateway always names the caller; the local shim
    // names `local`. An event without one did not come through either.
    throw new Error('the request carries no authenticated principal');
  }
  return principal;
}
