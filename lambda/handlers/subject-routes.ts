/**
 * `POST /data-subjects/search` and `POST /data-subjects/erase`: a privacy officer's access and
 * erasure requests (UU PDP). Each is its own API Gateway method, so IAM grants them apart from
 * verifying. The NIK comes in the body and leaves only masked; nothing personal is logged.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { parseSubjectBody } from '../core/request.ts';
import { eraseSubject, searchSubject } from '../core/subjects.ts';
import { logger } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { jsonResponse, readJsonBody } from './http.ts';
import { callerPrincipal } from './principal.ts';

/** A NIK and a little JSON around it. */
const SUBJECT_BODY_MAX_BYTES = 4 * 1024;

export async function searchDataSubject(
  runtime: Runtime,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> {
  const { nik } = parseSubjectBody(readJsonBody(event, SUBJECT_BODY_MAX_BYTES));
  const result = await searchSubject(nik, runtime.subjects);
  logger.info('data subject searched', { verifications: result.verifications.length });
  return jsonResponse(200, result);
}

export async function eraseDataSubject(
  runtime: Runtime,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> {
  const { nik } = parseSubjectBody(readJsonBody(event, SUBJECT_BODY_MAX_BYTES));
  const result = await eraseSubject(
    nik,
    callerPrincipal(event, 'REQUESTER_UNKNOWN'),
    runtime.subjects,
  );
  logger.info('data subject erased', { receipt_id: result.receipt_id, ...result.erased });
  return jsonResponse(200, result);
}
