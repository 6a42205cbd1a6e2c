/**
 * The review queue's read cost: 10,000 verdict records, of which some are open reviews, in
 * dynalite; the queue is read a page of 100 at a time through the very store the API uses
 * (lambda/adapters/review-store.ts), and DynamoDB's own counts (ScannedCount, consumed capacity)
 * say what each page read. Counts, not time: a sparse index reads what it returns, a scan would
 * read every record.
 */
import { randomBytes } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient, createDynamoDocumentClient } from '../lambda/adapters/aws-clients.ts';
import { PageCursors } from '../lambda/adapters/page-cursor.ts';
import { DynamoReviewStore, type QueryCost } from '../lambda/adapters/review-store.ts';
import { createVerdictTable } from '../lambda/adapters/verdict-store.ts';
import { withIndexKeys } from '../lambda/adapters/verdict-table.ts';
import { newRecord } from '../lambda/core/record.ts';
import { withMachineDecision } from '../lambda/core/review.ts';
import type { StoredVerdict } from '../lambda/core/types.ts';
import { LOCAL_AWS_CREDENTIALS, startDynalite } from '../local/aws-servers.ts';

export interface ReviewQueueResult {
  records: number;
  openReviews: number;
  pageSize: number;
  firstPage: { returned: number; itemsRead: number; capacityUnits: number | undefined };
  /** Walking the whole queue page by page. */
  walk: { pages: number; returned: number; itemsRead: number };
}

function verdict(index: number, opensReview: boolean, base: number): StoredVerdict {
  const at = base + index * 1000;
  const item = newRecord({
    verificationId: `bench-${String(index).padStart(5, '0')}`,
    templateId: 'bench',
    nikMasked: '3201********0001',
    nikHash: `hash-${index % 500}`,
    source: 'api',
    status: 'COMPLETED',
    now: at,
    retentionDays: 30,
    idmetaVerificationOwned: false,
  });
  return withMachineDecision(
    {
      ...item,
      decision: opensReview ? 'REVIEW' : 'APPROVED',
      reasons: opensReview ? ['FACE_INCONCLUSIVE'] : [],
      face_similarity: opensReview ? 72 : 98,
      completed_at: new Date(at).toISOString(),
    },
    new Date(at).toISOString(),
  );
}

export async function measureReviewQueue(
  options: { records?: number; openReviews?: number; pageSize?: number } = {},
): Promise<ReviewQueueResult> {
  const records = options.records ?? 10_000;
  const openReviews = options.openReviews ?? 1_000;
  const pageSize = options.pageSize ?? 100;
  const dynalite = await startDynalite();
  const aws = {
    region: 'ap-southeast-3',
    credentials: { ...LOCAL_AWS_CREDENTIALS },
    endpoint: dynalite.endpoint,
  };
  const client = createDynamoClient(aws);
  const documents = createDynamoDocumentClient(aws);
  try {
    const tableName = 'bench-review-queue';
    await createVerdictTable(client, tableName);
    // Open reviews spread evenly through the records, as they arrive in life.
    const every = Math.max(1, Math.floor(records / openReviews));
    const items = Array.from({ length: records }, (_, index) =>
      verdict(index, index % every === 0 && index / every < openReviews, Date.UTC(2026, 0, 1)),
    );
    const batches: StoredVerdict[][] = [];
    for (let start = 0; start < items.length; start += 25) {
      batches.push(items.slice(start, start + 25));
    }
    for (let next = 0; next < batches.length; next += 8) {
      await Promise.all(
        batches.slice(next, next + 8).map((batch) =>
          documents.send(
            new BatchWriteCommand({
              RequestItems: {
                [tableName]: batch.map((item) => ({ PutRequest: { Item: withIndexKeys(item) } })),
              },
            }),
          ),
        ),
      );
    }

    const costs: QueryCost[] = [];
    const key = randomBytes(32).toString('base64url');
    const store = new DynamoReviewStore({
      client: documents,
      tableName,
      cursors: new PageCursors(async () => key),
      onQuery: (cost) => costs.push(cost),
    });
    const first = await store.listOpen(pageSize);
    const firstCost = costs[0] ?? { itemsRead: Number.NaN, capacityUnits: undefined };
    let returned = first.items.length;
    let cursor = first.nextCursor;
    let pages = 1;
    while (cursor !== null) {
      const page = await store.listOpen(pageSize, cursor);
      returned += page.items.length;
      cursor = page.nextCursor;
      pages += 1;
    }
    return {
      records,
      openReviews: items.filter((item) => item.review?.state === 'OPEN').length,
      pageSize,
      firstPage: {
        returned: first.items.length,
        itemsRead: firstCost.itemsRead,
        capacityUnits: firstCost.capacityUnits,
      },
      walk: {
        pages,
        returned,
        itemsRead: costs.reduce((sum, cost) => sum + cost.itemsRead, 0),
      },
    };
  } finally {
    documents.destroy();
    client.destroy();
    await dynalite.close();
  }
}
