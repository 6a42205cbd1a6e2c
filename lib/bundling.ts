/**
 * How a Lambda handler becomes a deployable bundle, said once. The stack's `NodejsFunction`s and
 * `npm run build` (bin/build.ts) both read it, through the two adapters below, so what `dist/`
 * holds is what `cdk deploy` uploads: a test holds them to byte-identical output.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { builtinImportsPlugin } from './builtin-imports.ts';
import { directImportsPlugin } from './direct-imports.ts';
import { lambdaCredentialsPlugin } from './lambda-credentials.ts';
import { compressBundleFiles } from './terser-pass.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The newest Node.js runtime aws-cdk-lib knows (cdk-nag's AwsSolutions-L1 asks for it). */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

/** The Lambda entry points (DESIGN.md), each exporting `handler`. */
export const HANDLER_ENTRIES = {
  api: 'lambda/handlers/api.ts',
  'selfie-uploaded': 'lambda/handlers/selfie-uploaded.ts',
  sweeper: 'lambda/handlers/sweeper.ts',
  'webhook-sender': 'lambda/handlers/webhook-sender.ts',
} as const;

export type HandlerName = keyof typeof HANDLER_ENTRIES;

export const HANDLER_NAMES = Object.keys(HANDLER_ENTRIES) as HandlerName[];

/** `nodejs24.x` -> `node24`: esbuild's target follows the runtime, never a second constant. */
const ESBUILD_TARGET = LAMBDA_RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1');

/**
 * An ESM bundle still meets CommonJS code among its dependencies (the AWS SDK's, Powertools') that
 * calls `require` for Node built-ins, and lib/builtin-imports.ts reaches every built-in that way;
 * ESM has no `require`, so the bundle makes one. Built-ins are all it is ever asked for (every
 * other module is inside the bundle), so it asks `process.getBuiltinModule` (Node 20.16, 22.3)
 * rather than `node:module`'s createRequire: loading `node:module` (with its source-map support)
 * at every cold start cost more than the rest of the banner's work.
 */
const BUILTIN_REQUIRE_BANNER =
  'function require(id) {' +
  ' const builtin = process.getBuiltinModule(id);' +
  ' if (builtin === undefined) throw new Error("the bundle has no module " + id + ": only Node built-ins are required at run time");' +
  ' return builtin; }';

/** The bundle, described once. */
export const BUNDLE = {
  target: ESBUILD_TARGET,
  minify: true,
  // Code splitting: what only some invocations need (the S3 and EventBridge clients, imported by
  // lambda/runtime.ts with a dynamic `import()`) lands in chunks of its own, read when first used,
  // not at every cold start. A split ES module bundle is a folder: `index.mjs` and `chunks/`.
  splitting: true,
  entryName: 'index',
  chunkNames: 'chunks/[name]-[hash]',
  extension: '.mjs',
  // A map beside every file, read only when an error is logged (lambda/handlers/stack-frames.ts):
  // Node's --enable-source-maps would read and parse it at every cold start. The sources
  // themselves stay out of the map: smaller artifact, nothing to read in it.
  sourcemap: true,
  sourcesContent: false,
  // ES module builds first: they tree-shake, the CommonJS ones do not.
  mainFields: ['module', 'main'],
  banner: BUILTIN_REQUIRE_BANNER,
  // Nothing external: the AWS SDK is bundled, so the code runs against the SDK version it was
  // tested with, not whatever the runtime ships this month.
  external: [] as string[],
} as const;

/** The entry file of a bundle, the one Lambda's `index.handler` names. */
export const BUNDLE_ENTRY_FILE = `${BUNDLE.entryName}${BUNDLE.extension}`;

/**
 * The Node options every function is deployed with (the stack sets them; the bench starts our
 * bundles with them). No --enable-source-maps: it parses every map at start-up; stack frames are
 * mapped when an error is logged instead (lambda/handlers/stack-frames.ts). --expose-gc: the
 * runtime returns the HTTP stack's copies of a large selfie read as it goes
 * (lambda/adapters/young-garbage.ts). Lambda's own bootstrap passes it today; saying it here
 * keeps that true if the bootstrap changes (NODE_OPTIONS accepts it on Node 24).
 */
export const LAMBDA_NODE_OPTIONS = '--expose-gc';

/** The Lambda `handler` setting for a bundle whose entry is `index.mjs`. */
export const LAMBDA_HANDLER = 'index.handler';

/** esbuild's JS API options for one handler's bundle, written into `bundleDir` (a folder). */
export function esbuildBundleOptions(handler: HandlerName, bundleDir: string): BuildOptions {
  return {
    entryPoints: { [BUNDLE.entryName]: join(PROJECT_ROOT, HANDLER_ENTRIES[handler]) },
    outdir: bundleDir,
    outExtension: { '.js': BUNDLE.extension },
    chunkNames: BUNDLE.chunkNames,
    splitting: BUNDLE.splitting,
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    sourcemap: BUNDLE.sourcemap,
    sourcesContent: BUNDLE.sourcesContent,
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    external: [...BUNDLE.external],
    // What a cold start loads, cut without changing what the code does (each module says why;
    // `npm run bench` prints what each is worth, side by side; test/infra/bundle-runs.test.ts runs
    // the result): the credentials Lambda sets, not the SDK's whole provider chain; built-ins
    // through require(), not ES module facades; the SDK's imports past its barrel files.
    plugins: [lambdaCredentialsPlugin(), builtinImportsPlugin(), directImportsPlugin()],
    logLevel: 'warning',
  };
}

/** The same bundle as `npm run build` writes it: `<outdir>/<handler>/index.mjs` and its chunks. */
export function esbuildBuildOptions(handler: HandlerName, outdir: string): BuildOptions {
  return esbuildBundleOptions(handler, join(outdir, handler));
}

/**
 * Where esbuild is told a bundle goes, whatever folder it is then written to: a map names its
 * sources relative to its own place, and a chunk's name hashes its map, so a bundle built at
 * another depth would differ (a stack's staging folder, `dist/`). Never written to.
 */
const NOMINAL_OUTDIR = join(PROJECT_ROOT, '.bundle', 'out');

/**
 * Builds `options` (from `esbuildBundleOptions`/`esbuildBuildOptions`, with overrides), compresses
 * it with terser (lib/terser-pass.ts; `{ terser: false }` leaves esbuild's output, for the bench's
 * lever row) and writes the bundle into its `outdir`, byte for byte the same wherever that is.
 * Returns esbuild's metafile, its output paths those of the files written (relative to the
 * project, as esbuild's) and their sizes those written.
 */
export async function buildBundle(
  options: BuildOptions,
  { terser = true }: { terser?: boolean } = {},
): Promise<{ metafile: Metafile }> {
  const outdir = options.outdir;
  if (outdir === undefined) throw new Error('buildBundle: options without outdir');
  const result = await build({ ...options, outdir: NOMINAL_OUTDIR, write: false, metafile: true });
  const files = terser ? await compressBundleFiles(result.outputFiles) : result.outputFiles;
  const real = (nominal: string) => join(outdir, relative(NOMINAL_OUTDIR, nominal));
  const written = new Map<string, number>();
  for (const file of files) {
    await mkdir(dirname(real(file.path)), { recursive: true });
    await writeFile(real(file.path), file.contents);
    written.set(file.path, file.contents.byteLength);
  }
  const outputs: Metafile['outputs'] = {};
  const key = (path: string) => relative(PROJECT_ROOT, real(join(PROJECT_ROOT, path)));
  for (const [path, output] of Object.entries(result.metafile.outputs)) {
    outputs[key(path)] = {
      ...output,
      bytes: written.get(join(PROJECT_ROOT, path)) ?? output.bytes,
      imports: output.imports.map((edge) =>
        edge.external ? edge : { ...edge, path: key(edge.path) },
      ),
    };
  }
  return { metafile: { ...result.metafile, outputs } };
}

/**
 * `NodejsFunction` bundling props (local esbuild; Docker is never needed). NodejsFunction's own
 * esbuild call writes one `--outfile`, which cannot split; so after it, the bundle folder is
 * emptied and written again by bin/build.ts with `esbuildBundleOptions`, in this process's node:
 * the code the stack stages is byte for byte what `npm run build` writes (a test holds them to it).
 */
export function nodejsBundlingOptions(handler: HandlerName): BundlingOptions {
  const rebuild = (outputDir: string) => [
    [
      JSON.stringify(process.execPath),
      '--import tsx',
      JSON.stringify(join(PROJECT_ROOT, 'bin', 'build.ts')),
      '--handler',
      handler,
      '--into',
      JSON.stringify(outputDir),
    ].join(' '),
  ];
  return {
    format: OutputFormat.ESM,
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    sourceMap: false,
    mainFields: [...BUNDLE.mainFields],
    banner: BUNDLE.banner,
    externalModules: [...BUNDLE.external],
    logLevel: LogLevel.WARNING,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir, outputDir) => rebuild(outputDir),
    },
  };
}
