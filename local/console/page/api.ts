/**
 * The public API as the page calls it: same origin, JSON only, the per-run token on every call
 * (the `facematch console` proxy refuses a call without it; the local server ignores it).
 */

export interface ProblemIssue {
  path: string;
  message: string;
}

export interface Problem {
  title: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: ProblemIssue[];
}

export type ApiResult<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; problem: Problem };

export interface ReviewState {
  state: 'OPEN' | 'CLOSED';
  opened_at?: string | number;
  decision?: string;
  reason?: string;
  note?: string;
  reviewer?: string;
  reviewed_at?: string | number;
}

export interface HistoryEntry {
  at: string | number;
  actor: string;
  action: string;
  decision?: string | null;
  reason?: string;
}

/** The verdict record (DESIGN.md "The verdict record"); round-2 fields are optional. */
export interface VerdictRecord {
  verification_id: string;
  template_id?: string;
  status: string;
  decision: string | null;
  reasons?: string[];
  face_similarity?: number | null;
  matches?: Record<string, boolean | null>;
  risk_rating?: string | null;
  nik_masked?: string;
  source?: string;
  error?: { code: string; message: string };
  created_at?: string;
  updated_at?: string;
  completed_at?: string;
  policy?: { profile: string; version: string } | null;
  signals?: { nik_attempts_24h?: number; nik_previously_approved?: boolean } | null;
  machine_decision?: string | null;
  review?: ReviewState | null;
  history?: HistoryEntry[];
  upload?: unknown;
}

export interface ReviewPage {
  items: VerdictRecord[];
  next_cursor: string | null;
}

const meta = (name: string) =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';

const TOKEN = meta('facematch-console-token');

const isProblem = (value: unknown): value is Problem =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { title?: unknown }).title === 'string';

export async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown) {
  const headers: Record<string, string> = {
    accept: 'application/json, application/problem+json',
    'x-facematch-console-token': TOKEN,
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    text = await response.text();
  } catch {
    const problem: Problem = { title: 'The API could not be reached', status: 0 };
    return { ok: false, status: 0, problem } as ApiResult<T>;
  }
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON (an HTML error page from a gateway): the status line says enough.
  }
  if (response.ok) return { ok: true, status: response.status, body: parsed as T } as ApiResult<T>;
  const problem: Problem = isProblem(parsed)
    ? parsed
    : { title: response.statusText || `HTTP ${response.status}`, status: response.status };
  return { ok: false, status: response.status, problem } as ApiResult<T>;
}

/** A route this API does not have (yet): the page hides or explains the view instead of failing. */
export const isMissingRoute = (status: number) => status === 404 || status === 405;

export const verificationPath = (id: string) => `/verifications/${encodeURIComponent(id)}`;

/** The thresholds the gauge draws, from the page (the API does not publish them). */
export function thresholds(): { approve: number; reject: number } {
  const [approve, reject] = meta('facematch-thresholds').split(' ').map(Number);
  return {
    approve: Number.isFinite(approve) ? (approve as number) : 75,
    reject: Number.isFinite(reject) ? (reject as number) : 40,
  };
}
