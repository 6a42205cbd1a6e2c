/** Runs the whole CLI in-process, its output captured. */
import { type CliDeps, runCli } from '../../local/cli.ts';

export async function runCliCaptured(
  argv: string[],
  deps: CliDeps = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    argv,
    {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
    },
    deps,
  );
  return { code, stdout, stderr };
}
