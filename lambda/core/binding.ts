/**
 * A verification id answers for one request only (DESIGN.md: "Replays are bound to the whole
 * request"). The first request binds the id to keyed digests of its NIK, name, date of birth,
 * template and, when it carried one, its selfie's bytes; any later request for the id must agree
 * with every field it brings, or it is a `409` naming the fields that differ. Only digests are
 * stored: the table never learns a value it did not already hold.
 */
import { formatCalendarDate } from './dates.ts';
import { ConflictError, type FieldIssue } from './errors.ts';
import type { IdentityVault } from './ports.ts';
import { normaliseName } from './request.ts';
import type { Identity, RequestDigests, StoredVerdict } from './types.ts';

/** What a request brings to be bound: the identity, the template, maybe the selfie's bytes. */
export interface BindableRequest {
  identity: Identity;
  templateId: string;
  selfie?: Uint8Array | undefined;
}

/** The request's digests, each keyed and labelled by its field. */
export async function requestDigests(
  vault: IdentityVault,
  request: BindableRequest,
): Promise<RequestDigests> {
  const { identity } = request;
  const [nik, name, dateOfBirth, templateId, selfie] = await Promise.all([
    vault.digest('nik', identity.nik),
    // As the request parser normalised it: one name, one spelling, one digest.
    vault.digest('name', normaliseName(identity.name)),
    vault.digest('date_of_birth', formatCalendarDate(identity.dateOfBirth, 'YYYY-MM-DD')),
    vault.digest('template_id', request.templateId),
    request.selfie === undefined ? undefined : vault.digest('selfie', request.selfie),
  ]);
  const digests: RequestDigests = {
    nik,
    name,
    date_of_birth: dateOfBirth,
    template_id: templateId,
  };
  if (selfie !== undefined) digests.selfie = selfie;
  return digests;
}

/**
 * The bound fields besides the selfie, each named as the request path a difference is reported
 * under; the store's takeover condition compares the same list.
 */
export const BOUND_FIELDS = [
  'nik',
  'name',
  'date_of_birth',
  'template_id',
] as const satisfies ReadonlyArray<keyof RequestDigests>;
const SELFIE_PATH = 'selfie_image';

/** What of a record (or of a request's fresh record) the binding compares. */
export type Binding = Pick<StoredVerdict, 'nik_hash' | 'request_digests'>;

/**
 * The request paths where `requested` differs from the request `stored` is bound to; empty when
 * it agrees. A selfie is compared only when both sides have one: a request without a selfie
 * binds none, and one with a selfie completes a record that has none yet. A record older than
 * the binding (no digests) is compared by its NIK hash alone, as it always was.
 */
export function bindingDifferences(stored: Binding, requested: Binding): string[] {
  const bound = stored.request_digests;
  const asked = requested.request_digests;
  if (bound === undefined || asked === undefined) {
    return stored.nik_hash === requested.nik_hash ? [] : ['nik'];
  }
  const paths: string[] = BOUND_FIELDS.filter((field) => bound[field] !== asked[field]);
  if (bound.selfie !== undefined && asked.selfie !== undefined && bound.selfie !== asked.selfie) {
    paths.push(SELFIE_PATH);
  }
  return paths;
}

/** The 409 for a request that differs from the one its id is bound to. */
export function bindingConflict(paths: readonly string[]): ConflictError {
  const differing = paths.length > 0 ? paths : ['nik'];
  const issues: FieldIssue[] = differing.map((path) => ({
    path,
    message: 'differs from the request this verification_id was first used with',
  }));
  return new ConflictError(
    `verification_id is already used for a different request (${differing.join(', ')})`,
    issues,
  );
}

/** Throws the 409 unless `requested` agrees with the request `stored` is bound to. */
export function assertBound(stored: Binding, requested: Binding): void {
  const paths = bindingDifferences(stored, requested);
  if (paths.length > 0) throw bindingConflict(paths);
}
