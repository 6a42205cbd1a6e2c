/** A one-line progress indicator on stderr while the API works; drawn only on a terminal. */
import type { Writer } from './context.ts';

const FRAMES = ['|', '/', '-', '\\'];
const CLEAR_LINE = '\r\u001b[2K';

export function startProgress(stderr: Writer, label: string): () => void {
  if (!stderr.isTTY) return () => {};
  const started = Date.now();
  let frame = 0;
  const draw = () => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    stderr.write(`${CLEAR_LINE}${FRAMES[frame++ % FRAMES.length]} ${label} ${seconds}s`);
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  return () => {
    clearInterval(timer);
    stderr.write(CLEAR_LINE);
  };
}

/** Runs `work` with the progress indicator drawn, and clears it however `work` ends. */
export async function withProgress<T>(
  stderr: Writer,
  label: string,
  work: () => Promise<T>,
): Promise<T> {
  const stop = startProgress(stderr, label);
  try {
    return await work();
  } finally {
    stop();
  }
}
