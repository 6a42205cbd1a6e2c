// The child of bench/cold-import.ts: a fresh `node` process (no loader, no TypeScript) that loads
// one module the way Lambda's Node runtime loads a handler file, and prints how long that took, in
// milliseconds, as one JSON line: `import` for an ES module (`index.mjs`, our bundles), `require`
// for a CommonJS `index.js` (NodejsFunction's default output). The clock starts after node's own
// bootstrap, which every variant pays alike, and stops when the module and its top-level code
// (config parse, client construction) have run. Node's flags (NODE_OPTIONS, --expose-gc) are the
// parent's choice, per variant.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const [mode, url] = process.argv.slice(2);
if ((mode !== 'import' && mode !== 'require') || url === undefined) {
  throw new Error('usage: node import-child.mjs import|require <module file URL>');
}
const started = process.hrtime.bigint();
if (mode === 'import') await import(url);
else createRequire(import.meta.url)(fileURLToPath(url));
const importMs = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(`${JSON.stringify({ importMs })}\n`);
// An init that left a socket or timer behind must not stretch the run; the number is taken.
process.exit(0);
