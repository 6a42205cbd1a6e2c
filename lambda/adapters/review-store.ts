/**
 * The review queue on the verdict table: a read of the `worklist` index's `REVIEW` partition
 * (sparse: only open reviews carry it, so a page reads the items it returns and nothing else) and
 * the conditional put that decides a review. See verdict-table.ts for the index.
 */
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { ReviewStore } from '../core/ports.ts';
import type { StoredVerdict } from '../core/types.ts';
import { isConditionalCheckFailed } from './aws-clients.ts';
import { invalidCursor, type PageCursors } from './page-cursor.ts';
import { WORKLIST_INDEX, withIndexKeys, withoutIndexKeys } from './verdict-table.ts';

/** What a cursor of this query is bound to: another query's cursor does not open here. */
const OPEN_REVIEWS_QUERY = 'GET /verifications?review=open';
const REVIEW_PARTITION = 'REVIEW';

export interface QueryCost {
  /** Items DynamoDB read for the page (ScannedCount). */
  itemsRead: number;
  /** Read capacity units consumed, when the table reports them. */
  capacityUnits: number | undefined;
}

export interface DynamoReviewStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  cursors: PageCursors;
  /** Told what each queue read cost (the bench counts it; nothing else needs it). */
  onQuery?: (cost: QueryCost) => void;
}

export class DynamoReviewStore implements ReviewStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #cursors: PageCursors;
  readonly #onQuery: ((cost: QueryCost) => void) | undefined;

  constructor(options: DynamoReviewStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#cursors = options.cursors;
    this.#onQuery = options.onQuery;
  }

  async listOpen(
    limit: number,
    cursor?: string,
  ): Promise<{ items: StoredVerdict[]; nextCursor: string | null }> {
    const start =
      cursor === undefined ? undefined : await this.#cursors.open(OPEN_REVIEWS_QUERY, cursor);
    // A signed position from this query always names this partition; checked all the same, so
    // not even a leaked key could walk the sweeper's partitions through this route.
    if (start !== undefined && start.worklist !== REVIEW_PARTITION) {
      throw invalidCursor();
    }
    const output = await this.#query({
      Limit: limit,
      ...(start === undefined ? {} : { ExclusiveStartKey: start }),
    });
    const items = (output.Items ?? []).map((item) => withoutIndexKeys(item as StoredVerdict));
    const last = output.LastEvaluatedKey;
    return {
      items,
      nextCursor: last === undefined ? null : await this.#cursors.seal(OPEN_REVIEWS_QUERY, last),
    };
  }

  async oldestOpenSince(): Promise<number | null> {
    const output = await this.#query({ Limit: 1, ProjectionExpression: 'worklist_at' });
    const since = output.Items?.[0]?.worklist_at;
    return typeof since === 'number' ? since : null;
  }

  async decide(next: StoredVerdict, expected: StoredVerdict): Promise<boolean> {
    // Nothing wrote the record since it was read: the same update time and the same number of
    // decisions in its history (an older record has none). Every review changes both.
    const sameHistory =
      expected.history === undefined ? 'attribute_not_exists(history)' : 'size(history) = :n';
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          // A full put: the worklist keys follow the closed review (the item leaves the queue),
          // and the kept selfie's key goes with the selfie.
          Item: withIndexKeys(next),
          ConditionExpression: `#status = :completed AND updated_at = :updated AND ${sameHistory}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':completed': 'COMPLETED',
            ':updated': expected.updated_at,
            ...(expected.history === undefined ? {} : { ':n': expected.history.length }),
          },
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

  async #query(
    extra: { Limit: number; ExclusiveStartKey?: Record<string, unknown> } & {
      ProjectionExpression?: string;
    },
  ): Promise<QueryCommandOutput> {
    const output = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        IndexName: WORKLIST_INDEX,
        KeyConditionExpression: 'worklist = :kind',
        ExpressionAttributeValues: { ':kind': REVIEW_PARTITION },
        // Oldest first: the sort key is when the review opened.
        ScanIndexForward: true,
        ReturnConsumedCapacity: this.#onQuery === undefined ? 'NONE' : 'TOTAL',
        ...extra,
      }),
    );
    this.#onQuery?.({
      itemsRead: output.ScannedCount ?? 0,
      capacityUnits: output.ConsumedCapacity?.CapacityUnits,
    });
    return output;
  }
}
