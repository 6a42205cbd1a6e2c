/**
 * The webhook sender's composition root: the deployed endpoints (each with its Secrets Manager
 * signing secret, read once per cache period), the HTTP sender, the delivery log and SQS (for
 * retries, loaded on the first). Built once per container, so sockets and secrets are kept
 * between invocations.
 */
import { createDynamoDocumentClient, createSecretsManagerClient } from './adapters/aws-clients.ts';
import { lazyPort } from './adapters/lazy-port.ts';
import { SecretsManagerSecret } from './adapters/token-source.ts';
import { DELIVERY_RETENTION_DAYS, DynamoWebhookDeliveries } from './adapters/webhook-deliveries.ts';
import { HttpWebhookSender } from './adapters/webhook-sender.ts';
import {
  type DeliverDeps,
  type MessageVisibility,
  parseWebhookSecret,
  type WebhookEndpoint,
} from './core/webhooks.ts';
import { recordWebhookAttempt, setMetricsEnvironment } from './observability.ts';
import type { WebhookSenderConfig } from './webhook-config.ts';

export interface QueuedEndpoint {
  endpoint: WebhookEndpoint;
  queueUrl: string;
}

export interface WebhookRuntime {
  /** Endpoints by the ARN of their queue (an SQS record's `eventSourceARN`). */
  endpointsByQueueArn: Map<string, QueuedEndpoint>;
  deps: DeliverDeps;
  /** Where a retry waits: on its own queue (ChangeMessageVisibility). */
  visibility: MessageVisibility;
}

export function createWebhookRuntime(config: WebhookSenderConfig): WebhookRuntime {
  setMetricsEnvironment(config.environment);
  const secrets = createSecretsManagerClient();
  const endpointsByQueueArn = new Map<string, QueuedEndpoint>();
  for (const deployed of config.endpoints) {
    const secret = new SecretsManagerSecret({
      client: secrets,
      secretId: deployed.secretId,
      ttlMs: config.secretCacheTtlMs,
    });
    const source = `the secret of webhook "${deployed.name}" (${deployed.secretId})`;
    endpointsByQueueArn.set(deployed.queueArn, {
      queueUrl: deployed.queueUrl,
      endpoint: {
        name: deployed.name,
        url: deployed.url,
        // A stack-created secret holds raw random characters (see parseWebhookSecret).
        key: async () => parseWebhookSecret(await secret.get(), source, { allowRaw: true }),
      },
    });
  }
  return {
    endpointsByQueueArn,
    // SQS only for a retry: its client loads then (lazy-port.ts), not at every cold start.
    visibility: lazyPort<MessageVisibility>(async () => {
      const { SqsMessageVisibility } = await import('./adapters/message-visibility.ts');
      return new SqsMessageVisibility();
    }),
    deps: {
      sender: new HttpWebhookSender(),
      deliveries: new DynamoWebhookDeliveries({
        client: createDynamoDocumentClient(),
        tableName: config.tableName,
      }),
      clock: { now: () => Date.now() },
      random: Math.random,
      retentionDays: DELIVERY_RETENTION_DAYS,
      onAttempt: recordWebhookAttempt,
    },
  };
}
