/**
 * The bundles the stack deploys, run: each handler's `index.mjs` built by lib/bundling.ts (every
 * plugin it uses: built-ins through `require()`, the SDK's imports redirected past its barrels,
 * Lambda's credentials from the environment), loaded by a plain `node` as Lambda loads it and
 * invoked against dynalite, s3rver, the IDmeta simulator and loopback fakes of Secrets Manager and
 * SQS. The unit and integration suites run the TypeScript; this one proves the build did not
 * change what it does: the lazy chunks (S3's XML protocol, SQS) load and work, Lambda's credentials
 * are read from the environment without the SDK's chain, and whenever the chain would have answered
 * otherwise (a profile, nothing at all) it still does.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveriesTable } from '../../lambda/adapters/webhook-deliveries.ts';
import { formatWebhookSecret } from '../../lambda/core/webhooks.ts';
import {
  BUNDLE_ENTRY_FILE,
  buildBundle,
  esbuildBuildOptions,
  type HandlerName,
  LAMBDA_NODE_OPTIONS,
} from '../../lib/bundling.ts';
import { CREDENTIAL_CHAIN_FILE } from '../../lib/lambda-credentials.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../local/aws-servers.ts';
import {
  getVerificationEvent,
  postVerificationEvent,
  s3NotificationBody,
  sqsEvent,
  sqsRecord,
  uploadMetadata,
  verdictEvent,
} from '../support/events.ts';
import { type FakeHttpServer, json, refusedUrl, startFakeHttp } from '../support/fake-http.ts';
import { agusIdentity, agusSelfie } from '../support/faults.ts';
import { LOCAL_AWS_REGION } from '../support/local-aws.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const CHILD = new URL('../support/bundle-child.mjs', import.meta.url).pathname;
const WEBHOOK_QUEUE_ARN = 'arn:aws:sqs:ap-southeast-3:111122223333:facematch-test-webhook-crm';
const WEBHOOK_KEY = randomBytes(32);

let t: TestRuntime;
let outdir: string;
/** Secrets Manager and SQS, answered by `x-amz-target`. */
let awsFake: FakeHttpServer;

beforeAll(async () => {
  t = await startTestRuntime();
  outdir = await mkdtemp(join(tmpdir(), 'facematch-bundle-runs-'));
  awsFake = await startFakeHttp((request) =>
    request.headers['x-amz-target'] === 'secretsmanager.GetSecretValue'
      ? json(200, {
          ARN: 'arn:aws:secretsmanager:ap-southeast-3:111122223333:secret:facematch/test/webhook',
          Name: 'facematch/test/webhook',
          SecretString: formatWebhookSecret(WEBHOOK_KEY),
        })
      : json(200, {}),
  );
  for (const handler of ['api', 'selfie-uploaded', 'sweeper', 'webhook-sender'] as HandlerName[]) {
    await buildBundle({ ...esbuildBuildOptions(handler, outdir), logLevel: 'error' });
  }
}, 120_000);

afterAll(async () => {
  await awsFake?.close();
  await t?.stop();
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

/** Lambda's environment: the function's variables and the role's credentials. */
const lambdaEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: outdir,
  NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
  AWS_REGION: LOCAL_AWS_REGION,
  AWS_ACCESS_KEY_ID: LOCAL_AWS_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: 'bundle-test-session-token',
  AWS_ENDPOINT_URL_DYNAMODB: t.localAws.dynamoEndpoint,
  AWS_ENDPOINT_URL_S3: t.localAws.s3Endpoint,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: awsFake.url,
  AWS_ENDPOINT_URL_SQS: awsFake.url,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_METRICS_DISABLED: 'true',
  ...t.env,
  ...extra,
});

interface ChildOutcome {
  results: unknown[];
  /** The built-in modules the bundle's import loaded, before any invocation. */
  loadedAtStartup: string[];
  error?: { name: string; message: string };
}

/**
 * Built-ins a cold start has no use for, each of which the SDK, middy or our code imports or
 * reaches through a getter (lib/builtin-imports.ts): web streams load on first use, `module` when
 * an error's frames are mapped, HTTP/2 and zlib are never required, and fs's `ReadStream` and
 * util's `parseArgs` and `MIMEType` are getters read only where they are used.
 */
const NEVER_AT_COLD_START = [
  'stream/web',
  'module',
  'http2',
  'zlib',
  'internal/fs/streams',
  'internal/util/parse_args/parse_args',
  'internal/mime',
];

/** The import loaded what the first request needs (HTTPS, for DynamoDB) and none of the above. */
function expectLeanColdStart(run: ChildOutcome & { output: string }) {
  expect(run.loadedAtStartup, run.output).toContain('https');
  expect(run.loadedAtStartup.filter((name) => NEVER_AT_COLD_START.includes(name))).toEqual([]);
}

async function invokeBundle(
  handler: HandlerName,
  events: unknown[],
  env: Record<string, string>,
): Promise<ChildOutcome & { output: string }> {
  const eventsFile = join(outdir, `events-${randomUUID()}.json`);
  await writeFile(eventsFile, JSON.stringify(events));
  // Not spawnSync: the servers it talks to run in this process and must keep answering.
  const child = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--expose-gc', CHILD, join(outdir, handler, BUNDLE_ENTRY_FILE), eventsFile],
      { env, encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (_error, stdout, stderr) => resolve({ stdout, stderr }),
    );
  });
  const output = `${child.stdout}${child.stderr}`;
  const last = child.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ...(JSON.parse(last) as ChildOutcome), output };
  } catch {
    throw new Error(`the bundle's child printed no result:\n${output}`);
  }
}

const bodyOf = (result: unknown) =>
  JSON.parse((result as { body: string }).body) as Record<string, unknown>;

describe('the deployed bundles, run as Lambda runs them', () => {
  it('api: a verification is checked, stored and read back', async () => {
    // Prepare
    const id = `fm-bundle-${randomUUID().slice(0, 8)}`;
    const post = postVerificationEvent({
      verification_id: id,
      ...agusIdentity,
      selfie_image: agusSelfie.dataUri,
    });

    // Act: with Lambda's credentials in the environment, the SDK's chain is not needed at all.
    const chainFile = join(outdir, 'api', 'chunks', CREDENTIAL_CHAIN_FILE);
    await rename(chainFile, `${chainFile}.away`);
    const run = await invokeBundle('api', [post, getVerificationEvent(id)], lambdaEnv()).finally(
      () => rename(`${chainFile}.away`, chainFile),
    );

    // Assess
    expect(run.error, run.output).toBeUndefined();
    expectLeanColdStart(run);
    const [created, read] = run.results;
    expect(bodyOf(created)).toMatchObject({ verification_id: id, decision: 'APPROVED' });
    expect(bodyOf(read)).toMatchObject({
      verification_id: id,
      status: 'COMPLETED',
      decision: 'APPROVED',
    });
    expect(run.output).not.toContain(agusIdentity.nik);
  });

  it('selfie-uploaded: an upload is read from S3 (its lazy chunk) and verified', async () => {
    // Prepare
    const id = `fm-bundle-${randomUUID().slice(0, 8)}`;
    const key = `incoming/${id}.jpg`;
    await t.localAws.s3Client.send(
      new PutObjectCommand({
        Bucket: t.localAws.bucket,
        Key: key,
        Body: agusSelfie.bytes,
        Metadata: uploadMetadata(agusIdentity),
      }),
    );

    // Act
    const run = await invokeBundle(
      'selfie-uploaded',
      [sqsEvent([{ body: s3NotificationBody([key]) }])],
      lambdaEnv(),
    );

    // Assess
    expect(run.error, run.output).toBeUndefined();
    expectLeanColdStart(run);
    expect(run.results).toEqual([{ batchItemFailures: [] }]);
    expect(await t.runtime.deps.store.get(id)).toMatchObject({
      status: 'COMPLETED',
      decision: 'APPROVED',
    });
  });

  it('sweeper: a scheduled sweep reads the worklist and reports', async () => {
    // Act
    const run = await invokeBundle('sweeper', [{}], {
      ...lambdaEnv(),
      SELFIE_QUEUE_URL: `${awsFake.url}/111122223333/facematch-test-selfies`,
    });

    // Assess
    expect(run.error, run.output).toBeUndefined();
    expectLeanColdStart(run);
    expect(run.results[0]).toMatchObject({ read: expect.any(Number), actions: expect.any(Object) });
  });

  it('webhook-sender: a failed delivery waits on its queue (SQS, its lazy chunk)', async () => {
    // Prepare: a receiver that refuses connections, so the attempt is retryable.
    const deliveriesTable = `facematch-webhook-deliveries-test-${randomUUID().slice(0, 8)}`;
    await createDeliveriesTable(t.localAws.dynamoClient, deliveriesTable);
    const receiver = (await refusedUrl()).replace('http:', 'https:');
    const eventId = randomUUID();
    const record = {
      ...sqsRecord({
        body: JSON.stringify(verdictEvent(eventId)),
      }),
      eventSourceARN: WEBHOOK_QUEUE_ARN,
    };
    // SQS sends to the queue URL's host, so the queue lives on the fake.
    const queueUrl = `${awsFake.url}/111122223333/facematch-test-webhook-crm`;
    const env = lambdaEnv({
      WEBHOOK_DELIVERIES_TABLE_NAME: deliveriesTable,
      WEBHOOK_ENDPOINTS: JSON.stringify([
        {
          name: 'crm',
          url: receiver,
          secretId: 'facematch/test/webhook',
          queueArn: WEBHOOK_QUEUE_ARN,
          queueUrl,
        },
      ]),
    });
    awsFake.requests.length = 0;

    // Act
    const run = await invokeBundle('webhook-sender', [{ Records: [record] }], env);

    // Assess
    expect(run.error, run.output).toBeUndefined();
    expectLeanColdStart(run);
    expect(run.results).toEqual([{ batchItemFailures: [{ itemIdentifier: record.messageId }] }]);
    const targets = awsFake.requests.map((request) => request.headers['x-amz-target']);
    expect(targets, run.output).toEqual([
      'secretsmanager.GetSecretValue',
      'AmazonSQS.ChangeMessageVisibility',
    ]);
    const hold = JSON.parse(awsFake.requests[1]?.body ?? '{}') as Record<string, unknown>;
    expect(hold).toMatchObject({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle });
    const logged = await t.localAws.documentClient.send(
      new GetCommand({ TableName: deliveriesTable, Key: { delivery_id: `crm/${eventId}` } }),
    );
    expect(logged.Item).toMatchObject({ state: 'RETRYING', attempts: 1 });
  });

  it("without credentials in the environment, the SDK's own chain finds them (a profile)", async () => {
    // Prepare: a shared credentials file and AWS_PROFILE, as outside Lambda; no AWS_ACCESS_KEY_ID.
    const id = `fm-bundle-${randomUUID().slice(0, 8)}`;
    const credentialsFile = join(outdir, 'credentials');
    await writeFile(
      credentialsFile,
      [
        '[bundle-test]',
        `aws_access_key_id = ${LOCAL_AWS_CREDENTIALS.accessKeyId}`,
        `aws_secret_access_key = ${LOCAL_AWS_CREDENTIALS.secretAccessKey}`,
        '',
      ].join('\n'),
    );
    const {
      AWS_ACCESS_KEY_ID: _key,
      AWS_SECRET_ACCESS_KEY: _secret,
      AWS_SESSION_TOKEN: _token,
      ...withoutCredentials
    } = lambdaEnv();
    const env = {
      ...withoutCredentials,
      AWS_PROFILE: 'bundle-test',
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
      AWS_CONFIG_FILE: join(outdir, 'no-config'),
    };
    const post = postVerificationEvent({
      verification_id: id,
      ...agusIdentity,
      selfie_image: agusSelfie.dataUri,
    });

    // Act
    const run = await invokeBundle('api', [post], env);
    const none = await invokeBundle('api', [getVerificationEvent(id)], {
      ...withoutCredentials,
      AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-credentials'),
      AWS_CONFIG_FILE: join(outdir, 'no-config'),
      // No metadata service here: fail fast instead of waiting for one.
      AWS_EC2_METADATA_DISABLED: 'true',
    });

    // Assess: the chain's file sits beside the chunk that loads it, and it was used.
    const files = await readdir(join(outdir, 'api', 'chunks'));
    expect(files).toContain(CREDENTIAL_CHAIN_FILE);
    expect(run.error, run.output).toBeUndefined();
    expect(bodyOf(run.results[0])).toMatchObject({ verification_id: id, decision: 'APPROVED' });
    // No credentials anywhere: the call fails as the SDK fails, answered as a server error.
    expect(none.error, none.output).toBeUndefined();
    expect((none.results[0] as { statusCode: number }).statusCode).toBeGreaterThanOrEqual(500);
    // ...by the SDK's own chain, loaded from its file and run to its end (a missing file would
    // be a module-not-found error).
    expect(none.output).toContain('"error_name":"CredentialsProviderError"');
    expect(none.output).toContain('credential-provider-node/dist-es/defaultProvider.js');
  });
  it("with a profile asked for beside the environment's credentials, signs with the profile's", async () => {
    // Prepare: AWS_PROFILE and env credentials both set; the SDK takes the profile (and warns).
    const credentialsFile = join(outdir, 'credentials-both');
    await writeFile(
      credentialsFile,
      [
        '[signing]',
        'aws_access_key_id = AKIAPROFILEKEY000001',
        'aws_secret_access_key = profile-secret',
        '',
      ].join('\n'),
    );
    awsFake.requests.length = 0;
    const env = lambdaEnv({
      AWS_ACCESS_KEY_ID: 'AKIAENVIRONMENTKEY01',
      AWS_PROFILE: 'signing',
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
      AWS_CONFIG_FILE: join(outdir, 'no-config'),
      WEBHOOK_DELIVERIES_TABLE_NAME: `facematch-webhook-deliveries-test-${randomUUID().slice(0, 8)}`,
      WEBHOOK_ENDPOINTS: JSON.stringify([
        {
          name: 'crm',
          url: 'https://127.0.0.1:9/hook',
          secretId: 'facematch/test/webhook',
          queueArn: WEBHOOK_QUEUE_ARN,
          queueUrl: `${awsFake.url}/111122223333/facematch-test-webhook-crm`,
        },
      ]),
    });
    const record = {
      ...sqsRecord({
        body: JSON.stringify(verdictEvent(randomUUID())),
      }),
      eventSourceARN: WEBHOOK_QUEUE_ARN,
    };
    await createDeliveriesTable(
      t.localAws.dynamoClient,
      env.WEBHOOK_DELIVERIES_TABLE_NAME as string,
    );

    // Act
    const run = await invokeBundle('webhook-sender', [{ Records: [record] }], env);

    // Assess: whatever became of the message, Secrets Manager was asked with the profile's key.
    expect(run.error, run.output).toBeUndefined();
    const secretRead = awsFake.requests.find(
      (request) => request.headers['x-amz-target'] === 'secretsmanager.GetSecretValue',
    );
    expect(secretRead?.headers.authorization, run.output).toContain(
      'Credential=AKIAPROFILEKEY000001/',
    );
  });
});
