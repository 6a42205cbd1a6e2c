/**
 * `npm run build`: each Lambda handler's deployable bundle, `dist/<handler>/index.mjs` (with its
 * source map), built with the options the stack's NodejsFunction uses (lib/bundling.ts), and the
 * OpenAPI document, `dist/openapi.json`.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { esbuildBuildOptions, HANDLER_NAMES, PROJECT_ROOT } from '../lib/bundling.ts';
import { openApiDocument } from '../lib/openapi.ts';

const outdir = join(PROJECT_ROOT, 'dist');

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await Promise.all(HANDLER_NAMES.map((handler) => build(esbuildBuildOptions(handler, outdir))));
await writeFile(join(outdir, 'openapi.json'), `${JSON.stringify(openApiDocument(), null, 2)}\n`);

for (const handler of HANDLER_NAMES) {
  const file = esbuildBuildOptions(handler, outdir).outfile as string;
  const { size } = await stat(file);
  console.log(`${relative(PROJECT_ROOT, file)}  ${(size / 1024).toFixed(0)} KiB`);
}
console.log('dist/openapi.json');
