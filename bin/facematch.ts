#!/usr/bin/env -S npx tsx
/**
 * The facematch command line: `serve` runs the embedded runtime; `verify` and `get` talk to a
 * running API (local, or deployed with SigV4). See `facematch --help`.
 */
import { runCli } from '../local/cli.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
