// The child of test/infra/bundle-runs.test.ts: a plain `node` (no loader, no TypeScript) that loads
// a built handler bundle as Lambda does (`import()` of its index.mjs) and invokes its `handler`
// with each event of a JSON file, one after the other, as one warm container would. Prints one
// JSON line: the handler's results (or the error's name and message), and the built-in modules
// the import loaded, before any invocation: what a cold start pays for.
// Built-ins through process.getBuiltinModule, not `import`: node's ES module face of a built-in
// reads every export, getters too (fs.ReadStream, crypto.webcrypto), which would load before the
// bundle does and hide what the bundle's own import loaded.
const { randomUUID } = process.getBuiltinModule('node:crypto');
const { readFileSync } = process.getBuiltinModule('node:fs');
const { pathToFileURL } = process.getBuiltinModule('node:url');

const [entry, eventsFile] = process.argv.slice(2);
if (entry === undefined || eventsFile === undefined) {
  throw new Error('usage: node bundle-child.mjs <bundle index.mjs> <events.json>');
}
const context = (functionName) => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:ap-southeast-3:000000000000:function:${functionName}`,
  memoryLimitInMB: '1024',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'bundle-test',
  getRemainingTimeInMillis: () => 30_000,
});
const results = [];
const loadedBefore = new Set(process.moduleLoadList);
let loadedAtStartup = [];
try {
  const { handler } = await import(pathToFileURL(entry).href);
  loadedAtStartup = process.moduleLoadList
    .filter((name) => !loadedBefore.has(name) && name.startsWith('NativeModule '))
    .map((name) => name.slice('NativeModule '.length));
  for (const event of JSON.parse(readFileSync(eventsFile, 'utf8'))) {
    results.push(await handler(event, context('facematch-bundle-test')));
  }
  process.stdout.write(`\n${JSON.stringify({ results, loadedAtStartup })}\n`);
} catch (error) {
  process.stdout.write(
    `\n${JSON.stringify({ results, loadedAtStartup, error: { name: error?.name, message: error?.message } })}\n`,
  );
}
process.exit(0);
