/**
 * Keyed protection of the personal data a record must carry. The NIK space is small (a few
 * hundred million plausible values), so a plain hash in a leaked table would be reversed in
 * minutes; an HMAC under a secret key is not. The identity a PENDING record keeps until its
 * selfie arrives is sealed with AES-256-GCM, so the table never holds a NIK or a name in clear.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError, FacematchError } from '../core/errors.ts';
import type { IdentityVault } from '../core/ports.ts';
import type { Identity } from '../core/types.ts';

export const MIN_KEY_MATERIAL_LENGTH = 32;

const SEAL_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Fixed labels: the salt separates this application's keys from any other use of the same
// secret; the two `info` labels make the hashing key and the sealing key independent, so
// learning one (or its outputs) says nothing about the other.
const HKDF_SALT = 'facematch/identity-vault';
const NIK_HASH_INFO = 'facematch nik-hmac-sha256 v1';
const SEAL_INFO = 'facematch identity-aes-256-gcm v1';
const DIGEST_INFO = 'facematch request-digest-hmac-sha256 v1';
// Binds a sealed blob to its purpose: a ciphertext made for anything else will not open here.
const SEAL_AAD = Buffer.from('facematch:identity:v1', 'utf8');

/** A sealed identity was tampered with, truncated, or sealed under another key. */
export class SealedIdentityError extends FacematchError {
  constructor(message = 'the sealed identity cannot be opened', options: { cause?: unknown } = {}) {
    super(message, { code: 'SEALED_IDENTITY_INVALID', status: 500, ...options });
    this.name = 'SealedIdentityError';
  }
}

/**
 * `keyMaterial` comes from a secret (at least 32 characters). Changing it changes every NIK hash
 * (old records no longer match their person) and makes pending sealed identities unreadable.
 */
export const createIdentityVault = (keyMaterial: string): IdentityVault => {
  if (typeof keyMaterial !== 'string' || keyMaterial.length < MIN_KEY_MATERIAL_LENGTH) {
    throw new ConfigError(
      `identity vault key material must be at least ${MIN_KEY_MATERIAL_LENGTH} characters`,
    );
  }
  const hashKey = deriveKey(keyMaterial, NIK_HASH_INFO);
  const sealKey = deriveKey(keyMaterial, SEAL_INFO);
  const digestKey = deriveKey(keyMaterial, DIGEST_INFO);

  return {
    async hashNik(nik: string): Promise<string> {
      return createHmac('sha256', hashKey).update(nik, 'utf8').digest('base64url');
    },

    async digest(field: string, value: string | Uint8Array): Promise<string> {
      // The field name and a NUL first: `name` "a" and `nik` "a" never share a digest.
      return createHmac('sha256', digestKey)
        .update(`${field}\0`, 'utf8')
        .update(value)
        .digest('base64url');
    },

    async seal(identity: Identity): Promise<string> {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(SEAL_AAD);
      const plaintext = Buffer.from(JSON.stringify(toSealed(identity)), 'utf8');
      const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return `${SEAL_VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
    },

    async open(sealed: string): Promise<Identity> {
      const parts = typeof sealed === 'string' ? sealed.split('.') : [];
      const [version, ivText, bodyText] = parts;
      if (parts.length !== 3 || version !== SEAL_VERSION || !ivText || !bodyText) {
        throw new SealedIdentityError('the sealed identity is not in a known format');
      }
      const iv = Buffer.from(ivText, 'base64url');
      const body = Buffer.from(bodyText, 'base64url');
      if (iv.length !== IV_BYTES || body.length <= TAG_BYTES) {
        throw new SealedIdentityError('the sealed identity is not in a known format');
      }
      let plaintext: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', sealKey, iv, {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(SEAL_AAD);
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        plaintext = Buffer.concat([
          decipher.update(body.subarray(0, body.length - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch (error) {
        // Node's message says only "Unsupported state or unable to authenticate data".
        throw new SealedIdentityError(undefined, { cause: error });
      }
      return fromSealed(plaintext);
    },
  };
};

function deriveKey(keyMaterial: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', keyMaterial, HKDF_SALT, info, 32));
}

/** The sealed payload: short keys, one shape, checked on the way out. */
interface SealedPayload {
  nik: string;
  name: string;
  dob: [number, number, number];
}

function toSealed(identity: Identity): SealedPayload {
  const { year, month, day } = identity.dateOfBirth;
  return { nik: identity.nik, name: identity.name, dob: [year, month, day] };
}

function fromSealed(plaintext: Buffer): Identity {
  let payload: unknown;
  try {
    payload = JSON.parse(plaintext.toString('utf8'));
  } catch {
    // Authenticated yet unparsable: sealed by a different version of this code.
    throw new SealedIdentityError('the sealed identity has an unknown payload');
  }
  const candidate = payload as Partial<SealedPayload> | null;
  const dob = candidate?.dob;
  if (
    typeof candidate?.nik !== 'string' ||
    typeof candidate.name !== 'string' ||
    !Array.isArray(dob) ||
    dob.length !== 3 ||
    !dob.every((part) => Number.isInteger(part))
  ) {
    throw new SealedIdentityError('the sealed identity has an unknown payload');
  }
  const [year, month, day] = dob;
  return { nik: candidate.nik, name: candidate.name, dateOfBirth: { year, month, day } };
}
