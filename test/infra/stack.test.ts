import { Token, Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  VERDICT_TABLE_PARTITION_KEY,
  VERDICT_TABLE_TTL_ATTRIBUTE,
} from '../../lambda/adapters/verdict-store.ts';
import { PERSON_INDEX, WORKLIST_INDEX } from '../../lambda/adapters/verdict-table.ts';
import { parseConfig } from '../../lambda/config.ts';
import { IdmetaTokenError } from '../../lambda/core/errors.ts';
import { failedRecord, newRecord } from '../../lambda/core/record.ts';
import { verificationIdOfUploadKey } from '../../lambda/core/request.ts';
import {
  METRIC,
  recordIdmetaAttempt,
  recordVerdict,
  SERVICE_NAME,
} from '../../lambda/observability.ts';
import { createRuntime } from '../../lambda/runtime.ts';
import { TOKEN_REJECTED_CODE, TOKEN_REJECTED_METRIC } from '../../lib/alarms.ts';
import { loadInfraConfig, parseInfraConfig } from '../../lib/config.ts';
import { TOKEN_SECRET_PLACEHOLDER } from '../../lib/facematch-stack.ts';
import { GUARD_PLUGIN_NAME } from '../../lib/iac-checks.ts';
import { SELFIE_PREFIX } from '../../lib/selfie-storage.ts';
import { BINARY_MEDIA_TYPES } from '../../lib/verification-api.ts';
import { captureOutput } from '../support/events.ts';
import {
  actionsOf,
  buildApp,
  configWith,
  logicalIdOf,
  nagFindings,
  type PolicyStatementJson,
  resourcesOf,
  type Synthesized,
  shippedConfig,
  statementsOfRole,
  synthesize,
} from './support.ts';

const config = loadInfraConfig('dev');
const REGION = 'ap-southeast-3';

type Resources = Record<
  string,
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON, read by assertions that fail loudly
  { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }
>;

let dev: Synthesized;
let template: Template;
let keyArn: unknown;
const ids = {
  key: '',
  bucket: '',
  accessLogBucket: '',
  queue: '',
  dlq: '',
  table: '',
  apiFunction: '',
  queueFunction: '',
  apiRole: '',
  queueRole: '',
  topic: '',
  tokenSecret: '',
  dataKeySecret: '',
  accessLogGroup: '',
  eventBus: '',
};

beforeAll(() => {
  dev = synthesize('dev');
  template = dev.template;
  const { stack } = dev;
  ids.key = logicalIdOf(stack.key);
  ids.bucket = logicalIdOf(stack.storage.bucket);
  ids.accessLogBucket = logicalIdOf(stack.storage.accessLogBucket);
  ids.queue = logicalIdOf(stack.storage.queue);
  ids.dlq = logicalIdOf(stack.storage.deadLetterQueue);
  ids.table = logicalIdOf(stack.table);
  ids.apiFunction = logicalIdOf(stack.apiFunction);
  ids.queueFunction = logicalIdOf(stack.queueFunction);
  ids.apiRole = logicalIdOf(stack.apiFunction.executionRole);
  ids.queueRole = logicalIdOf(stack.queueFunction.executionRole);
  ids.topic = logicalIdOf(stack.alarms.topic);
  ids.tokenSecret = logicalIdOf(stack.tokenSecret);
  ids.dataKeySecret = logicalIdOf(stack.dataKeySecret);
  ids.accessLogGroup = logicalIdOf(stack.api.accessLogGroup);
  ids.eventBus = logicalIdOf(stack.eventBus);
  keyArn = { 'Fn::GetAtt': [ids.key, 'Arn'] };
});

const resources = (type: string) => template.findResources(type) as Resources;
const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });

/** The statement every resource policy here carries: no access without TLS. */
const DENY_PLAIN_HTTP = { Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
const DENIES_PLAIN_HTTP = Match.objectLike(DENY_PLAIN_HTTP);

describe('the stack', () => {
  it('is named Facematch-<env>', () => {
    expect(dev.stack.stackName).toBe('Facematch-dev');
  });

  it('has no cdk-nag AwsSolutions finding left unacknowledged', () => {
    expect(nagFindings(dev.app)).toEqual([]);
  });

  it('gives every acknowledged finding a written reason', () => {
    // Prepare
    const acknowledged = dev.app.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>)),
      );

    // Assess
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) {
      // cdk-nag's, or the Control Tower controls' (lib/iac-checks.ts)
      expect(id).toMatch(/AwsSolutions-[A-Z]+\d+|^cdk-validator-cfnguard::[a-z0-9_]+$/);
      expect(reason.length, `reason of ${id}`).toBeGreaterThan(60);
    }
  });

  it('acknowledges only findings that really occur, where they occur', () => {
    // Prepare: the same app, built while acknowledgements are recorded instead of applied
    const acknowledged: Array<{ path: string; id: string }> = [];
    const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (
      this: Validations,
      ...rules
    ) {
      const scope = (this as unknown as { scope: IConstruct }).scope;
      for (const rule of rules) acknowledged.push({ path: scope.node.path, id: rule.id });
    });
    let findings: string[];
    try {
      const variants = [
        configWith('dev', (c) => c),
        configWith('dev', (c) => ({ ...c, api: { ...c.api, createCloudWatchRole: false } })),
      ];
      findings = variants.flatMap((variant) => nagFindings(buildApp('dev', variant).app));
    } finally {
      spy.mockRestore();
    }

    // Assess: cdk-nag's (the Control Tower controls' are held to theirs in environments.test.ts)
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { path, id } of acknowledged) {
      if (id.startsWith(`${GUARD_PLUGIN_NAME}::`)) continue;
      const matching = findings.filter(
        (finding) =>
          finding.includes(` ${id} at ${path}/`) || finding.endsWith(` ${id} at ${path}`),
      );
      expect(matching, `${id} acknowledged at ${path}`).not.toEqual([]);
    }
  });

  it('tags every taggable resource with its environment', () => {
    const taggable = Object.entries(template.toJSON().Resources as Resources).filter(
      ([, resource]) => resource.Properties?.Tags !== undefined,
    );
    const types = new Set(taggable.map(([, resource]) => resource.Type));

    for (const type of [
      'AWS::KMS::Key',
      'AWS::S3::Bucket',
      'AWS::SQS::Queue',
      'AWS::DynamoDB::Table',
      'AWS::Lambda::Function',
      'AWS::Logs::LogGroup',
      'AWS::SecretsManager::Secret',
      'AWS::SNS::Topic',
      'AWS::ApiGateway::RestApi',
      'AWS::CloudWatch::Alarm',
      'AWS::Events::EventBus',
    ]) {
      expect(types, type).toContain(type);
    }
    for (const [id, resource] of taggable) {
      expect(resource.Properties.Tags, id).toEqual(
        expect.arrayContaining([{ Key: 'environment', Value: 'dev' }]),
      );
    }
  });

  it('can be left unpinned: without account and region it deploys where the CLI points', () => {
    const { region: _region, ...unpinned } = shippedConfig('dev');
    const anywhere = synthesize('dev', { config: parseInfraConfig(unpinned, 'test') });

    expect(Token.isUnresolved(anywhere.stack.region)).toBe(true);
    anywhere.template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: {
              Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
            },
          }),
        ]),
      },
    });
    expect(nagFindings(anywhere.app)).toEqual([]);
  });

  it('outputs the API URL, bucket, table, queues, token secret, event bus, alarm topic and dashboard', () => {
    const outputs = Object.keys(template.toJSON().Outputs as Record<string, unknown>);

    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'SelfieBucketName',
        'AccessLogBucketName',
        'VerdictTableName',
        'QueueUrl',
        'DeadLetterQueueUrl',
        'DeadLetterQueueArn',
        'IdmetaTokenSecretArn',
        'EventBusName',
        'EventBusArn',
        'AlarmTopicArn',
        'DashboardName',
      ]),
    );
  });
});

describe('encryption', () => {
  it('uses one customer-managed key, rotated', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it("lets CloudWatch Logs of the stack's region use the key for this account's log groups only", () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: `logs.${REGION}.amazonaws.com` },
            Action: Match.arrayWith(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']),
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': {
                  'Fn::Join': [
                    '',
                    [`arn:aws:logs:${REGION}:`, { Ref: 'AWS::AccountId' }, ':log-group:*'],
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  it('lets S3 encrypt notifications for the queue and CloudWatch publish to the topic', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 's3.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
  });

  it('encrypts the bucket, table, both queues, both secrets, the topic and every log group with it', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
            BucketKeyEnabled: true,
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
    });
    for (const [id, queue] of Object.entries(resources('AWS::SQS::Queue'))) {
      expect(queue.Properties.KmsMasterKeyId, id).toEqual(keyArn);
    }
    const secrets = Object.entries(resources('AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(2);
    for (const [id, secret] of secrets) expect(secret.Properties.KmsKeyId, id).toEqual(keyArn);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    const logGroups = Object.entries(resources('AWS::Logs::LogGroup'));
    // Three functions, the API's access and execution logs.
    expect(logGroups).toHaveLength(5);
    for (const [id, logGroup] of logGroups) {
      expect(logGroup.Properties.KmsKeyId, id).toEqual(keyArn);
      expect(logGroup.Properties.RetentionInDays, id).toBe(config.retention.logDays);
    }
  });
});

describe('the selfie bucket', () => {
  it('blocks public access, is access-logged and is not versioned', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.objectLike({}),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: ids.accessLogBucket },
        LogFilePrefix: 'selfies/',
      },
      VersioningConfiguration: Match.absent(),
    });
  });

  it('refuses requests without TLS (and below TLS 1.2)', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ ...DENY_PLAIN_HTTP, Principal: { AWS: '*' } }),
          Match.objectLike({
            Effect: 'Deny',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      },
    });
  });

  it('expires incoming/ after the selfie retention', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.objectLike({}),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: SELFIE_PREFIX,
            ExpirationInDays: config.retention.selfieDays,
            Status: 'Enabled',
          }),
        ]),
      },
    });
  });

  it('has no CORS rule unless origins are configured', () => {
    const withOrigins = synthesize('dev', {
      config: configWith('dev', (c) => ({
        ...c,
        selfies: { ...c.selfies, corsAllowedOrigins: ['https://app.example.co.id'] },
      })),
    });

    expect(resources('AWS::S3::Bucket')[ids.bucket]?.Properties.CorsConfiguration).toBeUndefined();
    withOrigins.template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({
            AllowedMethods: ['POST'],
            AllowedOrigins: ['https://app.example.co.id'],
          }),
        ],
      },
    });
  });

  it('notifies what the runtime reads: incoming/<id>.<any extension>, judged by its bytes', () => {
    for (const key of ['v-1.jpg', 'v-1.JPG', 'v-1.png', 'v-1.gif']) {
      expect(verificationIdOfUploadKey(`${SELFIE_PREFIX}${key}`)).toBe('v-1');
    }
    expect(verificationIdOfUploadKey('other/v-1.jpg')).toBeNull();
  });
});

describe('the S3 -> SQS -> Lambda entrance', () => {
  it('notifies the queue of every new object under incoming/, whatever its extension', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: ids.bucket },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: SELFIE_PREFIX }] } },
            QueueArn: getAtt(ids.queue),
          },
        ],
      },
    });
  });

  it('lets only S3, for this bucket and account, send to the queue, over TLS', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          DENIES_PLAIN_HTTP,
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: {
              ArnEquals: { 'aws:SourceArn': getAtt(ids.bucket) },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  it('dead-letters after maxReceiveCount, with a visibility timeout of 6 x the function timeout', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: getAtt(ids.dlq),
        maxReceiveCount: config.queue.maxReceiveCount,
      },
      VisibilityTimeout: 6 * config.queue.functionTimeoutSeconds,
    });
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 14 * 86_400 });
  });

  it('feeds the queue function with partial batch failures, a batch size and maxConcurrency', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(ids.queue),
      FunctionName: { Ref: ids.queueFunction },
      BatchSize: config.queue.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: config.idmeta.maxConcurrency },
    });
  });
});

describe('the functions', () => {
  const common = () => ({
    VERDICT_TABLE_NAME: { Ref: ids.table },
    SELFIE_BUCKET_NAME: { Ref: ids.bucket },
    IDMETA_BASE_URL: config.idmeta.baseUrl,
    IDMETA_TOKEN_SECRET_ID: { Ref: ids.tokenSecret },
    IDMETA_TEMPLATE_ID: config.idmeta.templateId,
    IDMETA_TIMEOUT_MS: String(config.idmeta.timeoutMs),
    IDMETA_MAX_ATTEMPTS: String(config.idmeta.maxAttempts),
    IDMETA_DOB_FORMAT: config.idmeta.dobFormat,
    IDMETA_FINALIZE: 'true',
    FACEMATCH_DATA_KEY_SECRET_ID: { Ref: ids.dataKeySecret },
    APPROVE_THRESHOLD: String(config.policy.approveThreshold),
    REJECT_THRESHOLD: String(config.policy.rejectThreshold),
    POLICY_PROFILES: JSON.stringify(config.policy.profiles),
    SELFIE_MAX_BYTES: String(config.selfies.maxBytes),
    SELFIE_MIN_DIMENSION: String(config.selfies.minDimension),
    SELFIE_MAX_DIMENSION: String(config.selfies.maxDimension),
    SELFIE_DELETE_AFTER_VERDICT: 'true',
    RECORD_RETENTION_DAYS: String(config.retention.recordDays),
    UPLOAD_URL_EXPIRES_SECONDS: String(config.selfies.uploadUrlExpiresSeconds),
    EVENT_BUS_NAME: { Ref: ids.eventBus },
    FACEMATCH_ENV: 'dev',
    // No --enable-source-maps: frames are mapped when logged (lambda/handlers/stack-frames.ts).
    NODE_OPTIONS: '--expose-gc',
  });

  it('run Node.js 24 on arm64 with active tracing and their own log group', () => {
    for (const id of [ids.apiFunction, ids.queueFunction]) {
      expect(resources('AWS::Lambda::Function')[id]?.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/Logs/) } },
      });
    }
  });

  it('give the API function 28 s and its environment, lease included', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 28,
      Role: getAtt(ids.apiRole),
      Environment: { Variables: { ...common(), VERIFICATION_LEASE_MS: '28000' } },
    });
  });

  it('give the queue function its timeout, lease and the DLQ maxReceiveCount', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: config.queue.functionTimeoutSeconds,
      Role: getAtt(ids.queueRole),
      Environment: {
        Variables: {
          ...common(),
          VERIFICATION_LEASE_MS: String(config.queue.functionTimeoutSeconds * 1000),
          QUEUE_MAX_RECEIVE_COUNT: String(config.queue.maxReceiveCount),
        },
      },
    });
  });

  it("set an environment the runtime's own parser accepts", () => {
    for (const id of [ids.apiFunction, ids.queueFunction]) {
      const variables = resources('AWS::Lambda::Function')[id]?.Properties.Environment.Variables;
      const asDeployed = Object.fromEntries(
        Object.entries(variables as Record<string, unknown>).map(([name, value]) => [
          name,
          typeof value === 'string' ? value : `resolved-${name.toLowerCase()}`,
        ]),
      );

      expect(() => parseConfig(asDeployed), id).not.toThrow();
    }
  });

  it('keep the verdict time-bounded: lease = timeout, queue visibility > timeout', () => {
    const queueFunction = resources('AWS::Lambda::Function')[ids.queueFunction]?.Properties;
    const queue = resources('AWS::SQS::Queue')[ids.queue]?.Properties;

    expect(queue?.VisibilityTimeout).toBeGreaterThanOrEqual(6 * queueFunction?.Timeout);
    expect(queueFunction?.Timeout * 1000).toBeGreaterThan(
      config.idmeta.timeoutMs * config.idmeta.maxAttempts,
    );
  });
});

describe('the verdict table', () => {
  it('is keyed by verification_id, on demand, with PITR and a TTL on expires_at', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: VERDICT_TABLE_PARTITION_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: VERDICT_TABLE_PARTITION_KEY, AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: VERDICT_TABLE_TTL_ATTRIBUTE, Enabled: true },
      DeletionProtectionEnabled: false,
    });
  });

  it('has the worklist and by-person indexes, sparse on the keys the store derives', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: WORKLIST_INDEX,
          KeySchema: [
            { AttributeName: 'worklist', KeyType: 'HASH' },
            { AttributeName: 'worklist_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: PERSON_INDEX,
          KeySchema: [
            { AttributeName: 'person', KeyType: 'HASH' },
            { AttributeName: 'created_at', KeyType: 'RANGE' },
          ],
          // Never the masked NIK, the sealed identity or anything a person could be read from.
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: ['status', 'decision', 'completed_at', 'idmeta_at'],
          },
        },
      ],
    });
  });

  it('is deleted with a dev stack (destroy) and kept by prod (tested in environments.test.ts)', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

describe('the secrets', () => {
  it('generate the data key: 64 characters, no punctuation, never rotated', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  });

  it('create the IDmeta token secret empty, with a note to put the value', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: TOKEN_SECRET_PLACEHOLDER,
      Description: Match.stringLikeRegexp('put-secret-value'),
    });
  });

  it('use an existing token secret by name: no secret created, the name in the environment', () => {
    const byName = synthesize('dev', {
      config: configWith('dev', (c) => ({
        ...c,
        idmeta: { ...c.idmeta, tokenSecret: 'facematch/dev/idmeta-token' },
      })),
    });
    const apiRole = logicalIdOf(byName.stack.apiFunction.executionRole);

    byName.template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    byName.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ IDMETA_TOKEN_SECRET_ID: 'facematch/dev/idmeta-token' }),
      },
    });
    const secretStatement = statementsOfRole(byName.template, apiRole).find(
      (statement) =>
        actionsOf(statement).includes('secretsmanager:GetSecretValue') &&
        JSON.stringify(statement.Resource).includes('idmeta-token'),
    );
    expect(JSON.stringify(secretStatement?.Resource)).toContain(
      ':secret:facematch/dev/idmeta-token-??????',
    );
    expect(nagFindings(byName.app)).toEqual([]);
  });

  it('use an existing token secret by complete ARN and its KMS key, scoped to both', () => {
    const arn = 'arn:aws:secretsmanager:ap-southeast-3:111122223333:secret:facematch/idmeta-AbC123';
    const keyArnOfSecret =
      'arn:aws:kms:ap-southeast-3:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const byArn = synthesize('dev', {
      config: configWith('dev', (c) => ({
        ...c,
        idmeta: { ...c.idmeta, tokenSecret: arn, tokenSecretKmsKeyArn: keyArnOfSecret },
      })),
    });
    // Every function that reads the token: the api, the queue worker, and the sweeper (it
    // finalises the IDmeta verifications facematch created).
    const tokenReaders = [
      byArn.stack.apiFunction,
      byArn.stack.queueFunction,
      byArn.stack.sweeper.function,
    ].map((fn) => logicalIdOf(fn.executionRole));

    byArn.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ IDMETA_TOKEN_SECRET_ID: arn }) },
    });
    for (const role of tokenReaders) {
      const statements = statementsOfRole(byArn.template, role);
      const secretRead = statements.find((statement) =>
        actionsOf(statement).includes('secretsmanager:GetSecretValue'),
      );
      expect(secretRead?.Action, role).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
      // One resource, or a list with the data key's secret too.
      expect([secretRead?.Resource].flat(), role).toContain(arn);
      expect(statements, role).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Action: 'kms:Decrypt',
            Resource: keyArnOfSecret,
            Condition: {
              StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` },
            },
          }),
        ]),
      );
    }
    expect(nagFindings(byArn.app)).toEqual([]);
  });
});

describe('verdict events', () => {
  const putEvents = (t: Template, roleId: string) =>
    statementsOfRole(t, roleId).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('events:')),
    );

  it('go to a bus of the environment, facematch-<env>, named to both functions', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'facematch-dev' });
    for (const id of [ids.apiFunction, ids.queueFunction]) {
      expect(
        resources('AWS::Lambda::Function')[id]?.Properties.Environment.Variables.EVENT_BUS_NAME,
        id,
      ).toEqual({ Ref: ids.eventBus });
    }
  });

  it('may be put by both roles on that bus only, and nothing else of EventBridge', () => {
    for (const role of [ids.apiRole, ids.queueRole]) {
      expect(putEvents(template, role), role).toEqual([
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: getAtt(ids.eventBus) },
      ]);
    }
  });

  it('go to an existing bus given by ARN, used as-is: no bus created, the ARN named and granted', () => {
    // Prepare
    const busArn = 'arn:aws:events:ap-southeast-3:111122223333:event-bus/lending-verdicts';

    // Act
    const existing = synthesize('dev', {
      config: configWith('dev', (c) => ({ ...c, events: { busName: busArn } })),
    });

    // Assess
    const { stack } = existing;
    existing.template.resourceCountIs('AWS::Events::EventBus', 0);
    for (const fn of [stack.apiFunction, stack.queueFunction]) {
      existing.template.hasResourceProperties('AWS::Lambda::Function', {
        Role: getAtt(logicalIdOf(fn.executionRole)),
        Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: busArn }) },
      });
      expect(putEvents(existing.template, logicalIdOf(fn.executionRole))).toEqual([
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn },
      ]);
    }
    expect(nagFindings(existing.app)).toEqual([]);
  });

  it("go to an existing bus given by name, in the stack's own account and region", () => {
    const byName = synthesize('dev', {
      config: configWith('dev', (c) => ({ ...c, events: { busName: 'lending-verdicts' } })),
    });
    const apiRole = logicalIdOf(byName.stack.apiFunction.executionRole);

    byName.template.resourceCountIs('AWS::Events::EventBus', 0);
    byName.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: 'lending-verdicts' }) },
    });
    expect(putEvents(byName.template, apiRole)).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: {
          'Fn::Join': [
            '',
            [`arn:aws:events:${REGION}:`, { Ref: 'AWS::AccountId' }, ':event-bus/lending-verdicts'],
          ],
        },
      },
    ]);
  });
});

describe('the REST API', () => {
  it('requires IAM (SigV4) authorization on every method', () => {
    const methods = Object.values(resources('AWS::ApiGateway::Method'));

    expect(methods.map((method) => method.Properties.HttpMethod).sort()).toEqual([
      'GET',
      'GET',
      'GET',
      'POST',
      'POST',
      'POST',
      'POST',
    ]);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('gives each review route its own method: the queue, a decision with a model, the selfie', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      RequestParameters: {
        'method.request.querystring.review': true,
        'method.request.querystring.limit': false,
        'method.request.querystring.cursor': false,
      },
    });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Name: 'ReviewRequest',
      Schema: Match.objectLike({
        required: ['decision', 'reason'],
        properties: {
          decision: { type: 'string' },
          reason: { type: 'string' },
          note: { type: 'string' },
          reopen: { type: 'boolean' },
        },
      }),
    });
    const paths = Object.values(resources('AWS::ApiGateway::Resource')).map(
      (resource) => resource.Properties.PathPart,
    );
    expect(paths.sort()).toEqual([
      'data-subjects',
      'erase',
      'review',
      'search',
      'selfie',
      'verifications',
      '{verification_id}',
    ]);
  });

  it('validates the POST body against a model and the GET path parameter', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestValidatorId: Match.anyValue(),
      RequestModels: { 'application/json': Match.anyValue() },
    });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({
        type: 'object',
        required: ['nik', 'name', 'date_of_birth'],
      }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      RequestValidatorId: Match.anyValue(),
      RequestParameters: { 'method.request.path.verification_id': true },
    });
  });

  it('throttles, traces and logs JSON access logs, never bodies', () => {
    const stage = Object.values(resources('AWS::ApiGateway::Stage'))[0]?.Properties;
    const accessLogs = ids.accessLogGroup;

    expect(stage).toMatchObject({
      TracingEnabled: true,
      MethodSettings: [
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: config.api.throttlingRateLimit,
          ThrottlingBurstLimit: config.api.throttlingBurstLimit,
          DataTraceEnabled: false,
          LoggingLevel: 'ERROR',
        }),
      ],
    });
    expect(JSON.stringify(stage?.AccessLogSetting.DestinationArn)).toContain(accessLogs);
    expect(JSON.parse(stage?.AccessLogSetting.Format)).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      caller: '$context.identity.caller',
    });
  });

  it('keeps execution logs in an encrypted, expiring group of the name API Gateway writes to', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: {
        'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: Match.anyValue() }, '/v1']],
      },
      KmsKeyId: keyArn,
    });
  });

  it('passes image and form bodies to the handler base64-encoded', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: BINARY_MEDIA_TYPES,
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('answers its own refusals with problem documents that quote nothing of the request', () => {
    const responses = Object.values(resources('AWS::ApiGateway::GatewayResponse'));
    const types = responses.map((response) => response.Properties.ResponseType);

    expect(types).toEqual(
      expect.arrayContaining([
        'BAD_REQUEST_BODY',
        'MISSING_AUTHENTICATION_TOKEN',
        'THROTTLED',
        'DEFAULT_5XX',
      ]),
    );
    for (const response of responses) {
      expect(response.Properties.ResponseParameters).toEqual({
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
      });
      const body = response.Properties.ResponseTemplates['application/json'] as string;
      expect(body).toContain('"type":"about:blank"');
      expect(body).not.toContain('validationErrorString');
    }
  });

  it('has no resource policy unless caller accounts are configured', () => {
    expect(
      Object.values(resources('AWS::ApiGateway::RestApi'))[0]?.Properties.Policy,
    ).toBeUndefined();
  });

  it('with caller accounts, allows them and denies every other account', () => {
    const accounts = ['111122223333', '444455556666'];
    const restricted = synthesize('dev', {
      config: configWith('dev', (c) => ({ ...c, api: { ...c.api, allowedAccountIds: accounts } })),
    });

    restricted.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: [
          Match.objectLike({
            Effect: 'Allow',
            Action: 'execute-api:Invoke',
            Principal: { AWS: accounts.map((account) => `arn:aws:iam::${account}:root`) },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Action: 'execute-api:Invoke',
            Condition: { StringNotEquals: { 'aws:PrincipalAccount': accounts } },
          }),
        ],
      },
    });
    expect(nagFindings(restricted.app)).toEqual([]);
  });
});

describe('least privilege', () => {
  const statementsOf = (role: 'api' | 'queue') =>
    statementsOfRole(template, role === 'api' ? ids.apiRole : ids.queueRole);
  const find = (statements: PolicyStatementJson[], action: string) =>
    statements.filter((statement) => actionsOf(statement).includes(action));
  const incomingObjects = () => ({
    'Fn::Join': ['', [getAtt(ids.bucket), `/${SELFIE_PREFIX}*`]],
  });

  it('grants no wildcard action to any role, and "*" resources only to X-Ray', () => {
    const policies = Object.values(resources('AWS::IAM::Policy'));
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const policy of policies) {
      for (const statement of policy.Properties.PolicyDocument.Statement as PolicyStatementJson[]) {
        if (statement.Effect !== 'Allow') continue;
        for (const action of actionsOf(statement)) expect(action).not.toContain('*');
        if (resourcesOf(statement).includes('*')) {
          expect(actionsOf(statement).sort()).toEqual([
            'xray:PutTelemetryRecords',
            'xray:PutTraceSegments',
          ]);
        }
      }
    }
  });

  it('gives the functions roles with no AWS managed policy', () => {
    for (const id of [ids.apiRole, ids.queueRole]) {
      expect(resources('AWS::IAM::Role')[id]?.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
  });

  it("gives both roles exactly the verdict store's calls on the table", () => {
    for (const role of ['api', 'queue'] as const) {
      expect(find(statementsOf(role), 'dynamodb:GetItem')).toEqual([
        expect.objectContaining({
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          Resource: getAtt(ids.table),
        }),
      ]);
    }
  });

  it('lets both roles query the by-person index; only the API the worklist (the review queue)', () => {
    const byPerson = { 'Fn::Join': ['', [getAtt(ids.table), '/index/by-person']] };
    const worklist = { 'Fn::Join': ['', [getAtt(ids.table), '/index/worklist']] };
    expect(find(statementsOf('queue'), 'dynamodb:Query')).toEqual([
      expect.objectContaining({ Action: 'dynamodb:Query', Resource: byPerson }),
    ]);
    const apiQueries = find(statementsOf('api'), 'dynamodb:Query');
    expect(apiQueries).toContainEqual(
      expect.objectContaining({ Action: 'dynamodb:Query', Resource: byPerson }),
    );
    expect(apiQueries).toContainEqual(
      expect.objectContaining({ Sid: 'ReviewQueue', Action: 'dynamodb:Query', Resource: worklist }),
    );
    // The only other one is the erasure's (the table and by-person: SubjectRecords).
    expect(
      apiQueries.filter((statement) => JSON.stringify(statement).includes('worklist')),
    ).toHaveLength(1);
  });

  const reviewObjects = () => ({
    'Fn::Join': ['', [getAtt(ids.bucket), '/review/*']],
  });

  it('lets the API function read and sign uploads under incoming/, keep and show review/ selfies', () => {
    // The erasure's own object grants are checked with it, below.
    const statements = statementsOf('api').filter(
      (statement) => statement.Sid !== 'SubjectObjects' && statement.Sid !== 'ErasureJournal',
    );

    expect(find(statements, 's3:GetObject')).toEqual([
      expect.objectContaining({
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: reviewObjects(),
      }),
      expect.objectContaining({
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: incomingObjects(),
      }),
    ]);
    expect(find(statements, 's3:ListBucket')).toEqual([
      expect.objectContaining({ Resource: getAtt(ids.bucket) }),
    ]);
    expect(find(statements, 's3:DeleteObject')).toEqual([
      expect.objectContaining({ Resource: reviewObjects() }),
    ]);
  });

  it('lets the API function erase a data subject: the by-person index, records, kept selfies, its receipt', () => {
    const statements = statementsOf('api');
    const objects = (prefix: string) => ({
      'Fn::Join': ['', [getAtt(ids.bucket), `/${prefix}*`]],
    });

    expect(find(statements, 'dynamodb:DeleteItem')).toEqual([
      expect.objectContaining({
        Sid: 'SubjectRecords',
        Action: 'dynamodb:DeleteItem',
        Resource: getAtt(ids.table),
      }),
    ]);
    expect(find(statements, 's3:DeleteObject')).toContainEqual(
      expect.objectContaining({
        Sid: 'SubjectObjects',
        Resource: [objects('incoming/'), objects('review/')],
      }),
    );
    expect(find(statements, 's3:PutObject').map((statement) => statement.Resource)).toContainEqual(
      objects('receipts/erasure/'),
    );
    // The journal of an erasure under way: read by a rerun, deleted once receipted; only there
    const journal = expect.objectContaining({
      Sid: 'ErasureJournal',
      Action: ['s3:DeleteObject', 's3:GetObject'],
      Resource: objects('receipts/erasure/pending/'),
    });
    expect(find(statements, 's3:GetObject')).toContainEqual(journal);
    expect(find(statements, 's3:DeleteObject')).toContainEqual(journal);
    expect(
      find(statements, 's3:GetObject').flatMap((statement) => [statement.Resource].flat()),
    ).not.toContainEqual(objects('receipts/erasure/'));
  });

  it('gives the sweeper its own small role: the worklist, claims, uploads, the queue, no selfie reads beyond HEAD', () => {
    const [sweeperRole] = Object.entries(resources('AWS::IAM::Role')).find(([id]) =>
      id.startsWith('SweeperFunctionRole'),
    ) ?? [''];
    const statements = Object.values(resources('AWS::IAM::Policy'))
      .filter((policy) =>
        (policy.Properties.Roles as Array<{ Ref: string }>).some(
          (role) => role.Ref === sweeperRole,
        ),
      )
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as PolicyStatementJson[]);
    const actions = new Set(statements.flatMap(actionsOf));

    expect(actions.has('dynamodb:Query')).toBe(true);
    expect(actions.has('sqs:SendMessage')).toBe(true);
    expect(actions.has('dynamodb:DeleteItem')).toBe(false);
    expect(actions.has('s3:PutObject')).toBe(false);
    expect([...actions].filter((action) => action.startsWith('kms:'))).not.toContain('kms:Encrypt');
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } }),
    });
  });

  it('lets the queue function read and delete under incoming/, and put only under review/', () => {
    const statements = statementsOf('queue');

    expect(find(statements, 's3:GetObject')).toEqual([
      expect.objectContaining({
        Action: ['s3:DeleteObject', 's3:GetObject'],
        Resource: incomingObjects(),
      }),
    ]);
    expect(find(statements, 's3:ListBucket')).toHaveLength(1);
    expect(find(statements, 's3:PutObject')).toEqual([
      expect.objectContaining({ Action: 's3:PutObject', Resource: reviewObjects() }),
    ]);
  });

  it('expires the selfies kept for reviews after retention.reviewSelfieDays', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'expire-review-selfies',
            Prefix: 'review/',
            ExpirationInDays: config.retention.reviewSelfieDays,
            Status: 'Enabled',
          }),
        ]),
      },
    });
  });

  it('lets both functions read both secrets, and nothing more of Secrets Manager', () => {
    for (const role of ['api', 'queue'] as const) {
      const secretActions = statementsOf(role).flatMap((statement) =>
        actionsOf(statement).filter((action) => action.startsWith('secretsmanager:')),
      );
      expect(new Set(secretActions)).toEqual(
        new Set(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']),
      );
      expect(find(statementsOf(role), 'secretsmanager:GetSecretValue')[0]?.Resource).toHaveLength(
        2,
      );
    }
  });

  it('uses the key only through DynamoDB and S3 (and SQS for the queue function)', () => {
    for (const role of ['api', 'queue'] as const) {
      const kms = statementsOf(role).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('kms:')),
      );
      for (const statement of kms) expect(resourcesOf(statement)).toEqual([keyArn]);
      expect(kms).toContainEqual(
        expect.objectContaining({
          Condition: {
            StringEquals: {
              'kms:ViaService': [`dynamodb.${REGION}.amazonaws.com`, `s3.${REGION}.amazonaws.com`],
            },
          },
        }),
      );
    }
  });

  it('lets the queue function consume only its queue', () => {
    expect(find(statementsOf('queue'), 'sqs:ReceiveMessage')).toEqual([
      expect.objectContaining({ Resource: getAtt(ids.queue) }),
    ]);
    expect(find(statementsOf('api'), 'sqs:ReceiveMessage')).toEqual([]);
  });

  it('lets each function write only its own log group', () => {
    for (const [role, fn] of [
      ['api', ids.apiFunction],
      ['queue', ids.queueFunction],
    ] as const) {
      const logGroup =
        resources('AWS::Lambda::Function')[fn]?.Properties.LoggingConfig.LogGroup.Ref;
      expect(find(statementsOf(role), 'logs:PutLogEvents')).toEqual([
        expect.objectContaining({
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: getAtt(logGroup),
        }),
      ]);
    }
  });
});

describe('alarms', () => {
  it('go to a KMS-encrypted, TLS-only topic that CloudWatch may publish to', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: ids.topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          DENIES_PLAIN_HTTP,
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
          }),
        ]),
      },
    });
    for (const [id, alarm] of Object.entries(resources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: ids.topic }]);
    }
  });

  it('alarm when the oldest open review passes review.slaHours, or when the measure stops', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'facematch-dev-review-sla',
      MetricName: 'OldestOpenReviewAgeSeconds',
      Namespace: 'Facematch/dev',
      Statistic: 'Maximum',
      Threshold: config.review.slaHours * 3600,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      MetricTransformations: [
        Match.objectLike({
          MetricName: 'OldestOpenReviewAgeSeconds',
          MetricValue: '$.OldestOpenReviewAgeSeconds',
        }),
      ],
      FilterPattern: '{ $.OldestOpenReviewAgeSeconds >= 0 }',
    });
  });

  it('watch the DLQ, each function (errors, throttles), the IDmeta error rate and token, paid verdicts', () => {
    const names = Object.values(resources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties.AlarmName,
    );

    expect(names.sort()).toEqual([
      'facematch-dev-api-errors',
      'facematch-dev-api-throttles',
      'facematch-dev-dead-letters',
      'facematch-dev-idmeta-error-rate',
      'facematch-dev-idmeta-token-rejected',
      'facematch-dev-paid-verdict-not-saved',
      'facematch-dev-review-sla',
      'facematch-dev-selfie-uploaded-errors',
      'facematch-dev-selfie-uploaded-throttles',
      'facematch-dev-sweeper-errors',
      'facematch-dev-sweeper-throttles',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(ids.dlq, 'QueueName') }],
      Threshold: 1,
    });
  });

  it('compute the IDmeta error rate from IdmetaErrors and IdmetaCalls in this environment', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'facematch-dev-idmeta-error-rate',
      Threshold: config.alarms.idmetaErrorRatePercent,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression: Match.stringLikeRegexp('100 \\* FILL\\(failed, 0\\) / attempts'),
        }),
        Match.objectLike({
          Id: 'attempts',
          MetricStat: Match.objectLike({
            Metric: { Namespace: 'Facematch/dev', MetricName: 'IdmetaCalls' },
          }),
        }),
        Match.objectLike({
          Id: 'failed',
          MetricStat: Match.objectLike({
            Metric: { Namespace: 'Facematch/dev', MetricName: 'IdmetaErrors' },
          }),
        }),
      ]),
    });
    for (const metric of [METRIC.idmetaCalls, METRIC.idmetaErrors]) {
      for (const fn of [ids.apiFunction, ids.queueFunction]) {
        const logGroup = resources('AWS::Lambda::Function')[fn]?.Properties.LoggingConfig.LogGroup;
        template.hasResourceProperties('AWS::Logs::MetricFilter', {
          LogGroupName: logGroup,
          FilterPattern: `{ $.${metric} > 0 }`,
          MetricTransformations: [
            { MetricNamespace: 'Facematch/dev', MetricName: metric, MetricValue: `$.${metric}` },
          ],
        });
      }
    }
  });

  /** The runtime as the stack configures it for dev (FACEMATCH_ENV), with local secrets. */
  const devRuntimeConfig = () =>
    parseConfig({
      FACEMATCH_ENV: 'dev',
      VERDICT_TABLE_NAME: 'verdicts',
      SELFIE_BUCKET_NAME: 'selfies',
      IDMETA_BASE_URL: 'https://integrate.idmetagroup.com',
      IDMETA_TOKEN: 'token',
      IDMETA_TEMPLATE_ID: 'tf-1',
      FACEMATCH_DATA_KEY: 'k'.repeat(32),
    });
  const OK_ATTEMPT = {
    operation: 'dukcapilfacematch',
    attempt: 1,
    httpStatus: 200,
    outcome: 'ok',
    durationMs: 120,
  } as const;

  it('stamp every runtime EMF line with its environment, in the dimension set the dashboard searches', () => {
    // Prepare: the runtime as the stack configures it (FACEMATCH_ENV), local secrets.
    const output = captureOutput();

    // Act
    try {
      createRuntime(devRuntimeConfig(), { busyWaitMs: 0 });
      recordIdmetaAttempt(OK_ATTEMPT);
    } finally {
      output.restore();
    }

    // Assess
    const line = output.allJsonLines().find((entry) => 'IdmetaLatency' in entry) as
      | { environment: string; _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][] }> } }
      | undefined;
    expect(line?.environment).toBe('dev');
    expect(line?._aws.CloudWatchMetrics[0]?.Dimensions.map((set) => [...set].sort())).toEqual([
      ['environment', 'operation', 'service'],
    ]);
  });

  it('write no dimension warning when a process creates several runtimes for one environment', () => {
    // Prepare: the local runtime creates two runtimes (API and queue) from one configuration.
    const runtimeConfig = devRuntimeConfig();
    createRuntime(runtimeConfig, { busyWaitMs: 0 });
    const output = captureOutput();

    // Act
    try {
      createRuntime(runtimeConfig, { busyWaitMs: 10_000 });
      createRuntime(runtimeConfig, { busyWaitMs: 0 });
      recordIdmetaAttempt(OK_ATTEMPT);
    } finally {
      output.restore();
    }

    // Assess: no overwrite warning, and the environment is still stamped.
    expect(output.text()).not.toContain('has already been added');
    const line = output.allJsonLines().find((entry) => 'IdmetaLatency' in entry);
    expect(line?.environment).toBe('dev');
  });

  it("read the fields the runtime's EMF lines really carry", () => {
    // Prepare
    const output = captureOutput();

    // Act
    try {
      recordIdmetaAttempt({
        operation: 'dukcapilfacematch',
        attempt: 1,
        httpStatus: undefined,
        outcome: 'error',
        errorCode: 'IDMETA_TIMEOUT',
        durationMs: 8000,
      });
    } finally {
      output.restore();
    }

    // Assess
    const lines = output.allJsonLines().filter((entry) => '_aws' in entry);
    expect(lines).toContainEqual(
      expect.objectContaining({ IdmetaCalls: 1, service: SERVICE_NAME }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ IdmetaErrors: 1, kind: 'IDMETA_TIMEOUT' }),
    );
  });

  /** A Sum alarm at 1 on `metric` of Facematch/dev, counted by a filter on each function's logs. */
  function expectLogCountAlarm(alarm: {
    name: string;
    metric: string;
    filterPattern: string;
    metricValue: string;
  }) {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarm.name,
      Namespace: 'Facematch/dev',
      MetricName: alarm.metric,
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    for (const fn of [ids.apiFunction, ids.queueFunction]) {
      const logGroup = resources('AWS::Lambda::Function')[fn]?.Properties.LoggingConfig.LogGroup;
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: logGroup,
        FilterPattern: alarm.filterPattern,
        MetricTransformations: [
          {
            MetricNamespace: 'Facematch/dev',
            MetricName: alarm.metric,
            MetricValue: alarm.metricValue,
          },
        ],
      });
    }
  }

  it('count verifications failed for a refused token in this environment, and alarm on one', () => {
    expectLogCountAlarm({
      name: 'facematch-dev-idmeta-token-rejected',
      metric: TOKEN_REJECTED_METRIC,
      filterPattern: `{ $.error_code = "${TOKEN_REJECTED_CODE}" }`,
      metricValue: '1',
    });
  });

  it('count paid verdicts that could not be stored from the runtime’s metric, and alarm on one', () => {
    expectLogCountAlarm({
      name: 'facematch-dev-paid-verdict-not-saved',
      metric: METRIC.paidVerdictsNotSaved,
      filterPattern: `{ $.${METRIC.paidVerdictsNotSaved} > 0 }`,
      metricValue: `$.${METRIC.paidVerdictsNotSaved}`,
    });
  });

  it('match the line the runtime logs for a verification failed for a refused token', () => {
    // Prepare
    const pending = newRecord({
      verificationId: 'alarm-1',
      templateId: 'tf-1',
      nikMasked: '3174********0012',
      nikHash: 'hash',
      source: 's3',
      status: 'PENDING',
      now: Date.parse('2025-01-01T00:00:00Z'),
      retentionDays: 1,
      idmetaVerificationOwned: false,
    });
    const failed = failedRecord(
      pending,
      new IdmetaTokenError(),
      Date.parse('2025-01-01T00:01:00Z'),
    );
    const output = captureOutput();

    // Act
    try {
      recordVerdict(failed);
    } finally {
      output.restore();
    }

    // Assess
    const lines = output.allJsonLines();
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'verification recorded',
        error_code: TOKEN_REJECTED_CODE,
      }),
    );
  });

  it('subscribe the configured e-mail address', () => {
    const withEmail = synthesize('dev', {
      config: configWith('dev', (c) => ({
        ...c,
        alarms: { ...c.alarms, email: 'ops@example.co.id' },
      })),
    });

    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.co.id',
    });
  });

  it('use an existing topic instead of creating one', () => {
    const topicArn = 'arn:aws:sns:ap-southeast-3:111122223333:ops-alarms';
    const existing = synthesize('dev', {
      config: configWith('dev', (c) => ({ ...c, alarms: { ...c.alarms, topicArn } })),
    });

    existing.template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of Object.values(existing.template.findResources('AWS::CloudWatch::Alarm'))) {
      expect((alarm as { Properties: { AlarmActions: unknown } }).Properties.AlarmActions).toEqual([
        topicArn,
      ]);
    }
  });
});

describe('the dashboard', () => {
  /** The DashboardBody's `Fn::Join`, with every reference written as its JSON. */
  const dashboardBody = (): string => {
    const dashboards = Object.values(resources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = dashboards[0]?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
    return body['Fn::Join'][1]
      .map((part) => (typeof part === 'string' ? part : JSON.stringify(part)))
      .join('');
  };

  it('is named Facematch-<env>', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'Facematch-dev',
    });
  });

  it('graphs the verdicts, IDmeta, refusals, queues, functions, API and housekeeping', () => {
    // Act
    const body = dashboardBody();

    // Assess
    for (const metric of [
      'Verifications',
      'APPROVED',
      'REVIEW',
      'REJECTED',
      'FAILED',
      'IdmetaLatency',
      'p50',
      'p99',
      'IdmetaCalls',
      'IdmetaErrors',
      TOKEN_REJECTED_METRIC,
      'LocalRefusals',
      'ApproximateNumberOfMessagesVisible',
      'Throttles',
      'Errors',
      '4XXError',
      '5XXError',
      'Latency',
      'HousekeepingFailures',
      'publish-verdict-event',
    ]) {
      expect(body, metric).toContain(metric);
    }
  });

  it("finds this environment's EMF metrics by their exact dimension sets, environment and service included", () => {
    const body = dashboardBody();

    for (const schema of [
      '{Facematch,environment,outcome,service,source} MetricName=\\"Verifications\\" environment=\\"dev\\"',
      '{Facematch,environment,reason,service,source} MetricName=\\"LocalRefusals\\" environment=\\"dev\\"',
      '{Facematch,environment,kind,operation,service} MetricName=\\"IdmetaErrors\\" environment=\\"dev\\"',
      '{Facematch,environment,operation,service} MetricName=\\"HousekeepingFailures\\" environment=\\"dev\\"',
    ]) {
      expect(body, schema).toContain(`SEARCH('${schema}`);
    }
    expect(body).toContain(
      '["Facematch","IdmetaLatency","environment","dev","operation","dukcapilfacematch","service","facematch"',
    );
  });

  it("watches this environment's queues, functions and API, and shows every alarm", () => {
    const body = dashboardBody();

    for (const id of [ids.dlq, ids.queue])
      expect(body).toContain(JSON.stringify(getAtt(id, 'QueueName')));
    for (const id of [ids.apiFunction, ids.queueFunction]) {
      expect(body).toContain(JSON.stringify({ Ref: id }));
    }
    expect(body).toContain('"ApiName","facematch-dev"');
    for (const id of Object.keys(resources('AWS::CloudWatch::Alarm'))) {
      expect(body).toContain(JSON.stringify(getAtt(id)));
    }
  });
});
