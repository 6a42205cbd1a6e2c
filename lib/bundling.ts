/**
 * How a Lambda handler becomes a deployable bundle, said once. The stack's `NodejsFunction`s and
 * `npm run build` (bin/build.ts) both read it, through the two adapters below, so what `dist/`
 * holds is what `cdk deploy` uploads: a test holds them to byte-identical output.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The newest Node.js runtime aws-cdk-lib knows (cdk-nag's AwsSolutions-L1 asks for it). */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

/** The Lambda entry points (DESIGN.md), each exporting `handler`. */
export const HANDLER_ENTRIES = {
  api: 'lambda/handlers/api.ts',
  'selfie-uploaded': 'lambda/handlers/selfie-uploaded.ts',
  sweeper: 'lambda/handlers/sweeper.ts',
} as const;

export type HandlerName = keyof typeof HANDLER_ENTRIES;

export const HANDLER_NAMES = Object.keys(HANDLER_ENTRIES) as HandlerName[];

/** `nodejs24.x` -> `node24`: esbuild's target follows the runtime, never a second constant. */
const ESBUILD_TARGET = LAMBDA_RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1');

/**
 * An ESM bundle still meets CommonJS code among its dependencies (the AWS SDK's, Powertools')
 * that calls `require` for Node built-ins; ESM has no `require`, so the bundle makes one.
 */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as __facematchCreateRequire } from 'node:module';" +
  'const require = __facematchCreateRequire(import.meta.url);';

/** The bundle, described once. */
export const BUNDLE = {
  target: ESBUILD_TARGET,
  minify: true,
  // Stack traces in CloudWatch point at the TypeScript source (NODE_OPTIONS=--enable-source-maps);
  // the sources themselves stay out of the map: smaller artifact, nothing to read in it.
  sourcemap: true,
  sourcesContent: false,
  // ES module builds first: they tree-shake, the CommonJS ones do not.
  mainFields: ['module', 'main'],
  banner: CREATE_REQUIRE_BANNER,
  // Nothing external: the AWS SDK is bundled, so the code runs against the SDK version it was
  // tested with, not whatever the runtime ships this month.
  external: [] as string[],
  outfile: 'index.mjs',
} as const;

/** The Lambda `handler` setting for a bundle written as `index.mjs`. */
export const LAMBDA_HANDLER = 'index.handler';

/** `NodejsFunction` bundling props for the bundle (local esbuild; Docker is never needed). */
export function nodejsBundlingOptions(): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    sourceMap: BUNDLE.sourcemap,
    sourcesContent: BUNDLE.sourcesContent,
    mainFields: [...BUNDLE.mainFields],
    banner: BUNDLE.banner,
    externalModules: [...BUNDLE.external],
    logLevel: LogLevel.WARNING,
  };
}

/** esbuild's JS API options for the same bundle, written to `<outdir>/<handler>/index.mjs`. */
export function esbuildBuildOptions(handler: HandlerName, outdir: string): BuildOptions {
  return {
    entryPoints: [join(PROJECT_ROOT, HANDLER_ENTRIES[handler])],
    outfile: join(outdir, handler, BUNDLE.outfile),
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
    logLevel: 'warning',
  };
}
