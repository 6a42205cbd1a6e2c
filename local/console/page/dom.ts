/** Elements built with text only (never innerHTML): values from the API can never become markup. */
import type { Problem } from './api.ts';

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** Clears a form's problem box and every field error it shows. */
export function clearProblems(form: HTMLFormElement): void {
  const box = form.querySelector<HTMLElement>('.problem');
  if (box) {
    box.replaceChildren();
    box.hidden = true;
  }
  for (const input of form.querySelectorAll('[aria-invalid]'))
    input.removeAttribute('aria-invalid');
  for (const error of form.querySelectorAll('.error')) error.textContent = '';
}

/**
 * Marks one field invalid: the message as text beside it and `aria-invalid` on it, so a screen
 * reader announces it with the field (its `aria-describedby` names the error element).
 */
export function markInvalid(form: HTMLFormElement, fieldId: string, message: string): boolean {
  const input = form.querySelector<HTMLElement>(`#${CSS.escape(fieldId)}`);
  const error = form.querySelector<HTMLElement>(`#${CSS.escape(`${fieldId}-error`)}`);
  if (!input || !error) return false;
  input.setAttribute('aria-invalid', 'true');
  error.textContent = error.textContent ? `${error.textContent}; ${message}` : message;
  return true;
}

/**
 * Shows an API problem on a form: its title (and detail) in the box, each issue beside its input
 * when the form has one (`fieldFor` maps an issue path to an input id), else in the box.
 */
export function showProblem(
  form: HTMLFormElement,
  problem: Problem,
  fieldFor: (path: string) => string | null = (path) => path,
): void {
  clearProblems(form);
  const box = form.querySelector<HTMLElement>('.problem');
  const rest: string[] = [];
  let firstInvalid: HTMLElement | null = null;
  for (const issue of problem.errors ?? []) {
    const id = fieldFor(issue.path);
    if (id !== null && markInvalid(form, id, issue.message)) {
      firstInvalid ??= form.querySelector<HTMLElement>(`#${CSS.escape(id)}`);
    } else {
      rest.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
    }
  }
  if (box) {
    box.append(h('p', {}, h('strong', {}, problem.title)));
    if (problem.detail && problem.detail !== problem.title) box.append(h('p', {}, problem.detail));
    if (rest.length > 0) box.append(h('ul', {}, ...rest.map((line) => h('li', {}, line))));
    if (problem.code) box.append(h('p', { class: 'code' }, problem.code));
    box.hidden = false;
  }
  firstInvalid?.focus();
}

/** Editing a field clears its error: the message beside it describes the value that was sent. */
export function clearInvalidOnInput(form: HTMLFormElement): void {
  const clear = (event: Event) => {
    const input = event.target as HTMLElement;
    if (input.getAttribute('aria-invalid') !== 'true') return;
    input.removeAttribute('aria-invalid');
    const error = form.querySelector<HTMLElement>(`#${CSS.escape(`${input.id}-error`)}`);
    if (error) error.textContent = '';
  };
  form.addEventListener('input', clear);
  form.addEventListener('change', clear);
}

export function formatTime(value: string | number | undefined): string {
  if (value === undefined || value === null) return '';
  const date = new Date(typeof value === 'number' && value < 1e12 ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/** "3 min", "2 h 5 min", "1 d 4 h": how long something has been waiting. */
export function formatAge(since: string | number | undefined, now = Date.now()): string {
  if (since === undefined) return '';
  const start = new Date(typeof since === 'number' && since < 1e12 ? since * 1000 : since);
  if (Number.isNaN(start.getTime())) return '';
  const minutes = Math.max(0, Math.floor((now - start.getTime()) / 60_000));
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
