/**
 * Fraud signals from one person's history (keyed NIK hash only): how often this NIK reached
 * IDmeta lately (velocity), and whether another verification of it was approved (duplicate).
 * Pure: the history comes from the `PersonHistory` port, read once per verification.
 *
 * Counted: other verifications of the NIK whose check was sent to IDmeta (`idmeta_at`) inside
 * the trailing window. Not counted: this verification (a retry of it is not another attempt),
 * replays (they return the stored record and write nothing), and refusals (never sent).
 */
import { VelocityExceededError } from './errors.ts';
import type { PersonHistory, PersonVerification } from './ports.ts';
import type { PolicyRules, SignalSummary, VerificationSignals } from './types.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The oldest creation time the history must reach back to: both windows in one read. A
 * verification created before it that reached IDmeta inside the window (a PENDING record waiting
 * longer than the longer window) is not seen; with the defaults (24 h, 90 days) that is beyond the
 * record's retention.
 */
export function historySince(rules: PolicyRules, now: number): number {
  return now - Math.max(rules.velocity.windowHours * HOUR_MS, rules.duplicateDays * DAY_MS);
}

export function summariseHistory(
  history: readonly PersonVerification[],
  rules: PolicyRules,
  current: { verificationId: string; now: number },
): SignalSummary {
  const windowStart = current.now - rules.velocity.windowHours * HOUR_MS;
  const approvedSince = current.now - rules.duplicateDays * DAY_MS;
  const attemptTimes: number[] = [];
  let previouslyApproved = false;
  for (const item of history) {
    if (item.verificationId === current.verificationId) continue;
    if (
      item.idmetaAt !== undefined &&
      item.idmetaAt > windowStart &&
      item.idmetaAt <= current.now
    ) {
      attemptTimes.push(item.idmetaAt);
    }
    const approvedAt = item.completedAt === undefined ? Number.NaN : Date.parse(item.completedAt);
    if (item.decision === 'APPROVED' && approvedAt >= approvedSince) previouslyApproved = true;
  }
  attemptTimes.sort((a, b) => a - b);
  return { attempts: attemptTimes.length, previouslyApproved, attemptTimes };
}

/** Reads the person's history once and sums it up for this verification. */
export async function readSignals(
  history: PersonHistory,
  nikHash: string,
  rules: PolicyRules,
  current: { verificationId: string; now: number },
): Promise<SignalSummary> {
  const items = await history.recent(nikHash, historySince(rules, current.now));
  return summariseHistory(items, rules, current);
}

/**
 * The refusal velocity calls for, or null. `Retry-After` is when enough of the oldest counted
 * attempts have left the window for the count to fall below `refuseAfter` (at least 1 s).
 */
export function velocityRefusal(
  signals: SignalSummary,
  rules: PolicyRules,
  now: number,
): VelocityExceededError | null {
  const { refuseAfter, windowHours } = rules.velocity;
  if (signals.attempts < refuseAfter) return null;
  const leaving = signals.attemptTimes[signals.attempts - refuseAfter] ?? now;
  const seconds = Math.ceil((leaving + windowHours * HOUR_MS - now) / 1000);
  return new VelocityExceededError(Math.max(1, seconds));
}

/** The record's `signals`. */
export const recordSignals = (signals: SignalSummary): VerificationSignals => ({
  nik_attempts_24h: signals.attempts,
  nik_previously_approved: signals.previouslyApproved,
});
