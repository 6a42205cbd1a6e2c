import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecret } from '../../lambda/adapters/token-source.ts';
import { createApiHandler } from '../../lambda/handlers/api-handler.ts';
import type { Runtime } from '../../lambda/runtime.ts';
import { loadRegistry, referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { lambdaContext } from '../../local/lambda-shim.ts';
import { expectConformingResult } from '../support/conformance.ts';
import {
  apiEvent,
  captureOutput,
  getVerificationEvent,
  type OutputCapture,
  postVerificationEvent,
} from '../support/events.ts';
import {
  startTestRuntime,
  TEST_TEMPLATE_ID,
  type TestRuntime,
  withTokenSource,
} from '../support/runtime.ts';

/** Small enough that oversized cases stay cheap; every registry selfie (<= 14 KB) fits. */
const SELFIE_MAX_BYTES = 16 * 1024;

const people = loadRegistry().people;
const person = (index: number) => {
  const found = people[index];
  if (found === undefined) throw new Error(`no registry person ${index}`);
  return found;
};
const agus = person(0);
const siti = person(1);
const identityOf = (who: typeof agus) => ({
  nik: who.nik,
  name: who.name,
  date_of_birth: who.date_of_birth,
});
const agusSelfie = referenceSelfie(agus.nik);

/** A verification id no other case uses. */
const newId = (label: string) => `api-${label}-${randomUUID().slice(0, 8)}`;

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: Array<{ path: string; message: string }>;
}

const bodyOf = <T = Record<string, unknown>>(result: APIGatewayProxyResult): T =>
  JSON.parse(result.body) as T;

const headerOf = (result: APIGatewayProxyResult, name: string) =>
  Object.entries(result.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

/** A problem document as DESIGN.md defines it, with the status of the response. */
function expectProblem(result: APIGatewayProxyResult, status: number, code: string): Problem {
  expect(result.statusCode).toBe(status);
  expect(headerOf(result, 'content-type')).toBe('application/problem+json');
  const problem = bodyOf<Problem>(result);
  expect(problem).toMatchObject({ status, code, type: expect.stringMatching(/^urn:facematch:/) });
  expect(problem.title).toEqual(expect.any(String));
  expect(problem.detail).toEqual(expect.any(String));
  return problem;
}

describe('API handler with API Gateway REST proxy events (IAM caller)', () => {
  let local: TestRuntime;
  let handler: ReturnType<typeof createApiHandler>;
  /** The handlers' logs and metrics: kept out of the test output, and read by some cases. */
  let output: OutputCapture;

  /** Every result is held to the OpenAPI document: one outside it fails the case. */
  const invoke = async (event: APIGatewayProxyEvent, withHandler = handler) => {
    const result = (await withHandler(
      event,
      lambdaContext('facematch-api', 28_000),
    )) as APIGatewayProxyResult;
    expectConformingResult(event, result);
    return result;
  };

  const facematchCalls = (verificationId: string) =>
    local.simulator
      .calls()
      .filter(
        (call) => call.endpoint === 'dukcapilfacematch' && call.verificationId === verificationId,
      );

  beforeAll(async () => {
    output = captureOutput();
    // Two short IDmeta attempts, so the fault cases take well under two seconds.
    local = await startTestRuntime({
      quiet: false,
      env: {
        SELFIE_MAX_BYTES: String(SELFIE_MAX_BYTES),
        IDMETA_MAX_ATTEMPTS: '2',
        IDMETA_TIMEOUT_MS: '750',
      },
    });
    handler = createApiHandler(local.runtime);
  });

  afterAll(async () => {
    output?.restore();
    await local?.stop();
  });

  describe('POST /verifications', () => {
    const inlineId = newId('inline');

    it('answers 200 and the verdict record for an inline selfie', async () => {
      // Prepare
      const event = postVerificationEvent({
        verification_id: inlineId,
        ...identityOf(agus),
        selfie_image: agusSelfie.dataUri,
      });

      // Act
      const result = await invoke(event);

      // Assess
      expect(result.statusCode).toBe(200);
      expect(headerOf(result, 'content-type')).toBe('application/json');
      const record = bodyOf(result);
      expect(record).toMatchObject({
        verification_id: inlineId,
        template_id: TEST_TEMPLATE_ID,
        status: 'COMPLETED',
        decision: 'APPROVED',
        source: 'api',
        nik_masked: `${agus.nik.slice(0, 4)}********${agus.nik.slice(-4)}`,
        face_similarity: Number(agusSelfie.score),
        matches: { nik: true, name: true, date_of_birth: true },
      });
      expect(record).not.toHaveProperty('nik_hash');
      expect(record).not.toHaveProperty('sealed_identity');
      expect(result.body).not.toContain(agus.nik);
      expect(result.body).not.toContain(agus.name);
      expect(facematchCalls(inlineId)).toHaveLength(1);
    });

    it('replays the stored record for the same id and does not call IDmeta again', async () => {
      // Prepare: the request of the previous case, verbatim.
      const first = await invoke(getVerificationEvent(inlineId));
      const event = postVerificationEvent({
        verification_id: inlineId,
        ...identityOf(agus),
        selfie_image: agusSelfie.dataUri,
      });

      // Act
      const result = await invoke(event);

      // Assess
      expect(result.statusCode).toBe(200);
      expect(bodyOf(result)).toEqual(bodyOf(first));
      expect(result.headers?.['facematch-replayed']).toBe('true');
      expect(facematchCalls(inlineId)).toHaveLength(1);
    });

    it('answers 409 when the same id is used for a different person', async () => {
      // Prepare
      const event = postVerificationEvent({
        verification_id: inlineId,
        ...identityOf(siti),
        selfie_image: referenceSelfie(siti.nik).dataUri,
      });

      // Act
      const result = await invoke(event);

      // Assess
      expectProblem(result, 409, 'VERIFICATION_ID_CONFLICT');
      expect(result.body).not.toContain(siti.nik);
      expect(result.body).not.toContain(siti.name);
      // The differing fields, by path only.
      const paths = (JSON.parse(result.body) as { errors: { path: string }[] }).errors.map(
        (issue) => issue.path,
      );
      expect(paths).toEqual(expect.arrayContaining(['nik', 'name', 'selfie_image']));
      expect(facematchCalls(inlineId)).toHaveLength(1);
    });

    it('answers 202, a PENDING record and a presigned POST when there is no selfie', async () => {
      // Prepare
      const id = newId('pending');
      const before = Date.now();

      // Act
      const result = await invoke(
        postVerificationEvent({ verification_id: id, ...identityOf(agus) }),
      );

      // Assess
      expect(result.statusCode).toBe(202);
      const body = bodyOf<{
        status: string;
        decision: unknown;
        upload: { url: string; fields: Record<string, string>; expires_at: string };
      }>(result);
      expect(body).toMatchObject({ verification_id: id, status: 'PENDING', decision: null });
      expect(body.upload.url).toBe(`${local.localAws.s3Endpoint}/${local.localAws.bucket}`);
      expect(body.upload.fields).toMatchObject({
        key: `incoming/${id}.jpg`,
        'Content-Type': 'image/jpeg',
        Policy: expect.any(String),
        'X-Amz-Signature': expect.any(String),
      });
      const policy = JSON.parse(Buffer.from(body.upload.fields.Policy ?? '', 'base64').toString());
      expect(policy.conditions).toContainEqual(['content-length-range', 1, SELFIE_MAX_BYTES]);
      expect(policy.conditions).toContainEqual({ key: `incoming/${id}.jpg` });
      expect(policy.conditions).toContainEqual({ 'x-amz-meta-verification-id': id });
      const expiresAt = Date.parse(body.upload.expires_at);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000 - 1_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
      expect(result.body).not.toContain(agus.nik);
      expect(facematchCalls(id)).toHaveLength(0);
    });

    it('answers 409 when a PENDING id is asked for again for a different person', async () => {
      // Prepare
      const id = newId('pending-conflict');
      const first = await invoke(
        postVerificationEvent({ verification_id: id, ...identityOf(agus) }),
      );

      // Act
      const result = await invoke(
        postVerificationEvent({ verification_id: id, ...identityOf(siti) }),
      );

      // Assess
      expect(first.statusCode).toBe(202);
      expectProblem(result, 409, 'VERIFICATION_ID_CONFLICT');
    });

    it('creates the verification id through IDmeta when none is given, and finalises it', async () => {
      // Prepare
      const calls = local.simulator.calls().length;

      // Act
      const result = await invoke(
        postVerificationEvent({ ...identityOf(agus), selfie_image: agusSelfie.dataUri }),
      );

      // Assess
      expect(result.statusCode).toBe(200);
      const record = bodyOf<{ verification_id: string }>(result);
      expect(record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
      expect(record.verification_id).toMatch(/^sim-/);
      expect(
        local.simulator
          .calls()
          .slice(calls)
          .map((call) => [call.endpoint, call.verificationId]),
      ).toEqual([
        ['create-verification', record.verification_id],
        ['dukcapilfacematch', record.verification_id],
        ['finalize-verification', record.verification_id],
      ]);
    });

    it('hands out an upload for an IDmeta-created id when neither id nor selfie is given', async () => {
      // Act
      const result = await invoke(postVerificationEvent(identityOf(siti)));

      // Assess
      expect(result.statusCode).toBe(202);
      const body = bodyOf<{ verification_id: string; upload: { fields: Record<string, string> } }>(
        result,
      );
      expect(body.verification_id).toMatch(/^sim-/);
      expect(body.upload.fields.key).toBe(`incoming/${body.verification_id}.jpg`);
    });

    it('lists every invalid field in errors[] of a 400 problem', async () => {
      // Prepare
      const event = postVerificationEvent({
        verification_id: '../other',
        template_id: 'a/b',
        nik: '12345',
        name: 'R2-D2',
        date_of_birth: '31-02-1990',
        selfie_image: 42,
      });

      // Act
      const result = await invoke(event);

      // Assess
      const problem = expectProblem(result, 400, 'INVALID_REQUEST');
      const paths = new Set(problem.errors?.map((issue) => issue.path));
      expect([...paths].sort()).toEqual(
        ['date_of_birth', 'name', 'nik', 'selfie_image', 'template_id', 'verification_id'].sort(),
      );
      for (const issue of problem.errors ?? []) expect(issue.message).toEqual(expect.any(String));
      expect(result.body).not.toContain('12345');
      expect(result.body).not.toContain('R2-D2');
    });

    it('answers 400 to malformed JSON without quoting the body', async () => {
      // Prepare: truncated JSON whose parser message would quote the NIK and the name.
      const text = `{"nik":"${agus.nik}","name":"${agus.name}","date_of_birth":`;

      // Act
      const result = await invoke(postVerificationEvent(text));

      // Assess
      const problem = expectProblem(result, 400, 'MALFORMED_JSON');
      expect(problem.errors).toEqual([{ path: '', message: 'malformed JSON' }]);
      expect(result.body).not.toContain(agus.nik);
      expect(result.body).not.toContain(agus.name);
      expect(result.body).not.toMatch(/Unexpected|position|JSON at/i);
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
      'answers 415 to a %s body',
      async (contentType) => {
        // Prepare
        const event = postVerificationEvent(
          { ...identityOf(agus), selfie_image: agusSelfie.dataUri },
          { headers: { 'Content-Type': contentType } },
        );

        // Act
        const result = await invoke(event);

        // Assess
        expectProblem(result, 415, 'UNSUPPORTED_CONTENT_TYPE');
      },
    );

    it('accepts a base64-encoded body (binary media types)', async () => {
      // Prepare
      const id = newId('base64');
      const json = JSON.stringify({
        verification_id: id,
        ...identityOf(agus),
        selfie_image: agusSelfie.dataUri,
      });
      const event = postVerificationEvent(Buffer.from(json).toString('base64'), {
        isBase64Encoded: true,
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
      });

      // Act
      const result = await invoke(event);

      // Assess
      expect(result.statusCode).toBe(200);
      expect(bodyOf(result)).toMatchObject({ verification_id: id, decision: 'APPROVED' });
    });

    it('answers 413 to a selfie over SELFIE_MAX_BYTES, before any IDmeta call', async () => {
      // Prepare: a JPEG header and enough bytes to pass the limit.
      const id = newId('large-selfie');
      const bytes = Buffer.alloc(SELFIE_MAX_BYTES + 1, 0x41);
      bytes.set([0xff, 0xd8, 0xff, 0xe0]);
      const event = postVerificationEvent({
        verification_id: id,
        ...identityOf(agus),
        selfie_image: `data:image/jpeg;base64,${bytes.toString('base64')}`,
      });

      // Act
      const result = await invoke(event);

      // Assess
      expectProblem(result, 413, 'SELFIE_TOO_LARGE');
      expect(facematchCalls(id)).toHaveLength(0);
      expectProblem(await invoke(getVerificationEvent(id)), 404, 'VERIFICATION_NOT_FOUND');
    });

    it('answers 413 to a body larger than any valid request, unparsed', async () => {
      // Prepare
      const event = postVerificationEvent(`{"selfie_image":"${'A'.repeat(SELFIE_MAX_BYTES * 4)}"}`);

      // Act
      const result = await invoke(event);

      // Assess
      expectProblem(result, 413, 'BODY_TOO_LARGE');
    });

    it('answers 415 to a GIF selfie, whatever its data URI claims', async () => {
      // Prepare
      const id = newId('gif');
      const gif = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(600, 7)]);
      const event = postVerificationEvent({
        verification_id: id,
        ...identityOf(agus),
        selfie_image: `data:image/jpeg;base64,${gif.toString('base64')}`,
      });

      // Act
      const result = await invoke(event);

      // Assess
      expectProblem(result, 415, 'SELFIE_UNSUPPORTED_TYPE');
      expect(facematchCalls(id)).toHaveLength(0);
    });

    it('answers 502 with Retry-After when IDmeta answers 503 on every attempt', async () => {
      // Prepare: IDMETA_MAX_ATTEMPTS is 2.
      const id = newId('storm');
      local.simulator.scriptFaults([{ status: 503 }, { status: 503 }], { verificationId: id });

      // Act
      const result = await invoke(
        postVerificationEvent({
          verification_id: id,
          ...identityOf(agus),
          selfie_image: agusSelfie.dataUri,
        }),
      );

      // Assess
      const problem = expectProblem(result, 502, 'IDMETA_UNAVAILABLE');
      expect(headerOf(result, 'retry-after')).toBe('1');
      expect(problem.detail).not.toMatch(/sim-local-token|Bearer/);
      expect(facematchCalls(id).map((call) => call.httpStatus)).toEqual([503, 503]);
      // The id is released, not burnt: a later retry may claim it.
      const record = bodyOf(await invoke(getVerificationEvent(id)));
      expect(record).toMatchObject({ status: 'PENDING', error: { code: 'IDMETA_UNAVAILABLE' } });
    });

    it('answers 504 when IDmeta hangs past the timeout on every attempt', async () => {
      // Prepare
      const id = newId('hang');
      local.simulator.scriptFaults([{ hang: true }, { hang: true }], { verificationId: id });

      // Act
      const result = await invoke(
        postVerificationEvent({
          verification_id: id,
          ...identityOf(agus),
          selfie_image: agusSelfie.dataUri,
        }),
      );

      // Assess
      expectProblem(result, 504, 'IDMETA_TIMEOUT');
      expect(facematchCalls(id)).toHaveLength(2);
    });
  });

  describe('GET /verifications/{verification_id}', () => {
    it('answers 200 and the stored record', async () => {
      // Prepare
      const id = newId('get');
      const posted = await invoke(
        postVerificationEvent({
          verification_id: id,
          ...identityOf(agus),
          selfie_image: agusSelfie.dataUri,
        }),
      );

      // Act
      const result = await invoke(getVerificationEvent(id));

      // Assess
      expect(result.statusCode).toBe(200);
      expect(headerOf(result, 'content-type')).toBe('application/json');
      expect(bodyOf(result)).toEqual(bodyOf(posted));
    });

    it('answers 404 for an unknown id', async () => {
      // Act
      const result = await invoke(getVerificationEvent(newId('unknown')));

      // Assess
      expectProblem(result, 404, 'VERIFICATION_NOT_FOUND');
    });

    it.each(['../etc', 'has space', '-leading-dash', 'x'.repeat(129)])(
      'answers 400 for the invalid id %j',
      async (id) => {
        // Act
        const result = await invoke(getVerificationEvent(id));

        // Assess
        const problem = expectProblem(result, 400, 'INVALID_REQUEST');
        expect(problem.errors?.map((issue) => issue.path)).toEqual(['verification_id']);
      },
    );
  });

  describe('routing', () => {
    it('answers 404 for a route the API does not have', async () => {
      // Act
      const result = await invoke(apiEvent({ method: 'GET', resource: '/iam' }));

      // Assess
      expectProblem(result, 404, 'ROUTE_NOT_FOUND');
    });

    it.each([
      ['PUT', '/verifications'],
      ['DELETE', '/verifications'],
      ['DELETE', '/verifications/{verification_id}'],
      ['POST', '/verifications/{verification_id}'],
      ['GET', '/verifications/{verification_id}/review'],
      ['DELETE', '/verifications/{verification_id}/selfie'],
    ])('answers 405 to %s %s', async (method, resource) => {
      // Act
      const result = await invoke(
        apiEvent({ method, resource, pathParameters: { verification_id: 'v-1' } }),
      );

      // Assess
      expectProblem(result, 405, 'METHOD_NOT_ALLOWED');
    });

    // RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405
    // response containing a list of the target resource's currently supported methods."
    it('names the allowed methods in an Allow header of a 405', async () => {
      // Act
      const post = await invoke(apiEvent({ method: 'DELETE', resource: '/verifications' }));
      const get = await invoke(
        apiEvent({
          method: 'DELETE',
          resource: '/verifications/{verification_id}',
          pathParameters: { verification_id: 'v-1' },
        }),
      );

      // Assess
      expect(headerOf(post, 'allow')).toBe('POST, GET');
      expect(headerOf(get, 'allow')).toBe('GET');
    });
  });

  describe('a server-side failure the caller cannot act on', () => {
    const secretArn =
      'arn:aws:secretsmanager:ap-southeast-3:123456789012:secret:facematch/prod/idmeta-token-AbCdEf';
    const secrets = new SecretsManagerClient({ region: 'ap-southeast-3' });
    const secretsMock = mockClient(secrets);
    const id = newId('no-secret');
    /** The API handler of a function whose role lacks secretsmanager:GetSecretValue. */
    let misconfigured: ReturnType<typeof createApiHandler>;

    beforeAll(() => {
      secretsMock
        .on(GetSecretValueCommand)
        .rejects(
          Object.assign(
            new Error(
              'User: arn:aws:sts::123456789012:assumed-role/facematch-api/fn is not authorized',
            ),
            { name: 'AccessDeniedException' },
          ),
        );
      const tokenSource = new SecretsManagerSecret({
        client: secrets,
        secretId: secretArn,
        ttlMs: 0,
        field: 'token',
      });
      misconfigured = createApiHandler({
        ...local.runtime,
        deps: withTokenSource(local.runtime, tokenSource),
      });
    });

    afterAll(() => {
      secretsMock.restore();
      secrets.destroy();
    });

    // Server-side 5xx errors that only an operator can act on must not reach the caller with
    // their internal detail (this once happened): SecretsManagerSecret's
    // SECRET_UNAVAILABLE (500) names the secret's ARN (account id, secret name), ConfigError
    // (500) names the configuration, SealedIdentityError (500) the vault. STYLE.md: "`expose`
    // only below 500; the error handler turns anything unexposed into a plain 500". (IDmeta's
    // own 502/504 are the contract's and stay exposed.)
    it('answers a plain 500 when the IDmeta token secret cannot be read', async () => {
      // Act
      const result = await invoke(
        postVerificationEvent({
          verification_id: id,
          ...identityOf(agus),
          selfie_image: agusSelfie.dataUri,
        }),
        misconfigured,
      );

      // Assess
      expect(result.statusCode).toBe(500);
      expect(result.body).not.toContain('123456789012');
      expect(result.body).not.toContain('idmeta-token');
      expect(result.body).not.toContain('AccessDenied');
      expectProblem(result, 500, 'INTERNAL_ERROR');
    });

    // The same SECRET_UNAVAILABLE error is not transient, yet it is the service's fault, not the
    // person's: the verification must stay open for a retry once the role is fixed, and the
    // record, which GET serves, must not keep the secret's ARN (both once went wrong).
    it('leaves the verification retryable, with no internals in its record', async () => {
      // Prepare: the previous case met the missing permission with this id.
      await invoke(
        postVerificationEvent({
          verification_id: id,
          ...identityOf(agus),
          selfie_image: agusSelfie.dataUri,
        }),
        misconfigured,
      );

      // Act
      const result = await invoke(getVerificationEvent(id));

      // Assess
      expect(result.statusCode).toBe(200);
      expect(result.body).not.toContain('123456789012');
      expect(bodyOf(result).status).not.toBe('FAILED');
    });
  });

  describe('an unexpected exception', () => {
    const internals = `Cannot read properties of undefined (reading 'Item') at 10.0.7.3 ${agus.nik}`;
    /** What the next store call throws. */
    let thrown: Error;
    let broken: ReturnType<typeof createApiHandler>;

    beforeAll(() => {
      const fail = async (): Promise<never> => {
        throw thrown;
      };
      const runtime: Runtime = {
        ...local.runtime,
        deps: {
          ...local.runtime.deps,
          store: {
            get: fail,
            createPending: fail,
            claim: fail,
            sealPending: fail,
            renewPending: fail,
            save: fail,
          },
        },
      };
      broken = createApiHandler(runtime);
    });

    it.each([
      ['GET', () => getVerificationEvent('v-broken')],
      [
        'POST',
        () =>
          postVerificationEvent({
            verification_id: 'v-broken',
            ...identityOf(agus),
            selfie_image: agusSelfie.dataUri,
          }),
      ],
    ])('becomes a plain 500 on %s, without internals', async (_method, event) => {
      // Prepare
      thrown = new TypeError(internals);
      const logged = output.chunks.length;

      // Act
      const result = await invoke(event(), broken);

      // Assess
      const problem = expectProblem(result, 500, 'INTERNAL_ERROR');
      expect(problem).not.toHaveProperty('errors');
      expect(problem).not.toHaveProperty('stack');
      expect(result.body).not.toContain('TypeError');
      expect(result.body).not.toContain('Cannot read');
      expect(result.body).not.toContain('10.0.7.3');
      expect(result.body).not.toContain(agus.nik);
      expect(result.body).not.toMatch(/\.ts:\d+|node_modules|\n\s+at /);
      const log = output.chunks
        .slice(logged)
        .map((chunk) => chunk.text)
        .join('');
      expect(log).toContain('"message":"unexpected error"');
      expect(log).toContain('"error_name":"TypeError"');
      expect(log).not.toContain('Cannot read');
      expect(log).not.toContain(agus.nik);
    });

    // safeErrorFields must log frame lines only. A foreign error whose message spans lines
    // continues past the stack's first line: V8's JSON.parse
    // quotes the text it choked on, newlines included (`Unexpected token 'x', "x\n31740514"...`).
    it('keeps a multi-line error message out of the logged stack frames', async () => {
      // Prepare: a real parser error over text holding a NIK on its second line.
      const parse = () => JSON.parse(`x\n${agus.nik}`) as unknown;
      thrown = (() => {
        try {
          parse();
        } catch (error) {
          return error as Error;
        }
        throw new Error('JSON.parse accepted invalid text');
      })();
      expect(thrown.stack?.split('\n')[1]).toContain(agus.nik.slice(0, 8));
      const logged = output.chunks.length;

      // Act
      const result = await invoke(getVerificationEvent('v-broken'), broken);

      // Assess
      expectProblem(result, 500, 'INTERNAL_ERROR');
      const log = output.chunks
        .slice(logged)
        .map((chunk) => chunk.text)
        .join('');
      expect(log).toContain('"error_name":"SyntaxError"');
      expect(log).not.toContain(agus.nik.slice(0, 8));
    });
  });
});
