import { describe, expect, it } from 'vitest';
import { createIdentityVault, SealedIdentityError } from '../../lambda/adapters/identity-vault.ts';
import { ConfigError, FacematchError } from '../../lambda/core/errors.ts';
import type { Identity } from '../../lambda/core/types.ts';

const KEY = 'test-key-material-k-0123456789abcdef';
const OTHER_KEY = 'test-key-material-o-0123456789abcdef';
const NIK = '3201014101900001';

const identity: Identity = {
  nik: NIK,
  name: 'Siti Nurhaliza Ñoño 李华',
  dateOfBirth: { year: 1990, month: 1, day: 1 },
};

/** Flips one character of the ciphertext part, keeping it valid base64url. */
const tamper = (sealed: string): string => {
  const [version, iv, body = ''] = sealed.split('.');
  const index = Math.floor(body.length / 2);
  const flipped = body[index] === 'A' ? 'B' : 'A';
  return `${version}.${iv}.${body.slice(0, index)}${flipped}${body.slice(index + 1)}`;
};

describe('createIdentityVault', () => {
  it('hashes the same NIK to the same value under one key', async () => {
    // Prepare
    const vault = createIdentityVault(KEY);

    // Act
    const first = await vault.hashNik(NIK);
    const second = await createIdentityVault(KEY).hashNik(NIK);

    // Assess
    expect(first).toBe(second);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first).not.toContain(NIK);
  });

  it('hashes the same NIK differently under a different key', async () => {
    // Act
    const [mine, theirs] = await Promise.all([
      createIdentityVault(KEY).hashNik(NIK),
      createIdentityVault(OTHER_KEY).hashNik(NIK),
    ]);

    // Assess
    expect(mine).not.toBe(theirs);
  });

  it('digests request fields under its key, each field apart, and never as the NIK hash', async () => {
    // Prepare
    const vault = createIdentityVault(KEY);

    // Act
    const nik = await vault.digest('nik', NIK);
    const again = await createIdentityVault(KEY).digest('nik', NIK);
    const asName = await vault.digest('name', NIK);
    const otherKey = await createIdentityVault(OTHER_KEY).digest('nik', NIK);
    const bytes = await vault.digest('selfie', new Uint8Array([1, 2, 3]));

    // Assess
    expect(nik).toBe(again);
    expect(nik).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([nik, asName, otherKey, await vault.hashNik(NIK)]).size).toBe(4);
    expect(bytes).not.toBe(await vault.digest('selfie', new Uint8Array([1, 2, 4])));
  });

  it('opens what it sealed, Unicode name included', async () => {
    // Prepare
    const vault = createIdentityVault(KEY);

    // Act
    const sealed = await vault.seal(identity);
    const opened = await vault.open(sealed);

    // Assess
    expect(opened).toEqual(identity);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  });

  it('seals the same identity differently each time (random IV)', async () => {
    // Prepare
    const vault = createIdentityVault(KEY);

    // Act
    const [first, second] = await Promise.all([vault.seal(identity), vault.seal(identity)]);

    // Assess
    expect(first).not.toBe(second);
  });

  it('puts neither the NIK nor the name in the sealed string', async () => {
    // Act
    const sealed = await createIdentityVault(KEY).seal(identity);

    // Assess
    expect(sealed).not.toContain(NIK);
    expect(sealed).not.toContain('Siti');
    expect(Buffer.from(sealed.split('.')[2] ?? '', 'base64url').toString('latin1')).not.toContain(
      NIK,
    );
  });

  it('refuses a tampered ciphertext without echoing any of it', async () => {
    // Prepare
    const vault = createIdentityVault(KEY);
    const tampered = tamper(await vault.seal(identity));

    // Act
    const opening = vault.open(tampered);

    // Assess
    await expect(opening).rejects.toBeInstanceOf(SealedIdentityError);
    await expect(opening).rejects.toBeInstanceOf(FacematchError);
    const error = await opening.then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).not.toContain(tampered.split('.')[2]);
  });

  it('refuses a sealed string made under another key, or in an unknown format', async () => {
    // Prepare
    const sealed = await createIdentityVault(OTHER_KEY).seal(identity);
    const vault = createIdentityVault(KEY);

    // Act / Assess
    await expect(vault.open(sealed)).rejects.toBeInstanceOf(SealedIdentityError);
    await expect(vault.open(sealed.replace(/^v1\./, 'v2.'))).rejects.toBeInstanceOf(
      SealedIdentityError,
    );
    await expect(vault.open('not-a-sealed-identity')).rejects.toBeInstanceOf(SealedIdentityError);
  });

  it('refuses key material shorter than 32 characters', () => {
    // Act / Assess
    expect(() => createIdentityVault('x'.repeat(31))).toThrow(ConfigError);
    expect(() => createIdentityVault('x'.repeat(32))).not.toThrow();
  });
});
