/**
 * Signed webhooks on AWS's own machinery (DESIGN.md "Webhooks"): per endpoint an EventBridge rule
 * on the verdict bus feeds that endpoint's queue (KMS, TLS only, a DLQ); one sender function
 * drains every endpoint's queue, signs and POSTs, and on a retryable failure leaves the message on
 * its queue with the next wait as its visibility timeout. The delivery log is a table of its own
 * with a TTL. Per endpoint: the signing secret (created, or an existing one's ARN), metrics, an
 * alarm when its oldest undelivered event is older than `alarms.webhookFailMinutes`, one when a
 * delivery is given up, one on its DLQ, and dashboard widgets.
 *
 * A created secret holds 48 random letters and digits (Secrets Manager cannot generate a value
 * that starts with `whsec_`): the sender signs with their bytes and the receiver configures
 * `whsec_` + their base64 (docs/webhooks.md).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type Dashboard,
  GraphWidget,
  type IAlarmAction,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Code } from 'aws-cdk-lib/aws-lambda';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DELIVERY_TABLE_PARTITION_KEY,
  DELIVERY_TABLE_TTL_ATTRIBUTE,
} from '../lambda/adapters/webhook-deliveries.ts';
import { WEBHOOK_TIMEOUT_MS } from '../lambda/adapters/webhook-sender.ts';
import { EVENT_SOURCE } from '../lambda/core/ports.ts';
import {
  MAX_ATTEMPTS,
  WEBHOOK_EVENT_TYPES,
  webhookQueueName,
  webhookTableName,
} from '../lambda/core/webhooks.ts';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/observability.ts';
import type { DeployedWebhookEndpoint } from '../lambda/webhook-config.ts';
import { deadLetterAlarm } from './alarms.ts';
import type { FacematchConfig } from './config.ts';
import { FacematchFunction } from './facematch-function.ts';
import { acknowledge } from './nag.ts';
import { consumeEncryptedQueues } from './queue-consumer.ts';

/** A batch of 10 attempts runs in parallel, each bounded by the sender's 10 s timeout. */
const SENDER_TIMEOUT = Duration.seconds(30);
const SENDER_MEMORY_MB = 256;

/**
 * Receives before SQS itself gives a message to the DLQ: the schedule's attempts plus room for
 * receives that never reached the handler (throttling) or ended in a crash. The handler counts
 * attempts in the delivery log and gives up after MAX_ATTEMPTS itself.
 */
export const WEBHOOK_MAX_RECEIVE_COUNT = MAX_ATTEMPTS + 4;

export interface WebhooksProps {
  envName: string;
  key: IKey;
  eventBus: IEventBus;
  endpoints: FacematchConfig['webhooks'];
  failMinutes: number;
  removalPolicy: RemovalPolicy;
  deletionProtection: boolean;
  pointInTimeRecoveryDays: number;
  logRetention: FacematchConfig['retention']['logDays'];
  alarmAction: IAlarmAction;
  /** Tests only: skip bundling. */
  functionCode?: Code;
}

export interface WebhookEndpointResources {
  name: string;
  queue: Queue;
  deadLetterQueue: Queue;
  secret: ISecret;
  rule: Rule;
  delivered: Metric;
  failed: Metric;
  retries: Metric;
  oldestAge: Metric;
}

export class Webhooks extends Construct {
  readonly table: Table;
  readonly senderFunction: FacematchFunction;
  readonly endpoints: WebhookEndpointResources[] = [];
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const { envName, key } = props;

    this.table = new Table(this, 'Deliveries', {
      tableName: webhookTableName(envName),
      partitionKey: { name: DELIVERY_TABLE_PARTITION_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: true,
        recoveryPeriodInDays: props.pointInTimeRecoveryDays,
      },
      timeToLiveAttribute: DELIVERY_TABLE_TTL_ATTRIBUTE,
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
    });

    // EventBridge must encrypt what it puts on the endpoints' queues: SQS calls KMS on its
    // behalf. Unlike S3's statement for the selfie queue (lib/selfie-storage.ts, conditioned on
    // aws:SourceAccount), this one has no source condition; each queue's policy (the rule's
    // target, this account's rules only) is the gate.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeEncryptsForTheWebhookQueues',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
      }),
    );

    const deployed: DeployedWebhookEndpoint[] = [];
    for (const endpoint of props.endpoints) {
      const resources = this.endpoint(props, endpoint);
      this.endpoints.push(resources);
      deployed.push({
        name: endpoint.name,
        url: endpoint.url,
        secretId: resources.secret.secretArn,
        queueArn: resources.queue.queueArn,
        queueUrl: resources.queue.queueUrl,
      });
    }

    this.senderFunction = new FacematchFunction(this, 'SenderFunction', {
      handler: 'webhook-sender',
      description: `facematch ${envName}: signed webhooks to ${props.endpoints.length} endpoint(s)`,
      timeout: SENDER_TIMEOUT,
      memorySizeMb: SENDER_MEMORY_MB,
      environment: {
        FACEMATCH_ENV: envName,
        WEBHOOK_DELIVERIES_TABLE_NAME: this.table.tableName,
        WEBHOOK_ENDPOINTS: JSON.stringify(deployed),
      },
      logRetention: props.logRetention,
      logEncryptionKey: key,
      logRemovalPolicy: props.removalPolicy,
      ...(props.functionCode === undefined ? {} : { code: props.functionCode }),
    });
    const role = this.senderFunction.executionRole;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'DeliveryLog',
        // The delivery log's two calls (lambda/adapters/webhook-deliveries.ts); the CLI scans.
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: [this.table.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'DeliveryLogKeyThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `dynamodb.${this.table.stack.region}.amazonaws.com` },
        },
      }),
    );
    for (const endpoint of this.endpoints) endpoint.secret.grantRead(role);
    // Receive, delete and ChangeMessageVisibility (the retry schedule), on these queues only.
    consumeEncryptedQueues(this.senderFunction, {
      queues: this.endpoints.map((endpoint) => endpoint.queue),
      key,
      batchSize: 10,
      // A receiver is called by at most this many senders at once: a burst of verdicts must
      // not become a flood on a lender's core system.
      maxConcurrency: 2,
      sids: { queues: 'ConsumeWebhookQueues', key: 'WebhookMessagesThroughSqs' },
    });
    this.acknowledgeFindings();
  }

  private endpoint(
    props: WebhooksProps,
    endpoint: FacematchConfig['webhooks'][number],
  ): WebhookEndpointResources {
    const id = `Endpoint${endpoint.name.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase())}`;
    const scope = new Construct(this, id);
    const deadLetterQueue = new Queue(scope, 'DeadLetters', {
      queueName: `${webhookQueueName(props.envName, endpoint.name)}-dlq`,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new Queue(scope, 'Queue', {
      queueName: webhookQueueName(props.envName, endpoint.name),
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      // The schedule spans about 29 h; four days keep every retry and a weekend's fix.
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(SENDER_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: WEBHOOK_MAX_RECEIVE_COUNT },
    });
    const secret: ISecret =
      endpoint.secret === 'create'
        ? new Secret(scope, 'Secret', {
            description:
              `facematch ${props.envName}: signing secret of webhook "${endpoint.name}" (raw; the ` +
              "receiver's whsec_ value is whsec_ + base64 of it, docs/webhooks.md)",
            encryptionKey: props.key,
            generateSecretString: {
              passwordLength: 48,
              excludePunctuation: true,
              includeSpace: false,
            },
            removalPolicy: props.removalPolicy,
          })
        : Secret.fromSecretCompleteArn(scope, 'Secret', endpoint.secret);
    const detailTypes = Object.entries(WEBHOOK_EVENT_TYPES)
      .filter(([, type]) => endpoint.events === undefined || endpoint.events.includes(type))
      .map(([detailType]) => detailType);
    const rule = new Rule(scope, 'Rule', {
      eventBus: props.eventBus,
      description: `facematch ${props.envName}: verdict events for webhook "${endpoint.name}"`,
      eventPattern: { source: [EVENT_SOURCE], detailType: detailTypes },
      targets: [new SqsQueue(queue, { deadLetterQueue, retryAttempts: 185 })],
    });

    const dimensionsMap = {
      endpoint: endpoint.name,
      environment: props.envName,
      service: SERVICE_NAME,
    };
    // No labels here: an alarm on a labelled metric is written in the Metrics form; the
    // dashboard labels its own copies.
    const emf = (metricName: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap,
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    const resources: WebhookEndpointResources = {
      name: endpoint.name,
      queue,
      deadLetterQueue,
      secret,
      rule,
      delivered: emf(METRIC.webhookDeliveriesSucceeded),
      failed: emf(METRIC.webhookDeliveriesFailed),
      retries: emf(METRIC.webhookDeliveryRetries),
      oldestAge: queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
    };
    const alarmName = (suffix: string) =>
      `facematch-${props.envName}-webhook-${endpoint.name}-${suffix}`;
    const add = (alarm: Alarm) => {
      alarm.addAlarmAction(props.alarmAction);
      alarm.addOkAction(props.alarmAction);
      this.alarms.push(alarm);
    };
    // A healthy endpoint empties its queue in seconds; an event still there this long means the
    // endpoint has been failing (or its sender has) for that long.
    add(
      new Alarm(scope, 'FailingAlarm', {
        alarmName: alarmName('failing'),
        alarmDescription:
          `Webhook "${endpoint.name}" has an event undelivered for more than ` +
          `${props.failMinutes} min: the receiver is down, refusing with 5xx/429, or timing out. ` +
          'Deliveries keep retrying for about 29 h (docs/runbook.md).',
        metric: resources.oldestAge,
        threshold: props.failMinutes * 60,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    add(
      new Alarm(scope, 'GivenUpAlarm', {
        alarmName: alarmName('given-up'),
        alarmDescription:
          `Webhook "${endpoint.name}" gave up a delivery: the receiver refused it (3xx/4xx) or ` +
          'it failed for the whole retry schedule. `facematch webhooks deliveries --failed` lists ' +
          'them; `facematch webhooks resend <id>` sends one again (docs/runbook.md).',
        metric: resources.failed,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    add(
      deadLetterAlarm(scope, 'DeadLettersAlarm', {
        alarmName: alarmName('dead-letters'),
        alarmDescription:
          `Events for webhook "${endpoint.name}" reached its dead-letter queue: the sender could ` +
          'not attempt them (delivery log or secret unreachable) or EventBridge could not queue ' +
          'them. Fix the cause, then redrive the DLQ (docs/runbook.md).',
        queue: deadLetterQueue,
      }),
    );
    return resources;
  }

  /** Widgets for the environment's dashboard: deliveries and the oldest undelivered, per endpoint. */
  addToDashboard(dashboard: Dashboard): void {
    if (this.endpoints.length === 0) return;
    dashboard.addWidgets(
      new TextWidget({
        markdown: `## Webhooks\nAttempts by outcome per endpoint, and the age of each endpoint's oldest undelivered event (its alarm fires past the configured minutes). Timeout per attempt ${WEBHOOK_TIMEOUT_MS / 1000} s.`,
        width: 24,
        height: 2,
      }),
      new GraphWidget({
        title: 'Webhook deliveries',
        left: this.endpoints.flatMap((endpoint) => [
          endpoint.delivered.with({ label: `${endpoint.name} delivered` }),
          endpoint.retries.with({ label: `${endpoint.name} to retry` }),
          endpoint.failed.with({ label: `${endpoint.name} given up` }),
        ]),
        width: 12,
      }),
      new GraphWidget({
        title: 'Oldest undelivered webhook event (s)',
        left: this.endpoints.map((endpoint) =>
          endpoint.oldestAge.with({ label: `${endpoint.name} oldest undelivered` }),
        ),
        width: 12,
      }),
    );
  }

  private acknowledgeFindings(): void {
    acknowledge(
      this.senderFunction.executionRole,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) have no resource-level ' +
        'permissions: AWS requires Resource "*" for them. Every other statement is scoped.',
    );
    for (const endpoint of this.endpoints) {
      if (endpoint.secret instanceof Secret) {
        acknowledge(
          endpoint.secret,
          'AwsSolutions-SMG4',
          'A webhook signing secret is shared with the receiver, who must change theirs at the ' +
            'same moment; a rotation Lambda cannot reach their system. Rotate by putting a new ' +
            'value and telling the receiver (docs/runbook.md).',
        );
      }
    }
  }
}
