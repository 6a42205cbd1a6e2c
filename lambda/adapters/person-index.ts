/**
 * A person's verifications through the verdict table's `by-person` index (see verdict-table.ts):
 * one Query per verification, keyed by the keyed NIK hash, reading only the projected attributes.
 *
 * The index is eventually consistent (DynamoDB offers no consistent read on a global secondary
 * index): a verdict saved a moment ago may not be seen yet. Velocity is a brake, not a ledger;
 * docs/architecture.md says how exact it is.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { PersonHistory, PersonVerification } from '../core/ports.ts';
import { ANONYMOUS_NIK_HASH } from '../core/record.ts';
import type { Decision, VerificationStatus } from '../core/types.ts';
import { PERSON_INDEX, VERDICT_TABLE_PARTITION_KEY } from './verdict-table.ts';

export interface DynamoPersonIndexOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

export class DynamoPersonIndex implements PersonHistory {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: DynamoPersonIndexOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async recent(nikHash: string, since: number): Promise<PersonVerification[]> {
    // An upload that names nobody has no index entry, and no history to speak of.
    if (nikHash === ANONYMOUS_NIK_HASH) return [];
    // One page (up to 1 MB, thousands of these small entries), newest first: the window's
    // attempts are the newest, and a NIK with more than a page of records is counted as over
    // any limit anyway. No second round trip per verification.
    const output = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        IndexName: PERSON_INDEX,
        KeyConditionExpression: '#person = :h AND #created >= :since',
        ExpressionAttributeNames: { '#person': 'person', '#created': 'created_at' },
        ExpressionAttributeValues: { ':h': nikHash, ':since': new Date(since).toISOString() },
        ScanIndexForward: false,
      }),
    );
    return (output.Items ?? []).map(fromIndex);
  }
}

function fromIndex(item: Record<string, unknown>): PersonVerification {
  const completedAt = item.completed_at;
  const idmetaAt = item.idmeta_at;
  return {
    verificationId: String(item[VERDICT_TABLE_PARTITION_KEY]),
    createdAt: String(item.created_at),
    status: item.status as VerificationStatus,
    decision: (item.decision ?? null) as Decision | null,
    completedAt: typeof completedAt === 'string' ? completedAt : undefined,
    idmetaAt: typeof idmetaAt === 'number' ? idmetaAt : undefined,
  };
}
