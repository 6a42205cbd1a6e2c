/**
 * The erasure journal (lambda/core/subjects.ts): written before anything is deleted, keyed by a
 * digest of the NIK in its own domain, holding no NIK and no hash, gone once receipted.
 */
import { describe, expect, it } from 'vitest';
import { createIdentityVault } from '../../lambda/adapters/identity-vault.ts';
import {
  ERASURE_DIGEST_FIELD,
  eraseSubject,
  type SubjectDeps,
} from '../../lambda/core/subjects.ts';
import type { StoredVerdict } from '../../lambda/core/types.ts';
import { InMemoryErasureReceipts } from '../support/in-memory.ts';

const NIK = '3174010101900012';

async function setup() {
  const vault = createIdentityVault('k'.repeat(40));
  const nikHash = await vault.hashNik(NIK);
  const records = new Map<string, StoredVerdict>(
    ['a', 'b'].map((id) => [id, { verification_id: id, nik_hash: nikHash } as StoredVerdict]),
  );
  const receipts = new InMemoryErasureReceipts();
  const seenAtDeletion: Array<string[] | undefined> = [];
  const deps: SubjectDeps = {
    vault,
    store: { get: async (id) => records.get(id) ?? null },
    records: {
      idsOf: async () => [...records.keys()],
      delete: async (id) => {
        seenAtDeletion.push([...receipts.journals.values()][0]?.verification_ids);
        records.delete(id);
      },
    },
    objects: { erase: async () => false },
    receipts,
    clock: { now: () => Date.parse('2026-01-02T03:04:05Z') },
    newReceiptId: () => 'receipt-1',
  };
  return { vault, nikHash, receipts, seenAtDeletion, deps };
}

describe('the erasure journal', () => {
  it('holds every id before the first deletion, under a digest of its own domain, with no NIK or hash', async () => {
    const { vault, nikHash, receipts, seenAtDeletion, deps } = await setup();
    const journals: string[] = [];
    const write = receipts.journal.bind(receipts);
    receipts.journal = async (digest, entry) => {
      journals.push(digest + JSON.stringify(entry));
      await write(digest, entry);
    };

    await eraseSubject(NIK, 'privacy-officer', deps);

    expect(seenAtDeletion).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    const digest = await vault.digest(ERASURE_DIGEST_FIELD, NIK);
    expect(digest).not.toBe(nikHash);
    expect(journals.length).toBeGreaterThan(0);
    for (const written of journals) {
      expect(written.startsWith(digest)).toBe(true);
      expect(written).not.toContain(NIK);
      expect(written).not.toContain(nikHash);
    }
    expect(receipts.journals.size).toBe(0);
    expect(receipts.receipts).toEqual([
      expect.objectContaining({ receipt_id: 'receipt-1', verification_ids: ['a', 'b'] }),
    ]);
  });

  it('keeps the first run’s receipt id and requester when another principal reruns it', async () => {
    const { receipts, deps } = await setup();
    const put = receipts.put.bind(receipts);
    let fail = true;
    receipts.put = async (receipt) => {
      if (fail) {
        fail = false;
        throw new Error('SlowDown');
      }
      await put(receipt);
    };

    await expect(eraseSubject(NIK, 'privacy-officer', deps)).rejects.toThrow('SlowDown');
    const rerun = await eraseSubject(NIK, 'someone-else', { ...deps, newReceiptId: () => 'r-2' });

    expect(rerun).toEqual({
      receipt_id: 'receipt-1',
      verification_ids: ['a', 'b'],
      erased: { records: 2, selfies: 0, deliveries: 0 },
    });
    expect(receipts.receipts[0]?.requested_by).toBe('privacy-officer');
    expect(receipts.journals.size).toBe(0);
  });

  it('writes no journal when there is nothing to erase and none under way', async () => {
    const { receipts, deps } = await setup();
    await eraseSubject('3174010101900099', 'privacy-officer', deps);
    expect(receipts.journals.size).toBe(0);
    expect(receipts.receipts[0]?.verification_ids).toEqual([]);
  });
});
