/** One verdict record as a person reads it: decision, reasons in words, matches, gauge, history. */
import { thresholds, type VerdictRecord } from './api.ts';
import { formatTime, h } from './dom.ts';
import { fieldInWords, reasonInWords, reviewReasonInWords, STATUS_WORDS } from './words.ts';

const fact = (term: string, ...value: Array<Node | string | null | undefined>) => [
  h('dt', {}, term),
  h('dd', {}, ...value),
];

export const decisionBadge = (decision: string | null | undefined) =>
  h('span', { class: `badge ${decision ?? ''}` }, decision ?? 'no decision yet');

/** Face similarity against the two thresholds: a meter with both marks, and the same in words. */
export function similarityGauge(similarity: number | null | undefined): HTMLElement {
  const { approve, reject } = thresholds();
  if (similarity === null || similarity === undefined) {
    return h('p', {}, 'Face similarity: none returned.');
  }
  const value = Math.max(0, Math.min(100, similarity));
  const band =
    similarity >= approve
      ? 'at or above the approve threshold'
      : similarity < reject
        ? 'below the reject threshold'
        : 'between the thresholds: a person decides';
  const gauge = h(
    'div',
    {
      class: 'gauge',
      role: 'meter',
      'aria-label': 'Face similarity',
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'aria-valuenow': String(value),
      'aria-valuetext': `${similarity} of 100, ${band}`,
    },
    h('span', { class: 'fill' }),
    h('span', { class: 'mark reject-mark', title: `reject below ${reject}` }),
    h('span', { class: 'mark approve-mark', title: `approve at ${approve}` }),
  );
  // CSSOM, not a style attribute: the CSP allows no inline style.
  gauge.style.setProperty('--value', `${value}%`);
  gauge.style.setProperty('--reject-at', `${reject}%`);
  gauge.style.setProperty('--approve-at', `${approve}%`);
  return h(
    'div',
    {},
    h('h3', {}, `Face similarity: ${similarity}`),
    gauge,
    h(
      'p',
      { class: 'gauge-legend' },
      `${band}. Rejected below ${reject}, approved at ${approve} or more (the default policy's thresholds).`,
    ),
  );
}

export function matchesTable(matches: Record<string, boolean | null> | undefined): HTMLElement {
  const entries = Object.entries(matches ?? {});
  if (entries.length === 0) return h('p', {}, 'No per-field matches (IDmeta was not asked yet).');
  return h(
    'table',
    {},
    h('caption', {}, 'Per-field matches against the registry'),
    h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Result')),
    ),
    h(
      'tbody',
      {},
      ...entries.map(([field, value]) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, fieldInWords(field)),
          h(
            'td',
            { class: value === true ? 'yes' : value === false ? 'no' : '' },
            value === true ? 'matches' : value === false ? 'does not match' : 'not checked',
          ),
        ),
      ),
    ),
  );
}

function history(record: VerdictRecord): HTMLElement | null {
  if (!record.history || record.history.length === 0) return null;
  return h(
    'section',
    {},
    h('h3', {}, 'History'),
    h(
      'ol',
      {},
      ...record.history.map((entry) =>
        h(
          'li',
          {},
          `${formatTime(entry.at)}: ${entry.actor === 'system' ? 'the policy' : entry.actor} `,
          entry.action === 'REVIEWED' ? 'reviewed it: ' : 'decided: ',
          decisionBadge(entry.decision ?? null),
          entry.reason ? ` (${reviewReasonInWords(entry.reason)})` : '',
        ),
      ),
    ),
  );
}

function review(record: VerdictRecord): HTMLElement | null {
  const state = record.review;
  if (!state) return null;
  return h(
    'section',
    {},
    h('h3', {}, 'Review'),
    h(
      'dl',
      { class: 'facts' },
      ...fact('State', state.state === 'OPEN' ? 'open: waiting for a reviewer' : 'closed'),
      ...(state.opened_at !== undefined ? fact('Opened', formatTime(state.opened_at)) : []),
      ...(state.decision ? fact('Reviewer decided', decisionBadge(state.decision)) : []),
      ...(state.reason ? fact('Reason', reviewReasonInWords(state.reason)) : []),
      ...(state.note ? fact('Note', state.note) : []),
      ...(state.reviewer ? fact('Reviewer', state.reviewer) : []),
      ...(state.reviewed_at !== undefined ? fact('Reviewed', formatTime(state.reviewed_at)) : []),
    ),
  );
}

export function renderRecord(record: VerdictRecord, headingLevel: 'h2' | 'h3' = 'h2'): HTMLElement {
  const reasons = record.reasons ?? [];
  return h(
    'article',
    { class: 'record', 'aria-label': `Verification ${record.verification_id}` },
    h(headingLevel, {}, 'Verification ', h('span', { class: 'vid' }, record.verification_id)),
    h(
      'dl',
      { class: 'facts' },
      ...fact('Decision', decisionBadge(record.decision)),
      ...fact('Status', `${record.status} (${STATUS_WORDS[record.status] ?? record.status})`),
      ...(record.machine_decision && record.machine_decision !== record.decision
        ? fact('Machine decision', decisionBadge(record.machine_decision))
        : []),
      ...(record.nik_masked ? fact('NIK (masked)', record.nik_masked) : []),
      ...(record.template_id ? fact('Template', record.template_id) : []),
      ...(record.risk_rating ? fact('Risk rating', record.risk_rating) : []),
      ...(record.policy
        ? fact('Policy', `${record.policy.profile} (${record.policy.version})`)
        : []),
      ...(record.signals
        ? fact(
            'Signals',
            `${record.signals.nik_attempts_24h ?? 0} earlier attempts on this NIK in 24 h` +
              (record.signals.nik_previously_approved ? '; approved before' : ''),
          )
        : []),
      ...(record.created_at ? fact('Created', formatTime(record.created_at)) : []),
      ...(record.completed_at ? fact('Completed', formatTime(record.completed_at)) : []),
      ...(record.error
        ? fact('Error', `${record.error.message} `, h('span', { class: 'code' }, record.error.code))
        : []),
    ),
    reasons.length > 0
      ? h(
          'section',
          {},
          h('h3', {}, 'Why'),
          h(
            'ul',
            { class: 'reasons' },
            ...reasons.map((code) =>
              h('li', {}, reasonInWords(code), ' ', h('span', { class: 'code' }, code)),
            ),
          ),
        )
      : null,
    matchesTable(record.matches),
    similarityGauge(record.face_similarity),
    review(record),
    history(record),
  );
}
