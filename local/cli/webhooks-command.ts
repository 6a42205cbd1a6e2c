/**
 * `facematch webhooks deliveries | resend | test`: the delivery log and its two actions. Without
 * `--env` they work on the local runtime's data (its DynamoDB on `DYNAMODB_PORT`; a resend or a
 * ping is sent from here, once, to `WEBHOOK_URL` signed with `WEBHOOK_SECRET`). With `--env NAME`
 * they work on that deployed environment with the standard AWS credentials: the log is read from
 * its table and a resend or a ping is queued on the endpoint's queue, so the deployed sender
 * delivers it with the full retry schedule. Table and queue names follow from `--env`
 * (lambda/core/webhooks.ts).
 */
import { randomUUID } from 'node:crypto';
import { GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  type AwsClientOptions,
  createDynamoClient,
  createDynamoDocumentClient,
} from '../../lambda/adapters/aws-clients.ts';
import { createSqsClient } from '../../lambda/adapters/sqs-client.ts';
import { DynamoWebhookDeliveries } from '../../lambda/adapters/webhook-deliveries.ts';
import {
  type DeliveryRecord,
  ENDPOINT_NAME,
  eventOfMessage,
  parseDeliveryId,
  type WebhookMessage,
  webhookQueueName,
  webhookTableName,
} from '../../lambda/core/webhooks.ts';
import { parseLocalWebhookConfig } from '../../lambda/webhook-config.ts';
import { ENV_NAME } from '../../lib/stack-name.ts';
import { LOCAL_WEBHOOK_ENDPOINT, LOCAL_WEBHOOK_TABLE, LocalWebhooks } from '../webhooks.ts';
import { parseCommandArgs } from './args.ts';
import type { CliContext } from './context.ts';
import { CliError, UsageError } from './errors.ts';
import { cleanCell, EXIT } from './output.ts';

export const WEBHOOKS_USAGE = `usage: facematch webhooks <deliveries|resend|test> [options]

  deliveries [--failed] [--limit N]   the delivery log, newest first (--failed: given up only)
  resend DELIVERY_ID                  send that delivery's event again, same webhook-id
  test NAME                           send a signed "ping" to the endpoint NAME

options:
  --env NAME     a deployed environment (standard AWS credentials and region): reads its
                 table facematch-NAME-webhook-deliveries; resend and test queue the event on
                 facematch-NAME-webhook-<endpoint>, and the deployed sender delivers it.
                 Without --env: the local runtime (npm start) on DYNAMODB_PORT (default 8000);
                 resend and test deliver once from here to WEBHOOK_URL, signed with
                 WEBHOOK_SECRET (endpoint name "${LOCAL_WEBHOOK_ENDPOINT}").
  --json         print the records (or the outcome) as JSON on stdout
  -h, --help     this text

exit status: 0 done (delivered, or queued with --env), 1 error (also a local delivery that failed)`;

const OPTIONS = {
  env: { type: 'string' },
  failed: { type: 'boolean' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function describe(record: DeliveryRecord): string {
  const last = record.last_status ?? '-';
  const error = record.last_error ?? '';
  const next = record.state === 'RETRYING' ? `next ${record.next_attempt_at ?? '-'}` : '';
  return [
    record.delivery_id,
    record.state,
    `attempts ${record.attempts}`,
    `last ${last}${error ? ` ${error}` : ''}`,
    record.event_type,
    record.verification_id ?? '-',
    record.last_attempt_at ?? record.created_at,
    next,
  ]
    .map(cleanCell)
    .filter((part) => part !== '')
    .join('  ');
}

const messageOf = (record: DeliveryRecord): WebhookMessage => ({
  id: record.event_id,
  type: record.event_type,
  timestamp: record.event_time,
  data: record.data,
  resend: true,
});

const pingOf = (endpoint: string, now: Date): WebhookMessage => ({
  id: `ping_${randomUUID()}`,
  type: 'ping',
  timestamp: now.toISOString(),
  data: { endpoint },
});

interface Target {
  deliveries: DynamoWebhookDeliveries;
  /** Sends (locally) or queues (deployed) one message; returns the line to print. */
  send(
    endpoint: string,
    message: WebhookMessage,
  ): Promise<{ ok: boolean; line: string; record?: DeliveryRecord }>;
  close(): void;
}

async function localTarget(context: CliContext): Promise<Target> {
  const { LOCAL_AWS_CREDENTIALS, LOCAL_AWS_REGION } = await import('../aws-servers.ts');
  const port = context.env.DYNAMODB_PORT?.trim() || '8000';
  const client = createDynamoClient({
    region: LOCAL_AWS_REGION,
    credentials: { ...LOCAL_AWS_CREDENTIALS },
    endpoint: `http://127.0.0.1:${port}`,
    maxAttempts: 1,
  });
  const deliveries = new DynamoWebhookDeliveries({
    client: createDynamoDocumentClient({ client }),
    tableName: LOCAL_WEBHOOK_TABLE,
  });
  let webhooks: LocalWebhooks | undefined;
  return {
    deliveries,
    async send(endpoint, message) {
      if (endpoint !== LOCAL_WEBHOOK_ENDPOINT) {
        throw new CliError(
          `locally the one endpoint is "${LOCAL_WEBHOOK_ENDPOINT}" (WEBHOOK_URL); deployed ones need --env`,
        );
      }
      const config = parseLocalWebhookConfig(context.env);
      if (config === undefined) {
        throw new CliError('set WEBHOOK_URL and WEBHOOK_SECRET (as for npm start) to send locally');
      }
      webhooks ??= new LocalWebhooks({ ...config, deliveries, log: () => {} });
      const outcome = await webhooks.deliverOnce(message);
      const { record } = outcome;
      const cause = record.last_status ?? record.last_error ?? '';
      return {
        ok: outcome.kind === 'delivered',
        record,
        line:
          outcome.kind === 'delivered'
            ? `delivered ${record.delivery_id} (${cause})`
            : `not delivered ${record.delivery_id}: ${record.last_error ?? ''} ${record.last_status ?? ''}`.trim(),
      };
    },
    close() {
      void webhooks?.stop();
      client.destroy();
    },
  };
}

function deployedTarget(envName: string, aws: AwsClientOptions = {}): Target {
  const client = createDynamoClient(aws);
  const sqs = createSqsClient(aws);
  return {
    deliveries: new DynamoWebhookDeliveries({
      client: createDynamoDocumentClient({ client }),
      tableName: webhookTableName(envName),
    }),
    async send(endpoint, message) {
      const queueName = webhookQueueName(envName, endpoint);
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
      await sqs.send(
        new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(eventOfMessage(message)) }),
      );
      return {
        ok: true,
        line: `queued ${endpoint}/${message.id} on ${queueName}; the log shows its delivery`,
      };
    },
    close() {
      client.destroy();
      sqs.destroy();
    },
  };
}

export async function runWebhooks(argv: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(argv, OPTIONS, WEBHOOKS_USAGE, true);
  if (parsed === 'help') {
    context.io.stdout.write(`${WEBHOOKS_USAGE}\n`);
    return 0;
  }
  const { values, positionals } = parsed;
  const [action, ...rest] = positionals;
  if (values.env !== undefined && !ENV_NAME.test(values.env)) {
    throw new UsageError(
      `--env must be an environment name such as dev (got "${cleanCell(values.env)}")`,
      WEBHOOKS_USAGE,
    );
  }
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new UsageError('--limit must be an integer from 1 to 1000', WEBHOOKS_USAGE);
  }
  const one = (what: string) => {
    if (rest.length !== 1) throw new UsageError(`${action} takes one ${what}`, WEBHOOKS_USAGE);
    return rest[0] as string;
  };
  const out = (line: string) => context.io.stdout.write(`${line}\n`);
  const json = values.json === true;

  const target = values.env === undefined ? await localTarget(context) : deployedTarget(values.env);
  try {
    switch (action) {
      case 'deliveries': {
        if (rest.length > 0) throw new UsageError('deliveries takes no argument', WEBHOOKS_USAGE);
        const records = await target.deliveries
          .list({ failedOnly: values.failed === true, limit })
          .catch((error: unknown) => {
            throw unreachable(error, values.env);
          });
        if (json) out(JSON.stringify(records, null, 2));
        else if (records.length === 0) out('no deliveries');
        else for (const record of records) out(describe(record));
        return 0;
      }
      case 'resend': {
        const deliveryId = one('delivery id');
        const parts = parseDeliveryId(deliveryId);
        if (parts === null) {
          throw new UsageError(
            'a delivery id is <endpoint>/<event id>, as deliveries lists it',
            WEBHOOKS_USAGE,
          );
        }
        const record = await target.deliveries.get(deliveryId).catch((error: unknown) => {
          throw unreachable(error, values.env);
        });
        if (record === null) throw new CliError(`no delivery ${deliveryId} in the log`);
        return report(await target.send(parts.endpoint, messageOf(record)), out, json);
      }
      case 'test': {
        const name = one('endpoint name');
        if (!ENDPOINT_NAME.test(name)) throw new UsageError('not an endpoint name', WEBHOOKS_USAGE);
        const now = context.now?.() ?? new Date();
        return report(await target.send(name, pingOf(name, now)), out, json);
      }
      case undefined:
        throw new UsageError('missing the action: deliveries, resend or test', WEBHOOKS_USAGE);
      default:
        throw new UsageError(`unknown action "${cleanCell(action)}"`, WEBHOOKS_USAGE);
    }
  } finally {
    target.close();
  }
}

function report(
  result: { ok: boolean; line: string; record?: DeliveryRecord },
  out: (line: string) => void,
  json: boolean,
): number {
  if (json)
    out(JSON.stringify({ ok: result.ok, message: result.line, delivery: result.record ?? null }));
  else out(result.line);
  return result.ok ? 0 : EXIT.ERROR;
}

function unreachable(error: unknown, envName: string | undefined): Error {
  const name = error instanceof Error ? error.name : 'Error';
  if (envName !== undefined) {
    return new CliError(
      `could not read ${webhookTableName(envName)} (${name}): check the AWS credentials and region`,
    );
  }
  return new CliError(
    `could not read the local delivery log (${name}): is npm start running (DYNAMODB_PORT)?`,
  );
}
