/**
 * verify() over in-memory ports, as the core's unit tests build it: a fictional person, a JPEG
 * selfie, a manual clock, and a budget far away.
 */
import { createIdentityVault } from '../../lambda/adapters/identity-vault.ts';
import { sha256Hex } from '../../lambda/config.ts';
import { type ProfileSet, parseProfiles } from '../../lambda/core/profiles.ts';
import type { SelfieImage, VerificationRequest } from '../../lambda/core/types.ts';
import type { VerifyDeps } from '../../lambda/core/verify.ts';
import { makeJpeg } from './images.ts';
import {
  InMemoryPersonHistory,
  InMemorySelfieStore,
  InMemoryVerdictStore,
  ManualClock,
  ScriptedIdmeta,
} from './in-memory.ts';

export const NIK = '3201011206930001';
export const NAME = 'Budi Santoso Wijaya';
export const DOB = { year: 1993, month: 6, day: 12 };
export const OTHER_NIK = '3201015206930002';

/** `POLICY_PROFILES` as the runtime resolves it, over thresholds 75/40; throws on a problem. */
export function profiles(json?: unknown): ProfileSet {
  const text = json === undefined ? undefined : JSON.stringify(json);
  const parsed = parseProfiles(text, { approveThreshold: 75, rejectThreshold: 40 }, sha256Hex);
  if (parsed.profiles === null) throw new Error(JSON.stringify(parsed.problems));
  return parsed.profiles;
}

export function setup(
  options: { idmeta?: ScriptedIdmeta; busyWaitMs?: number; profiles?: unknown } = {},
) {
  const store = new InMemoryVerdictStore();
  const history = new InMemoryPersonHistory(store);
  const selfies = new InMemorySelfieStore();
  const idmeta = options.idmeta ?? new ScriptedIdmeta();
  const clock = new ManualClock();
  let leases = 0;
  const deps: VerifyDeps = {
    idmeta,
    store,
    history,
    selfies,
    vault: createIdentityVault('unit-test-key-material-0123456789abcdef'),
    clock,
    newLeaseOwner: () => `worker-${++leases}`,
    // Waiting for another worker polls the store; a short real pause keeps the suite fast.
    sleep: () => new Promise((resolve) => setTimeout(resolve, 5)),
    settings: {
      defaultTemplateId: 'trust-flow-default',
      profiles: profiles(options.profiles),
      selfieLimits: {
        maxBytes: 1024 * 1024,
        minWidth: 240,
        minHeight: 240,
        maxDimension: 10_000,
        maxPixels: 40_000_000,
      },
      retentionDays: 30,
      leaseMs: 60_000,
      finalizeOwnedVerifications: true,
      uploadExpiresSeconds: 900,
      deleteSelfieAfterVerdict: true,
      busyWaitMs: options.busyWaitMs ?? 5_000,
      storeReserveMs: 1_000,
    },
  };
  const budget = () => ({ deadline: clock.now() + 25_000 });
  return { deps, store, history, selfies, idmeta, clock, budget };
}

// Encoding a JPEG costs ~100 ms: one for the whole file.
export const JPEG = makeJpeg(320, 320, 1);

export function jpegSelfie(): SelfieImage {
  return { bytes: JPEG, mime: 'image/jpeg', width: 320, height: 320 };
}

export function request(overrides: Partial<VerificationRequest> = {}): VerificationRequest {
  return {
    verificationId: 'ver-001',
    identity: { nik: NIK, name: NAME, dateOfBirth: DOB },
    selfie: { kind: 'inline', image: jpegSelfie() },
    source: 'api',
    ...overrides,
  };
}
