/**
 * Where selfies land and how their arrival is announced: the selfie bucket (KMS, TLS only, no
 * public access, access-logged, `incoming/` expiring), its access-log bucket, and the S3 -> SQS
 * notification to a KMS-encrypted queue with a dead-letter queue.
 *
 * Versioning is off on purpose. UU PDP treats selfies as biometric data that must be destroyed
 * at the end of its purpose; in an unversioned bucket the runtime's DeleteObject after a verdict
 * and the lifecycle expiry really remove the bytes, where versioning would keep every selfie as
 * a noncurrent version behind a delete marker (and a re-upload of the same key would stack
 * versions). Nothing here needs a second copy: a lost selfie means the person uploads again.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  BucketNotificationDestinationType,
  type BucketProps,
  EventType,
  HttpMethods,
  type IBucketNotificationDestination,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ERASURE_RECEIPT_PREFIX } from '../lambda/adapters/erasure-receipts.ts';
import { REVIEW_SELFIE_PREFIX } from '../lambda/core/review.ts';

/** Where selfies land: `incoming/<verification_id>.<ext>` (lambda/core/request.ts). */
export const SELFIE_PREFIX = 'incoming/';
/** Selfies kept for an open review (DESIGN.md: Review); an erasure removes them too. */
export const REVIEW_PREFIX = REVIEW_SELFIE_PREFIX;

/**
 * What both buckets share: no public access, owner-enforced, TLS 1.2+ only, unversioned. A bucket
 * that goes with the stack (`destroy`) is emptied first: CloudFormation cannot delete a bucket that
 * holds objects, and the access logs keep arriving. aws-cdk-lib's custom resource denies new
 * writes, then deletes every object, only when the stack deletes the bucket; its handler ships
 * prebuilt in aws-cdk-lib (no bundling, no Docker).
 */
const privateBucketProps = (removalPolicy: RemovalPolicy): BucketProps => ({
  blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
  objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  versioned: false,
  removalPolicy,
  autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
});

export interface SelfieStorageProps {
  key: IKey;
  removalPolicy: RemovalPolicy;
  /** Lifecycle expiry of `incoming/`. */
  selfieDays: number;
  /** Lifecycle expiry of `review/`: the bound on a selfie kept for a review nobody closes. */
  reviewSelfieDays: number;
  /** Expiry of the S3 server access logs. */
  accessLogDays: number;
  /** Expiry of erasure receipts (`receipts/erasure/`): proof kept, then gone too. */
  erasureReceiptDays: number;
  /** Browser origins allowed to POST a presigned upload; none: no CORS rule at all. */
  corsAllowedOrigins: string[];
  /** How long a received message stays invisible: at least 6 x the consuming function's timeout. */
  visibilityTimeout: Duration;
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
}

export class SelfieStorage extends Construct {
  readonly bucket: Bucket;
  readonly accessLogBucket: Bucket;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SelfieStorageProps) {
    super(scope, id);

    // S3 server access logs can only be delivered to an SSE-S3 bucket, not an SSE-KMS one.
    this.accessLogBucket = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      ...privateBucketProps(props.removalPolicy),
      // Access logs carry uploaders' IP addresses: personal data, kept no longer than other logs.
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(props.accessLogDays) },
      ],
    });

    this.bucket = new Bucket(this, 'Selfies', {
      encryption: BucketEncryption.KMS,
      encryptionKey: props.key,
      // One data key per bucket instead of one KMS call per object.
      bucketKeyEnabled: true,
      ...privateBucketProps(props.removalPolicy),
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'selfies/',
      lifecycleRules: [
        {
          id: 'expire-selfies',
          prefix: SELFIE_PREFIX,
          expiration: Duration.days(props.selfieDays),
        },
        {
          id: 'expire-review-selfies',
          prefix: REVIEW_SELFIE_PREFIX,
          expiration: Duration.days(props.reviewSelfieDays),
        },
        {
          id: 'expire-erasure-receipts',
          prefix: ERASURE_RECEIPT_PREFIX,
          expiration: Duration.days(props.erasureReceiptDays),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      ...(props.corsAllowedOrigins.length === 0
        ? {}
        : {
            cors: [
              {
                // A presigned POST is a form upload: POST only, from the listed origins only.
                allowedMethods: [HttpMethods.POST],
                allowedOrigins: props.corsAllowedOrigins,
                allowedHeaders: ['*'],
                exposedHeaders: ['ETag'],
                maxAge: 3000,
              },
            ],
          }),
    });

    this.deadLetterQueue = new Queue(this, 'SelfieUploadedDlq', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      // The longest SQS allows: time to fix the cause and redrive.
      retentionPeriod: Duration.days(14),
      // Says "this is a dead-letter queue" (Control Tower's CT.SQS.PR.1). SQS's own default, written
      // out: naming the one source queue (byQueue) would make the two queues refer to each other.
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });

    this.queue = new Queue(this, 'SelfieUploaded', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });

    this.allowS3ToNotify(props.key);
    // Every new object under incoming/, whatever its extension: the presigned POST lets the
    // uploader choose it (a camera says .JPG), and the handler judges the bytes. A suffix filter
    // would leave such an upload's verification PENDING and unnoticed.
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, this.queueDestination(), {
      prefix: SELFIE_PREFIX,
    });
  }

  /**
   * Only `writers` (IAM principal ARNs) may put objects under `incoming/`: every object there
   * starts a paid IDmeta check, so no other principal of the account, whatever its own IAM policy
   * allows, may start one. A presigned POST is authorized as the role that signed it, so the API
   * function's role must be among them. The account root is not exempt: break glass by naming it
   * in the config, or by editing the bucket policy (which this statement does not deny).
   */
  limitIncomingWriters(writers: string[]): void {
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyNamedWritersPutIncoming',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${SELFIE_PREFIX}*`)],
        // Absent (anonymous callers, AWS services) counts as "not equal": denied too.
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
      }),
    );
  }

  /**
   * The queue accepts messages from S3 for this bucket only; the key lets S3 encrypt them.
   * Written here rather than by `SqsDestination`, which grants `kms:GenerateDataKey*` and
   * `kms:ReEncrypt*` to S3 on the key: this names the two actions S3 needs.
   */
  private allowS3ToNotify(key: IKey): void {
    const stack = Stack.of(this);
    const s3 = new ServicePrincipal('s3.amazonaws.com');
    this.queue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'SelfieBucketNotifications',
        principals: [s3],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: {
          ArnEquals: { 'aws:SourceArn': this.bucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    // SQS calls KMS on S3's behalf with the same source: only S3 acting for a bucket of this
    // account may use the key (confused deputy), never for another account's bucket. The bucket
    // itself cannot be named here: it is encrypted with this key, and each would wait for the
    // other (a circular dependency). Which bucket may send is the queue policy's gate, above.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'S3EncryptsNotificationsForTheSelfieQueue',
        principals: [s3],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
  }

  private queueDestination(): IBucketNotificationDestination {
    const queue = this.queue;
    return {
      bind: () => ({
        arn: queue.queueArn,
        type: BucketNotificationDestinationType.QUEUE,
        // S3 tests the destination when the notification is put: the queue policy must exist.
        dependencies: [queue],
      }),
    };
  }
}
