/**
 * Cold import of each Lambda handler as Lambda loads it, against what `NodejsFunction` ships when
 * nothing is said: the baseline of the budget (issue 17).
 *
 * - baseline: the handler built as NodejsFunction builds it by default, a CommonJS `index.js`, not
 *   minified, no source map, `@aws-sdk/*` external (resolved from node_modules, as the runtime
 *   provides its own copy), loaded with `require()` as the runtime loads an `index.js`.
 * - bundle: what the stack deploys (lib/bundling.ts, the same options as `npm run build`), an ES
 *   module `index.mjs` (with its chunks, if split) loaded with `import()`, and the stack's
 *   NODE_OPTIONS (LAMBDA_NODE_OPTIONS, imported from the stack's own definition).
 * - empty: an empty ES module, for what node's loader costs on its own.
 * - floor (api only): the libraries every first request needs and nothing else of ours
 *   (bench/floor-entry.ts), built as the bundle is: what no change to our code can go below.
 * - lever rows: the deployed bundle with one lever taken away, in the same loop (below).
 * Every child runs with `--expose-gc`, as Lambda's bootstrap starts every Node function.
 *
 * Method: every sample is a fresh `node` process (bench/import-child.mjs) that times the load with
 * `process.hrtime`: module load, parse, compile (and, with --enable-source-maps, the source map)
 * and the handler's init (config parse, client construction, the prefetch of a static token),
 * without node's own bootstrap, which is the same for every variant and not ours to cut. Variants
 * alternate within each round (the order rotates), so a noisy neighbour hits all alike; medians.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { builtinImportsPlugin } from '../lib/builtin-imports.ts';
import {
  BUNDLE,
  BUNDLE_ENTRY_FILE,
  buildBundle,
  esbuildBuildOptions,
  HANDLER_NAMES,
  type HandlerName,
  LAMBDA_NODE_OPTIONS,
  PROJECT_ROOT,
} from '../lib/bundling.ts';
import { directImportsPlugin } from '../lib/direct-imports.ts';
import { lambdaCredentialsPlugin } from '../lib/lambda-credentials.ts';
import { median, percentile } from './stats.ts';

const run = promisify(execFile);

export const BENCH_OUT = new URL('./.out/', import.meta.url).pathname;
const CHILD = new URL('./import-child.mjs', import.meta.url).pathname;

/** How Lambda's bootstrap starts node for every function. */
const BOOTSTRAP_FLAGS = ['--expose-gc'];

/**
 * What each handler's init needs so it does not throw: a static token keeps the secret prefetch
 * local, and port 9 (discard) on loopback means no IDmeta call could go anywhere even if one were
 * made. Built from scratch, so nothing of the caller's environment (a profile, a proxy, a
 * NODE_OPTIONS) leaks in.
 */
export function handlerEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    VERDICT_TABLE_NAME: 'facematch-verdicts-bench',
    SELFIE_BUCKET_NAME: 'facematch-selfies-bench',
    SELFIE_QUEUE_URL: 'https://sqs.ap-southeast-3.amazonaws.com/123456789012/facematch-bench',
    // The webhook sender's: one endpoint, as the stack writes the list.
    WEBHOOK_DELIVERIES_TABLE_NAME: 'facematch-webhook-deliveries-bench',
    WEBHOOK_ENDPOINTS: JSON.stringify([
      {
        name: 'bench',
        url: 'https://webhooks.example.com/facematch',
        secretId: 'facematch/bench/webhook',
        queueArn: 'arn:aws:sqs:ap-southeast-3:123456789012:facematch-webhooks-bench',
        queueUrl: 'https://sqs.ap-southeast-3.amazonaws.com/123456789012/facematch-webhooks-bench',
      },
    ]),
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

/**
 * What each lever is worth, side by side in the same loop (informational, for LEVER_HANDLERS):
 * the deployed bundle with one lever taken away. `single`: no code splitting (one `index.mjs`,
 * the dynamic imports inlined). `split-maps`: --enable-source-maps added to NODE_OPTIONS (what
 * the stack deployed before). `no-<plugin>`: built without one of lib/bundling.ts's plugins.
 * `no-terser`: esbuild's minified output as it is, without lib/terser-pass.ts's compression.
 */
export type Variant =
  | 'empty'
  | 'bundle'
  | 'baseline'
  | 'floor'
  | 'single'
  | 'split-maps'
  | 'no-lambda-credentials'
  | 'no-direct-imports'
  | 'no-builtin-imports'
  | 'no-terser';

export const LEVER_HANDLERS: readonly HandlerName[] = ['api', 'selfie-uploaded'];

/** The plugin each `no-<plugin>` variant leaves out. */
const PLUGIN_LEVERS: Array<[Variant, string]> = [
  ['no-lambda-credentials', lambdaCredentialsPlugin().name],
  ['no-direct-imports', directImportsPlugin().name],
  ['no-builtin-imports', builtinImportsPlugin().name],
];

/** Node's source-map flag, the one lever that is a flag (what the stack deployed before). */
const SOURCE_MAPS_FLAG = '--enable-source-maps';

interface Target {
  file: string;
  mode: 'import' | 'require';
  /** Bytes node reads at start-up: the entry file and every chunk it imports statically. */
  bytes: number;
  /** The source maps of those files (read at start-up under --enable-source-maps). */
  mapBytes: number;
  nodeOptions?: string;
}

export interface ColdImportRow {
  handler: HandlerName | '-';
  variant: Variant;
  file: string;
  mode: Target['mode'];
  nodeOptions: string;
  bytes: number;
  mapBytes: number;
  samplesMs: number[];
  medianMs: number;
  p90Ms: number;
}

export interface ColdImportResult {
  runs: number;
  rows: ColdImportRow[];
}

/** The output files loaded before the entry's top-level code runs (static imports, transitively). */
export function startupOutputs(metafile: Metafile, entryFile: string): string[] {
  const entry = relative(PROJECT_ROOT, entryFile);
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const edge of metafile.outputs[path]?.imports ?? []) {
      if (edge.kind === 'import-statement' && !edge.external) visit(edge.path);
    }
  };
  visit(entry);
  return [...seen];
}

function sizes(metafile: Metafile, entryFile: string): { bytes: number; mapBytes: number } {
  let bytes = 0;
  let mapBytes = 0;
  for (const path of startupOutputs(metafile, entryFile)) {
    bytes += metafile.outputs[path]?.bytes ?? 0;
    mapBytes += metafile.outputs[`${path}.map`]?.bytes ?? 0;
  }
  return { bytes, mapBytes };
}

/** Builds every variant, keyed `<handler>/<variant>`. */
async function buildVariants(): Promise<Map<string, Target>> {
  for (const folder of ['bundle', 'baseline', 'levers', 'floor']) {
    await rm(join(BENCH_OUT, folder), { recursive: true, force: true });
  }
  await mkdir(join(BENCH_OUT, 'baseline'), { recursive: true });
  // The project is `"type": "module"`; a Lambda asset has no package.json, so `.js` is CommonJS.
  await writeFile(join(BENCH_OUT, 'baseline', 'package.json'), '{ "type": "commonjs" }\n');
  const targets = new Map<string, Target>();
  const empty = join(BENCH_OUT, 'empty.mjs');
  await writeFile(empty, 'export {};\n');
  targets.set('-/empty', { file: empty, mode: 'import', bytes: 11, mapBytes: 0 });
  /** Builds `options` (split, as deployed) and targets its entry with the stack's NODE_OPTIONS. */
  const splitTarget = async (
    options: BuildOptions,
    passes: Parameters<typeof buildBundle>[1] = {},
  ): Promise<Target> => {
    const { metafile } = await buildBundle({ ...options, logLevel: 'error' }, passes);
    if (options.outdir === undefined) throw new Error('a split bundle needs an outdir');
    const entry = join(options.outdir, BUNDLE_ENTRY_FILE);
    return {
      file: entry,
      mode: 'import',
      ...sizes(metafile, entry),
      nodeOptions: LAMBDA_NODE_OPTIONS,
    };
  };
  for (const handler of HANDLER_NAMES) {
    // Exactly what `npm run build` writes (same function, same options), in our own folder.
    const deployable = esbuildBuildOptions(handler, join(BENCH_OUT, 'bundle'));
    targets.set(`${handler}/bundle`, await splitTarget(deployable));
    if (handler === 'api') {
      const floor = esbuildBuildOptions(handler, join(BENCH_OUT, 'floor'));
      const floorEntry = new URL('./floor-entry.ts', import.meta.url).pathname;
      targets.set(
        `${handler}/floor`,
        await splitTarget({ ...floor, entryPoints: { [BUNDLE.entryName]: floorEntry } }),
      );
    }
    if (LEVER_HANDLERS.includes(handler)) {
      targets.set(`${handler}/split-maps`, {
        ...(targets.get(`${handler}/bundle`) as Target),
        nodeOptions: `${SOURCE_MAPS_FLAG} ${LAMBDA_NODE_OPTIONS}`,
      });
      targets.set(
        `${handler}/single`,
        await splitTarget({
          ...deployable,
          outdir: join(BENCH_OUT, 'levers', 'single', handler),
          splitting: false,
        }),
      );
      targets.set(
        `${handler}/no-terser`,
        await splitTarget(esbuildBuildOptions(handler, join(BENCH_OUT, 'levers', 'no-terser')), {
          terser: false,
        }),
      );
      for (const [variant, pluginName] of PLUGIN_LEVERS) {
        const options = esbuildBuildOptions(handler, join(BENCH_OUT, 'levers', variant));
        const plugins = (options.plugins ?? []).filter((plugin) => plugin.name !== pluginName);
        if (plugins.length === options.plugins?.length) {
          throw new Error(`the bundle has no plugin ${pluginName}: the ${variant} row would lie`);
        }
        targets.set(`${handler}/${variant}`, await splitTarget({ ...options, plugins }));
      }
    }
    // NodejsFunction's default: CommonJS, not minified, no source map, `@aws-sdk/*` external,
    // esbuild's own mainFields; only the entry point and the target are ours.
    const outfile = join(BENCH_OUT, 'baseline', handler, 'index.js');
    const baseline = await build({
      entryPoints: deployable.entryPoints,
      absWorkingDir: PROJECT_ROOT,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: deployable.target,
      external: ['@aws-sdk/*'],
      outfile,
      metafile: true,
      logLevel: 'error',
    });
    targets.set(`${handler}/baseline`, {
      file: outfile,
      mode: 'require',
      ...sizes(baseline.metafile, outfile),
    });
  }
  return targets;
}

async function loadOnce(target: Target, env: NodeJS.ProcessEnv): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    [...BOOTSTRAP_FLAGS, CHILD, target.mode, pathToFileURL(target.file).href],
    {
      env: target.nodeOptions === undefined ? env : { ...env, NODE_OPTIONS: target.nodeOptions },
      timeout: 60_000,
    },
  ).catch((error: { stderr?: string }) => {
    // The minified line node quotes is megabytes long: the error and its frames are enough.
    const lines = (error.stderr ?? '').split('\n').filter((line) => line.length < 500);
    throw new Error(`loading ${target.file} failed:\n${lines.slice(-12).join('\n')}`);
  });
  const line = stdout.trim().split('\n').pop() ?? '';
  const { importMs } = JSON.parse(line) as { importMs: number };
  return importMs;
}

export async function measureColdImport(options: {
  runs: number;
  onProgress?: (line: string) => void;
}): Promise<ColdImportResult> {
  const targets = await buildVariants();
  const keys = [...targets.keys()];
  const env = handlerEnv();
  const target = (key: string) => targets.get(key) as Target;
  const samples = new Map<string, number[]>(keys.map((key) => [key, []]));
  // One unmeasured round: the OS page cache holds every file before the first sample.
  for (const key of keys) await loadOnce(target(key), env);
  for (let round = 0; round < options.runs; round++) {
    const order = keys.map((_, index) => keys[(index + round) % keys.length] as string);
    for (const key of order) samples.get(key)?.push(await loadOnce(target(key), env));
    if ((round + 1) % 5 === 0) options.onProgress?.(`  cold import: ${round + 1}/${options.runs}`);
  }
  return {
    runs: options.runs,
    rows: keys.map((key) => {
      const [handler, variant] = key.split('/') as [HandlerName | '-', Variant];
      const { file, mode, bytes, mapBytes, nodeOptions } = target(key);
      const values = samples.get(key) ?? [];
      return {
        handler,
        variant,
        file,
        mode,
        nodeOptions: nodeOptions ?? '',
        bytes,
        mapBytes,
        samplesMs: values,
        medianMs: median(values),
        p90Ms: percentile(values, 90),
      };
    }),
  };
}
