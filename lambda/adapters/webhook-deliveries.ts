/**
 * The webhook delivery log: a DynamoDB table of its own (`delivery_id` = `<endpoint>/<event id>`,
 * TTL `expires_at`), one item per delivery, rewritten after every attempt. It never holds a
 * receiver's answer, and the event detail it keeps for resends is `toEventDetail`'s (nothing
 * personal). The same adapter serves the sender function, the local runtime (dynalite) and the
 * CLI.
 */
import {
  BillingMode,
  CreateTableCommand,
  type DynamoDBClient,
  KeyType,
  ResourceInUseException,
  ScalarAttributeType,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DeliveryRecord, WebhookDeliveries } from '../core/webhooks.ts';

export const DELIVERY_TABLE_PARTITION_KEY = 'delivery_id';
export const DELIVERY_TABLE_TTL_ATTRIBUTE = 'expires_at';
/** Days a delivery stays listable and resendable (the retries themselves end after about 29 h). */
export const DELIVERY_RETENTION_DAYS = 14;

export class DynamoWebhookDeliveries implements WebhookDeliveries {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async get(deliveryId: string): Promise<DeliveryRecord | null> {
    const output = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { [DELIVERY_TABLE_PARTITION_KEY]: deliveryId },
        ConsistentRead: true,
      }),
    );
    return (output.Item as DeliveryRecord | undefined) ?? null;
  }

  async put(record: DeliveryRecord): Promise<void> {
    await this.#client.send(new PutCommand({ TableName: this.#tableName, Item: record }));
  }

  /**
   * A scan: the table holds two weeks of deliveries at most, which an operator lists rarely.
   * Newest first.
   */
  async list(options: { failedOnly: boolean; limit: number }): Promise<DeliveryRecord[]> {
    const items: DeliveryRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#client.send(
        new ScanCommand({
          TableName: this.#tableName,
          ...(options.failedOnly
            ? {
                FilterExpression: '#state = :failed',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':failed': 'FAILED' },
              }
            : {}),
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      items.push(...((output.Items ?? []) as DeliveryRecord[]));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items
      .sort((a, b) =>
        (b.last_attempt_at ?? b.created_at).localeCompare(a.last_attempt_at ?? a.created_at),
      )
      .slice(0, options.limit);
  }
}

/** The local runtime's (and the tests') table, shaped as the stack creates it. */
export const createDeliveriesTable = async (
  client: DynamoDBClient,
  tableName: string,
): Promise<void> => {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: DELIVERY_TABLE_PARTITION_KEY, AttributeType: ScalarAttributeType.S },
        ],
        KeySchema: [{ AttributeName: DELIVERY_TABLE_PARTITION_KEY, KeyType: KeyType.HASH }],
        BillingMode: BillingMode.PAY_PER_REQUEST,
      }),
    );
  } catch (error) {
    if (
      error instanceof ResourceInUseException ||
      (error as Error).name === 'ResourceInUseException'
    ) {
      return;
    }
    throw error;
  }
  // dynalite does not expire items; the call documents the shape and works on real DynamoDB.
  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: DELIVERY_TABLE_TTL_ATTRIBUTE, Enabled: true },
      }),
    )
    .catch(() => {});
};
