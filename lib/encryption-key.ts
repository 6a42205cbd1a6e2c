/**
 * The stack's one customer-managed KMS key: bucket, table, queues, secrets, log groups and the
 * alarm topic are all encrypted with it, so revoking or auditing access to the personal data of an
 * environment is one key policy and one CloudTrail filter. Rotated yearly by KMS.
 *
 * Key policies name their actions: no `kms:*Foo*` wildcards beyond the default statement that
 * delegates to IAM (the account root's `kms:*`, which keeps the key manageable).
 */
import { ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/** What CloudWatch Logs does with a log group's key (AWS's `kms:Encrypt*`... spelled out). */
export const LOGS_KEY_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:DescribeKey',
];

export interface EncryptionKeyProps {
  envName: string;
  removalPolicy: RemovalPolicy;
}

export function createEncryptionKey(scope: Construct, id: string, props: EncryptionKeyProps): Key {
  const stack = Stack.of(scope);
  const key = new Key(scope, id, {
    alias: `alias/facematch/${props.envName}`,
    description: `facematch ${props.envName}: selfies, verdicts, queues, secrets, logs, alarms`,
    enableKeyRotation: true,
    removalPolicy: props.removalPolicy,
    pendingWindow: Duration.days(30),
  });
  // CloudWatch Logs encrypts with the key as its regional service principal, only for log
  // groups of this account and region (the encryption context names the log group).
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'CloudWatchLogsUseForThisAccountsLogGroups',
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: LOGS_KEY_ACTIONS,
      // In a key policy `*` means "this key".
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  // Grants are a second way to use a key, beside its policy: only AWS services may create them,
  // for AWS resources (DynamoDB creates one for the table). Control Tower's CT.KMS.PR.3.
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'GrantsOnlyForAwsServices',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: {
        BoolIfExists: {
          'kms:GrantIsForAWSResource': 'false',
          'aws:PrincipalIsAWSService': 'false',
        },
      },
    }),
  );
  return key;
}
