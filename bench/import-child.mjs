// The child of bench/cold-import.ts: a fresh `node` process (no loader, no TypeScript) that
// imports one module and prints how long `await import()` took, in milliseconds, as one JSON
// line. The clock starts after node's own bootstrap, which every variant pays alike, and stops
// when the module and its top-level code (config parse, client construction) have run.
const file = process.argv[2];
if (file === undefined) throw new Error('usage: node import-child.mjs <module file URL>');
const started = process.hrtime.bigint();
await import(file);
const importMs = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(`${JSON.stringify({ importMs })}\n`);
// An init that left a socket or timer behind must not stretch the run; the number is taken.
process.exit(0);
