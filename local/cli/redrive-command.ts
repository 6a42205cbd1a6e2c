/**
 * `facematch redrive`: moves the dead-letter queue's messages back to the selfie queue with SQS's
 * own message move task (StartMessageMoveTask), shows its progress and ends with its final state.
 * Each moved message is an upload the queue worker tries again; a record it finishes, the
 * sweeper no longer has to give up.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { stackName } from '../../lib/stack-name.ts';
import { parseCommandArgs } from './args.ts';
import type { CliContext } from './context.ts';
import { CliError, UsageError } from './errors.ts';
import { EXIT } from './output.ts';

export const REDRIVE_USAGE = `usage: facematch redrive [--env NAME | --dlq-arn ARN] [options]

Moves every message of the selfie queue's dead-letter queue back to the queue it came from
(SQS StartMessageMoveTask), prints progress and the task's final state.

options:
  --env NAME              the deployed environment (stack Facematch-NAME; default dev): its
                          DeadLetterQueueArn output names the queue
  --dlq-arn ARN           the dead-letter queue's ARN, instead of --env
  --rate N                messages per second (default: as fast as SQS allows)
  --region REGION         default: the ARN's region, else AWS_REGION
  --poll-seconds N        how often progress is read (default 5)
  -h, --help              this text

Credentials: the standard AWS chain. Needs cloudformation:DescribeStacks (with --env),
sqs:StartMessageMoveTask, sqs:ListMessageMoveTasks, sqs:ReceiveMessage and sqs:DeleteMessage on
the dead-letter queue, and sqs:SendMessage on the selfie queue.

exit status: 0 the task COMPLETED (or there was nothing to move), 1 otherwise`;

const OPTIONS = {
  env: { type: 'string' },
  'dlq-arn': { type: 'string' },
  rate: { type: 'string' },
  region: { type: 'string' },
  'poll-seconds': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FINAL_STATES = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

const regionOfArn = (arn: string) => arn.split(':')[3] || undefined;

async function deadLetterQueueArn(envName: string, region: string | undefined): Promise<string> {
  const client = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const { Stacks } = await client.send(
      new DescribeStacksCommand({ StackName: stackName(envName) }),
    );
    const arn = Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === 'DeadLetterQueueArn');
    if (!arn?.OutputValue) {
      throw new CliError(`stack ${stackName(envName)} has no DeadLetterQueueArn output`);
    }
    return arn.OutputValue;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read stack ${stackName(envName)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    client.destroy();
  }
}

const progressLine = (task: ListMessageMoveTasksResultEntry) =>
  `${task.Status}: moved ${task.ApproximateNumberOfMessagesMoved ?? 0} of ${
    task.ApproximateNumberOfMessagesToMove ?? '?'
  }${task.FailureReason ? ` (${task.FailureReason})` : ''}\n`;

const positive = (text: string | undefined, name: string, fallback?: number) => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new CliError(`--${name} must be a positive integer`);
  return value;
};

export async function runRedrive(
  argv: string[],
  context: CliContext & { sleep?: (ms: number) => Promise<void> },
): Promise<number> {
  const parsed = parseCommandArgs(argv, OPTIONS, REDRIVE_USAGE);
  if (parsed === 'help') {
    context.io.stdout.write(`${REDRIVE_USAGE}\n`);
    return 0;
  }
  const { values } = parsed;
  if (values.env !== undefined && values['dlq-arn'] !== undefined) {
    throw new UsageError('give --env or --dlq-arn, not both', REDRIVE_USAGE);
  }
  const rate = positive(values.rate, 'rate');
  const pollMs = (positive(values['poll-seconds'], 'poll-seconds', 5) ?? 5) * 1000;
  const region = values.region ?? context.env.AWS_REGION ?? context.env.AWS_DEFAULT_REGION;
  const sourceArn = values['dlq-arn'] ?? (await deadLetterQueueArn(values.env ?? 'dev', region));
  const sleep = context.sleep ?? ((ms: number) => new Promise((done) => setTimeout(done, ms)));

  const client = new SQSClient({ region: values.region ?? regionOfArn(sourceArn) ?? region });
  try {
    context.io.stderr.write(`moving messages of ${sourceArn} back to their source queue\n`);
    await client.send(
      new StartMessageMoveTaskCommand({
        SourceArn: sourceArn,
        ...(rate === undefined ? {} : { MaxNumberOfMessagesPerSecond: rate }),
      }),
    );
    for (;;) {
      const { Results } = await client.send(
        new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }),
      );
      const task = Results?.[0];
      if (task === undefined) throw new CliError('SQS lists no move task for that queue');
      context.io.stdout.write(progressLine(task));
      if (FINAL_STATES.has(task.Status ?? '')) {
        return task.Status === 'COMPLETED' ? 0 : EXIT.ERROR;
      }
      await sleep(pollMs);
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `the move task failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
  } finally {
    client.destroy();
  }
}
