/**
 * Bundle size and cold import time of each Lambda handler, next to an empty module and to the
 * same handler bundled the `NodejsFunction` default way (the AWS SDK left external and loaded
 * from node_modules, as the Lambda runtime would load its own copy).
 *
 * Method: every sample is a fresh `node` process (bench/import-child.mjs) that times
 * `await import(bundle)` with `process.hrtime`: module load, parse, compile and the handler's
 * init (config parse, client construction, the prefetch of a static token), without node's own
 * bootstrap, which is the same for every variant and not ours to cut. Variants alternate within
 * each round (and the order rotates), so a noisy neighbour on this shared machine hits all alike.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { esbuildBuildOptions, HANDLER_NAMES, type HandlerName } from '../lib/bundling.ts';
import { median, percentile } from './stats.ts';

const run = promisify(execFile);

export const BENCH_OUT = new URL('./.out/', import.meta.url).pathname;
const CHILD = new URL('./import-child.mjs', import.meta.url).pathname;

/**
 * What each handler's init needs so it does not throw: a static token keeps the secret prefetch
 * local, and port 9 (discard) on loopback means no IDmeta call could go anywhere even if one were
 * made. Built from scratch, so nothing of the caller's environment (a profile, a proxy) leaks in.
 */
export function handlerEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    VERDICT_TABLE_NAME: 'facematch-verdicts-bench',
    SELFIE_BUCKET_NAME: 'facematch-selfies-bench',
    IDMETA_BASE_URL: 'http://127.0.0.1:9',
    IDMETA_TOKEN: 'bench-token',
    IDMETA_TEMPLATE_ID: 'bench-trust-flow',
    FACEMATCH_DATA_KEY: 'bench-data-key-0123456789abcdef0123456789abcdef',
    AWS_REGION: 'ap-southeast-3',
    AWS_ACCESS_KEY_ID: 'AKIABENCHBENCHBENCH0',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key-not-real-0000000',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

export type Variant = 'empty' | 'bundle' | 'external';

export interface ColdImportRow {
  handler: HandlerName | '-';
  variant: Variant;
  file: string;
  bytes: number;
  samplesMs: number[];
  medianMs: number;
  p90Ms: number;
}

export interface ColdImportResult {
  runs: number;
  rows: ColdImportRow[];
}

/** Builds the three variants; returns the file of each, keyed `<handler>/<variant>`. */
async function buildVariants(): Promise<Map<string, string>> {
  await rm(join(BENCH_OUT, 'bundle'), { recursive: true, force: true });
  await rm(join(BENCH_OUT, 'external'), { recursive: true, force: true });
  await mkdir(BENCH_OUT, { recursive: true });
  const files = new Map<string, string>();
  const empty = join(BENCH_OUT, 'empty.mjs');
  await writeFile(empty, 'export {};\n');
  files.set('-/empty', empty);
  for (const handler of HANDLER_NAMES) {
    // Exactly what `npm run build` writes (same function, same options), in our own folder.
    const deployable = esbuildBuildOptions(handler, join(BENCH_OUT, 'bundle'));
    await build({ ...deployable, logLevel: 'error' });
    files.set(`${handler}/bundle`, deployable.outfile as string);
    // The NodejsFunction default: `externalModules: ['@aws-sdk/*']`, everything else the same.
    const external = esbuildBuildOptions(handler, join(BENCH_OUT, 'external'));
    await build({ ...external, external: ['@aws-sdk/*'], logLevel: 'error' });
    files.set(`${handler}/external`, external.outfile as string);
  }
  return files;
}

async function importOnce(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const { stdout } = await run(process.execPath, [CHILD, pathToFileURL(file).href], {
    env,
    timeout: 60_000,
  });
  const line = stdout.trim().split('\n').pop() ?? '';
  const { importMs } = JSON.parse(line) as { importMs: number };
  return importMs;
}

export async function measureColdImport(options: {
  runs: number;
  onProgress?: (line: string) => void;
}): Promise<ColdImportResult> {
  const files = await buildVariants();
  const keys = [...files.keys()];
  const env = handlerEnv();
  const samples = new Map<string, number[]>(keys.map((key) => [key, []]));
  // One unmeasured round: the OS page cache holds every file before the first sample.
  for (const key of keys) await importOnce(files.get(key) as string, env);
  for (let round = 0; round < options.runs; round++) {
    const order = keys.map((_, index) => keys[(index + round) % keys.length] as string);
    for (const key of order) {
      samples.get(key)?.push(await importOnce(files.get(key) as string, env));
    }
    if ((round + 1) % 5 === 0) options.onProgress?.(`  cold import: ${round + 1}/${options.runs}`);
  }
  const rows: ColdImportRow[] = [];
  for (const key of keys) {
    const [handler, variant] = key.split('/') as [HandlerName | '-', Variant];
    const file = files.get(key) as string;
    const values = samples.get(key) ?? [];
    rows.push({
      handler,
      variant,
      file,
      bytes: (await stat(file)).size,
      samplesMs: values,
      medianMs: median(values),
      p90Ms: percentile(values, 90),
    });
  }
  return { runs: options.runs, rows };
}
