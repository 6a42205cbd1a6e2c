/**
 * Data subjects: every verification of one NIK (access) and their erasure. The NIK travels in
 * the body only; the page keeps it nowhere but the input.
 */
import { call, isMissingRoute, type VerdictRecord } from './api.ts';
import { byId, clearProblems, h, markInvalid, showProblem } from './dom.ts';
import { decisionBadge } from './record-view.ts';

interface SearchAnswer {
  nik_masked: string;
  verifications: VerdictRecord[];
}

interface EraseAnswer {
  erased: { records: number; selfies: number; deliveries: number };
  verification_ids: string[];
  receipt_id: string;
}

/** Whether this API has the data-subject routes: an empty search is a 400 there, 404/405 not. */
export async function hasSubjectRoutes(): Promise<boolean> {
  const answer = await call('POST', '/data-subjects/search', {});
  return !isMissingRoute(answer.status) && answer.status !== 403 && answer.status !== 0;
}

export function setUpSubjectsView(openVerification: (id: string) => void): void {
  const form = byId<HTMLFormElement>('subject-form');
  const input = byId<HTMLInputElement>('subject-nik');
  const result = byId('subject-result');
  const nikField = (path: string) => (path === 'nik' ? 'subject-nik' : null);

  const erase = async (nik: string, masked: string) => {
    const answer = await call<EraseAnswer>('POST', '/data-subjects/erase', { nik });
    if (!answer.ok) {
      showProblem(form, answer.problem, nikField);
      return;
    }
    const { erased, receipt_id } = answer.body;
    input.value = '';
    const done = h(
      'p',
      { role: 'status', tabindex: '-1' },
      `Erased for ${masked}: ${erased.records} records, ${erased.selfies} selfies, ${erased.deliveries} webhook deliveries. Receipt ${receipt_id}.`,
    );
    result.replaceChildren(done);
    done.focus();
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(form);
    const nik = input.value.trim();
    if (nik === '') {
      markInvalid(form, 'subject-nik', 'NIK is required');
      input.focus();
      return;
    }
    const answer = await call<SearchAnswer>('POST', '/data-subjects/search', { nik });
    if (!answer.ok) {
      result.replaceChildren();
      showProblem(form, answer.problem, nikField);
      return;
    }
    const { nik_masked, verifications } = answer.body;
    const rows = verifications.map((record) => {
      const open = h('button', { type: 'button' }, record.verification_id);
      open.addEventListener('click', () => openVerification(record.verification_id));
      return h(
        'li',
        {},
        open,
        ' ',
        decisionBadge(record.decision),
        ` ${record.status} ${record.created_at ?? ''}`,
      );
    });
    const eraseButton = h(
      'button',
      { type: 'button', class: 'reject' },
      `Erase everything of ${nik_masked}`,
    );
    const confirm = h(
      'button',
      { type: 'button', class: 'reject', hidden: true },
      `Yes, erase ${verifications.length} verifications for good`,
    );
    eraseButton.addEventListener('click', () => {
      confirm.hidden = false;
      confirm.focus();
    });
    confirm.addEventListener('click', () => void erase(nik, nik_masked));
    result.replaceChildren(
      h(
        'h2',
        {},
        `${verifications.length} verification${verifications.length === 1 ? '' : 's'} of ${nik_masked}`,
      ),
      rows.length > 0 ? h('ul', {}, ...rows) : h('p', {}, 'None.'),
      h('div', { class: 'actions' }, eraseButton, confirm),
    );
  });
}
