/**
 * API Gateway's own refusals (throttling, SigV4, a body the model refuses) reach the same
 * clients as the handler's: rendered as API Gateway renders them, each is a Problem of the
 * OpenAPI document, `code` included.
 */
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../lib/openapi.ts';
import { GATEWAY_PROBLEMS, problemTemplate } from '../../lib/verification-api.ts';
import { ApiConformance } from '../support/conformance.ts';

/** API Gateway's substitution: `messageString` is already a quoted JSON string. */
const render = (template: string, responseType: string) =>
  template
    .replaceAll('$context.error.messageString', JSON.stringify('Too Many Requests'))
    .replaceAll('$context.error.responseType', responseType);

describe("API Gateway's own problem documents", () => {
  const checker = new ApiConformance(openApiDocument({ local: true }));

  it.each(
    // DEFAULT_4XX keeps the gateway's status, which a template cannot name: it has no `status`.
    GATEWAY_PROBLEMS.filter((problem) => problem.status !== undefined).map((problem) => [
      problem.type.responseType,
      problem,
    ]),
  )('%s renders a Problem with a code', (responseType, problem) => {
    // Act
    const body = render(problemTemplate(problem), String(responseType));

    // Assess
    const problemDocument = JSON.parse(body);
    expect(problemDocument).toMatchObject({ status: problem.status });
    expect(checker.schemaViolations('Problem', problemDocument)).toEqual([]);
  });
});
