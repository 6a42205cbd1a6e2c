/**
 * Issue 11: a verdict is only ever the answer to the request it was given. An id is bound to
 * keyed digests of the NIK, name, date of birth, template and (when sent) the selfie; a replay
 * must agree with all of them (DESIGN.md "Replays are bound to the whole request"). And a waiter
 * whose id was released by another worker's transient failure answers that failure: it never
 * pays attempts of its own.
 */
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  IdmetaTimeoutError,
  IdmetaUnavailableError,
  MissingIdentityError,
} from '../../lambda/core/errors.ts';
import {
  startPendingVerification,
  verify,
  verifyUploadedSelfie,
} from '../../lambda/core/verify.ts';
import { makeJpeg } from '../support/images.ts';
import { ScriptedIdmeta } from '../support/in-memory.ts';
import { JPEG, NAME, request, setup } from '../support/verify-setup.ts';

const OTHER_FACE = makeJpeg(320, 320, 7);
const otherSelfie = () =>
  ({
    kind: 'inline',
    image: { bytes: OTHER_FACE, mime: 'image/jpeg', width: 320, height: 320 },
  }) as const;
const withName = (name: string) => ({ ...request().identity, name });

async function conflictOf(promise: Promise<unknown>): Promise<ConflictError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConflictError);
  return error as ConflictError;
}

const pathsOf = (error: ConflictError) => error.issues.map((issue) => issue.path);

describe('a finished verification replays only the request it answered', () => {
  it('returns the stored record for an identical request, calling nothing', async () => {
    // Prepare
    const { deps, idmeta, budget } = setup();
    const first = await verify(request(), deps, budget());

    // Act
    const again = await verify(request(), deps, budget());

    // Assess
    expect(again).toEqual({ record: first.record, replayed: true });
    expect(idmeta.facematchCalls).toHaveLength(1);
  });

  it('answers 409 naming name and selfie_image to the same id and NIK with another person and face', async () => {
    // Prepare: APPROVED for one name and face
    const { deps, idmeta, budget } = setup();
    await verify(request(), deps, budget());

    // Act
    const error = await conflictOf(
      verify(request({ identity: withName('Siti Rahma'), selfie: otherSelfie() }), deps, budget()),
    );

    // Assess: paths only, no value, nothing called
    expect(error.status).toBe(409);
    expect(error.code).toBe('VERIFICATION_ID_CONFLICT');
    expect(pathsOf(error)).toEqual(['name', 'selfie_image']);
    expect(JSON.stringify(error.issues)).not.toContain('Siti');
    expect(idmeta.facematchCalls).toHaveLength(1);
  });

  it.each([
    [
      'date_of_birth',
      { identity: { ...request().identity, dateOfBirth: { year: 1993, month: 6, day: 13 } } },
    ],
    ['template_id', { templateId: 'another-trust-flow' }],
    ['nik', { identity: { ...request().identity, nik: '3201011206930002' } }],
  ])('answers 409 naming %s when only that field differs', async (path, overrides) => {
    // Prepare
    const { deps, budget } = setup();
    await verify(request(), deps, budget());

    // Act
    const error = await conflictOf(verify(request(overrides), deps, budget()));

    // Assess
    expect(pathsOf(error)).toEqual([path]);
  });

  it('keeps no digest in the public record', async () => {
    // Act
    const { deps, store, budget } = setup();
    const { record } = await verify(request(), deps, budget());

    // Assess
    expect(record).not.toHaveProperty('request_digests');
    expect(Object.keys(store.items.get('ver-001')?.request_digests ?? {}).sort()).toEqual([
      'date_of_birth',
      'name',
      'nik',
      'selfie',
      'template_id',
    ]);
  });

  it('still compares a record older than the binding by its NIK alone', async () => {
    // Prepare: a record stored before request digests existed
    const { deps, store, idmeta, budget } = setup();
    await verify(request(), deps, budget());
    const old = store.items.get('ver-001');
    if (old) delete old.request_digests;

    // Act
    const replay = await verify(request({ identity: withName('Siti Rahma') }), deps, budget());

    // Assess
    expect(replay.replayed).toBe(true);
    expect(idmeta.facematchCalls).toHaveLength(1);
  });
});

describe('a PENDING verification is bound to the request that opened it', () => {
  const pendingRequest = (overrides = {}) => request({ selfie: { kind: 'none' }, ...overrides });

  it('answers 409 to a second POST without selfie naming another person, and hands out no form', async () => {
    // Prepare
    const { deps, budget } = setup();
    await startPendingVerification(pendingRequest(), deps, budget());

    // Act
    const error = await conflictOf(
      startPendingVerification(
        pendingRequest({ identity: withName('Siti Rahma') }),
        deps,
        budget(),
      ),
    );

    // Assess
    expect(pathsOf(error)).toEqual(['name']);
  });

  it('replays an identical POST without selfie with a new form', async () => {
    // Prepare
    const { deps, budget } = setup();
    await startPendingVerification(pendingRequest(), deps, budget());

    // Act
    const again = await startPendingVerification(pendingRequest(), deps, budget());

    // Assess
    expect(again.replayed).toBe(true);
    expect(again.upload?.fields.key).toBe('incoming/ver-001.jpg');
  });

  it('lets a synchronous request with the same identity complete it: its selfie is bound then', async () => {
    // Prepare
    const { deps, store, idmeta, budget } = setup();
    await startPendingVerification(pendingRequest(), deps, budget());

    // Act
    const { record, replayed } = await verify(request(), deps, budget());

    // Assess
    expect({ status: record.status, replayed }).toEqual({ status: 'COMPLETED', replayed: false });
    expect(idmeta.facematchCalls).toHaveLength(1);
    expect(store.items.get('ver-001')?.request_digests?.selfie).toEqual(expect.any(String));
    // Another face for the finished id is now a conflict.
    expect(
      pathsOf(await conflictOf(verify(request({ selfie: otherSelfie() }), deps, budget()))),
    ).toEqual(['selfie_image']);
  });

  it('answers 409 to a synchronous takeover with another template, and IDmeta hears nothing (finding 4)', async () => {
    // Prepare
    const { deps, idmeta, budget } = setup();
    await startPendingVerification(pendingRequest({ templateId: 'flow-a' }), deps, budget());

    // Act
    const error = await conflictOf(verify(request({ templateId: 'flow-b' }), deps, budget()));

    // Assess
    expect(pathsOf(error)).toEqual(['template_id']);
    expect(idmeta.facematchCalls).toHaveLength(0);
  });

  it('names the template it sent when it takes over a PENDING record older than the binding', async () => {
    // Prepare: a PENDING record stored before request digests existed, for flow-a
    const { deps, store, idmeta, budget } = setup();
    await startPendingVerification(pendingRequest({ templateId: 'flow-a' }), deps, budget());
    const old = store.items.get('ver-001');
    if (old) delete old.request_digests;

    // Act
    const { record } = await verify(request({ templateId: 'flow-b' }), deps, budget());

    // Assess: what IDmeta got is what the record says
    expect(idmeta.facematchCalls[0]?.templateId).toBe('flow-b');
    expect(record.template_id).toBe('flow-b');
  });

  it('refuses an upload whose face differs from the one a released synchronous request bound', async () => {
    // Prepare: a synchronous request failed transiently and left its id PENDING, bound to its face
    const idmeta = new ScriptedIdmeta().answerNext(new IdmetaUnavailableError('down', 503));
    const context = setup({ idmeta });
    const { deps, selfies, budget } = context;
    await expect(verify(request(), deps, budget())).rejects.toThrow(IdmetaUnavailableError);
    await startPendingVerification(pendingRequest(), deps, budget());
    selfies.objects.set('incoming/ver-001.jpg', { bytes: OTHER_FACE, metadata: {} });

    // Act
    const error = await conflictOf(
      verifyUploadedSelfie(
        { key: 'incoming/ver-001.jpg', verificationId: 'ver-001' },
        deps,
        budget(),
      ),
    );

    // Assess
    expect(pathsOf(error)).toEqual(['selfie_image']);
    expect(idmeta.facematchCalls).toHaveLength(1);
  });
});

describe('an anonymous failure is taken over by the asynchronous path too (finding 6)', () => {
  it('turns a FAILED/MISSING_IDENTITY record into PENDING with a form, then decides the upload', async () => {
    // Prepare: an upload that named nobody
    const { deps, selfies, store, idmeta, budget } = setup();
    selfies.objects.set('incoming/ver-001.jpg', { bytes: JPEG, metadata: {} });
    const anonymous = await verifyUploadedSelfie(
      { key: 'incoming/ver-001.jpg', verificationId: 'ver-001' },
      deps,
      budget(),
    );
    expect(anonymous.record.error?.code).toBe(new MissingIdentityError().code);

    // Act
    const pending = await startPendingVerification(
      request({ selfie: { kind: 'none' } }),
      deps,
      budget(),
    );

    // Assess
    expect(pending.replayed).toBe(false);
    expect(pending.record).toMatchObject({ status: 'PENDING', nik_masked: '3201********0001' });
    expect(pending.record).not.toHaveProperty('error');
    expect(pending.upload?.fields.key).toBe('incoming/ver-001.jpg');
    expect(store.items.get('ver-001')?.sealed_identity).toEqual(expect.any(String));

    // And the upload the form makes is decided for this person.
    selfies.objects.set('incoming/ver-001.jpg', {
      bytes: JPEG,
      metadata: { 'verification-id': 'ver-001' },
    });
    const decided = await verifyUploadedSelfie(
      { key: 'incoming/ver-001.jpg', verificationId: 'ver-001' },
      deps,
      budget(),
    );
    expect(decided.record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
    expect(idmeta.facematchCalls.map((call) => call.name)).toEqual([NAME]);
  });
});

describe('waiters pay nothing while IDmeta fails (finding 2)', () => {
  it('costs one IDmeta check, not ten, for 10 concurrent identical requests during an outage', async () => {
    // Prepare: IDmeta times out on every call, slowly enough that all ten meet the first's lease
    const idmeta = new ScriptedIdmeta(async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      throw new IdmetaTimeoutError('IDmeta did not answer in time');
    });
    const { deps, store, budget } = setup({ idmeta });

    // Act
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => verify(request(), deps, budget())),
    );

    // Assess: one worker's attempts (inside the adapter), and each caller hears the 504
    expect(idmeta.facematchCalls).toHaveLength(1);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ status: 504 });
    }
    expect(store.items.get('ver-001')).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      error: { code: 'IDMETA_TIMEOUT' },
    });
    // A later retry (not a waiter) may pay again: that is the caller's retry.
    await expect(verify(request(), deps, budget())).rejects.toMatchObject({ status: 504 });
    expect(idmeta.facematchCalls).toHaveLength(2);
  });
});
