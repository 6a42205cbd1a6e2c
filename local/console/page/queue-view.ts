/**
 * The review queue: open reviews oldest first, each with its age; one opened shows the kept
 * selfie beside the matches and the reviewer's decision form. Before the review routes exist the
 * view says so instead of failing.
 */
import {
  call,
  isMissingRoute,
  type ReviewPage,
  type VerdictRecord,
  verificationPath,
} from './api.ts';
import {
  byId,
  clearInvalidOnInput,
  clearProblems,
  formatAge,
  h,
  markInvalid,
  showProblem,
} from './dom.ts';
import { renderRecord } from './record-view.ts';
import { REVIEW_REASONS } from './words.ts';

const PAGE_SIZE = 20;

export function setUpQueueView(): { load: () => Promise<void> } {
  const list = byId<HTMLOListElement>('queue-list');
  const status = byId('queue-status');
  const more = byId<HTMLButtonElement>('queue-more');
  const refresh = byId<HTMLButtonElement>('queue-refresh');
  const detail = byId('review-detail');
  let cursor: string | null = null;

  const entry = (record: VerdictRecord) => {
    const since = record.review?.opened_at ?? record.completed_at ?? record.created_at;
    const button = h('button', { type: 'button', class: 'vid' }, record.verification_id);
    button.addEventListener('click', () => void openReview(record.verification_id));
    return h(
      'li',
      { 'data-verification-id': record.verification_id },
      button,
      h('span', { class: 'age' }, `waiting ${formatAge(since)}`),
    );
  };

  const fetchPage = async (append: boolean) => {
    const query = new URLSearchParams({ review: 'open', limit: String(PAGE_SIZE) });
    if (append && cursor) query.set('cursor', cursor);
    status.textContent = 'Loading…';
    const answer = await call<ReviewPage>('GET', `/verifications?${query}`);
    if (!answer.ok) {
      list.replaceChildren();
      more.hidden = true;
      status.textContent = isMissingRoute(answer.status)
        ? 'Review queue not available: this API has no review routes yet.'
        : `The queue could not be loaded: ${answer.problem.title}`;
      return;
    }
    const items = answer.body.items ?? [];
    if (!append) list.replaceChildren();
    list.append(...items.map(entry));
    cursor = answer.body.next_cursor ?? null;
    more.hidden = cursor === null;
    const count = list.children.length;
    status.textContent =
      count === 0
        ? 'No open reviews.'
        : `${count}${cursor ? '+' : ''} open review${count === 1 ? '' : 's'}, oldest first.`;
  };

  async function openReview(id: string) {
    detail.replaceChildren(h('p', { role: 'status' }, 'Loading…'));
    const [record, selfie] = await Promise.all([
      call<VerdictRecord>('GET', verificationPath(id)),
      call<{ url: string; expires_at: string | number }>('GET', `${verificationPath(id)}/selfie`),
    ]);
    if (!record.ok) {
      detail.replaceChildren(
        h('p', { role: 'alert' }, `Could not open ${id}: ${record.problem.title}`),
      );
      return;
    }
    const picture = selfie.ok
      ? h('img', { class: 'selfie-kept', src: selfie.body.url, alt: `Kept selfie of ${id}` })
      : h(
          'p',
          {},
          selfie.status === 404
            ? 'No kept selfie for this verification.'
            : `Selfie: ${selfie.problem.title}`,
        );
    if (picture instanceof HTMLImageElement) {
      picture.addEventListener('error', () =>
        picture.replaceWith(
          h('p', {}, 'The kept selfie could not be shown (its link may have expired).'),
        ),
      );
    }
    const heading = h('h2', { tabindex: '-1' }, `Review ${id}`);
    detail.replaceChildren(
      heading,
      h(
        'div',
        { class: 'review-layout' },
        h('figure', {}, picture, h('figcaption', {}, 'Selfie kept for review')),
        renderRecord(record.body, 'h3'),
      ),
      reviewForm(record.body),
    );
    heading.focus();
  }

  function reviewForm(record: VerdictRecord): HTMLElement {
    const id = record.verification_id;
    const reason = h(
      'select',
      { id: 'review-reason', name: 'reason', 'aria-describedby': 'review-reason-error' },
      h('option', { value: '' }, 'Choose a reason'),
      ...REVIEW_REASONS.map(([value, words]) => h('option', { value }, words)),
    );
    const note = h('textarea', {
      id: 'review-note',
      name: 'note',
      maxlength: '500',
      'aria-describedby': 'review-note-hint review-note-error',
    });
    const approve = h('button', { type: 'submit', class: 'approve', value: 'APPROVED' }, 'Approve');
    const reject = h('button', { type: 'submit', class: 'reject', value: 'REJECTED' }, 'Reject');
    const form = h(
      'form',
      { method: 'post', novalidate: true, 'aria-label': `Decide ${id}` },
      h('div', { class: 'problem', role: 'alert', hidden: true }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'review-reason' }, 'Reason'),
        reason,
        h('span', { class: 'error', id: 'review-reason-error' }),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'review-note' }, 'Note'),
        note,
        h('span', { class: 'error', id: 'review-note-error' }),
        h(
          'span',
          { class: 'hint', id: 'review-note-hint' },
          'optional, at most 500 characters; kept in the record only',
        ),
      ),
      h('div', { class: 'actions' }, approve, reject),
    );
    clearInvalidOnInput(form);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const decision = (event.submitter as HTMLButtonElement | null)?.value;
      clearProblems(form);
      if (reason.value === '') {
        markInvalid(form, 'review-reason', 'choose a reason');
        reason.focus();
        return;
      }
      approve.disabled = true;
      reject.disabled = true;
      const body: Record<string, string> = { decision: decision ?? '', reason: reason.value };
      if (note.value.trim() !== '') body.note = note.value.trim();
      const answer = await call<VerdictRecord>('POST', `${verificationPath(id)}/review`, body);
      approve.disabled = false;
      reject.disabled = false;
      if (!answer.ok) {
        showProblem(form, answer.problem, (path) =>
          path === 'reason' ? 'review-reason' : path === 'note' ? 'review-note' : null,
        );
        return;
      }
      const done = h('h2', { tabindex: '-1' }, `Reviewed ${id}`);
      detail.replaceChildren(done, renderRecord(answer.body, 'h3'));
      done.focus();
      await fetchPage(false);
    });
    return form;
  }

  refresh.addEventListener('click', () => void fetchPage(false));
  more.addEventListener('click', () => void fetchPage(true));
  return { load: () => fetchPage(false) };
}
