/** Runs the whole CLI in-process, its output captured. */
import { type CliDeps, type CliIo, runCli } from '../../local/cli.ts';

/** CLI streams that keep what is written to them in `out`; `isTTY` says what stderr claims. */
export function captureCliOutput(isTTY = false): {
  io: CliIo;
  out: { stdout: string; stderr: string };
} {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (chunk: string) => (out.stdout += chunk) },
    stderr: { write: (chunk: string) => (out.stderr += chunk), isTTY },
  };
  return { io, out };
}

export async function runCliCaptured(
  argv: string[],
  deps: CliDeps = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, out } = captureCliOutput();
  const code = await runCli(argv, io, deps);
  return { code, ...out };
}
