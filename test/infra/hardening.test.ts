/**
 * The deploy-time gaps an independent review found (issue 11, finding 8): termination
 * protection, environments that destroy cleanly, service principals scoped to their source on
 * the key, no unconditioned key use by a role, and who may start a paid check by writing under
 * incoming/. cfn-lint and the Control Tower controls run in environments.test.ts.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseInfraConfig } from '../../lib/config.ts';
import { SELFIE_PREFIX } from '../../lib/selfie-storage.ts';
import {
  actionsOf,
  buildApp,
  configWith,
  logicalIdOf,
  type PolicyStatementJson,
  type Synthesized,
  shippedConfig,
  statementsOfRole,
  synthesize,
} from './support.ts';

const REGION = 'ap-southeast-3';

type Resources = Record<
  string,
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON, read by assertions that fail loudly
  { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; DependsOn?: string[] }
>;

interface ResourcePolicyStatement extends PolicyStatementJson {
  Principal?: { Service?: unknown; AWS?: unknown } | '*';
}

let dev: Synthesized;
let template: Template;

beforeAll(() => {
  dev = synthesize('dev');
  template = dev.template;
});

const resourcesOf = (t: Template, type: string) => t.findResources(type) as Resources;
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** The statements of the bucket policy of one bucket. */
function bucketPolicyOf(t: Template, bucketId: string): ResourcePolicyStatement[] {
  const policies = Object.values(resourcesOf(t, 'AWS::S3::BucketPolicy')).filter(
    (policy) => JSON.stringify(policy.Properties.Bucket) === JSON.stringify({ Ref: bucketId }),
  );
  expect(policies, `the policy of ${bucketId}`).toHaveLength(1);
  return policies[0]?.Properties.PolicyDocument.Statement as ResourcePolicyStatement[];
}

describe('termination protection', () => {
  it.each([
    [true, true],
    [false, false],
  ])('is %s where the config sets deletionProtection %s', (deletionProtection, expected) => {
    // Prepare
    const config = configWith('dev', (c) => ({ ...c, deletionProtection }));

    // Act
    const { app, stack } = buildApp('dev', config);
    const artifact = app.synth().getStackByName(stack.stackName);

    // Assess: what `cdk deploy` sets on the CloudFormation stack
    expect(artifact.terminationProtection).toBe(expected);
  });
});

describe('a destroyable environment (removalPolicy destroy)', () => {
  it('empties both buckets, the access-log bucket too, before CloudFormation deletes them', () => {
    const buckets = [dev.stack.storage.bucket, dev.stack.storage.accessLogBucket];
    const emptied = Object.values(resourcesOf(template, 'Custom::S3AutoDeleteObjects')).map(
      (resource) => resource.Properties.BucketName,
    );

    expect(emptied).toEqual(
      expect.arrayContaining(buckets.map((bucket) => ({ Ref: logicalIdOf(bucket) }))),
    );
    expect(emptied).toHaveLength(2);
  });

  it('lets the emptying handler delete objects and close the bucket to writes, nothing more', () => {
    for (const bucket of [dev.stack.storage.bucket, dev.stack.storage.accessLogBucket]) {
      const statements = bucketPolicyOf(template, logicalIdOf(bucket));
      const handler = statements.filter(
        (statement) =>
          statement.Effect === 'Allow' &&
          JSON.stringify(statement.Principal).includes('CustomS3AutoDeleteObjects'),
      );
      expect(handler, logicalIdOf(bucket)).toHaveLength(1);
      expect(actionsOf(handler[0] as PolicyStatementJson).sort()).toEqual([
        's3:DeleteObject*',
        's3:GetBucket*',
        's3:List*',
        's3:PutBucketPolicy',
      ]);
    }
  });

  it('keeps no data-holding resource: only the account-wide API Gateway logging role', () => {
    const retained = Object.entries(template.toJSON().Resources as Resources)
      .filter(([, resource]) => resource.DeletionPolicy === 'Retain')
      .map(([, resource]) => resource.Type)
      .sort();

    // aws-cdk-lib keeps the account's API Gateway CloudWatch role and setting: other APIs of
    // the account and region may log through them.
    expect(retained).toEqual(['AWS::ApiGateway::Account', 'AWS::IAM::Role']);
  });

  it('is not emptied where data is retained (prod): no emptying resource, no handler', () => {
    const prod = Template.fromStack(buildApp('prod').stack);

    prod.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    expect(Object.keys(prod.toJSON().Resources).filter((id) => id.includes('AutoDelete'))).toEqual(
      [],
    );
  });
});

describe('the key policy', () => {
  const keyStatements = () => {
    const keys = Object.values(resourcesOf(template, 'AWS::KMS::Key'));
    return keys[0]?.Properties.KeyPolicy.Statement as ResourcePolicyStatement[];
  };
  const servicesOf = (statement: ResourcePolicyStatement): string[] => {
    const principal = statement.Principal;
    if (principal === undefined || principal === '*' || principal.Service === undefined) return [];
    return (Array.isArray(principal.Service) ? principal.Service : [principal.Service]).map(
      (service) => JSON.stringify(service),
    );
  };

  it('lets every AWS service use the key only for a source of this account (confused deputy)', () => {
    const services = keyStatements().filter(
      (statement) => statement.Effect === 'Allow' && servicesOf(statement).length > 0,
    );

    expect(services.flatMap(servicesOf)).toEqual(
      expect.arrayContaining(['"s3.amazonaws.com"', '"cloudwatch.amazonaws.com"']),
    );
    for (const statement of services) {
      const condition = JSON.stringify(statement.Condition ?? {});
      const bySource =
        condition.includes('"aws:SourceAccount":{"Ref":"AWS::AccountId"}') ||
        /"aws:SourceArn":.*\{"Ref":"AWS::AccountId"\}/.test(condition);
      // CloudWatch Logs names the log group in the encryption context: its ARN holds the account.
      const byLogGroup = /"kms:EncryptionContext:aws:logs:arn":.*\{"Ref":"AWS::AccountId"\}/.test(
        condition,
      );
      expect(bySource || byLogGroup, `${statement.Sid}: ${condition}`).toBe(true);
    }
  });

  it('scopes CloudWatch to alarms of this account and region, and S3 to this account', () => {
    expect(keyStatements()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Condition: {
            ArnLike: {
              'aws:SourceArn': {
                'Fn::Join': [
                  '',
                  [`arn:aws:cloudwatch:${REGION}:`, { Ref: 'AWS::AccountId' }, ':alarm:*'],
                ],
              },
            },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        }),
        expect.objectContaining({
          Principal: { Service: 's3.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        }),
      ]),
    );
  });

  it('lets no one but AWS services create grants, for AWS resources (CT.KMS.PR.3)', () => {
    expect(keyStatements()).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: {
          BoolIfExists: {
            'kms:GrantIsForAWSResource': 'false',
            'aws:PrincipalIsAWSService': 'false',
          },
        },
      }),
    );
  });
});

describe("the functions' use of the key", () => {
  const kmsStatements = (roleId: string) =>
    statementsOfRole(template, roleId).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('kms:')),
    );

  it('is always through a named AWS service: no role may call KMS directly', () => {
    for (const fn of [dev.stack.apiFunction, dev.stack.queueFunction, dev.stack.sweeper.function]) {
      const roleId = logicalIdOf(fn.executionRole);
      for (const statement of kmsStatements(roleId)) {
        expect(
          (statement.Condition?.StringEquals as Record<string, unknown> | undefined)?.[
            'kms:ViaService'
          ],
          `${roleId} ${JSON.stringify(statement)}`,
        ).toBeDefined();
      }
    }
  });

  it('lets the queue function decrypt queue messages through SQS only', () => {
    const roleId = logicalIdOf(dev.stack.queueFunction.executionRole);

    expect(kmsStatements(roleId)).toContainEqual(
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Resource: getAtt(logicalIdOf(dev.stack.key)),
        Condition: { StringEquals: { 'kms:ViaService': `sqs.${REGION}.amazonaws.com` } },
      }),
    );
    expect(statementsOfRole(template, roleId)).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']),
        Resource: getAtt(logicalIdOf(dev.stack.storage.queue)),
      }),
    );
  });
  it('keeps the queue mapping under its logical id: a replacement would collide with the live one', () => {
    // Lambda refuses a second mapping of the same queue to the same function, and CloudFormation
    // creates the new one before it deletes the old: a renamed mapping fails the update.
    expect(Object.keys(resourcesOf(template, 'AWS::Lambda::EventSourceMapping'))).toEqual([
      'SelfieUploadedFunctionSqsEventSourceFacematchdevStorageSelfieUploadedED8D39A56D916297',
    ]);
  });
});

describe(`writers of ${SELFIE_PREFIX}`, () => {
  const denyOthers = (statements: ResourcePolicyStatement[]) =>
    statements.filter(
      (statement) =>
        statement.Effect === 'Deny' &&
        actionsOf(statement).includes('s3:PutObject') &&
        JSON.stringify(statement.Resource).includes(`/${SELFIE_PREFIX}*`),
    );

  it('are the API function role (it signs the upload forms) and no other principal', () => {
    const statements = bucketPolicyOf(template, logicalIdOf(dev.stack.storage.bucket));

    expect(denyOthers(statements)).toEqual([
      expect.objectContaining({
        Principal: { AWS: '*' },
        Resource: {
          'Fn::Join': ['', [getAtt(logicalIdOf(dev.stack.storage.bucket)), `/${SELFIE_PREFIX}*`]],
        },
        Condition: {
          ArnNotEquals: {
            'aws:PrincipalArn': [getAtt(logicalIdOf(dev.stack.apiFunction.executionRole))],
          },
        },
      }),
    ]);
    // and no statement of the policy lets anyone put an object at all
    for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
      expect(actionsOf(statement)).not.toContain('s3:PutObject');
    }
  });

  it('include the principals named in selfies.writerPrincipals, besides the API function role', () => {
    // Prepare
    const writers = [
      'arn:aws:iam::111122223333:role/backoffice/selfie-importer',
      'arn:aws:iam::111122223333:root',
    ];
    const config = configWith('dev', (c) => ({
      ...c,
      selfies: { ...c.selfies, writerPrincipals: writers },
    }));

    // Act
    const { stack } = buildApp('dev', config);
    const statements = bucketPolicyOf(Template.fromStack(stack), logicalIdOf(stack.storage.bucket));

    // Assess
    expect(denyOthers(statements)[0]?.Condition).toEqual({
      ArnNotEquals: {
        'aws:PrincipalArn': [getAtt(logicalIdOf(stack.apiFunction.executionRole)), ...writers],
      },
    });
  });

  it.each([
    ['a wildcard', 'arn:aws:iam::111122223333:role/*'],
    ['an account id', '111122223333'],
    ['an assumed-role session', 'arn:aws:sts::111122223333:assumed-role/admin/alice'],
    ['a group', 'arn:aws:iam::111122223333:group/admins'],
  ])('are named by exact IAM ARN: %s is refused', (_what, value) => {
    const input = { ...shippedConfig('dev') };
    input.selfies = { ...input.selfies, writerPrincipals: [value] };

    expect(() => parseInfraConfig(input, 'config/dev.json')).toThrow(
      /selfies\.writerPrincipals\.0: must be an IAM role or user ARN/,
    );
  });

  it('are named once each', () => {
    const arn = 'arn:aws:iam::111122223333:role/importer';
    const input = { ...shippedConfig('dev') };
    input.selfies = { ...input.selfies, writerPrincipals: [arn, arn] };

    expect(() => parseInfraConfig(input, 'config/dev.json')).toThrow(
      /selfies\.writerPrincipals: must not repeat a principal/,
    );
  });

  it('default to none besides the API function role in every shipped config', () => {
    for (const envName of ['dev', 'staging', 'prod']) {
      expect(shippedConfig(envName).selfies?.writerPrincipals, envName).toBeUndefined();
    }
  });
});
