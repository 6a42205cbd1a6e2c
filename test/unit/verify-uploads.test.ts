/**
 * The S3 entrance's edges found by an adversarial review: whose an uploaded object is, uploads
 * that meet a finished or half-finished verification, and what is announced.
 */
import { describe, expect, it } from 'vitest';
import { IdmetaUnavailableError, ValidationError } from '../../lambda/core/errors.ts';
import {
  startPendingVerification,
  verify,
  verifyUploadedSelfie,
} from '../../lambda/core/verify.ts';
import { ScriptedIdmeta } from '../support/in-memory.ts';
import { JPEG, NIK, OTHER_NIK, request, setup } from '../support/verify-setup.ts';

/** A PENDING verification with its upload form, as the 202 path leaves it. */
async function pending(context: ReturnType<typeof setup>, id: string, nik = NIK) {
  const outcome = await startPendingVerification(
    request({
      verificationId: id,
      selfie: { kind: 'none' },
      identity: { ...request().identity, nik },
    }),
    context.deps,
    context.budget(),
  );
  if (!outcome.upload) throw new Error('no upload form');
  return outcome.upload;
}

/** What S3 stores for a POST of `fields` under `key`: the form's x-amz-meta-* as metadata. */
function upload(context: ReturnType<typeof setup>, fields: Record<string, string>, key: string) {
  const metadata = Object.fromEntries(
    Object.entries(fields)
      .filter(([name]) => name.startsWith('x-amz-meta-'))
      .map(([name, value]) => [name.slice('x-amz-meta-'.length), value]),
  );
  context.selfies.objects.set(key, { bytes: JPEG, metadata });
}

describe('an upload form pins the verification it was issued for', () => {
  it('signs its exact key and the verification id into the form', async () => {
    // Act
    const form = await pending(setup(), 'rv-x');

    // Assess
    expect(form.fields).toMatchObject({
      key: 'incoming/rv-x.jpg',
      'x-amz-meta-verification-id': 'rv-x',
    });
  });

  it("refuses an object marked for another id, and leaves that id's verification alone", async () => {
    // Prepare: "rv-x.2" waits for its selfie; an object marked for "rv-x" sits at its key (not
    // something our forms can make any more: they pin their exact key).
    const context = setup();
    await pending(context, 'rv-x.2', OTHER_NIK);
    const form = await pending(context, 'rv-x');
    upload(context, form.fields, 'incoming/rv-x.2.jpg');
    const notification = { key: 'incoming/rv-x.2.jpg', verificationId: 'rv-x.2' };

    // Act: the notification, and a duplicate of it.
    const first = verifyUploadedSelfie(notification, context.deps, context.budget());
    await expect(first).rejects.toBeInstanceOf(ValidationError);
    const duplicate = verifyUploadedSelfie(notification, context.deps, context.budget());

    // Assess: refused both times; nothing decided, nothing paid, no record changed. The object is
    // left to the bucket's lifecycle: deleting it would let the duplicate end rv-x.2 FAILED
    // SELFIE_NOT_FOUND.
    await expect(duplicate).rejects.toBeInstanceOf(ValidationError);
    expect(context.idmeta.facematchCalls).toHaveLength(0);
    expect(await context.store.get('rv-x.2')).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(await context.store.get('rv-x')).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(context.selfies.objects.has('incoming/rv-x.2.jpg')).toBe(true);
  });

  it('decides an object whose mark is its own id, whatever the case of the metadata name', async () => {
    // Prepare: S3 gives metadata names in lower case; other S3-compatible servers may not.
    const context = setup();
    await pending(context, 'rv-m');
    context.selfies.objects.set('incoming/rv-m.jpg', {
      bytes: JPEG,
      metadata: { 'Verification-Id': 'rv-m' },
    });

    // Act
    const outcome = await verifyUploadedSelfie(
      { key: 'incoming/rv-m.jpg', verificationId: 'rv-m' },
      context.deps,
      context.budget(),
    );

    // Assess
    expect(outcome.record).toMatchObject({ verification_id: 'rv-m', status: 'COMPLETED' });
  });

  it('refuses an object whose mark is not even an id', async () => {
    // Prepare
    const context = setup();
    await pending(context, 'rv-n');
    context.selfies.objects.set('incoming/rv-n.jpg', {
      bytes: JPEG,
      metadata: { 'verification-id': '../rv-n' },
    });

    // Act
    const verifying = verifyUploadedSelfie(
      { key: 'incoming/rv-n.jpg', verificationId: 'rv-n' },
      context.deps,
      context.budget(),
    );

    // Assess
    await expect(verifying).rejects.toBeInstanceOf(ValidationError);
    expect(await context.store.get('rv-n')).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  it('refuses a selfie_s3_key whose object a form made for another id, before any call', async () => {
    // Prepare
    const context = setup();
    const form = await pending(context, 'rv-z');
    upload(context, form.fields, 'incoming/rv-z.2.jpg');

    // Act
    const verifying = verify(
      request({ verificationId: 'rv-z.2', selfie: { kind: 's3', key: 'incoming/rv-z.2.jpg' } }),
      context.deps,
      context.budget(),
    );

    // Assess
    await expect(verifying).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      issues: [{ path: 'selfie_s3_key', message: 'was uploaded for another verification' }],
    });
    expect(context.idmeta.facematchCalls).toHaveLength(0);
  });
});

describe('uploads meeting a half-finished or finished verification', () => {
  it('completes a verification whose synchronous attempt failed, through the upload form asked for next', async () => {
    // Prepare: a sync POST fails transiently (the record stays PENDING without a sealed
    // identity), then the caller asks for an upload form instead.
    const context = setup({
      idmeta: new ScriptedIdmeta().answerNext(
        new IdmetaUnavailableError('IDmeta answered 503', 503),
      ),
    });
    await verify(
      request({ verificationId: 'sync-then-upload' }),
      context.deps,
      context.budget(),
    ).catch(() => undefined);
    const form = await pending(context, 'sync-then-upload');
    upload(context, form.fields, 'incoming/sync-then-upload.jpg');

    // Act
    const outcome = await verifyUploadedSelfie(
      { key: 'incoming/sync-then-upload.jpg', verificationId: 'sync-then-upload' },
      context.deps,
      context.budget(),
    );

    // Assess: decided, not left PENDING for ever.
    expect(outcome.record).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
  });

  it('refuses an upload form for another person on a half-finished verification', async () => {
    // Prepare
    const context = setup({
      idmeta: new ScriptedIdmeta().answerNext(
        new IdmetaUnavailableError('IDmeta answered 503', 503),
      ),
    });
    await verify(request({ verificationId: 'half' }), context.deps, context.budget()).catch(
      () => undefined,
    );

    // Act
    const asking = pending(context, 'half', OTHER_NIK);

    // Assess
    await expect(asking).rejects.toMatchObject({ code: 'VERIFICATION_ID_CONFLICT' });
    expect((await context.store.get('half'))?.sealed_identity).toBeUndefined();
  });

  it('deletes a re-upload that loses the race to the verdict of the first', async () => {
    // Prepare: the .png upload's read waits until the .jpg upload has its verdict.
    const context = setup();
    const form = await pending(context, 'twice');
    upload(context, form.fields, 'incoming/twice.jpg');
    upload(context, form.fields, 'incoming/twice.png');
    let release = () => {};
    const firstDone = new Promise<void>((resolve) => {
      release = resolve;
    });
    const read = context.selfies.read.bind(context.selfies);
    context.selfies.read = async (key, maxBytes) => {
      const object = await read(key, maxBytes);
      if (key.endsWith('.png')) await firstDone;
      return object;
    };

    // Act
    const second = verifyUploadedSelfie(
      { key: 'incoming/twice.png', verificationId: 'twice' },
      context.deps,
      context.budget(),
    );
    await verifyUploadedSelfie(
      { key: 'incoming/twice.jpg', verificationId: 'twice' },
      context.deps,
      context.budget(),
    );
    release();

    // Assess
    expect((await second).replayed).toBe(true);
    expect([...context.selfies.objects.keys()]).toEqual([]);
    expect(context.idmeta.facematchCalls).toHaveLength(1);
  });
});

describe('verdict events for uploads', () => {
  it('announces no anonymous failure: it is not final, and a request naming the object may still decide', async () => {
    // Prepare: the object's own notification comes first and names nobody.
    const context = setup();
    const published: Array<{ status: string }> = [];
    context.deps.events = {
      publish: async (detail) => {
        published.push(detail);
      },
    };
    context.selfies.objects.set('incoming/v1.jpg', { bytes: JPEG, metadata: {} });
    await verifyUploadedSelfie(
      { key: 'incoming/v1.jpg', verificationId: 'v1' },
      context.deps,
      context.budget(),
    );

    // Act: the API request naming it arrives.
    await verify(
      request({ verificationId: 'v1', selfie: { kind: 's3', key: 'incoming/v1.jpg' } }),
      context.deps,
      context.budget(),
    );

    // Assess: one final answer, announced once.
    expect(published.map((detail) => detail.status)).toEqual(['COMPLETED']);
  });
});
