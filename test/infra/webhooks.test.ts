/**
 * The webhooks construct as a deployment would get it: config validation, per-endpoint rule ->
 * queue -> sender function, the secret, the delivery log, the alarms and cdk-nag.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, webhookQueueName } from '../../lambda/core/webhooks.ts';
import { recordWebhookAttempt, setMetricsEnvironment } from '../../lambda/observability.ts';
import { parseWebhookSenderConfig } from '../../lambda/webhook-config.ts';
import { InfraConfigError } from '../../lib/config.ts';
import { WEBHOOK_MAX_RECEIVE_COUNT } from '../../lib/webhooks.ts';
import { captureOutput } from '../support/events.ts';
import {
  actionsOf,
  configWith,
  logicalIdOf,
  nagFindings,
  type Synthesized,
  statementsOfRole,
  synthesize,
} from './support.ts';

const EXISTING_SECRET =
  'arn:aws:secretsmanager:ap-southeast-3:111122223333:secret:lender-webhook-AbCdEf';

const withWebhooks = () =>
  configWith('dev', (config) => ({
    ...config,
    alarms: { ...config.alarms, webhookFailMinutes: 45 },
    webhooks: [
      { name: 'core-banking', url: 'https://core.lender.example/hooks/kyc', secret: 'create' },
      {
        name: 'crm',
        url: 'https://crm.lender.example/facematch',
        secret: EXISTING_SECRET,
        events: ['verification.completed'],
      },
    ],
  }));

let env: Synthesized;
let template: Template;

beforeAll(() => {
  env = synthesize('dev', { config: withWebhooks() });
  template = env.template;
});

describe('webhook config', () => {
  it.each([
    [
      'an http URL',
      { url: 'http://core.lender.example/h' },
      'webhooks.0.url: must be an https URL',
    ],
    [
      'a bad secret',
      { secret: 'whsec_abc' },
      'webhooks.0.secret: must be "create" or the complete ARN',
    ],
    ['a bad name', { name: 'Core Banking' }, 'webhooks.0.name: must be lower-case'],
    ['an unknown event', { events: ['verification.started'] }, 'webhooks.0.events.0'],
  ])('refuses %s, naming the field', (_label, change, message) => {
    expect(() =>
      configWith('dev', (config) => ({
        ...config,
        // Deliberately outside the input type: what a hand-edited JSON file may hold.
        webhooks: [{ name: 'a', url: 'https://a.example/h', secret: 'create', ...change } as never],
      })),
    ).toThrow(message);
  });

  it('refuses two endpoints with one name', () => {
    const endpoint = { name: 'a', url: 'https://a.example/h', secret: 'create' };
    expect(() =>
      configWith('dev', (config) => ({ ...config, webhooks: [endpoint, endpoint] })),
    ).toThrow(InfraConfigError);
  });

  it('ships no webhook by default: no table, queue or function for them', () => {
    const plain = synthesize('dev');
    expect(plain.stack.webhooks).toBeUndefined();
    plain.template.resourceCountIs('AWS::Events::Rule', 0);
  });
});

describe('the webhooks stack', () => {
  it('has no cdk-nag finding', () => {
    expect(nagFindings(env.app)).toEqual([]);
  });

  it('routes each endpoint its own event types from the verdict bus to its own encrypted queue', () => {
    const rules = template.findResources('AWS::Events::Rule');
    const patterns = Object.values(rules).map(
      (rule) => (rule as { Properties: { EventPattern: unknown } }).Properties.EventPattern,
    );
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: ['facematch'],
          'detail-type': ['Verification Completed', 'Verification Reviewed', 'Data Subject Erased'],
        },
        { source: ['facematch'], 'detail-type': ['Verification Completed'] },
      ]),
    );
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: webhookQueueName('dev', 'core-banking'),
      KmsMasterKeyId: Match.anyValue(),
      RedrivePolicy: { maxReceiveCount: WEBHOOK_MAX_RECEIVE_COUNT },
    });
    expect(WEBHOOK_MAX_RECEIVE_COUNT).toBeGreaterThan(MAX_ATTEMPTS);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets EventBridge encrypt onto the queues, and only rules of this account send to them', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'EventBridgeEncryptsForTheWebhookQueues',
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: { StringEquals: { 'aws:SourceAccount': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('creates a secret for "create" and reads an existing one by its ARN', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 3); // token, data key, core-banking
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('webhook "core-banking"'),
      GenerateSecretString: Match.objectLike({ PasswordLength: 48, ExcludePunctuation: true }),
    });
    const role = logicalIdOf(env.stack.webhooks?.senderFunction.executionRole as never);
    const secretReads = statementsOfRole(template, role).filter((statement) =>
      JSON.stringify(statement.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(JSON.stringify(secretReads)).toContain(EXISTING_SECRET);
  });

  it('gives the sender only get/put on the delivery log', () => {
    const fn = env.stack.webhooks?.senderFunction;
    const statements = statementsOfRole(template, logicalIdOf(fn?.executionRole as never));
    const log = statements.find((statement) => statement.Sid === 'DeliveryLog');
    expect(log?.Action).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
  });

  it('lets the sender use the stack key only through a service: the log through DynamoDB, the queues through SQS', () => {
    // The key also encrypts the verdict table and the selfie bucket: a direct Decrypt would be
    // more than the sender needs (SqsEventSource grants exactly that).
    const role = logicalIdOf(env.stack.webhooks?.senderFunction.executionRole as never);
    const keyStatements = statementsOfRole(template, role).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('kms:')),
    );

    expect(
      keyStatements.map((statement) => [
        statement.Sid,
        (statement.Condition?.StringEquals as Record<string, unknown> | undefined)?.[
          'kms:ViaService'
        ],
      ]),
    ).toEqual([
      ['DeliveryLogKeyThroughDynamoDb', 'dynamodb.ap-southeast-3.amazonaws.com'],
      ['WebhookMessagesThroughSqs', 'sqs.ap-southeast-3.amazonaws.com'],
    ]);
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toEqual(
      expect.arrayContaining([
        'WebhooksSenderFunctionSqsEventSourceFacematchdevWebhooksEndpointCoreBankingQueue8A479AF6357B7EA6',
        'WebhooksSenderFunctionSqsEventSourceFacematchdevWebhooksEndpointCrmQueue0388571647F56E54',
      ]),
    );
  });

  it('alarms per endpoint past alarms.webhookFailMinutes of undelivered age', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'facematch-dev-webhook-core-banking-failing',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 45 * 60,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'facematch-dev-webhook-crm-given-up',
      MetricName: 'DeliveriesFailed',
      Dimensions: Match.arrayWith([{ Name: 'endpoint', Value: 'crm' }]),
    });
  });

  it("shows each endpoint's deliveries and oldest undelivered event on the dashboard", () => {
    const dashboards = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toContain('Webhook deliveries');
    expect(dashboards).toContain('core-banking oldest undelivered');
    expect(dashboards).toContain('crm given up');
  });

  it('alarms on the metric the sender really emits (the same dimensions)', () => {
    const output = captureOutput();
    try {
      setMetricsEnvironment('dev');
      recordWebhookAttempt({
        endpoint: 'crm',
        deliveryId: 'crm/evt-1',
        eventType: 'verification.completed',
        attempt: 8,
        errorClass: 'HTTP_5XX',
        status: 503,
        state: 'FAILED',
        durationMs: 12,
      });
    } finally {
      output.restore();
    }
    const line = output.allJsonLines().find((entry) => 'DeliveriesFailed' in entry) as
      | { _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][] }> } }
      | undefined;
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find(
      (resource) =>
        (resource as { Properties: { AlarmName?: string } }).Properties.AlarmName ===
        'facematch-dev-webhook-crm-given-up',
    ) as { Properties: { Dimensions: Array<{ Name: string }> } };
    expect(line?._aws.CloudWatchMetrics[0]?.Dimensions.map((set) => [...set].sort())).toEqual([
      alarm.Properties.Dimensions.map((dimension) => dimension.Name).sort(),
    ]);
  });
});

describe('the sender configuration', () => {
  it('fails naming the variable when the endpoints are missing', () => {
    expect(() => parseWebhookSenderConfig({})).toThrow(
      /WEBHOOK_DELIVERIES_TABLE_NAME is required.*WEBHOOK_ENDPOINTS/,
    );
  });
});
