/**
 * The operator console: a client of the public API on its own origin. Views switch in place (no
 * routing: nothing personal ever reaches the URL); nothing is stored in the browser.
 */
import { byId, clearInvalidOnInput } from './dom.ts';
import { setUpLookupView } from './lookup-view.ts';
import { setUpQueueView } from './queue-view.ts';
import { hasSubjectRoutes, setUpSubjectsView } from './subjects-view.ts';
import { setUpVerifyView } from './verify-view.ts';

type View = 'verify' | 'lookup' | 'queue' | 'subjects';

const navButtons = [...document.querySelectorAll<HTMLButtonElement>('nav button[data-view]')];

function show(view: View): void {
  for (const button of navButtons) {
    const current = button.dataset.view === view;
    if (current) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
    byId(`view-${button.dataset.view}`).hidden = !current;
  }
  byId(`${view}-heading`).setAttribute('tabindex', '-1');
  byId(`${view}-heading`).focus();
  if (view === 'queue') void queue.load();
}

setUpVerifyView();
const openVerification = setUpLookupView();
const queue = setUpQueueView();
setUpSubjectsView((id) => {
  show('lookup');
  void openVerification(id);
});
// The review form, made later, wires its own (queue-view.ts).
for (const form of document.querySelectorAll('form')) clearInvalidOnInput(form);
for (const button of navButtons) {
  button.addEventListener('click', () => show(button.dataset.view as View));
}

document.documentElement.dataset.ready = 'true';
performance.mark('console-interactive');

// The data-subject routes may not exist on this API (yet): their view appears only when they do.
void hasSubjectRoutes().then((present) => {
  const button = navButtons.find((candidate) => candidate.dataset.view === 'subjects');
  if (button) button.hidden = !present;
});
