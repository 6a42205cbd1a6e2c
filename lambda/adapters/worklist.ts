/**
 * The `worklist` index read by the sweeper: one kind of unfinished work, oldest first, up to a
 * cut-off time. A Query on a sparse index reads only items that wait for something, however many
 * finished verdicts the table holds.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SweepKind, Worklist, WorklistCursor } from '../core/sweep.ts';
import type { StoredVerdict } from '../core/types.ts';
import { WORKLIST_INDEX, withoutIndexKeys } from './verdict-table.ts';

export class DynamoWorklist implements Worklist {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async entered(kind: SweepKind, before: number, limit: number, after?: WorklistCursor) {
    const output = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        IndexName: WORKLIST_INDEX,
        KeyConditionExpression: 'worklist = :kind AND worklist_at < :before',
        ExpressionAttributeValues: { ':kind': kind, ':before': before },
        ScanIndexForward: true,
        Limit: limit,
        ...(after === undefined ? {} : { ExclusiveStartKey: after }),
      }),
    );
    const items = (output.Items ?? []).map((item) =>
      withoutIndexKeys(item as unknown as StoredVerdict),
    );
    return {
      items,
      read: output.ScannedCount ?? items.length,
      ...(output.LastEvaluatedKey === undefined ? {} : { next: output.LastEvaluatedKey }),
    };
  }
}
