/**
 * `facematch webhooks ... --env <env>` against a deployed environment, AWS faked: the log is read
 * from the environment's table, and a resend or a ping is queued on the endpoint's queue in the
 * shape the deployed sender reads (the same webhook-id).
 */
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type DeliveryRecord, messageFromEvent } from '../../lambda/core/webhooks.ts';
import { runCliCaptured } from '../support/cli.ts';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.ap-southeast-3.amazonaws.com/111122223333/facematch-dev-webhook-crm';

const failed: DeliveryRecord = {
  delivery_id: 'crm/6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  endpoint: 'crm',
  event_id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  event_type: 'verification.completed',
  event_time: '2026-12-03T10:00:00.000Z',
  verification_id: 'ver-1',
  data: { verification_id: 'ver-1', status: 'COMPLETED', decision: 'APPROVED' },
  state: 'FAILED',
  attempts: 8,
  last_status: 503,
  last_error: 'HTTP_5XX',
  last_attempt_at: '2026-12-04T15:00:00.000Z',
  created_at: '2026-12-03T10:00:01.000Z',
  expires_at: 1_797_500_000,
};

const cli = (argv: string[]) =>
  runCliCaptured(argv, {
    env: { AWS_REGION: 'ap-southeast-3' },
    now: () => new Date('2026-12-05T00:00:00Z'),
  });

beforeEach(() => {
  dynamo.reset();
  sqs.reset();
  sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: QUEUE_URL });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

describe('facematch webhooks --env', () => {
  it('lists the failed deliveries of the environment table', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [failed] });

    const { code, stdout } = await cli(['webhooks', 'deliveries', '--failed', '--env', 'dev']);

    expect(code).toBe(0);
    expect(dynamo.commandCalls(ScanCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'facematch-dev-webhook-deliveries',
      ExpressionAttributeValues: { ':failed': 'FAILED' },
    });
    expect(stdout).toContain(`${failed.delivery_id}  FAILED  attempts 8  last 503 HTTP_5XX`);
  });

  it('queues a resend the deployed sender reads as the same event, flagged as a resend', async () => {
    dynamo.on(GetCommand).resolves({ Item: failed });

    const { code, stdout } = await cli(['webhooks', 'resend', failed.delivery_id, '--env', 'dev']);

    expect(code).toBe(0);
    expect(sqs.commandCalls(GetQueueUrlCommand)[0]?.args[0].input).toEqual({
      QueueName: 'facematch-dev-webhook-crm',
    });
    const body = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? '';
    expect(messageFromEvent(JSON.parse(body))).toEqual({
      id: failed.event_id,
      type: failed.event_type,
      timestamp: failed.event_time,
      data: failed.data,
      resend: true,
    });
    expect(stdout).toContain('queued crm/');
  });

  it('queues a signed ping for an endpoint', async () => {
    const { code } = await cli(['webhooks', 'test', 'crm', '--env', 'dev']);

    expect(code).toBe(0);
    const body = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? '';
    expect(messageFromEvent(JSON.parse(body))).toMatchObject({
      type: 'ping',
      timestamp: '2026-12-05T00:00:00.000Z',
      data: { endpoint: 'crm' },
    });
  });

  it.each([
    [
      ['webhooks', 'resend', 'not-a-delivery-id', '--env', 'dev'],
      'a delivery id is <endpoint>/<event id>',
    ],
    [['webhooks', 'resend', 'crm/unknown-event', '--env', 'dev'], 'no delivery crm/unknown-event'],
    [['webhooks', 'deliveries', '--env', 'Prod!'], '--env must be an environment name'],
    [['webhooks', 'frobnicate'], 'unknown action "frobnicate"'],
  ])('refuses %j clearly', async (argv, message) => {
    dynamo.on(GetCommand).resolves({});

    const { code, stderr } = await cli(argv);

    expect(code).toBe(1);
    expect(stderr).toContain(message);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});
