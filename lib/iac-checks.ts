/**
 * The independent IaC checkers beside cdk-nag (lib/nag.ts), and every finding of theirs this
 * project accepts, each with its reason: here and nowhere else.
 *
 * - The AWS Control Tower proactive controls, run by cfn-guard (its binary ships inside
 *   `@cdklabs/cdk-validator-cfnguard`; offline) as a CDK validation plugin: a `synth` with an
 *   unacknowledged finding fails, as it does for cdk-nag. An account whose Control Tower enables
 *   one of the controls acknowledged here refuses the deploy: the reasons say why we accept that.
 * - cfn-lint, run by test/infra/environments.test.ts on every synthesized template (it is a
 *   Python tool, not a plugin): the findings below are filtered there, every other one fails.
 *
 * Acknowledgements are made by kind of resource (every log group, every function), so a
 * resource added later that has the same reason needs no new line, and one with another kind of
 * finding still fails.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { CfnLogGroup } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import type { FacematchStack } from './facematch-stack.ts';

/** The plugin's name: the prefix of its rule ids in acknowledgements and reports. */
export const GUARD_PLUGIN_NAME = 'cdk-validator-cfnguard';

/** Where the stacks deploy (config/*.json): cfn-lint checks resource types against it. */
export const CFN_LINT_REGIONS = ['ap-southeast-3'];

/** Registers the Control Tower proactive controls on the app: every stack is checked at synth. */
export function addControlTowerChecks(app: IConstruct): void {
  Validations.of(app).addPlugins(new CfnGuardValidator());
}

/** A cfn-lint finding accepted on one resource. */
export interface CfnLintAcknowledgement {
  /** cfn-lint's rule id, e.g. `W3005`. */
  rule: string;
  resource: IConstruct;
  reason: string;
}

const LOGS_RETENTION =
  "Every log here names verification ids, and API and S3 logs carry callers' IP addresses: " +
  'personal data under UU PDP, kept only retention.logDays (14 to 90 days in the shipped ' +
  'configs), never a year.';

const NO_VPC =
  'The functions reach only IDmeta on the internet and AWS APIs; nothing of theirs lives in a ' +
  'VPC. A VPC would add NAT gateways (cost, and one more egress path to secure) and protect ' +
  "nothing. aws-cdk-lib's custom resource handlers run at deploy time only.";

const NO_VERSIONS =
  'Versioning would keep every deleted selfie and log as a noncurrent version: UU PDP requires ' +
  'biometric and log data to be destroyed at the end of its purpose (lib/selfie-storage.ts).';

const NO_OBJECT_LOCK =
  'Object Lock forbids the very deletion UU PDP requires (the selfie after its verdict, the ' +
  'lifecycle expiry), and needs versioning.';

/** Acknowledges the Control Tower findings this stack accepts, each with its reason. */
export function acknowledgeControlTowerFindings(stack: FacematchStack): void {
  const ack = (scope: IConstruct, rule: string, reason: string) =>
    Validations.of(scope).acknowledge({ id: `${GUARD_PLUGIN_NAME}::${rule}`, reason });
  const { bucket, accessLogBucket } = stack.storage;

  for (const resource of cfnResourcesOf(stack)) {
    if (resource instanceof CfnLogGroup) {
      ack(resource, 'cloudwatch_log_group_retention_period_check', LOGS_RETENTION);
    }
    if (resource.cfnResourceType === 'AWS::Lambda::Function') {
      ack(resource, 'lambda_inside_vpc_check', NO_VPC);
    }
    if (resource instanceof CfnPermission && resource.principal === 'apigateway.amazonaws.com') {
      ack(
        resource,
        'lambda_function_public_access_prohibited_check',
        "API Gateway's permission to invoke the function is scoped by SourceArn to this REST " +
          "API's own methods; the rule reads only literal strings and plain references, and the " +
          'execute-api ARN is an Fn::Join.',
      );
    }
  }
  for (const b of [bucket, accessLogBucket]) {
    ack(b, 's3_bucket_versioning_enabled_check', NO_VERSIONS);
    ack(b, 's3_bucket_object_lock_enabled_check', NO_OBJECT_LOCK);
  }
  ack(
    bucket,
    's3_event_notifications_enabled_check',
    "The selfie bucket notifies the queue of every incoming/ object through aws-cdk-lib's " +
      'Custom::S3BucketNotifications resource, not the NotificationConfiguration property the ' +
      'rule reads.',
  );
  ack(
    accessLogBucket,
    's3_event_notifications_enabled_check',
    'Nothing reacts to an S3 access-log object: the logs are read by hand when needed, and ' +
      'expire after retention.logDays.',
  );
  ack(
    accessLogBucket,
    's3_bucket_default_encryption_kms_check',
    'S3 server access logs can only be delivered to a bucket encrypted with SSE-S3, not SSE-KMS; ' +
      'the bucket is private, TLS-only and expiring.',
  );
  ack(
    accessLogBucket,
    's3_bucket_logging_enabled_check',
    'It is the access-log bucket: logging it would need a third bucket, whose own logs would ' +
      'need a fourth.',
  );
}

/** The cfn-lint findings this stack accepts, each on its resource with its reason. */
export function cfnLintAcknowledgements(stack: FacematchStack): CfnLintAcknowledgement[] {
  const acknowledgements: CfnLintAcknowledgement[] = [];
  for (const resource of cfnResourcesOf(stack)) {
    const type = resource.cfnResourceType;
    if (type === 'AWS::Lambda::Function' && resource.obtainDependencies().length > 0) {
      acknowledgements.push({
        rule: 'W3005',
        resource,
        reason:
          "aws-cdk-lib makes a function depend on its role and the role's policy, so the " +
          'permissions exist before its first invocation; the role half repeats the Role ' +
          'GetAtt, which is harmless.',
      });
    }
    if (type === 'Custom::S3BucketNotifications') {
      acknowledgements.push({
        rule: 'W3005',
        resource,
        reason:
          'The notification depends on the queue construct so that the queue policy exists ' +
          'when S3 tests the destination; aws-cdk-lib writes the queue itself in that list too.',
      });
    }
  }
  return acknowledgements;
}

/** Every CloudFormation resource of the stack, the L2s' and aws-cdk-lib's custom resources'. */
function cfnResourcesOf(stack: Stack): CfnResource[] {
  return stack.node
    .findAll()
    .filter(
      (construct): construct is CfnResource =>
        construct instanceof CfnResource && Stack.of(construct) === stack,
    );
}
