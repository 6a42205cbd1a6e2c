/**
 * Attacks on data-subject erasure (issue 15). Each test asserts what the contract promises; it is
 * red while the defect it names is there.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ErasureReceipt, eraseSubject, type SubjectDeps } from '../../lambda/core/subjects.ts';
import type { StoredVerdict } from '../../lambda/core/types.ts';
import { referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import type { LocalRuntime } from '../../local/server.ts';
import { captureOutput, type OutputCapture } from '../support/events.ts';
import { InMemoryErasureReceipts } from '../support/in-memory.ts';
import { startTestLocalRuntime, type TestLocalRuntime } from '../support/local-runtime.ts';
import { personWith } from '../support/people.ts';

/**
 * One person's records in memory and an erasure's dependencies over them, recording what it
 * announced and receipted. `faults` throw where a store would: before a record's delete, before
 * the receipt's put.
 */
function erasureOver(
  ids: string[],
  options: {
    objectsFound: boolean;
    beforeDelete?: (id: string) => void;
    beforeReceipt?: () => void;
  },
) {
  const records = new Map<string, StoredVerdict>(
    ids.map((id) => [id, { verification_id: id, nik_hash: 'h' } as StoredVerdict]),
  );
  const receipts: ErasureReceipt[] = [];
  const journals = new InMemoryErasureReceipts();
  const announced: string[][] = [];
  const deps: SubjectDeps = {
    vault: { hashNik: async () => 'h', digest: async (field, value) => `${field}:${value}` },
    store: { get: async (id) => records.get(id) ?? null },
    records: {
      idsOf: async () => [...records.keys()],
      delete: async (id) => {
        options.beforeDelete?.(id);
        records.delete(id);
      },
    },
    objects: { erase: async () => options.objectsFound },
    receipts: Object.assign(journals, {
      put: async (receipt: ErasureReceipt) => {
        options.beforeReceipt?.();
        receipts.push(receipt);
      },
    }),
    events: { erased: async (detail) => void announced.push(detail.verification_ids) },
    clock: { now: () => Date.now() },
    newReceiptId: randomUUID,
  };
  return { deps, records, receipts, journals, announced };
}

describe('attack: an erasure that crashed half-way', () => {
  it('announces and receipts every id it erased, not only those the rerun found', async () => {
    // Three records of one person; the table fails once while deleting the second (a crash).
    let failOnce = true;
    const { deps, records, receipts, journals, announced } = erasureOver(['a', 'b', 'c'], {
      objectsFound: false,
      beforeDelete: (id) => {
        if (id === 'b' && failOnce) {
          failOnce = false;
          throw new Error('ProvisionedThroughputExceededException');
        }
      },
    });

    await expect(eraseSubject('3174010101900012', 'privacy-officer', deps)).rejects.toThrow();
    await eraseSubject('3174010101900012', 'privacy-officer', deps);

    // Contract: downstream systems learn which verifications are gone ("Data Subject Erased"),
    // and the receipt is the proof. Today 'a' (erased before the crash) is in neither: the
    // rerun only sees what is left, and the crashed run wrote nothing.
    expect(records.size).toBe(0);
    expect(announced.flat().sort()).toEqual(['a', 'b', 'c']);
    expect(receipts.flatMap((receipt) => receipt.verification_ids).sort()).toEqual(['a', 'b', 'c']);
    // The journal that carried the ids over the crash is gone with the erasure.
    expect(journals.journals.size).toBe(0);
  });
});

describe('attack: an erasure whose receipt could not be written', () => {
  it('still receipts and announces the records it erased when the rerun finds nothing left', async () => {
    // Every record and object goes; then the receipt's S3 put fails (a 503, a throttle).
    let receiptFails = true;
    const { deps, journals, announced } = erasureOver(['a', 'b'], {
      objectsFound: true,
      beforeReceipt: () => {
        if (receiptFails) {
          receiptFails = false;
          throw new Error('SlowDown');
        }
      },
    });

    await expect(eraseSubject('3174010101900012', 'privacy-officer', deps)).rejects.toThrow();
    const rerun = await eraseSubject('3174010101900012', 'privacy-officer', deps);

    // Today: the data is gone, but the only receipt says "nothing erased" and no event names
    // 'a' or 'b': downstream copies keyed by those ids are never deleted, the officer has no proof.
    expect(rerun.verification_ids.sort()).toEqual(['a', 'b']);
    expect(announced.flat().sort()).toEqual(['a', 'b']);
    expect(journals.journals.size).toBe(0);
  });
});

const agus = personWith('clean match');

describe('attack: erasure against the local runtime', () => {
  let output: OutputCapture;
  let running: TestLocalRuntime | undefined;
  let local: LocalRuntime;
  let s3: S3Client;

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${local.apiUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const keysUnder = async (prefix: string) =>
    (
      (await s3.send(new ListObjectsV2Command({ Bucket: local.bucket, Prefix: prefix })))
        .Contents ?? []
    ).map((object) => object.Key);

  beforeAll(async () => {
    output = captureOutput();
    running = await startTestLocalRuntime('attack-subjects');
    ({ local, s3 } = running);
  });
  afterAll(async () => {
    await running?.stop();
    output?.restore();
    vi.unstubAllEnvs();
  });

  it('refuses a cross-site, untyped, foreign-Host call to the data-subject routes (CSRF, DNS rebinding)', async () => {
    // What a hostile page in the developer's browser can send without a preflight: a POST with
    // no Content-Type (a Blob body), its own Origin; with DNS rebinding, its own Host too.
    const { port } = new URL(local.apiUrl);
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port: Number(port),
          method: 'POST',
          path: '/data-subjects/search',
          headers: {
            host: `rebound.attacker.example:${port}`,
            origin: 'https://attacker.example',
            'sec-fetch-site': 'cross-site',
          },
        },
        (incoming) => {
          let text = '';
          incoming.setEncoding('utf8');
          incoming.on('data', (chunk: string) => {
            text += chunk;
          });
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text }));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(JSON.stringify({ nik: agus.nik }));
    });

    // Today: 200 with the person's verifications (and /data-subjects/erase erases). The console
    // proxy (local/console/proxy.ts) checks Host, Origin, Sec-Fetch-Site and the content type;
    // the local API that `npm start` serves on the same port checks none of them.
    expect(answer.status).toBeGreaterThanOrEqual(400);
  });

  it('leaves no selfie of the erased person when the upload form it handed out is used afterwards', async () => {
    // A PENDING verification with its upload form, then the person's erasure.
    const id = `atk-form-${randomUUID().slice(0, 8)}`;
    const pending = await api('POST', '/verifications', {
      verification_id: id,
      nik: agus.nik,
      name: agus.name,
      date_of_birth: agus.date_of_birth,
    });
    expect(pending.status).toBe(202);
    const erased = await api('POST', '/data-subjects/erase', { nik: agus.nik });
    expect(erased.status).toBe(200);

    // The form is still valid (presigned POST): the app uploads the person's selfie with it.
    const upload = pending.body.upload as { url: string; fields: Record<string, string> };
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([referenceSelfie(agus.nik, 0).bytes], { type: 'image/jpeg' }));
    const posted = await fetch(upload.url, { method: 'POST', body: form });
    expect(posted.status).toBeLessThan(300);

    // The queue worker handles the upload: the form's verification is gone, so is its selfie.
    for (let i = 0; i < 100 && (await keysUnder(`incoming/${id}`)).length > 0; i++) {
      await sleep(100);
    }
    await local.queue.idle();
    const secondErase = await api('POST', '/data-subjects/erase', { nik: agus.nik });

    // Contract: after an erasure nothing of the person stays findable: no record (not even one
    // naming nobody, which anyone naming the id could take over with the selfie), no object.
    expect((await api('GET', `/verifications/${id}`)).status).toBe(404);
    expect(secondErase.body.verification_ids).toEqual([]);
    expect(await keysUnder(`incoming/${id}`)).toEqual([]);
  });
});
