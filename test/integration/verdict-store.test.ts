import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createDynamoClient,
  createDynamoDocumentClient,
} from '../../lambda/adapters/aws-clients.ts';
import { DynamoVerdictStore, isTransientAwsError } from '../../lambda/adapters/verdict-store.ts';
import { PERSON_INDEX, WORKLIST_INDEX } from '../../lambda/adapters/verdict-table.ts';
import { LeaseLostError } from '../../lambda/core/errors.ts';
import type { StoredVerdict } from '../../lambda/core/types.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../local/aws-servers.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

const T0 = Date.parse('2025-01-15T08:00:00.000Z');
const LEASE_MS = 60_000;

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

const pendingItem = (overrides: Partial<StoredVerdict> = {}): StoredVerdict => ({
  verification_id: `ver-${randomUUID()}`,
  template_id: 'template-1',
  status: 'PENDING',
  decision: null,
  reasons: [],
  face_similarity: null,
  matches: {},
  risk_rating: null,
  idmeta: null,
  nik_masked: '3201********0001',
  source: 'api',
  attempts: 0,
  created_at: iso(T0),
  updated_at: iso(T0),
  expires_at: Math.floor(T0 / 1000) + 30 * 86_400,
  nik_hash: 'hash-of-person-a',
  sealed_identity: 'v1.sealed.identity',
  ...overrides,
});

const freshItem = (
  id: string,
  now: number,
  overrides: Partial<StoredVerdict> = {},
): StoredVerdict =>
  pendingItem({
    verification_id: id,
    status: 'PROCESSING',
    source: 's3',
    created_at: iso(now),
    updated_at: iso(now),
    ...overrides,
  });

const claimInput = (
  id: string,
  owner: string,
  now: number,
  overrides: Partial<StoredVerdict> = {},
) => ({
  fresh: freshItem(id, now, overrides),
  leaseOwner: owner,
  leaseExpiresAt: now + LEASE_MS,
  now,
});

const completed = (item: StoredVerdict, now: number): StoredVerdict => {
  const {
    sealed_identity: _sealed,
    lease_owner: _owner,
    lease_expires_at: _expires,
    ...rest
  } = item;
  return {
    ...rest,
    status: 'COMPLETED',
    decision: 'APPROVED',
    reasons: ['ALL_MATCHED'],
    face_similarity: 97.5,
    updated_at: iso(now),
    completed_at: iso(now),
  };
};

describe('DynamoVerdictStore against dynalite', () => {
  let aws: LocalAws;
  let store: DynamoVerdictStore;

  beforeAll(async () => {
    aws = await startLocalAws();
    store = new DynamoVerdictStore({ client: aws.documentClient, tableName: aws.tableName });
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  afterAll(async () => {
    await aws?.stop();
  });

  it('reaches the endpoint named by AWS_ENDPOINT_URL_DYNAMODB with no endpoint option', async () => {
    // Prepare
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', aws.dynamoEndpoint);
    const base = createDynamoClient({ credentials: { ...LOCAL_AWS_CREDENTIALS } });
    const fromEnv = createDynamoDocumentClient({ client: base });
    const pending = pendingItem();
    await store.createPending(pending);

    // Act
    const item = await new DynamoVerdictStore({ client: fromEnv, tableName: aws.tableName })
      .get(pending.verification_id)
      .finally(() => base.destroy());

    // Assess
    expect(item).toEqual(pending);
  });

  it('lets exactly one of 20 concurrent claims on a new id win; the rest are busy', async () => {
    // Prepare
    const id = `ver-${randomUUID()}`;
    const owners = Array.from({ length: 20 }, (_, index) => `worker-${index}`);

    // Act
    const outcomes = await Promise.all(
      owners.map((owner) => store.claim(claimInput(id, owner, T0))),
    );

    // Assess
    const claimed = outcomes.filter((outcome) => outcome.kind === 'claimed');
    const busy = outcomes.filter((outcome) => outcome.kind === 'busy');
    expect(claimed).toHaveLength(1);
    expect(busy).toHaveLength(19);
    const winner = claimed[0]?.kind === 'claimed' ? claimed[0].item : undefined;
    const stored = await store.get(id);
    expect(stored).toEqual(winner);
    expect(stored).toMatchObject({
      status: 'PROCESSING',
      attempts: 1,
      lease_expires_at: T0 + LEASE_MS,
    });
  });

  describe('the replay binding (issue 11)', () => {
    const digests = { nik: 'd-nik', name: 'd-name', date_of_birth: 'd-dob', template_id: 'd-tpl' };

    it('refuses to take a PENDING record bound to another name, and says so with the record', async () => {
      // Prepare
      const pending = pendingItem({ request_digests: digests });
      await store.createPending(pending);

      // Act
      const outcome = await store.claim(
        claimInput(pending.verification_id, 'worker-x', T0 + 1_000, {
          request_digests: { ...digests, name: 'd-other-name', selfie: 'd-face' },
        }),
      );

      // Assess
      expect(outcome).toEqual({ kind: 'conflict', item: pending });
      expect(await store.get(pending.verification_id)).toEqual(pending);
    });

    it('binds the completing selfie and the template sent when it takes a PENDING record', async () => {
      // Prepare: one PENDING record bound without a selfie, one older than the binding
      const bound = pendingItem({ request_digests: digests });
      const old = pendingItem({ template_id: 'old-flow' });
      await store.createPending(bound);
      await store.createPending(old);
      const withFace = { ...digests, selfie: 'd-face' };

      // Act
      const taken = await store.claim(
        claimInput(bound.verification_id, 'worker-x', T0 + 1_000, { request_digests: withFace }),
      );
      const takenOld = await store.claim(
        claimInput(old.verification_id, 'worker-y', T0 + 1_000, {
          template_id: 'new-flow',
          request_digests: withFace,
        }),
      );

      // Assess
      expect(taken).toMatchObject({ kind: 'claimed', item: { request_digests: withFace } });
      expect(takenOld).toMatchObject({
        kind: 'claimed',
        item: { template_id: 'new-flow', request_digests: withFace },
      });
    });

    it('refuses another face once one is bound, and keeps a bound face for a claimant without one', async () => {
      // Prepare: a released synchronous request bound its face
      const withFace = { ...digests, selfie: 'd-face' };
      const released = pendingItem({ request_digests: withFace });
      await store.createPending(released);

      // Act
      const otherFace = await store.claim(
        claimInput(released.verification_id, 'worker-x', T0 + 1_000, {
          request_digests: { ...digests, selfie: 'd-other-face' },
        }),
      );
      const noFace = await store.claim(
        claimInput(released.verification_id, 'worker-y', T0 + 1_000, { request_digests: digests }),
      );

      // Assess
      expect(otherFace.kind).toBe('conflict');
      expect(noFace).toMatchObject({ kind: 'claimed', item: { request_digests: withFace } });
    });

    it('answers released, and takes nothing, for a record another worker released after the claimant arrived', async () => {
      // Prepare: released at T0 + 5 s by a worker's transient failure
      const released = pendingItem({
        request_digests: digests,
        updated_at: iso(T0 + 5_000),
        error: { code: 'IDMETA_TIMEOUT', message: 'IDmeta did not answer in time' },
      });
      await store.createPending(released);
      const input = claimInput(released.verification_id, 'worker-x', T0 + 6_000, {
        request_digests: digests,
      });

      // Act: a duplicate that arrived at T0 + 1 s, then a retry that arrived after the release
      const duplicate = await store.claim({ ...input, arrivedAt: T0 + 1_000 });
      const retry = await store.claim({ ...input, arrivedAt: T0 + 6_000 });

      // Assess
      expect(duplicate).toEqual({ kind: 'released', item: released });
      expect(retry.kind).toBe('claimed');
    });
  });

  it('claims a PENDING record created by createPending and counts the attempt', async () => {
    // Prepare
    const pending = pendingItem({ attempts: 0 });
    await store.createPending(pending);
    const later = T0 + 5_000;

    // Act
    const outcome = await store.claim(claimInput(pending.verification_id, 'worker-s3', later));

    // Assess
    expect(outcome.kind).toBe('claimed');
    const expected = {
      ...pending,
      status: 'PROCESSING',
      lease_owner: 'worker-s3',
      lease_expires_at: later + LEASE_MS,
      attempts: 1,
      updated_at: iso(later),
    };
    expect(outcome).toEqual({ kind: 'claimed', item: expected });
    expect(await store.get(pending.verification_id)).toEqual(expected);
  });

  it('hands a dead worker’s expired lease to the next claim, and the dead worker can no longer save', async () => {
    // Prepare
    const id = `ver-${randomUUID()}`;
    const first = await store.claim(claimInput(id, 'worker-dead', T0));
    expect(first.kind).toBe('claimed');
    const whileAlive = await store.claim(claimInput(id, 'worker-next', T0 + LEASE_MS - 1));
    expect(whileAlive.kind).toBe('busy');
    const afterExpiry = T0 + LEASE_MS + 1;

    // Act
    const second = await store.claim(claimInput(id, 'worker-next', afterExpiry));
    const lateSave =
      first.kind === 'claimed'
        ? store.save(completed(first.item, afterExpiry), 'worker-dead')
        : Promise.resolve();

    // Assess
    expect(second).toMatchObject({
      kind: 'claimed',
      item: { lease_owner: 'worker-next', attempts: 2, lease_expires_at: afterExpiry + LEASE_MS },
    });
    await expect(lateSave).rejects.toBeInstanceOf(LeaseLostError);
    expect(await store.get(id)).toMatchObject({ status: 'PROCESSING', lease_owner: 'worker-next' });
  });

  it('answers conflict for the same id claimed for a different person, and writes nothing', async () => {
    // Prepare
    const pending = pendingItem({ nik_hash: 'hash-of-person-a' });
    await store.createPending(pending);

    // Act
    const outcome = await store.claim(
      claimInput(pending.verification_id, 'worker-x', T0 + 1_000, { nik_hash: 'hash-of-person-b' }),
    );

    // Assess
    expect(outcome).toEqual({ kind: 'conflict' });
    expect(await store.get(pending.verification_id)).toEqual(pending);
  });

  it('answers finished for a completed record without writing to it', async () => {
    // Prepare
    const id = `ver-${randomUUID()}`;
    const first = await store.claim(claimInput(id, 'worker-a', T0));
    if (first.kind !== 'claimed') throw new Error('setup claim failed');
    const done = completed(first.item, T0 + 2_000);
    await store.save(done, 'worker-a');

    // Act
    const outcome = await store.claim(claimInput(id, 'worker-b', T0 + 10 * LEASE_MS));

    // Assess
    expect(outcome).toEqual({ kind: 'finished', item: done });
    const stored = await store.get(id);
    expect(stored?.updated_at).toBe(iso(T0 + 2_000));
    expect(stored?.attempts).toBe(1);
  });

  it('save replaces the whole item, so attributes absent from it disappear', async () => {
    // Prepare
    const id = `ver-${randomUUID()}`;
    const claimed = await store.claim(claimInput(id, 'worker-a', T0));
    if (claimed.kind !== 'claimed') throw new Error('setup claim failed');
    expect(claimed.item.sealed_identity).toBeDefined();

    // Act
    await store.save(completed(claimed.item, T0 + 1_000), 'worker-a');

    // Assess
    const stored = await store.get(id);
    expect(stored).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
    expect(stored).not.toHaveProperty('sealed_identity');
    expect(stored).not.toHaveProperty('lease_owner');
    expect(stored).not.toHaveProperty('lease_expires_at');
  });

  describe('save under DynamoDB faults', () => {
    /**
     * A store over its own client whose PutItem attempts fail as `fault` says: before the
     * request is sent ('before'), or after DynamoDB has written it, its answer lost ('after').
     * Below the SDK's retry middleware, so every SDK attempt meets it.
     */
    const faultyStore = (fault: {
      failures: number;
      when: 'before' | 'after' | 'aborted-after';
    }) => {
      const client = createDynamoClient({
        region: 'ap-southeast-3',
        credentials: { ...LOCAL_AWS_CREDENTIALS },
        endpoint: aws.dynamoEndpoint,
      });
      const documentClient = createDynamoDocumentClient({ client });
      let left = fault.failures;
      const puts = { failed: 0, sent: 0 };
      documentClient.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== 'PutItemCommand' || left <= 0) return next(args);
          left -= 1;
          puts.failed += 1;
          if (fault.when !== 'before') {
            await next(args);
            puts.sent += 1;
          }
          // Given up at the deadline, though DynamoDB had written it.
          if (fault.when === 'aborted-after') {
            throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
          }
          throw new InternalServerError({
            message: 'injected',
            $metadata: { httpStatusCode: 500 },
          });
        },
        { step: 'deserialize', name: 'injectPutFaults', priority: 'high' },
      );
      const pauses: number[] = [];
      let clock = T0;
      const faulty = new DynamoVerdictStore({
        client: documentClient,
        tableName: aws.tableName,
        now: () => clock,
        sleep: async (ms) => {
          pauses.push(ms);
          clock += ms;
        },
        random: () => 1,
      });
      return { store: faulty, puts, pauses, destroy: () => client.destroy() };
    };

    const claimedItem = async (owner: string) => {
      const claimed = await store.claim(claimInput(`ver-${randomUUID()}`, owner, T0));
      if (claimed.kind !== 'claimed') throw new Error('setup claim failed');
      return claimed.item;
    };

    it('with retryUntil, starts new rounds after the SDK gives up, until the put lands', async () => {
      // Prepare: 7 failures = two whole rounds of the SDK's 3 attempts, and one more.
      const faulty = faultyStore({ failures: 7, when: 'before' });
      const item = await claimedItem('worker-a');
      const final = completed(item, T0 + 1_000);

      // Act
      await faulty.store
        .save(final, 'worker-a', { retryUntil: T0 + 10_000 })
        .finally(faulty.destroy);

      // Assess: saved, after two growing pauses between rounds.
      expect(await store.get(item.verification_id)).toEqual(final);
      expect(faulty.puts.failed).toBe(7);
      expect(faulty.pauses).toEqual([200, 400]);
    });

    it('without retryUntil, gives up after one round of the SDK’s attempts', async () => {
      // Prepare
      const faulty = faultyStore({ failures: 3, when: 'before' });
      const item = await claimedItem('worker-a');

      // Act
      const saving = faulty.store.save(completed(item, T0 + 1_000), 'worker-a');

      // Assess
      await expect(saving).rejects.toBeInstanceOf(InternalServerError);
      faulty.destroy();
      expect(faulty.pauses).toEqual([]);
      expect(await store.get(item.verification_id)).toMatchObject({ status: 'PROCESSING' });
    });

    it('stops at retryUntil with the last error, starting no round it cannot finish by then', async () => {
      // Prepare: DynamoDB failing for longer than the time given.
      const faulty = faultyStore({ failures: 1_000, when: 'before' });
      const item = await claimedItem('worker-a');

      // Act
      const saving = faulty.store.save(completed(item, T0 + 1_000), 'worker-a', {
        retryUntil: T0 + 1_000,
      });

      // Assess: pauses of 200, 400 (T0 + 600); the next, 800, would end past T0 + 1000.
      await expect(saving).rejects.toBeInstanceOf(InternalServerError);
      faulty.destroy();
      expect(faulty.pauses).toEqual([200, 400]);
      expect(faulty.puts.failed).toBe(9);
      expect(await store.get(item.verification_id)).toMatchObject({ status: 'PROCESSING' });
    });

    it('succeeds when an attempt was written but its answer lost (the retry finds the lease gone)', async () => {
      // Prepare
      const faulty = faultyStore({ failures: 1, when: 'after' });
      const item = await claimedItem('worker-a');
      const final = completed(item, T0 + 1_000);

      // Act
      await faulty.store.save(final, 'worker-a').finally(faulty.destroy);

      // Assess
      expect(faulty.puts.sent).toBe(1);
      expect(await store.get(item.verification_id)).toEqual(final);
    });

    it('gives up an attempt still unanswered at retryUntil, as a transient TimeoutError', async () => {
      // Prepare: an endpoint that accepts connections and never answers.
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as AddressInfo;
      const client = createDynamoClient({
        region: 'ap-southeast-3',
        credentials: { ...LOCAL_AWS_CREDENTIALS },
        endpoint: `http://127.0.0.1:${port}`,
      });
      const hanging = new DynamoVerdictStore({
        client: createDynamoDocumentClient({ client }),
        tableName: aws.tableName,
      });
      const item = await claimedItem('worker-a');
      const started = Date.now();

      // Act
      const error = await hanging
        .save(completed(item, T0 + 1_000), 'worker-a', { retryUntil: started + 1_500 })
        .then(
          () => undefined,
          (thrown: unknown) => thrown,
        )
        .finally(() => {
          client.destroy();
          silent.close();
        });

      // Assess: back at the deadline (not the 10 s socket timeout), and worth retrying.
      expect(error).toMatchObject({ name: 'TimeoutError' });
      expect(isTransientAwsError(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('gives a save called at (or past) its deadline one attempt all the same', async () => {
      // Prepare
      const item = await claimedItem('worker-a');
      const final = completed(item, T0 + 1_000);

      // Act
      await store.save(final, 'worker-a', { retryUntil: Date.now() - 1 });

      // Assess
      expect(await store.get(item.verification_id)).toEqual(final);
    });

    it('counts a put given up at the deadline as saved when DynamoDB had written it', async () => {
      // Prepare
      const faulty = faultyStore({ failures: 1, when: 'aborted-after' });
      const item = await claimedItem('worker-a');
      const final = completed(item, T0 + 1_000);

      // Act
      await faulty.store
        .save(final, 'worker-a', { retryUntil: T0 + 10_000 })
        .finally(faulty.destroy);

      // Assess: saved, so what follows a saved verdict (its event) follows; no second round.
      expect(faulty.puts.sent).toBe(1);
      expect(faulty.pauses).toEqual([]);
      expect(await store.get(item.verification_id)).toEqual(final);
    });

    it('still reports LeaseLostError when another worker holds the record', async () => {
      // Prepare: worker-b took the record over; worker-a's retried put meets its lease.
      const faulty = faultyStore({ failures: 1, when: 'before' });
      const item = await claimedItem('worker-a');
      const taken = await store.claim(
        claimInput(item.verification_id, 'worker-b', T0 + LEASE_MS + 1),
      );
      expect(taken.kind).toBe('claimed');

      // Act
      const saving = faulty.store.save(completed(item, T0 + 1_000), 'worker-a', {
        retryUntil: T0 + 10_000,
      });

      // Assess
      await expect(saving).rejects.toBeInstanceOf(LeaseLostError);
      faulty.destroy();
      expect(await store.get(item.verification_id)).toMatchObject({
        status: 'PROCESSING',
        lease_owner: 'worker-b',
      });
    });
  });

  it('sealPending gives an identity-less PENDING record of that person the sealed identity, once', async () => {
    // Prepare: a PENDING record without a sealed identity (a released synchronous attempt).
    const { sealed_identity: _none, ...withoutIdentity } = pendingItem();
    await store.createPending(withoutIdentity);
    const id = withoutIdentity.verification_id;

    // Act
    const sealed = await store.sealPending(id, 'hash-of-person-a', 'v1.sealed.first');
    const again = await store.sealPending(id, 'hash-of-person-a', 'v1.sealed.second');
    const stranger = await store.sealPending(id, 'hash-of-person-b', 'v1.sealed.stranger');

    // Assess: the first seal stands; another person's is refused and answered with the record.
    expect(sealed).toMatchObject({ status: 'PENDING', sealed_identity: 'v1.sealed.first' });
    expect(again?.sealed_identity).toBe('v1.sealed.first');
    expect(stranger).toMatchObject({
      nik_hash: 'hash-of-person-a',
      sealed_identity: 'v1.sealed.first',
    });
    expect(await store.sealPending(`ver-${randomUUID()}`, 'hash-of-person-a', 'x')).toBeNull();
  });

  it('createPending twice keeps the first record and returns it', async () => {
    // Prepare
    const first = pendingItem();
    const second = { ...first, template_id: 'template-2', nik_hash: 'hash-of-person-b' };

    // Act
    const created = await store.createPending(first);
    const again = await store.createPending(second);

    // Assess
    expect(created).toEqual({ created: true });
    expect(again).toEqual({ created: false, existing: first });
    expect(await store.get(first.verification_id)).toEqual(first);
  });

  describe('the worklist and by-person indexes', () => {
    const queryIndex = async (indexName: string, key: string, value: string) => {
      const output = await aws.documentClient.send(
        new QueryCommand({
          TableName: aws.tableName,
          IndexName: indexName,
          KeyConditionExpression: '#k = :v',
          ExpressionAttributeNames: { '#k': key },
          ExpressionAttributeValues: { ':v': value },
        }),
      );
      return output.Items ?? [];
    };
    const idsOn = async (indexName: string, key: string, value: string) =>
      (await queryIndex(indexName, key, value)).map((item) => item.verification_id);

    it('keeps a verification on the worklist of its state, and off it once finished', async () => {
      // Prepare
      const person = `hash-${randomUUID()}`;
      const pending = pendingItem({ nik_hash: person });
      const id = pending.verification_id;

      // Act / Assess: each state puts the item on its own worklist and takes it off the last one
      await store.createPending(pending);
      expect(await idsOn(WORKLIST_INDEX, 'worklist', 'PENDING')).toContain(id);

      const claimed = await store.claim(
        claimInput(id, 'worker-1', T0 + 1_000, { nik_hash: person }),
      );
      expect(claimed.kind).toBe('claimed');
      expect(await idsOn(WORKLIST_INDEX, 'worklist', 'PENDING')).not.toContain(id);
      const processing = await queryIndex(WORKLIST_INDEX, 'worklist', 'PROCESSING');
      expect(processing.find((item) => item.verification_id === id)?.worklist_at).toBe(T0 + 1_000);

      const finished = claimed.kind === 'claimed' ? completed(claimed.item, T0 + 2_000) : pending;
      const reviewing = {
        ...finished,
        decision: 'REVIEW' as const,
        review: { state: 'OPEN' as const, opened_at: iso(T0 + 2_000) },
      };
      await store.save(reviewing, 'worker-1');
      expect(await idsOn(WORKLIST_INDEX, 'worklist', 'PROCESSING')).not.toContain(id);
      const reviews = await queryIndex(WORKLIST_INDEX, 'worklist', 'REVIEW');
      expect(reviews.find((item) => item.verification_id === id)?.worklist_at).toBe(T0 + 2_000);

      // The core never sees the index keys: what it reads is what it wrote.
      expect(await store.get(id)).toEqual(reviewing);
    });

    it('finds a person’s verifications by keyed hash, projecting nothing personal', async () => {
      // Prepare
      const person = `hash-${randomUUID()}`;
      const first = pendingItem({ nik_hash: person, created_at: iso(T0) });
      const second = pendingItem({ nik_hash: person, created_at: iso(T0 + 5_000) });
      const anonymous = pendingItem({ nik_hash: '', nik_masked: '' });

      // Act
      await store.createPending(second);
      await store.createPending(first);
      await store.createPending(anonymous);
      const found = await queryIndex(PERSON_INDEX, 'person', person);

      // Assess: oldest first, and only the projected attributes
      expect(found.map((item) => item.verification_id)).toEqual([
        first.verification_id,
        second.verification_id,
      ]);
      expect(found[0]).not.toHaveProperty('nik_masked');
      expect(found[0]).not.toHaveProperty('sealed_identity');
      // An upload naming nobody has no person key (DynamoDB refuses an empty index key).
      expect(await store.get(anonymous.verification_id)).toEqual(anonymous);
    });
  });

  it('get answers null for an unknown id', async () => {
    // Act
    const item = await store.get(`ver-${randomUUID()}`);

    // Assess
    expect(item).toBeNull();
  });
});

describe('isTransientAwsError', () => {
  const metadata = (httpStatusCode: number) => ({
    httpStatusCode,
    attempts: 3,
    totalRetryDelay: 0,
  });

  it('treats throttling, 5xx and network failures as transient', () => {
    // Prepare
    const throttled = new ProvisionedThroughputExceededException({
      message: 'slow down',
      $metadata: metadata(400),
    });
    const serverError = Object.assign(new Error('boom'), {
      name: 'InternalServerError',
      $metadata: metadata(500),
    });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

    // Act / Assess
    expect(isTransientAwsError(throttled)).toBe(true);
    expect(isTransientAwsError(serverError)).toBe(true);
    expect(isTransientAwsError(reset)).toBe(true);
  });

  it('treats a failed condition or a validation error as permanent', () => {
    // Prepare
    const condition = new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: metadata(400),
    });
    const validation = Object.assign(new Error('bad'), {
      name: 'ValidationException',
      $metadata: metadata(400),
    });

    // Act / Assess
    expect(isTransientAwsError(condition)).toBe(false);
    expect(isTransientAwsError(validation)).toBe(false);
    expect(isTransientAwsError('not an error')).toBe(false);
  });
});
