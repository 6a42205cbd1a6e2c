/**
 * `npm run build`: each Lambda handler's deployable bundle, `dist/<handler>/` (`index.mjs`, its
 * chunks and their source maps), built with the options the stack's NodejsFunction uses
 * (lib/bundling.ts), and the OpenAPI document, `dist/openapi.json`.
 *
 * `--handler <name> --into <folder>`: one handler's bundle, written into an emptied folder: how
 * the stack's NodejsFunction writes its asset (lib/bundling.ts, nodejsBundlingOptions).
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import {
  BUNDLE_ENTRY_FILE,
  buildBundle,
  esbuildBuildOptions,
  esbuildBundleOptions,
  HANDLER_NAMES,
  type HandlerName,
  PROJECT_ROOT,
} from '../lib/bundling.ts';

const { values } = parseArgs({
  options: { handler: { type: 'string' }, into: { type: 'string' } },
});

if (values.handler !== undefined || values.into !== undefined) {
  const handler = values.handler as HandlerName;
  if (!HANDLER_NAMES.includes(handler) || values.into === undefined) {
    throw new Error(`usage: build.ts --handler <${HANDLER_NAMES.join('|')}> --into <folder>`);
  }
  // Whatever was there (NodejsFunction's own single-file output) goes: the folder is the bundle.
  for (const entry of await readdir(values.into)) {
    await rm(join(values.into, entry), { recursive: true, force: true });
  }
  await buildBundle(esbuildBundleOptions(handler, values.into));
} else {
  const outdir = join(PROJECT_ROOT, 'dist');
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  await Promise.all(
    HANDLER_NAMES.map((handler) => buildBundle(esbuildBuildOptions(handler, outdir))),
  );
  // Only `npm run build` writes the document: a stack's per-function build does not load it.
  const { openApiDocument } = await import('../lib/openapi.ts');
  await writeFile(join(outdir, 'openapi.json'), `${JSON.stringify(openApiDocument(), null, 2)}\n`);
  for (const handler of HANDLER_NAMES) {
    const file = join(outdir, handler, BUNDLE_ENTRY_FILE);
    const { size } = await stat(file);
    console.log(`${relative(PROJECT_ROOT, file)}  ${(size / 1024).toFixed(0)} KiB (entry)`);
  }
  console.log('dist/openapi.json');
}
