import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  ListMessageMoveTasksCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { runRedrive } from '../../local/cli/redrive-command.ts';
import { runCli } from '../../local/cli.ts';
import { captureCliOutput } from '../support/cli.ts';

const DLQ_ARN = 'arn:aws:sqs:ap-southeast-3:123456789012:facematch-dev-dlq';

const sqs = mockClient(SQSClient);
const cloudformation = mockClient(CloudFormationClient);

const capture = () => captureCliOutput();

describe('facematch redrive', () => {
  afterEach(() => {
    sqs.reset();
    cloudformation.reset();
  });

  it('finds the DLQ from the stack, starts a move task back to its source and follows it to COMPLETED', async () => {
    // Prepare
    cloudformation.on(DescribeStacksCommand, { StackName: 'Facematch-staging' }).resolves({
      Stacks: [
        {
          StackName: 'Facematch-staging',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: 'DeadLetterQueueArn', OutputValue: DLQ_ARN }],
        },
      ],
    });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle' });
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({
        Results: [
          {
            Status: 'RUNNING',
            ApproximateNumberOfMessagesMoved: 2,
            ApproximateNumberOfMessagesToMove: 5,
          },
        ],
      })
      .resolves({
        Results: [
          {
            Status: 'COMPLETED',
            ApproximateNumberOfMessagesMoved: 5,
            ApproximateNumberOfMessagesToMove: 5,
          },
        ],
      });
    const { out, io } = capture();

    // Act
    const status = await runRedrive(['--env', 'staging', '--poll-seconds', '1'], {
      io,
      env: { AWS_REGION: 'ap-southeast-3' },
      sleep: async () => {},
    });

    // Assess
    expect(status).toBe(0);
    // No destination: SQS moves the messages back to the queue they were dead-lettered from.
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toEqual({
      SourceArn: DLQ_ARN,
    });
    expect(out.stdout).toBe('RUNNING: moved 2 of 5\nCOMPLETED: moved 5 of 5\n');
  });

  it('exits 1 with the reason when the task fails', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle' });
    sqs.on(ListMessageMoveTasksCommand).resolves({
      Results: [
        { Status: 'FAILED', FailureReason: 'AccessDenied', ApproximateNumberOfMessagesMoved: 0 },
      ],
    });
    const { out, io } = capture();

    const status = await runRedrive(['--dlq-arn', DLQ_ARN, '--rate', '10'], {
      io,
      env: {},
      sleep: async () => {},
    });

    expect(status).toBe(1);
    expect(out.stdout).toContain('FAILED: moved 0 of ? (AccessDenied)');
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toMatchObject({
      MaxNumberOfMessagesPerSecond: 10,
    });
  });

  it('refuses a task SQS will not start, and bad arguments, with a message and exit 1', async () => {
    sqs.on(StartMessageMoveTaskCommand).rejects(
      Object.assign(new Error('There is already a task running'), {
        name: 'UnsupportedOperation',
      }),
    );
    const running = capture();
    expect(await runCli(['redrive', '--dlq-arn', DLQ_ARN], running.io, { env: {} })).toBe(1);
    expect(running.out.stderr).toContain('already a task running');

    const both = capture();
    expect(
      await runCli(['redrive', '--env', 'dev', '--dlq-arn', DLQ_ARN], both.io, { env: {} }),
    ).toBe(1);
    expect(both.out.stderr).toContain('not both');
  });
});
