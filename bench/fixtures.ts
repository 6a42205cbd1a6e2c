/**
 * What every measured verification is made of: a person of the simulator's registry with their
 * reference selfie (so the verdict is a real APPROVED, not an error path), a budget, and an
 * IDmeta port wrapped with a timer so "ours" can be told from "IDmeta's".
 */
import { performance } from 'node:perf_hooks';
import { parseVerificationBody } from '../lambda/core/request.ts';
import { DEFAULT_SELFIE_LIMITS } from '../lambda/core/selfie.ts';
import type { VerificationRequest } from '../lambda/core/types.ts';
import type { VerifyDeps } from '../lambda/core/verify.ts';
import { loadRegistry, referenceSelfie } from '../local/idmeta-simulator/registry.ts';

/** Agus: every field matches, face 98.7, LOW risk (local/idmeta-simulator/README.md). */
export const PERSON = (() => {
  const person = loadRegistry().people[0];
  if (person === undefined) throw new Error('the simulator registry is empty');
  return person;
})();

export const SELFIE = referenceSelfie(PERSON.nik);

/** Lambda's API budget: far away, so no measured call is ever cut short by its deadline. */
export const budget = () => ({ deadline: Date.now() + 25_000 });

/** The API entrance's request for `verificationId`, the selfie inline (already decoded). */
export function inlineRequest(verificationId: string): VerificationRequest {
  const parsed = parseVerificationBody(
    {
      verification_id: verificationId,
      nik: PERSON.nik,
      name: PERSON.name,
      date_of_birth: PERSON.date_of_birth,
      selfie_image: SELFIE.dataUri,
    },
    { limits: DEFAULT_SELFIE_LIMITS, now: Date.now() },
  );
  return { ...parsed, source: 'api' };
}

/** The API entrance's request naming an object already in the bucket (`selfie_s3_key`). */
export function s3Request(verificationId: string, key: string): VerificationRequest {
  const parsed = parseVerificationBody(
    {
      verification_id: verificationId,
      nik: PERSON.nik,
      name: PERSON.name,
      date_of_birth: PERSON.date_of_birth,
      selfie_s3_key: key,
    },
    { limits: DEFAULT_SELFIE_LIMITS, now: Date.now() },
  );
  return { ...parsed, source: 'api' };
}

export interface IdmetaTimer {
  deps: VerifyDeps;
  /** Milliseconds spent inside `idmeta.facematch` since the last `reset()`. */
  elapsed(): number;
  reset(): void;
}

/**
 * `deps` with `idmeta.facematch` timed: what the IDmeta client does (token, JSON body with the
 * base64 selfie, the HTTP exchange, parsing the answer) counts as IDmeta's time.
 */
export function timeIdmeta(deps: VerifyDeps): IdmetaTimer {
  let total = 0;
  const idmeta = deps.idmeta;
  const timed: VerifyDeps['idmeta'] = {
    createVerification: (input, callBudget) => idmeta.createVerification(input, callBudget),
    finalizeVerification: (input, callBudget) => idmeta.finalizeVerification(input, callBudget),
    async facematch(input, callBudget) {
      const started = performance.now();
      try {
        return await idmeta.facematch(input, callBudget);
      } finally {
        total += performance.now() - started;
      }
    },
  };
  return {
    deps: { ...deps, idmeta: timed },
    elapsed: () => total,
    reset: () => {
      total = 0;
    },
  };
}
