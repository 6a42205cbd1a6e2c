/**
 * The webhook delivery log: a DynamoDB table of its own (`delivery_id` = `<endpoint>/<event id>`,
 * TTL `expires_at`), one item per delivery, rewritten after every attempt. It never holds a
 * receiver's answer, and the event detail it keeps for resends is `toEventDetail`'s (nothing
 * personal). The same adapter serves the sender function, the local runtime (dynalite) and the
 * CLI.
 */
import {
  BillingMode,
  type DynamoDBClient,
  KeyType,
  ScalarAttributeType,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SubjectDeliveries } from '../core/subjects.ts';
import type { DeliveryRecord, ExpectedDelivery, WebhookDeliveries } from '../core/webhooks.ts';
import { isConditionalCheckFailed } from './aws-clients.ts';
import { createTableIfAbsent } from './dynamo-tables.ts';

export const DELIVERY_TABLE_PARTITION_KEY = 'delivery_id';
export const DELIVERY_TABLE_TTL_ATTRIBUTE = 'expires_at';
/** Days a delivery stays listable and resendable (the retries themselves end after about 29 h). */
export const DELIVERY_RETENTION_DAYS = 14;

export class DynamoWebhookDeliveries implements WebhookDeliveries, SubjectDeliveries {
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

  async put(record: DeliveryRecord, expected: ExpectedDelivery | null): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: record,
          ...(expected === null
            ? {
                ConditionExpression: 'attribute_not_exists(#id)',
                ExpressionAttributeNames: { '#id': DELIVERY_TABLE_PARTITION_KEY },
              }
            : {
                ConditionExpression: 'attempts = :attempts AND #state = :state',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: {
                  ':attempts': expected.attempts,
                  ':state': expected.state,
                },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        return false;
      }
      throw error;
    }
  }

  /**
   * A data subject's erasure: every delivery of these verifications goes. A scan, as `list` is:
   * the log holds two weeks of deliveries at most, and erasures are rare.
   */
  async eraseFor(verificationIds: string[]): Promise<number> {
    const wanted = new Set(verificationIds);
    let erased = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#client.send(
        new ScanCommand({
          TableName: this.#tableName,
          ProjectionExpression: `${DELIVERY_TABLE_PARTITION_KEY}, verification_id`,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of output.Items ?? []) {
        if (!wanted.has(String(item.verification_id))) continue;
        await this.#client.send(
          new DeleteCommand({
            TableName: this.#tableName,
            Key: { [DELIVERY_TABLE_PARTITION_KEY]: item[DELIVERY_TABLE_PARTITION_KEY] },
          }),
        );
        erased += 1;
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return erased;
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
  const created = await createTableIfAbsent(client, {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: DELIVERY_TABLE_PARTITION_KEY, AttributeType: ScalarAttributeType.S },
    ],
    KeySchema: [{ AttributeName: DELIVERY_TABLE_PARTITION_KEY, KeyType: KeyType.HASH }],
    BillingMode: BillingMode.PAY_PER_REQUEST,
  });
  if (!created) return;
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
