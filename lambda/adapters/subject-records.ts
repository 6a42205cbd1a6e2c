/**
 * A person's records in the verdict table, found through the `by-person` index (the keyed NIK
 * hash, never the NIK) and deleted by id. The index is eventually consistent in AWS: the core
 * reads every id it returns again from the table before acting on it.
 */
import { DeleteCommand, type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { SubjectRecords } from '../core/subjects.ts';
import { PERSON_INDEX, VERDICT_TABLE_PARTITION_KEY } from './verdict-table.ts';

export class DynamoSubjectRecords implements SubjectRecords {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async idsOf(nikHash: string): Promise<string[]> {
    const ids: string[] = [];
    const pages = paginateQuery(
      { client: this.#client },
      {
        TableName: this.#tableName,
        IndexName: PERSON_INDEX,
        KeyConditionExpression: 'person = :h',
        ExpressionAttributeValues: { ':h': nikHash },
        ProjectionExpression: VERDICT_TABLE_PARTITION_KEY,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) ids.push(String(item[VERDICT_TABLE_PARTITION_KEY]));
    }
    return ids;
  }

  async delete(verificationId: string): Promise<void> {
    await this.#client.send(
      new DeleteCommand({
        TableName: this.#tableName,
        Key: { [VERDICT_TABLE_PARTITION_KEY]: verificationId },
      }),
    );
  }
}
