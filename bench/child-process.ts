/**
 * Sections that need a process of their own (a fresh heap, a fresh SDK client and socket pool,
 * a stdout to throw away) run bench/child.ts through tsx, and answer over the IPC channel.
 */
import { fork } from 'node:child_process';
import { PROJECT_ROOT } from '../lib/bundling.ts';

const CHILD = new URL('./child.ts', import.meta.url).pathname;

export interface ChildOptions {
  input: unknown;
  /** Extra node flags (e.g. `--expose-gc`). */
  execArgv?: string[];
  /** The child's environment; default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Killed (and the section failed) after this long. */
  timeoutMs: number;
}

export function runChild<T>(section: string, options: ChildOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(CHILD, [section], {
      cwd: PROJECT_ROOT,
      execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
      env: options.env ?? process.env,
      // The runtime's logs and metrics go to stdout: on, as in Lambda, but not on our screen.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let settled = false;
    let result: { ok: true; value: T } | { ok: false; error: string } | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`bench section ${section} timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else if (result?.ok) resolve(result.value);
      else reject(new Error(`bench section ${section} failed: ${result?.error ?? 'no answer'}`));
    };
    child.on('message', (message) => {
      result = message as typeof result;
    });
    child.on('error', (error) => finish(error));
    child.on('exit', (code, signal) => {
      if (result === undefined) {
        finish(new Error(`bench section ${section} exited (${signal ?? code}) without an answer`));
      } else {
        finish(undefined);
      }
    });
    child.send({ input: options.input });
  });
}
