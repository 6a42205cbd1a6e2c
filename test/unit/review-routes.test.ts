import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../lambda/handlers/api-handler.ts';
import { createSweeperHandler } from '../../lambda/handlers/sweeper-handler.ts';
import { referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { lambdaContext } from '../../local/lambda-shim.ts';
import {
  apiEvent,
  captureOutput,
  type OutputCapture,
  postVerificationEvent,
} from '../support/events.ts';
import { personWith } from '../support/people.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const niLuh = personWith('borderline');
/** The fixture's IAM caller (test/fixtures/aws-events/apigw-rest-iam-auth.json). */
const FIXTURE_USER_ARN = 'arn:aws:sts::123456789012:assumed-role/Admin/aamorosi';
const NOTE = 'private remark: quokka-7731';

describe('the review routes through the API handler (IAM caller)', () => {
  let local: TestRuntime;
  let handler: ReturnType<typeof createApiHandler>;
  let output: OutputCapture;
  const id = `rr-${randomUUID().slice(0, 8)}`;

  const invoke = (event: APIGatewayProxyEvent) =>
    handler(event, lambdaContext('facematch-api', 28_000)) as Promise<APIGatewayProxyResult>;
  const reviewEvent = (
    body: unknown,
    identity?: Partial<APIGatewayProxyEvent['requestContext']['identity']>,
  ) => {
    const event = apiEvent({
      method: 'POST',
      resource: '/verifications/{verification_id}/review',
      path: `/verifications/${id}/review`,
      pathParameters: { verification_id: id },
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
    });
    if (identity) event.requestContext.identity = { ...event.requestContext.identity, ...identity };
    return event;
  };
  const listEvent = (query: Record<string, string> | null) => ({
    ...apiEvent({ method: 'GET', resource: '/verifications' }),
    queryStringParameters: query,
  });

  beforeAll(async () => {
    output = captureOutput();
    local = await startTestRuntime({ quiet: false });
    handler = createApiHandler(local.runtime);
    const verdict = await invoke(
      postVerificationEvent({
        verification_id: id,
        nik: niLuh.nik,
        name: niLuh.name,
        date_of_birth: niLuh.date_of_birth,
        selfie_image: referenceSelfie(niLuh.nik).dataUri,
      }),
    );
    expect(JSON.parse(verdict.body).decision).toBe('REVIEW');
  });

  afterAll(async () => {
    output?.restore();
    await local?.stop();
  });

  it('refuses a request whose caller has no IAM identity, before reading the body', async () => {
    // Act
    const result = await invoke(
      reviewEvent({ decision: 'APPROVED', reason: 'OTHER' }, { userArn: null, caller: null }),
    );

    // Assess
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body).code).toBe('REVIEWER_UNKNOWN');
  });

  it('lists every invalid query parameter', async () => {
    // Act
    const result = await invoke(listEvent({ review: 'closed', limit: '101' }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).errors.map((issue: { path: string }) => issue.path)).toEqual([
      'review',
      'limit',
    ]);
  });

  it("measures the open queue's age after each sweeper run, for the review SLA alarm", async () => {
    // Prepare
    const from = output.chunks.length;
    const sweeper = createSweeperHandler(local.runtime, { requeue: async () => {} });

    // Act
    await sweeper({}, lambdaContext('facematch-sweeper', 60_000));

    // Assess
    const ages = output
      .jsonLines(from)
      .filter((line) => 'OldestOpenReviewAgeSeconds' in line)
      .map((line) => line.OldestOpenReviewAgeSeconds);
    expect(ages).toHaveLength(1);
    expect(ages[0]).toBeGreaterThanOrEqual(0);
  });

  it("records the caller's userArn as the reviewer, whatever the body says, and logs no note", async () => {
    // Prepare
    const from = output.chunks.length;

    // Act
    const result = await invoke(
      reviewEvent({
        decision: 'REJECTED',
        reason: 'FACE_NOT_CONFIRMED',
        note: NOTE,
        reviewer: 'someone-else',
      }),
    );

    // Assess
    expect(result.statusCode).toBe(200);
    const record = JSON.parse(result.body);
    expect(record.review.reviewer).toBe(FIXTURE_USER_ARN);
    expect(record.history[1].actor).toBe(FIXTURE_USER_ARN);
    const logged = output.chunks
      .slice(from)
      .map((chunk) => chunk.text)
      .join('');
    expect(logged).toContain('review decided');
    expect(logged).not.toContain(NOTE);
    expect(logged).not.toContain('quokka');
  });

  it('answers the queue as {items, next_cursor}', async () => {
    // Act
    const result = await invoke(listEvent({ review: 'open', limit: '5' }));

    // Assess
    expect(result.statusCode).toBe(200);
    const page = JSON.parse(result.body);
    expect(Object.keys(page).sort()).toEqual(['items', 'next_cursor']);
    expect(
      page.items.map((item: { verification_id: string }) => item.verification_id),
    ).not.toContain(id);
  });
});
