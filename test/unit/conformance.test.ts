/**
 * The conformance checker must be able to fail: each case feeds it an answer that departs from
 * the OpenAPI document in one way, and expects that departure named. The end-to-end suites rely
 * on it (test/support/conformance.ts) to hold every answer they receive to the document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../lib/openapi.ts';
import {
  ApiConformance,
  ConformanceError,
  conformingFetch,
  expectConformingResult,
  type ObservedResponse,
} from '../support/conformance.ts';
import { type FakeHttpServer, json, startFakeHttp } from '../support/fake-http.ts';
import { COMPLETED_RECORD } from '../support/records.ts';

const checker = new ApiConformance(openApiDocument({ local: true }));

const RECORD = COMPLETED_RECORD;

const UPLOAD = {
  url: 'http://127.0.0.1:4569/b',
  fields: { key: 'incoming/v-1.jpg' },
  expires_at: 'x',
};

const problemBody = (status: number, code: string) =>
  JSON.stringify({ type: 'urn:facematch:problem:x', title: 'T', status, detail: 'd', code });

const PROBLEM_TYPE = { 'content-type': 'application/problem+json' };
const JSON_TYPE = { 'content-type': 'application/json' };

const answer = (overrides: Partial<ObservedResponse>): ObservedResponse => ({
  method: 'POST',
  path: '/verifications',
  status: 200,
  headers: JSON_TYPE,
  body: JSON.stringify(RECORD),
  ...overrides,
});

describe('the conformance checker', () => {
  it.each<[string, ObservedResponse]>([
    ['a verdict', answer({})],
    ['a replayed verdict', answer({ headers: { ...JSON_TYPE, 'Facematch-Replayed': 'true' } })],
    [
      'a 202 with its upload',
      answer({
        status: 202,
        body: JSON.stringify({ ...RECORD, status: 'PENDING', upload: UPLOAD }),
      }),
    ],
    [
      'a 503 with Retry-After',
      answer({
        method: 'GET',
        path: '/verifications/v-1',
        status: 503,
        headers: { ...PROBLEM_TYPE, 'Retry-After': '1' },
        body: problemBody(503, 'SERVICE_UNAVAILABLE'),
      }),
    ],
    [
      'a 405 whose Allow lists the documented method',
      answer({
        method: 'DELETE',
        path: '/verifications/v-1',
        status: 405,
        headers: { ...PROBLEM_TYPE, allow: 'GET' },
        body: problemBody(405, 'METHOD_NOT_ALLOWED'),
      }),
    ],
    [
      'a 404 for a path the document does not list',
      answer({
        method: 'GET',
        path: '/nowhere',
        status: 404,
        headers: PROBLEM_TYPE,
        body: problemBody(404, 'ROUTE_NOT_FOUND'),
      }),
    ],
    [
      "the local server's refusal of a cross-site call",
      answer({
        path: '/data-subjects/erase',
        status: 403,
        headers: PROBLEM_TYPE,
        body: problemBody(403, 'FORBIDDEN_ORIGIN'),
      }),
    ],
  ])('accepts %s', (_name, response) => {
    expect(checker.violations(response)).toEqual([]);
  });

  it.each<[string, ObservedResponse, RegExp]>([
    ['an undocumented status', answer({ status: 418 }), /status 418 is not documented/],
    [
      'a 202 without its upload',
      answer({ status: 202, body: JSON.stringify({ ...RECORD, status: 'PENDING' }) }),
      /must have required property 'upload'/,
    ],
    [
      "a problem without `code` (the local server's 413 before issue 18)",
      answer({
        status: 413,
        headers: PROBLEM_TYPE,
        body: JSON.stringify({ type: 't', title: 'Content Too Large', status: 413, detail: 'd' }),
      }),
      /must have required property 'code'/,
    ],
    [
      'a 503 without Retry-After',
      answer({ status: 503, headers: PROBLEM_TYPE, body: problemBody(503, 'DEADLINE_EXCEEDED') }),
      /header Retry-After is required but absent/,
    ],
    [
      'a Retry-After that is not a number of seconds',
      answer({
        status: 504,
        headers: { ...PROBLEM_TYPE, 'retry-after': 'soon' },
        body: problemBody(504, 'IDMETA_TIMEOUT'),
      }),
      /header Retry-After "soon"/,
    ],
    [
      'a 405 without Allow',
      answer({ method: 'PUT', status: 405, headers: PROBLEM_TYPE, body: problemBody(405, 'X') }),
      /header Allow is required but absent/,
    ],
    [
      'a 405 whose Allow differs from the document',
      answer({
        method: 'PUT',
        path: '/verifications/v-1',
        status: 405,
        headers: { ...PROBLEM_TYPE, Allow: 'GET, POST' },
        body: problemBody(405, 'METHOD_NOT_ALLOWED'),
      }),
      /Allow is "GET, POST" but the document lists GET/,
    ],
    [
      'another status for a method the path does not have',
      answer({ method: 'PATCH', status: 200 }),
      /must answer 405/,
    ],
    [
      'a 200 on a path the document does not list',
      answer({ method: 'GET', path: '/verifications/v-1/secret/extra', status: 200 }),
      /must answer 404/,
    ],
    [
      'a problem sent as application/json',
      answer({ status: 400, headers: JSON_TYPE, body: problemBody(400, 'INVALID_REQUEST') }),
      /content type application\/json is not documented/,
    ],
    [
      'a body that is not the JSON it says it is',
      answer({ body: '<html>oops</html>' }),
      /not the application\/json it says it is/,
    ],
    [
      'a decision outside the enum',
      answer({ body: JSON.stringify({ ...RECORD, decision: 'MAYBE' }) }),
      /\/decision/,
    ],
    [
      'Facematch-Replayed other than "true"',
      answer({ headers: { ...JSON_TYPE, 'facematch-replayed': 'false' } }),
      /header Facematch-Replayed "false"/,
    ],
    [
      'a 403 that is not the local refusal',
      answer({ status: 403, headers: PROBLEM_TYPE, body: problemBody(403, 'ACCESS_DENIED') }),
      /\/code must be equal to constant/,
    ],
  ])('refuses %s', (_name, response, violation) => {
    // Act
    const violations = checker.violations(response);

    // Assess
    expect(violations.join('\n')).toMatch(violation);
    expect(() => checker.assert(response)).toThrow(ConformanceError);
  });

  it('checks an API Gateway result against its event, by resource template', () => {
    // Prepare
    const event = {
      httpMethod: 'GET',
      resource: '/verifications/{verification_id}',
      path: '/verifications/v-1',
    };

    // Act and assess
    expect(() =>
      expectConformingResult(event, {
        statusCode: 200,
        headers: JSON_TYPE,
        body: JSON.stringify(RECORD),
      }),
    ).not.toThrow();
    expect(() =>
      expectConformingResult(event, {
        statusCode: 200,
        headers: JSON_TYPE,
        body: JSON.stringify({ ...RECORD, attempts: -1 }),
      }),
    ).toThrow(/attempts must be >= 0/);
  });
});

describe('conformingFetch', () => {
  let server: FakeHttpServer;

  beforeAll(async () => {
    server = await startFakeHttp((request) => {
      if (request.path === '/openapi.json') return json(200, openApiDocument({ local: true }));
      if (request.path === '/verifications/good') return json(200, RECORD);
      // The local server's 413 as issue 18 found it: no `code`.
      return {
        status: 413,
        headers: PROBLEM_TYPE,
        body: JSON.stringify({ type: 't', title: 'Content Too Large', status: 413, detail: 'd' }),
      };
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('returns a conforming answer unread, and rejects one outside the served document', async () => {
    // Act
    const good = await conformingFetch(`${server.url}/verifications/good`);
    const bad = conformingFetch(`${server.url}/verifications`, { method: 'POST', body: '{}' });

    // Assess
    expect(await good.json()).toEqual(RECORD);
    await expect(bad).rejects.toThrow(ConformanceError);
    await expect(bad).rejects.toThrow(/POST \/verifications -> 413 .*\n- body .*'code'/);
    // The document came from the server itself, once.
    expect(server.requests.filter((request) => request.path === '/openapi.json')).toHaveLength(1);
  });
});
