/**
 * One environment of facematch (DESIGN.md): the REST API and the S3 -> SQS entrance, their two
 * Lambda functions, the verdict table, the selfie bucket, the secrets, the verdict event bus, the
 * alarms and the dashboard; every store of personal data encrypted with the environment's own KMS
 * key and every permission named.
 */
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { Code } from 'aws-cdk-lib/aws-lambda';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  ERASURE_JOURNAL_PREFIX,
  ERASURE_RECEIPT_PREFIX,
} from '../lambda/adapters/erasure-receipts.ts';
import {
  PERSON_INDEX,
  VERDICT_TABLE_INDEXES,
  VERDICT_TABLE_PARTITION_KEY,
  VERDICT_TABLE_TTL_ATTRIBUTE,
  WORKLIST_INDEX,
} from '../lambda/adapters/verdict-table.ts';
import { parseConfig as parseRuntimeConfig } from '../lambda/config.ts';
import { FacematchAlarms } from './alarms.ts';
import {
  API_FUNCTION_TIMEOUT_SECONDS,
  type FacematchConfig,
  InfraConfigError,
  VISIBILITY_TIMEOUT_FACTOR,
} from './config.ts';
import { FacematchDashboard } from './dashboard.ts';
import { createEncryptionKey } from './encryption-key.ts';
import { FacematchFunction } from './facematch-function.ts';
import { acknowledge } from './nag.ts';
import { consumeEncryptedQueues } from './queue-consumer.ts';
import { REVIEW_PREFIX, SELFIE_PREFIX, SelfieStorage } from './selfie-storage.ts';
import { Sweeper } from './sweeper.ts';
import { VerificationApi } from './verification-api.ts';
import { Webhooks } from './webhooks.ts';

/** Enough CPU on arm64 to decode and check a 4 MB selfie in well under a second. */
const MEMORY_SIZE_MB = 512;
/** The sweeper holds no selfie: the smallest size with a fast enough CPU share for the SDK. */
const SWEEPER_MEMORY_SIZE_MB = 256;

/** What the token secret holds until an operator puts the real token (the runtime says so). */
export const TOKEN_SECRET_PLACEHOLDER = '{"token":""}';

export interface FacematchStackProps extends StackProps {
  envName: string;
  config: FacematchConfig;
  /** Tests only: skip bundling (see FacematchFunctionProps.code). */
  functionCode?: Code;
}

export class FacematchStack extends Stack {
  readonly key: Key;
  readonly table: Table;
  readonly storage: SelfieStorage;
  readonly tokenSecret: ISecret;
  readonly dataKeySecret: Secret;
  readonly apiFunction: FacematchFunction;
  readonly queueFunction: FacematchFunction;
  readonly api: VerificationApi;
  readonly sweeper: Sweeper;
  readonly eventBus: IEventBus;
  readonly alarms: FacematchAlarms;
  readonly dashboard: FacematchDashboard;
  /** Signed webhooks: absent when the config lists no endpoint. */
  readonly webhooks: Webhooks | undefined;

  constructor(scope: Construct, id: string, props: FacematchStackProps) {
    const { config, envName, functionCode, ...stackProps } = props;
    super(scope, id, {
      ...stackProps,
      description: `facematch ${envName}: eKYC verification against Dukcapil through IDmeta`,
      // An environment whose table is protected from deletion is protected as a whole: a
      // `cdk destroy` or a stray delete-stack fails until the protection is turned off.
      terminationProtection: config.deletionProtection,
      ...(config.account === undefined && config.region === undefined
        ? {}
        : { env: { account: config.account, region: config.region } }),
    });

    const retain = config.removalPolicy === 'retain';
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const apiTimeout = Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS);
    const queueTimeout = Duration.seconds(config.queue.functionTimeoutSeconds);

    this.key = createEncryptionKey(this, 'Key', { envName, removalPolicy });

    this.table = new Table(this, 'Verdicts', {
      partitionKey: { name: VERDICT_TABLE_PARTITION_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: true,
        recoveryPeriodInDays: config.retention.pointInTimeRecoveryDays,
      },
      timeToLiveAttribute: VERDICT_TABLE_TTL_ATTRIBUTE,
      deletionProtection: config.deletionProtection,
      removalPolicy,
    });
    // The worklist and by-person indexes, as lambda/adapters/verdict-table.ts defines them for
    // the local table too: one definition, so a query that works locally works here.
    for (const index of VERDICT_TABLE_INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: {
          name: index.partitionKey.name,
          type: index.partitionKey.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
        },
        sortKey: {
          name: index.sortKey.name,
          type: index.sortKey.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
        },
        ...(index.projection.type === 'ALL'
          ? { projectionType: ProjectionType.ALL }
          : {
              projectionType: ProjectionType.INCLUDE,
              nonKeyAttributes: index.projection.nonKeyAttributes,
            }),
      });
    }

    this.storage = new SelfieStorage(this, 'Storage', {
      key: this.key,
      removalPolicy,
      selfieDays: config.retention.selfieDays,
      reviewSelfieDays: config.retention.reviewSelfieDays,
      erasureReceiptDays: config.retention.erasureReceiptDays,
      accessLogDays: config.retention.logDays,
      corsAllowedOrigins: config.selfies.corsAllowedOrigins,
      visibilityTimeout: Duration.seconds(queueTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      maxReceiveCount: config.queue.maxReceiveCount,
    });

    this.tokenSecret = this.idmetaTokenSecret(config, removalPolicy);
    // Never rotated: every NIK hash and every sealed identity is keyed with it, and a new value
    // would make all of them unreadable. Retained with the data it protects.
    this.dataKeySecret = new Secret(this, 'DataKey', {
      description: `facematch ${envName}: key of the NIK hash and the sealed identities (never rotate)`,
      encryptionKey: this.key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });

    this.eventBus = this.verdictEventBus(config, envName);

    const environment = this.runtimeEnvironment(config, envName);
    const apiEnvironment = {
      ...environment,
      // A claim's lease lasts as long as the worker holding it can possibly run.
      VERIFICATION_LEASE_MS: String(apiTimeout.toMilliseconds()),
    };
    const queueEnvironment = {
      ...environment,
      VERIFICATION_LEASE_MS: String(queueTimeout.toMilliseconds()),
      QUEUE_MAX_RECEIVE_COUNT: String(config.queue.maxReceiveCount),
    };
    assertRuntimeAccepts('ApiFunction', apiEnvironment);
    assertRuntimeAccepts('SelfieUploadedFunction', queueEnvironment);
    const code = functionCode === undefined ? {} : { code: functionCode };

    this.apiFunction = new FacematchFunction(this, 'ApiFunction', {
      handler: 'api',
      description: `facematch ${envName}: POST/GET /verifications`,
      timeout: apiTimeout,
      memorySizeMb: MEMORY_SIZE_MB,
      environment: apiEnvironment,
      logRetention: config.retention.logDays,
      logEncryptionKey: this.key,
      logRemovalPolicy: removalPolicy,
      ...code,
    });
    this.queueFunction = new FacematchFunction(this, 'SelfieUploadedFunction', {
      handler: 'selfie-uploaded',
      description: `facematch ${envName}: selfies uploaded to ${SELFIE_PREFIX}`,
      timeout: queueTimeout,
      memorySizeMb: MEMORY_SIZE_MB,
      environment: queueEnvironment,
      logRetention: config.retention.logDays,
      logEncryptionKey: this.key,
      logRemovalPolicy: removalPolicy,
      ...code,
    });

    this.grantReviewQueue(this.apiFunction.executionRole);
    this.grantReviewSelfies(this.apiFunction.executionRole, [
      's3:PutObject',
      's3:GetObject',
      's3:DeleteObject',
    ]);
    // The queue path keeps the selfie of a REVIEW verdict it decides.
    this.grantReviewSelfies(this.queueFunction.executionRole, ['s3:PutObject']);

    this.grantCommon(this.apiFunction.executionRole, config);
    this.grantCommon(this.queueFunction.executionRole, config);
    this.grantSelfies(this.apiFunction.executionRole, [
      's3:GetObject',
      // The presigned POST the API hands out is signed with this role's credentials: S3 checks
      // the upload against this role, so the role itself must be allowed to put the object.
      's3:PutObject',
    ]);
    this.grantSelfies(this.queueFunction.executionRole, ['s3:GetObject', 's3:DeleteObject']);
    // Starting a paid check is writing under incoming/: the API function's role (its forms) and
    // the configured writers only.
    this.storage.limitIncomingWriters([
      this.apiFunction.executionRole.roleArn,
      ...config.selfies.writerPrincipals,
    ]);

    this.consumeSelfieQueue(config);

    this.grantSubjectRights(this.apiFunction.executionRole);

    this.sweeper = new Sweeper(this, 'Sweeper', {
      envName,
      environment: queueEnvironment,
      table: this.table,
      bucket: this.storage.bucket,
      queue: this.storage.queue,
      key: this.key,
      eventBus: this.eventBus,
      logRetention: config.retention.logDays,
      removalPolicy,
      memorySizeMb: SWEEPER_MEMORY_SIZE_MB,
      ...code,
    });
    // Finalising an IDmeta verification facematch created needs the token.
    this.grantTokenSecret(this.sweeper.function.executionRole, config);

    this.api = new VerificationApi(this, 'Api', {
      envName,
      handler: this.apiFunction,
      key: this.key,
      logRetention: config.retention.logDays,
      removalPolicy,
      throttlingRateLimit: config.api.throttlingRateLimit,
      throttlingBurstLimit: config.api.throttlingBurstLimit,
      allowedAccountIds: config.api.allowedAccountIds,
      createCloudWatchRole: config.api.createCloudWatchRole,
    });

    this.alarms = new FacematchAlarms(this, 'Alarms', {
      envName,
      key: this.key,
      ...(config.alarms.email === undefined ? {} : { email: config.alarms.email }),
      ...(config.alarms.topicArn === undefined ? {} : { topicArn: config.alarms.topicArn }),
      functions: [this.apiFunction, this.queueFunction, this.sweeper.function],
      deadLetterQueue: this.storage.deadLetterQueue,
      idmetaErrorRatePercent: config.alarms.idmetaErrorRatePercent,
      reviewSlaHours: config.review.slaHours,
    });

    this.webhooks =
      config.webhooks.length === 0
        ? undefined
        : new Webhooks(this, 'Webhooks', {
            envName,
            key: this.key,
            eventBus: this.eventBus,
            endpoints: config.webhooks,
            failMinutes: config.alarms.webhookFailMinutes,
            removalPolicy,
            deletionProtection: config.deletionProtection,
            pointInTimeRecoveryDays: config.retention.pointInTimeRecoveryDays,
            logRetention: config.retention.logDays,
            alarmAction: new SnsAction(this.alarms.topic),
            ...(functionCode === undefined ? {} : { functionCode }),
          });
    if (this.webhooks !== undefined) {
      // A data subject's erasure deletes their webhook deliveries too (lambda/core/subjects.ts).
      this.apiFunction.addEnvironment(
        'WEBHOOK_DELIVERIES_TABLE_NAME',
        this.webhooks.table.tableName,
      );
      this.apiFunction.executionRole.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'SubjectDeliveries',
          actions: ['dynamodb:Scan', 'dynamodb:DeleteItem'],
          resources: [this.webhooks.table.tableArn],
        }),
      );
    }

    this.dashboard = new FacematchDashboard(this, 'Dashboard', {
      envName,
      functions: [this.apiFunction, this.queueFunction],
      api: this.api.api,
      queue: this.storage.queue,
      deadLetterQueue: this.storage.deadLetterQueue,
      alarms: this.alarms,
      reviewSlaHours: config.review.slaHours,
    });

    this.webhooks?.addToDashboard(this.dashboard.dashboard);

    this.acknowledgeFindings();
    this.outputs();
  }

  /** The runtime configuration both functions share (DESIGN.md's variable names). */
  private runtimeEnvironment(config: FacematchConfig, envName: string): Record<string, string> {
    return {
      FACEMATCH_ENV: envName,
      VERDICT_TABLE_NAME: this.table.tableName,
      SELFIE_BUCKET_NAME: this.storage.bucket.bucketName,
      IDMETA_BASE_URL: config.idmeta.baseUrl,
      // An imported-by-name secret is looked up by its name: its ARN's suffix is unknown here.
      IDMETA_TOKEN_SECRET_ID:
        config.idmeta.tokenSecret === 'create' || config.idmeta.tokenSecret.startsWith('arn:')
          ? this.tokenSecret.secretArn
          : config.idmeta.tokenSecret,
      IDMETA_TEMPLATE_ID: config.idmeta.templateId,
      IDMETA_TIMEOUT_MS: String(config.idmeta.timeoutMs),
      IDMETA_MAX_ATTEMPTS: String(config.idmeta.maxAttempts),
      IDMETA_DOB_FORMAT: config.idmeta.dobFormat,
      IDMETA_FINALIZE: String(config.idmeta.finalizeOwnedVerifications),
      FACEMATCH_DATA_KEY_SECRET_ID: this.dataKeySecret.secretArn,
      APPROVE_THRESHOLD: String(config.policy.approveThreshold),
      REJECT_THRESHOLD: String(config.policy.rejectThreshold),
      ...(config.policy.profiles === undefined
        ? {}
        : { POLICY_PROFILES: JSON.stringify(config.policy.profiles) }),
      SELFIE_MAX_BYTES: String(config.selfies.maxBytes),
      SELFIE_MIN_DIMENSION: String(config.selfies.minDimension),
      SELFIE_MAX_DIMENSION: String(config.selfies.maxDimension),
      SELFIE_DELETE_AFTER_VERDICT: String(config.retention.deleteSelfieAfterVerdict),
      RECORD_RETENTION_DAYS: String(config.retention.recordDays),
      UPLOAD_URL_EXPIRES_SECONDS: String(config.selfies.uploadUrlExpiresSeconds),
      REVIEW_SELFIE_DAYS: String(config.retention.reviewSelfieDays),
      // PutEvents takes a name or an ARN: a configured reference is passed as given, so another
      // account's bus is addressed by its ARN.
      EVENT_BUS_NAME:
        config.events.busName === 'create' ? this.eventBus.eventBusName : config.events.busName,
    };
  }

  /**
   * The bus final verdicts are announced on. Not encrypted with the stack key: the events carry no
   * personal data (the runtime leaves out even the masked NIK), and a customer key would make
   * every consumer's rule, archive and cross-account target need a grant on it.
   */
  private verdictEventBus(config: FacematchConfig, envName: string): IEventBus {
    const reference = config.events.busName;
    if (reference === 'create') {
      return new EventBus(this, 'VerdictEvents', {
        eventBusName: `facematch-${envName}`,
        description: `facematch ${envName}: final verdicts (source facematch, detail-type Verification Completed)`,
      });
    }
    return reference.startsWith('arn:')
      ? EventBus.fromEventBusArn(this, 'VerdictEvents', reference)
      : EventBus.fromEventBusName(this, 'VerdictEvents', reference);
  }

  private idmetaTokenSecret(config: FacematchConfig, removalPolicy: RemovalPolicy): ISecret {
    const reference = config.idmeta.tokenSecret;
    if (reference === 'create') {
      // CloudFormation cannot create a secret without a value. This one holds an empty token, which
      // the runtime refuses by name ("secret ... is empty") until an operator puts the real one.
      // CloudFormation never writes it again unless this placeholder changes.
      return new Secret(this, 'IdmetaToken', {
        description:
          'facematch: IDmeta API token. Put it after deploy: aws secretsmanager put-secret-value ' +
          '--secret-id <this ARN> --secret-string \'{"token":"<token>"}\' (or the raw token)',
        encryptionKey: this.key,
        secretStringValue: SecretValue.unsafePlainText(TOKEN_SECRET_PLACEHOLDER),
        removalPolicy,
      });
    }
    return reference.startsWith('arn:')
      ? Secret.fromSecretCompleteArn(this, 'IdmetaToken', reference)
      : Secret.fromSecretNameV2(this, 'IdmetaToken', reference);
  }

  /** The queue function consumes the selfie queue (lib/queue-consumer.ts: Decrypt through SQS). */
  private consumeSelfieQueue(config: FacematchConfig): void {
    consumeEncryptedQueues(this.queueFunction, {
      queues: [this.storage.queue],
      key: this.key,
      batchSize: config.queue.batchSize,
      // The brake on IDmeta's rate limit: never more queue workers calling it than this.
      maxConcurrency: config.idmeta.maxConcurrency,
      sids: { queues: 'ConsumeSelfieQueue', key: 'QueueMessagesThroughSqs' },
    });
  }

  /** The IDmeta token: the secret, and its own KMS key when an existing secret has one. */
  private grantTokenSecret(role: IRole, config: FacematchConfig): void {
    this.tokenSecret.grantRead(role);
    const tokenKeyArn = config.idmeta.tokenSecretKmsKeyArn;
    if (tokenKeyArn !== undefined) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'ExistingTokenSecretKey',
          actions: ['kms:Decrypt'],
          resources: [tokenKeyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` },
          },
        }),
      );
    }
  }

  /** The table (read/write), both secrets (read), the key and the event bus, for both functions. */
  private grantCommon(role: IRole, config: FacematchConfig): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'VerdictTable',
        // The verdict store's three calls (lambda/adapters/verdict-store.ts), nothing else.
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [this.table.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'PersonIndex',
        // Signals read one NIK hash's history before paying IDmeta (lambda/adapters/person-index.ts).
        actions: ['dynamodb:Query'],
        resources: [`${this.table.tableArn}/index/${PERSON_INDEX}`],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'DataKeyThroughDynamoDbAndS3',
        // DynamoDB and S3 use the key on the caller's behalf: reading needs Decrypt, writing an
        // object needs GenerateDataKey. Only through those two services, never directly (queue
        // consumers add Decrypt through SQS: lib/queue-consumer.ts).
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [this.key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': [
              `dynamodb.${this.region}.amazonaws.com`,
              `s3.${this.region}.amazonaws.com`,
            ],
          },
        },
      }),
    );
    this.grantTokenSecret(role, config);
    this.dataKeySecret.grantRead(role);
    // PutEvents on the verdict bus only (lambda/adapters/verdict-events.ts).
    this.eventBus.grantPutEventsTo(role);
    // HeadObject on a missing key answers 403 instead of 404 without it (selfie-store.ts).
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SelfieBucketList',
        actions: ['s3:ListBucket'],
        resources: [this.storage.bucket.bucketArn],
      }),
    );
  }

  /**
   * Access and erasure of a data subject (lambda/core/subjects.ts): the by-person index, deleting
   * records, and every object a record may have left (incoming/, review/) plus its receipt.
   */
  private grantSubjectRights(role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SubjectRecords',
        // Found through the by-person index (the PersonIndex grant), deleted by id.
        actions: ['dynamodb:DeleteItem'],
        resources: [this.table.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SubjectObjects',
        actions: ['s3:GetObject', 's3:DeleteObject'],
        resources: [SELFIE_PREFIX, REVIEW_PREFIX].map((prefix) =>
          this.storage.bucket.arnForObjects(`${prefix}*`),
        ),
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ErasureReceipts',
        actions: ['s3:PutObject'],
        resources: [this.storage.bucket.arnForObjects(`${ERASURE_RECEIPT_PREFIX}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ErasureJournal',
        // The journal of an erasure under way (written with the receipts' PutObject): a rerun
        // reads it, the finished erasure deletes it. Receipts themselves are never read back.
        actions: ['s3:GetObject', 's3:DeleteObject'],
        resources: [this.storage.bucket.arnForObjects(`${ERASURE_JOURNAL_PREFIX}*`)],
      }),
    );
  }

  /** Reads of the review queue: the `worklist` index only (lambda/adapters/review-store.ts). */
  private grantReviewQueue(role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReviewQueue',
        actions: ['dynamodb:Query'],
        resources: [`${this.table.tableArn}/index/${WORKLIST_INDEX}`],
      }),
    );
  }

  /** The selfies kept for reviewers, under `review/` only (lambda/adapters/review-selfies.ts). */
  private grantReviewSelfies(role: IRole, actions: string[]): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReviewSelfieObjects',
        actions,
        resources: [this.storage.bucket.arnForObjects(`${REVIEW_PREFIX}*`)],
      }),
    );
  }

  private grantSelfies(role: IRole, actions: string[]): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SelfieObjects',
        actions,
        resources: [this.storage.bucket.arnForObjects(`${SELFIE_PREFIX}*`)],
      }),
    );
  }

  /** Each acknowledged cdk-nag finding, on the narrowest construct, with its reason. */
  private acknowledgeFindings(): void {
    const bucketId = this.getLogicalId(this.storage.bucket.node.defaultChild as CfnBucket);
    for (const fn of [this.apiFunction, this.queueFunction, this.sweeper.function]) {
      const role = fn.executionRole;
      acknowledge(
        role,
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) have no resource-level ' +
          'permissions: AWS requires Resource "*" for them. Every other statement is scoped.',
      );
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${SELFIE_PREFIX}*]`,
        `Object permissions are scoped to the ${SELFIE_PREFIX} prefix of the selfie bucket; the ` +
          'object keys are per verification and not known in advance, so an object ARN needs the ' +
          'trailing wildcard.',
      );
    }
    // The queue path keeps the selfie of a REVIEW verdict it decides (the API role's review/
    // grant is acknowledged with the erasure's below).
    acknowledge(
      this.queueFunction.executionRole,
      `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${REVIEW_PREFIX}*]`,
      `Puts are scoped to the ${REVIEW_PREFIX} prefix (the selfies kept for open reviews); the ` +
        'keys are per verification, so an object ARN needs the wildcard.',
    );
    for (const prefix of [REVIEW_PREFIX, ERASURE_RECEIPT_PREFIX]) {
      acknowledge(
        this.apiFunction.executionRole,
        `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        `A data subject's erasure deletes kept selfies (${REVIEW_PREFIX}) and writes its receipt ` +
          `(${ERASURE_RECEIPT_PREFIX}) under keys named by verification or receipt id, not known ` +
          'in advance; the grant is scoped to that prefix of the selfie bucket.',
      );
    }
    acknowledge(
      this.apiFunction.executionRole,
      `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${ERASURE_JOURNAL_PREFIX}*]`,
      `An erasure's journal (${ERASURE_JOURNAL_PREFIX}) is named by a keyed digest of the ` +
        "person's NIK, not known in advance; reading and deleting it are scoped to that prefix.",
    );
    for (const secret of [this.tokenSecret, this.dataKeySecret]) {
      if (secret instanceof Secret) {
        acknowledge(
          secret,
          'AwsSolutions-SMG4',
          secret === this.dataKeySecret
            ? 'The data key must never rotate: every stored NIK hash and sealed identity is keyed ' +
                'with it, and a new value would orphan them all.'
            : 'IDmeta tokens are issued by hand in the IDmeta dashboard; there is no API a ' +
                'rotation Lambda could call. The runtime re-reads the secret after a 401.',
        );
      }
    }
    for (const method of this.api.methods) {
      acknowledge(
        method,
        'AwsSolutions-COG4',
        'The API is called by other services with AWS SigV4 (IAM authorization on every ' +
          'method, DESIGN.md); there are no end users and no Cognito user pool.',
      );
    }
    acknowledge(
      this.api.api.deploymentStage,
      'AwsSolutions-APIG3',
      'IAM-authorized, service-to-service API with stage throttling; unsigned requests are ' +
        'refused before any integration runs. A WAF web ACL can be attached by the account ' +
        '(e.g. Firewall Manager) without a stack change.',
    );
    const cloudWatchRole = this.api.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole !== undefined) {
      acknowledge(
        cloudWatchRole,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'The account-level role API Gateway uses to write access and execution logs; AWS ' +
          'documents this managed policy for it, and the log groups it writes to are created by ' +
          'API Gateway with names not known in advance.',
      );
    }
    this.acknowledgeBucketNotificationsHandler();
  }

  /** The Lambda-backed custom resource aws-cdk-lib uses to put the bucket notifications. */
  private acknowledgeBucketNotificationsHandler(): void {
    const handler = this.node.children.find((child) =>
      child.node.id.startsWith('BucketNotificationsHandler'),
    );
    if (handler === undefined) return;
    const owned =
      "Part of aws-cdk-lib's BucketNotifications custom resource, which applies the " +
      'S3 -> SQS notifications at deploy time and never touches data.';
    acknowledge(
      handler.node.findChild('Role'),
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      `${owned} Its role gets only the basic execution (logging) policy.`,
    );
  }

  private outputs(): void {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.api.api.url, 'Invoke URL of the REST API (SigV4, service execute-api)');
    output('SelfieBucketName', this.storage.bucket.bucketName, 'Selfie bucket (incoming/ prefix)');
    output(
      'AccessLogBucketName',
      this.storage.accessLogBucket.bucketName,
      "The selfie bucket's S3 access logs",
    );
    output('VerdictTableName', this.table.tableName, 'Verdict table');
    output('QueueUrl', this.storage.queue.queueUrl, 'Selfie-uploaded queue');
    output('DeadLetterQueueUrl', this.storage.deadLetterQueue.queueUrl, 'Its dead-letter queue');
    output(
      'DeadLetterQueueArn',
      this.storage.deadLetterQueue.queueArn,
      'Its ARN, for aws sqs start-message-move-task --source-arn (redrive)',
    );
    output(
      'IdmetaTokenSecretArn',
      this.tokenSecret.secretArn,
      'IDmeta token secret: put the token here after the first deploy',
    );
    output('DataKeySecretArn', this.dataKeySecret.secretArn, 'Data key secret (never rotate)');
    output('EventBusName', this.eventBus.eventBusName, 'Event bus of the verdict events');
    output(
      'EventBusArn',
      this.eventBus.eventBusArn,
      'Its ARN, for rules and cross-account targets',
    );
    output('AlarmTopicArn', this.alarms.topic.topicArn, 'SNS topic of the alarms');
    output('DashboardName', this.dashboard.dashboard.dashboardName, 'CloudWatch dashboard');
    if (this.webhooks !== undefined) {
      output(
        'WebhookDeliveriesTableName',
        this.webhooks.table.tableName,
        'Webhook delivery log (facematch webhooks deliveries --env <env>)',
      );
    }
  }
}

/**
 * Runs the runtime's own configuration parser on a function's environment, so a value the
 * Lambda would refuse at start-up fails the synth instead, naming the variable.
 */
function assertRuntimeAccepts(functionId: string, environment: Record<string, string>): void {
  try {
    parseRuntimeConfig(environment);
  } catch (error) {
    throw new InfraConfigError(
      `the ${functionId} environment would not start: ${(error as Error).message}`,
    );
  }
}
