import { describe, expect, it } from 'vitest';
import { parseFacematchResponse } from '../../lambda/adapters/idmeta-response.ts';
import {
  ConflictError,
  FacematchError,
  IdmetaRequestError,
  IdmetaTokenError,
  IdmetaUnavailableError,
  SelfieNotFoundError,
  VerificationInProgressError,
} from '../../lambda/core/errors.ts';
import type { SaveOptions } from '../../lambda/core/ports.ts';
import {
  getVerification,
  markDeadLettered,
  startPendingVerification,
  type VerifyDeps,
  verify,
  verifyUploadedSelfie,
} from '../../lambda/core/verify.ts';
import { makePng } from '../support/images.ts';
import { type InMemoryVerdictStore, ScriptedIdmeta, verifiedResult } from '../support/in-memory.ts';
import { DOB, JPEG, NAME, NIK, OTHER_NIK, request, setup } from '../support/verify-setup.ts';

describe('verify (synchronous path)', () => {
  it('calls IDmeta once and stores an APPROVED verdict that holds no raw NIK or name', async () => {
    const { deps, store, idmeta, budget } = setup();

    const { record, replayed } = await verify(request(), deps, budget());

    expect(replayed).toBe(false);
    expect(idmeta.facematchCalls).toHaveLength(1);
    expect(idmeta.facematchCalls[0]).toMatchObject({
      verificationId: 'ver-001',
      templateId: 'trust-flow-default',
      nik: NIK,
      name: NAME,
    });
    expect(record).toMatchObject({
      verification_id: 'ver-001',
      status: 'COMPLETED',
      decision: 'APPROVED',
      reasons: ['ALL_CHECKS_PASSED'],
      face_similarity: 99.8,
      nik_masked: '3201********0001',
      source: 'api',
      attempts: 1,
    });
    const stored = JSON.stringify([...store.items.values()]);
    expect(stored).not.toContain(NIK);
    expect(stored).not.toContain(NAME);
    expect(stored).not.toContain('lease_owner');
    expect(record).not.toHaveProperty('nik_hash');
  });

  it('gives IDmeta a deadline that leaves time to store the verdict', async () => {
    const { deps, idmeta, clock } = setup();
    const deadline = clock.now() + 20_000;

    await verify(request(), deps, { deadline });

    expect(idmeta.budgets[0]?.deadline).toBe(deadline - deps.settings.storeReserveMs);
  });

  it('answers a repeated request from the stored record without calling IDmeta or reading the selfie', async () => {
    const { deps, idmeta, selfies, budget } = setup();
    selfies.objects.set('incoming/ver-001.jpg', { bytes: JPEG, metadata: {} });
    const first = await verify(request(), deps, budget());

    const again = await verify(
      request({ selfie: { kind: 's3', key: 'incoming/ver-001.jpg' } }),
      deps,
      budget(),
    );

    expect(again).toEqual({ record: first.record, replayed: true });
    expect(idmeta.facematchCalls).toHaveLength(1);
    expect(selfies.reads).toBe(0);
  });

  it('refuses the same verification id for a different person with a conflict', async () => {
    const { deps, idmeta, budget } = setup();
    await verify(request(), deps, budget());

    const other = request({
      identity: { nik: OTHER_NIK, name: 'Siti Aminah', dateOfBirth: DOB },
    });

    await expect(verify(other, deps, budget())).rejects.toBeInstanceOf(ConflictError);
    expect(idmeta.facematchCalls).toHaveLength(1);
  });

  it('pays once when 20 requests for one id arrive together', async () => {
    const idmeta = new ScriptedIdmeta(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return verifiedResult();
    });
    const { deps, store, budget } = setup({ idmeta });

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => verify(request(), deps, budget())),
    );

    expect(idmeta.facematchCalls).toHaveLength(1);
    expect(store.items.size).toBe(1);
    expect(outcomes.filter((outcome) => !outcome.replayed)).toHaveLength(1);
    for (const outcome of outcomes) expect(outcome.record.decision).toBe('APPROVED');
  });

  it('tells a caller that finds the id busy to retry, when it may not wait', async () => {
    const idmeta = new ScriptedIdmeta(
      () => new Promise((resolve) => setTimeout(() => resolve(verifiedResult()), 30)),
    );
    const { deps, budget } = setup({ idmeta, busyWaitMs: 0 });

    const results = await Promise.allSettled([
      verify(request(), deps, budget()),
      verify(request(), deps, budget()),
    ]);

    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((result) => result.status === 'rejected');
    expect((rejected as PromiseRejectedResult).reason).toBeInstanceOf(VerificationInProgressError);
    expect(idmeta.facematchCalls).toHaveLength(1);
  });

  it('releases the verification after a transient IDmeta failure so a retry can complete it', async () => {
    const idmeta = new ScriptedIdmeta().answerNext(
      new IdmetaUnavailableError('IDmeta answered 503', 503),
    );
    const { deps, store, budget } = setup({ idmeta });

    await expect(verify(request(), deps, budget())).rejects.toBeInstanceOf(IdmetaUnavailableError);
    expect(await store.get('ver-001')).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      error: { code: 'IDMETA_UNAVAILABLE' },
    });
    expect((await store.get('ver-001'))?.lease_owner).toBeUndefined();

    const retried = await verify(request(), deps, budget());

    expect(retried.record).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(retried.record.error).toBeUndefined();
    expect(idmeta.facematchCalls).toHaveLength(2);
  });

  it('ends as FAILED on a permanent IDmeta failure and never calls again for that id', async () => {
    const idmeta = new ScriptedIdmeta().answerNext(new IdmetaTokenError());
    const { deps, store, budget } = setup({ idmeta });

    await expect(verify(request(), deps, budget())).rejects.toBeInstanceOf(IdmetaTokenError);
    expect(await store.get('ver-001')).toMatchObject({
      status: 'FAILED',
      decision: null,
      reasons: ['IDMETA_TOKEN_REJECTED'],
      error: { code: 'IDMETA_TOKEN_REJECTED' },
    });

    const again = await verify(request(), deps, budget());
    expect(again.replayed).toBe(true);
    expect(idmeta.facematchCalls).toHaveLength(1);
  });

  it('takes over a verification whose worker died after claiming, once the lease expires', async () => {
    const idmeta = new ScriptedIdmeta(verifiedResult()).answerNext(() => new Promise(() => {}));
    const { deps, store, clock, budget } = setup({ idmeta, busyWaitMs: 0 });
    // The first worker claims, pays and then "dies" (its promise never settles).
    void verify(request(), deps, budget()).catch(() => {});
    await new Promise((resolve) => setImmediate(resolve));
    expect((await store.get('ver-001'))?.status).toBe('PROCESSING');
    await expect(verify(request(), deps, budget())).rejects.toBeInstanceOf(
      VerificationInProgressError,
    );

    clock.advance(deps.settings.leaseMs + 1);
    const taken = await verify(request(), deps, budget());

    expect(taken.record).toMatchObject({ status: 'COMPLETED', attempts: 2 });
  });

  it('creates the IDmeta verification when the caller brings no id, and finalises it after', async () => {
    const { deps, idmeta, budget } = setup();

    const { record } = await verify(request({ verificationId: undefined }), deps, budget());

    expect(idmeta.created).toEqual(['idm-1']);
    expect(record.verification_id).toBe('idm-1');
    expect(idmeta.finalized).toEqual(['idm-1']);
  });

  it('leaves finalising to the caller who brought their own verification id', async () => {
    const { deps, idmeta, budget } = setup();

    await verify(request(), deps, budget());

    expect(idmeta.finalized).toEqual([]);
  });

  it('refuses a selfie key that names no object before writing anything or calling IDmeta', async () => {
    const { deps, store, idmeta, budget } = setup();

    await expect(
      verify(request({ selfie: { kind: 's3', key: 'incoming/ver-001.jpg' } }), deps, budget()),
    ).rejects.toBeInstanceOf(SelfieNotFoundError);
    expect(store.writes).toBe(0);
    expect(idmeta.facematchCalls).toHaveLength(0);
  });
});

describe('verify: saving what IDmeta answered', () => {
  /** A store whose `save` records its options, and fails while `failing` says so. */
  function recordingSaves(store: InMemoryVerdictStore) {
    const saves: Array<{ status: string; options: SaveOptions | undefined }> = [];
    let failing = false;
    const original = store.save.bind(store);
    store.save = async (item, leaseOwner, options) => {
      saves.push({ status: item.status, options });
      if (failing) throw new Error('DynamoDB is down (injected)');
      return original(item, leaseOwner, options);
    };
    return { saves, failWith: () => (failing = true) };
  }

  /** The observer's reports of unsaved answers, as (status, error code) pairs. */
  function reportsOf(deps: VerifyDeps) {
    const reports: Array<[string, string | undefined]> = [];
    deps.observer = {
      paidVerdictNotSaved: (item) => reports.push([item.status, item.error?.code]),
    };
    return reports;
  }

  it('saves a verdict until the deadline, and a released record for one round only', async () => {
    // Prepare
    const idmeta = new ScriptedIdmeta().answerNext(
      new IdmetaUnavailableError('IDmeta answered 503', 503),
    );
    const { deps, store, budget } = setup({ idmeta });
    const { saves } = recordingSaves(store);
    const first = budget();

    // Act
    await verify(request(), deps, first).catch(() => undefined);
    const second = budget();
    await verify(request(), deps, second);

    // Assess
    expect(saves).toEqual([
      { status: 'PENDING', options: undefined },
      { status: 'COMPLETED', options: { retryUntil: second.deadline } },
    ]);
  });

  it('reports a verdict it could not save, and throws', async () => {
    // Prepare
    const { deps, store, budget } = setup();
    recordingSaves(store).failWith();
    const reports = reportsOf(deps);

    // Act
    const verifying = verify(request(), deps, budget());

    // Assess
    await expect(verifying).rejects.toThrow('DynamoDB is down');
    expect(reports).toEqual([['COMPLETED', undefined]]);
  });

  it('reports a final failure IDmeta may have billed, but not a refused token or a release', async () => {
    // Prepare: a 422 (final, billed or not: IDmeta saw it), a 401 (never billed), a 503.
    const idmeta = new ScriptedIdmeta().answerNext(
      new IdmetaRequestError('IDmeta refused the request with HTTP 422', 422),
      new IdmetaTokenError(),
      new IdmetaUnavailableError('IDmeta answered 503', 503),
    );
    const { deps, store, budget } = setup({ idmeta });
    recordingSaves(store).failWith();
    const reports = reportsOf(deps);

    // Act
    for (const id of ['ver-422', 'ver-401', 'ver-503']) {
      await verify(request({ verificationId: id }), deps, budget()).catch(() => undefined);
    }

    // Assess
    expect(idmeta.facematchCalls).toHaveLength(3);
    expect(reports).toEqual([['FAILED', 'IDMETA_REQUEST_REJECTED']]);
  });
});

describe('pending verification and the S3 path', () => {
  it('stores a PENDING record with the identity sealed and hands out an upload for the id', async () => {
    const { deps, store, budget } = setup();

    const outcome = await startPendingVerification(
      request({ selfie: { kind: 'none' } }),
      deps,
      budget(),
    );

    expect(outcome.record).toMatchObject({ status: 'PENDING', verification_id: 'ver-001' });
    expect(outcome.record).not.toHaveProperty('sealed_identity');
    expect(outcome.upload?.fields.key).toBe('incoming/ver-001.jpg');
    const stored = await store.get('ver-001');
    expect(stored?.sealed_identity).toBeTypeOf('string');
    expect(JSON.stringify(stored)).not.toContain(NIK);
    expect(JSON.stringify(stored)).not.toContain(NAME);
  });

  it('completes a PENDING verification from its upload, then forgets the identity and the selfie', async () => {
    const { deps, store, selfies, idmeta, budget } = setup();
    await startPendingVerification(request({ selfie: { kind: 'none' } }), deps, budget());
    selfies.objects.set('incoming/ver-001.png', { bytes: makePng(320, 320), metadata: {} });

    const { record } = await verifyUploadedSelfie(
      { key: 'incoming/ver-001.png', verificationId: 'ver-001' },
      deps,
      budget(),
    );

    expect(record).toMatchObject({
      status: 'COMPLETED',
      decision: 'APPROVED',
      source: 's3',
      selfie_key: 'incoming/ver-001.png',
    });
    expect(idmeta.facematchCalls[0]).toMatchObject({ nik: NIK, name: NAME, dateOfBirth: DOB });
    expect(idmeta.facematchCalls[0]?.selfie.mime).toBe('image/png');
    expect((await store.get('ver-001'))?.sealed_identity).toBeUndefined();
    expect(selfies.deleted).toEqual(['incoming/ver-001.png']);
  });

  it('returns the PENDING record and a fresh upload when the same pending request is repeated', async () => {
    const { deps, budget } = setup();
    await startPendingVerification(request({ selfie: { kind: 'none' } }), deps, budget());

    const again = await startPendingVerification(
      request({ selfie: { kind: 'none' } }),
      deps,
      budget(),
    );

    expect(again.replayed).toBe(true);
    expect(again.upload).toBeDefined();
  });

  it('takes the identity from object metadata when there is no PENDING record', async () => {
    const { deps, selfies, idmeta, budget } = setup();
    selfies.objects.set('incoming/ver-002.jpg', {
      bytes: JPEG,
      metadata: { nik: NIK, name: NAME, 'date-of-birth': '12-06-1993', 'template-id': 'tf-9' },
    });

    const { record } = await verifyUploadedSelfie(
      { key: 'incoming/ver-002.jpg', verificationId: 'ver-002' },
      deps,
      budget(),
    );

    expect(record).toMatchObject({ status: 'COMPLETED', template_id: 'tf-9', source: 's3' });
    expect(idmeta.facematchCalls).toHaveLength(1);
  });

  it('records MISSING_IDENTITY for an upload with neither a PENDING record nor metadata', async () => {
    const { deps, selfies, idmeta, budget } = setup();
    selfies.objects.set('incoming/ver-003.jpg', { bytes: JPEG, metadata: {} });

    const { record } = await verifyUploadedSelfie(
      { key: 'incoming/ver-003.jpg', verificationId: 'ver-003' },
      deps,
      budget(),
    );

    expect(record).toMatchObject({
      status: 'FAILED',
      reasons: ['MISSING_IDENTITY'],
      error: { code: 'MISSING_IDENTITY' },
    });
    expect(idmeta.facematchCalls).toHaveLength(0);
  });

  it.each([
    [
      'metadata whose NIK disagrees with the date of birth',
      { nik: NIK, name: NAME, 'date-of-birth': '13-06-1993' },
      JPEG,
      'NIK_DOB_MISMATCH',
    ],
    [
      'an object that is not an image',
      { nik: NIK, name: NAME, 'date-of-birth': '12-06-1993' },
      Buffer.from('GIF89a not a selfie'),
      'SELFIE_UNSUPPORTED_TYPE',
    ],
    [
      'an image too small to compare faces',
      { nik: NIK, name: NAME, 'date-of-birth': '12-06-1993' },
      makePng(100, 100),
      'SELFIE_TOO_SMALL',
    ],
  ])('records FAILED without calling IDmeta for %s', async (_label, metadata, bytes, code) => {
    const { deps, selfies, idmeta, budget } = setup();
    selfies.objects.set('incoming/ver-004.jpg', { bytes, metadata });

    const { record } = await verifyUploadedSelfie(
      { key: 'incoming/ver-004.jpg', verificationId: 'ver-004' },
      deps,
      budget(),
    );

    expect(record).toMatchObject({ status: 'FAILED', error: { code } });
    expect(idmeta.facematchCalls).toHaveLength(0);
  });

  it('records SELFIE_NOT_FOUND when the object vanished before it was read', async () => {
    const { deps, budget } = setup();
    await startPendingVerification(request({ selfie: { kind: 'none' } }), deps, budget());

    const { record } = await verifyUploadedSelfie(
      { key: 'incoming/ver-001.jpg', verificationId: 'ver-001' },
      deps,
      budget(),
    );

    expect(record).toMatchObject({ status: 'FAILED', error: { code: 'SELFIE_NOT_FOUND' } });
    expect(record.nik_masked).toBe('3201********0001');
  });

  it('does nothing for a duplicate notification of a finished verification', async () => {
    const { deps, selfies, idmeta, store, budget } = setup();
    const metadata = { nik: NIK, name: NAME, 'date-of-birth': '1993-06-12' };
    selfies.objects.set('incoming/ver-005.jpg', { bytes: JPEG, metadata });
    await verifyUploadedSelfie(
      { key: 'incoming/ver-005.jpg', verificationId: 'ver-005' },
      deps,
      budget(),
    );
    const writes = store.writes;

    const again = await verifyUploadedSelfie(
      { key: 'incoming/ver-005.jpg', verificationId: 'ver-005' },
      deps,
      budget(),
    );

    expect(again.replayed).toBe(true);
    expect(idmeta.facematchCalls).toHaveLength(1);
    expect(store.writes).toBe(writes);
  });
});

describe('markDeadLettered', () => {
  it('keeps the record PENDING, says why, and keeps an internal error message out of it', async () => {
    // Prepare: a verification waiting for its selfie, whose last try met an operator's fault.
    const { deps, store, budget } = setup();
    await startPendingVerification(request({ selfie: { kind: 'none' } }), deps, budget());
    const cause = new FacematchError(
      'could not read secret arn:aws:secretsmanager:ap-southeast-3:111122223333:secret:idmeta',
      { code: 'SECRET_UNAVAILABLE', status: 500 },
    );

    // Act
    const record = await markDeadLettered('ver-001', cause, deps);

    // Assess
    expect(record).toMatchObject({
      status: 'PENDING',
      attempts: 0,
      error: { code: 'DEAD_LETTERED' },
    });
    expect(record?.error?.message).toContain('SECRET_UNAVAILABLE');
    expect(JSON.stringify(await store.get('ver-001'))).not.toContain('arn:aws');
  });
});

describe('getVerification', () => {
  it('returns the public record, or a 404 error for an unknown id', async () => {
    const { deps, budget } = setup();
    await verify(request(), deps, budget());

    await expect(getVerification('ver-001', deps)).resolves.toMatchObject({ status: 'COMPLETED' });
    await expect(getVerification('nope', deps)).rejects.toMatchObject({ status: 404 });
  });
});

describe('verdict events', () => {
  function withEvents(options: { failing?: boolean } = {}) {
    const context = setup();
    const published: unknown[] = [];
    const housekeepingFailures: string[] = [];
    context.deps.events = {
      publish: async (detail) => {
        if (options.failing) throw new Error('EventBridge is down');
        published.push(detail);
      },
    };
    context.deps.observer = {
      housekeepingFailed: (operation) => housekeepingFailures.push(operation),
    };
    return { ...context, published, housekeepingFailures };
  }

  it('announces a completed verdict once, after storing it, without the masked NIK', async () => {
    const { deps, store, published, budget } = withEvents();

    await verify(request(), deps, budget());

    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ verification_id: 'ver-001', decision: 'APPROVED' });
    expect(published[0]).not.toHaveProperty('nik_masked');
    expect(JSON.stringify(published[0])).not.toContain('0001');
    expect((await store.get('ver-001'))?.status).toBe('COMPLETED');
  });

  it('announces a final failure, and nothing for a transient one or a replay', async () => {
    const idmeta = new ScriptedIdmeta().answerNext(
      new IdmetaUnavailableError('IDmeta answered 503', 503),
      new IdmetaTokenError(),
    );
    const context = withEvents();
    context.deps.idmeta = idmeta;

    await expect(verify(request(), context.deps, context.budget())).rejects.toThrow();
    expect(context.published).toHaveLength(0);
    await expect(verify(request(), context.deps, context.budget())).rejects.toThrow();
    await verify(request(), context.deps, context.budget());

    expect(context.published).toEqual([
      expect.objectContaining({ status: 'FAILED', reasons: ['IDMETA_TOKEN_REJECTED'] }),
    ]);
  });

  it('keeps the verdict when the event cannot be published, and says so', async () => {
    const { deps, store, housekeepingFailures, budget } = withEvents({ failing: true });

    const { record } = await verify(request(), deps, budget());

    expect(record.status).toBe('COMPLETED');
    expect((await store.get('ver-001'))?.decision).toBe('APPROVED');
    expect(housekeepingFailures).toEqual(['publish-verdict-event']);
  });
});

describe('IDmeta free text in the record, the GET answer and the event (UU PDP)', () => {
  const LEAKY = 'Data Agus Wibisono 12-06-1993 NIK 3201-0112-0693-0001 sesuai';
  const PERSONAL = ['Agus', 'Wibisono', '12-06-1993', '3201-0112-0693-0001', '0112-0693'];

  it('stores, answers and publishes message null, and none of the name, date or NIK', async () => {
    // Arrange: a real answer body through the real parser, personal data in every free text.
    const body = {
      status: 'VERIFIED',
      message: LEAKY,
      result: {
        success: true,
        message: LEAKY,
        data: {
          nik: true,
          name: true,
          date_of_birth: true,
          selfie_image_percentage: '99.8',
          uuid: 'f26c9465-9e81-4f58-980f-a94d42aa519d',
          reason_code: '0',
          error_message: LEAKY,
        },
      },
      risk_rating: LEAKY,
      api_request_status: 1,
    };
    const idmeta = new ScriptedIdmeta(async () =>
      parseFacematchResponse(200, JSON.stringify(body)),
    );
    const context = setup({ idmeta });
    const published: unknown[] = [];
    context.deps.events = {
      publish: async (detail) => {
        published.push(detail);
      },
    };

    // Act
    const { record } = await verify(request(), context.deps, context.budget());
    const fetched = await getVerification('ver-001', context.deps);

    // Assess: the shape is unchanged (message present, null); nothing personal anywhere.
    expect(record.decision).toBe('APPROVED');
    expect(record.idmeta).toEqual({
      status: 'VERIFIED',
      message: null,
      reason_code: '0',
      uuid: 'f26c9465-9e81-4f58-980f-a94d42aa519d',
      api_request_status: 1,
    });
    expect(record.risk_rating).toBeNull();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ idmeta: { message: null } });
    const texts = [record, fetched, published[0], [...context.store.items.values()]].map((item) =>
      JSON.stringify(item),
    );
    for (const text of texts) {
      for (const part of PERSONAL) expect(text).not.toContain(part);
    }
  });

  it('keeps a generic message such as OK', async () => {
    const idmeta = new ScriptedIdmeta(async () =>
      parseFacematchResponse(
        200,
        JSON.stringify({
          status: 'VERIFIED',
          message: ' OK ',
          result: { success: true, data: { nik: true, name: true, date_of_birth: true } },
        }),
      ),
    );
    const context = setup({ idmeta });

    const { record } = await verify(request(), context.deps, context.budget());

    expect(record.idmeta?.message).toBe('OK');
  });
});
