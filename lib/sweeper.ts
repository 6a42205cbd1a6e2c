/**
 * The sweeper (DESIGN.md: worklists): a small function EventBridge Scheduler invokes every five
 * minutes, with a role of its own that can read the worklist index, move a record on through the
 * same conditional writes a worker uses, look for an upload, queue it again, announce a final
 * record and finalise an IDmeta verification facematch created. Nothing else: it never reads a
 * selfie's bytes and never calls IDmeta's paid check.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { CfnFunction, Code } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { WORKLIST_INDEX } from '../lambda/adapters/verdict-table.ts';
import { FacematchFunction } from './facematch-function.ts';
import { acknowledge } from './nag.ts';
import { SELFIE_PREFIX } from './selfie-storage.ts';

const SWEEP_INTERVAL = Duration.minutes(5);
/** Time enough for a batch of conditional writes; a backlog is worked off over several runs. */
const SWEEPER_TIMEOUT = Duration.minutes(2);

export interface SweeperProps {
  envName: string;
  /** The runtime environment the workers share; the sweeper adds its queue. */
  environment: Record<string, string>;
  table: Table;
  bucket: IBucket;
  queue: IQueue;
  key: IKey;
  eventBus: IEventBus;
  logRetention: number;
  removalPolicy: RemovalPolicy;
  memorySizeMb: number;
  code?: Code;
}

export class Sweeper extends Construct {
  readonly function: FacematchFunction;
  readonly schedule: Schedule;
  readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    this.function = new FacematchFunction(this, 'Function', {
      handler: 'sweeper',
      description: `facematch ${props.envName}: sweeps stuck verifications (every ${SWEEP_INTERVAL.toMinutes()} min)`,
      timeout: SWEEPER_TIMEOUT,
      memorySizeMb: props.memorySizeMb,
      environment: { ...props.environment, SELFIE_QUEUE_URL: props.queue.queueUrl },
      logRetention: props.logRetention,
      logEncryptionKey: props.key,
      logRemovalPolicy: props.removalPolicy,
      ...(props.code === undefined ? {} : { code: props.code }),
    });
    const role = this.function.executionRole;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WorklistAndClaims',
        // The worklist query, and the store's conditional get/claim/save (verdict-store.ts).
        actions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [props.table.tableArn, `${props.table.tableArn}/index/${WORKLIST_INDEX}`],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'UploadsLookAndTidy',
        // HEAD (needs GetObject) to find an upload; delete a failed verification's selfie.
        actions: ['s3:GetObject', 's3:DeleteObject'],
        resources: [props.bucket.arnForObjects(`${SELFIE_PREFIX}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'UploadsList',
        // HeadObject on a missing key answers 403 instead of 404 without it.
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'KeyThroughServices',
        // The table, the bucket and the queue are encrypted with the stack key; only through them.
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': ['dynamodb', 's3', 'sqs'].map(
              (service) => `${service}.${props.table.stack.region}.amazonaws.com`,
            ),
          },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'RequeueUploads',
        // The queue's KMS use is covered above, through SQS only (grantSendMessages would add
        // direct key permissions).
        actions: ['sqs:SendMessage'],
        resources: [props.queue.queueArn],
      }),
    );
    props.eventBus.grantPutEventsTo(role);

    // A role of the schedule's own, so its one permission sits where its reason is written.
    this.schedulerRole = new Role(this, 'ScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `facematch ${props.envName}: EventBridge Scheduler invoking the sweeper`,
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: `facematch ${props.envName}: sweep stuck verifications`,
      schedule: ScheduleExpression.rate(SWEEP_INTERVAL),
      // A missed run is not retried: the next one, five minutes later, reads the same worklist.
      target: new LambdaInvoke(this.function, { retryAttempts: 0, role: this.schedulerRole }),
    });
    acknowledge(
      this.schedulerRole,
      `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(
        this.function.node.defaultChild as CfnFunction,
      )}.Arn>:*]`,
      "aws-cdk-lib's LambdaInvoke target grants lambda:InvokeFunction on the sweeper and its " +
        'versions (ARN:*); it invokes this one function and nothing else.',
    );
  }
}
