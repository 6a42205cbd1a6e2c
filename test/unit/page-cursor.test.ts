import { describe, expect, it } from 'vitest';
import { PageCursors } from '../../lambda/adapters/page-cursor.ts';
import { ValidationError } from '../../lambda/core/errors.ts';

const KEY = 'unit-test-key-material-0123456789abcdef';
const QUERY = 'GET /verifications?review=open';
const position = { verification_id: 'v-1', worklist: 'REVIEW', worklist_at: 1_700_000_000_000 };

describe('PageCursors', () => {
  it('opens what it sealed for the same query', async () => {
    // Prepare
    const cursors = new PageCursors(async () => KEY);

    // Act
    const cursor = await cursors.seal(QUERY, position);

    // Assess
    expect(await cursors.open(QUERY, cursor)).toEqual(position);
  });

  it.each([
    ['another query', async (c: PageCursors, cursor: string) => c.open('GET /other', cursor)],
    [
      'an edited position',
      async (c: PageCursors, cursor: string) => {
        const [, mac] = cursor.split('.');
        const forged = Buffer.from(
          JSON.stringify({ ...position, worklist: 'PENDING' }),
          'utf8',
        ).toString('base64url');
        return c.open(QUERY, `${forged}.${mac}`);
      },
    ],
    [
      'another key',
      async (_c: PageCursors, cursor: string) =>
        new PageCursors(async () => `${KEY}-other`).open(QUERY, cursor),
    ],
    ['garbage', async (c: PageCursors) => c.open(QUERY, 'not-a-cursor')],
    ['a huge string', async (c: PageCursors) => c.open(QUERY, 'a'.repeat(5000))],
  ])('refuses a cursor from %s with a 400 naming the cursor', async (_label, act) => {
    // Prepare
    const cursors = new PageCursors(async () => KEY);
    const cursor = await cursors.seal(QUERY, position);

    // Act & Assess
    const error = await act(cursors, cursor).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: 'cursor', message: 'is not a cursor this query returned' },
    ]);
  });
});
