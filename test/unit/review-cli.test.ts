import { describe, expect, it } from 'vitest';
import type { FetchInit } from '../../local/cli/api-client.ts';
import { runCli } from '../../local/cli.ts';
import { captureCliOutput } from '../support/cli.ts';

const ENDPOINT = 'http://127.0.0.1:3999';

const capture = () => captureCliOutput();

function answering(status: number, body: unknown, type = 'application/json') {
  const calls: Array<{ url: string; init: FetchInit }> = [];
  const fetch = async (url: string, init: FetchInit) => {
    calls.push({ url, init });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
  };
  return { calls, fetch };
}

const openReview = {
  verification_id: 'v-queue-1',
  status: 'COMPLETED',
  decision: 'REVIEW',
  reasons: ['FACE_INCONCLUSIVE'],
  face_similarity: 72,
  review: { state: 'OPEN', opened_at: '2026-12-03T10:00:00.000Z' },
};

describe('facematch reviews', () => {
  it('prints the open queue as a table with each age, and the next page', async () => {
    // Prepare
    const { io, out } = capture();
    const api = answering(200, { items: [openReview], next_cursor: 'abc.def' });

    // Act
    const status = await runCli(['reviews', '--limit', '10', '--endpoint', ENDPOINT], io, {
      fetch: api.fetch,
      now: () => new Date('2026-12-03T12:30:00.000Z'),
    });

    // Assess
    expect(status).toBe(0);
    expect(api.calls[0]?.url).toBe(`${ENDPOINT}/verifications?review=open&limit=10`);
    expect(out.stdout).toMatch(
      /v-queue-1\s+2026-12-03T10:00:00.000Z\s+2h30m\s+72\s+FACE_INCONCLUSIVE/,
    );
    expect(out.stdout).toContain('--cursor abc.def');
  });

  it('exits 1 and shows the problem for a refused cursor', async () => {
    // Prepare
    const { io, out } = capture();
    const api = answering(
      400,
      {
        title: 'Bad Request',
        status: 400,
        detail: 'invalid request: cursor',
        code: 'INVALID_REQUEST',
      },
      'application/problem+json',
    );

    // Act
    const status = await runCli(['reviews', '--cursor', 'x', '--endpoint', ENDPOINT], io, {
      fetch: api.fetch,
    });

    // Assess
    expect(status).toBe(1);
    expect(out.stderr).toContain('HTTP 400');
  });
});

describe('facematch review', () => {
  it('sends the decision, reason, note and reopen, never a reviewer', async () => {
    // Prepare
    const { io } = capture();
    const api = answering(200, {
      ...openReview,
      decision: 'REJECTED',
      review: { state: 'CLOSED' },
    });

    // Act
    const status = await runCli(
      [
        'review',
        'v-queue-1',
        '--reject',
        '--reason',
        'FRAUD_SUSPECTED',
        '--note',
        'n',
        '--reopen',
        '--endpoint',
        ENDPOINT,
      ],
      io,
      { fetch: api.fetch },
    );

    // Assess
    expect(status).toBe(4);
    expect(api.calls[0]?.url).toBe(`${ENDPOINT}/verifications/v-queue-1/review`);
    expect(JSON.parse(new TextDecoder().decode(api.calls[0]?.init.body))).toEqual({
      decision: 'REJECTED',
      reason: 'FRAUD_SUSPECTED',
      note: 'n',
      reopen: true,
    });
  });

  it.each([
    [['review', 'v-1', '--approve', '--reject', '--reason', 'OTHER']],
    [['review', 'v-1', '--reason', 'OTHER']],
    [['review', 'v-1', '--approve']],
    [['review', '--approve', '--reason', 'OTHER']],
  ])('refuses %j with its usage, calling nothing', async (argv) => {
    // Prepare
    const { io, out } = capture();
    const api = answering(200, {});

    // Act
    const status = await runCli([...argv, '--endpoint', ENDPOINT], io, { fetch: api.fetch });

    // Assess
    expect(status).toBe(1);
    expect(out.stderr).toContain('usage: facematch review');
    expect(api.calls).toHaveLength(0);
  });

  it('exits 1 on a 409 REVIEW_CONFLICT', async () => {
    // Prepare
    const { io, out } = capture();
    const api = answering(
      409,
      {
        title: 'Conflict',
        status: 409,
        detail: 'the review is already closed',
        code: 'REVIEW_CONFLICT',
      },
      'application/problem+json',
    );

    // Act
    const status = await runCli(
      ['review', 'v-1', '--approve', '--reason', 'OTHER', '--endpoint', ENDPOINT],
      io,
      {
        fetch: api.fetch,
      },
    );

    // Assess
    expect(status).toBe(1);
    expect(out.stderr).toContain('already closed');
  });
});
