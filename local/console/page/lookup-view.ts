/** A verification by id. */
import { call, type VerdictRecord, verificationPath } from './api.ts';
import { byId, clearProblems, markInvalid, showProblem } from './dom.ts';
import { renderRecord } from './record-view.ts';

export function setUpLookupView(): (id: string) => Promise<void> {
  const form = byId<HTMLFormElement>('lookup-form');
  const input = byId<HTMLInputElement>('lookup-id');
  const result = byId('lookup-result');

  const open = async (id: string) => {
    clearProblems(form);
    input.value = id;
    const answer = await call<VerdictRecord>('GET', verificationPath(id));
    if (!answer.ok) {
      result.replaceChildren();
      showProblem(form, answer.problem, () => null);
      return;
    }
    result.replaceChildren(renderRecord(answer.body));
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = input.value.trim();
    if (id === '' || id === '.' || id === '..') {
      clearProblems(form);
      markInvalid(form, 'lookup-id', 'enter a verification id');
      input.focus();
      return;
    }
    void open(id);
  });
  return open;
}
