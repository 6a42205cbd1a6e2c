/** A bench section in a process of its own (see child-process.ts): input and answer over IPC. */
const sections: Record<string, (input: never) => Promise<unknown>> = {
  overhead: async (input) => (await import('./overhead.ts')).overheadChild(input),
  rss: async (input) => (await import('./rss.ts')).rssChild(input),
  connections: async (input) => (await import('./connections.ts')).connectionsChild(input),
  console: async (input) => (await import('./console.ts')).consoleChild(input),
  roundTrips: async (input) => (await import('./budgets.ts')).roundTripsChild(input),
  sweepReads: async (input) => (await import('./budgets.ts')).sweepReadsChild(input),
};

const section = process.argv[2] ?? '';
const send = (message: unknown) =>
  new Promise<void>((resolve) => {
    if (process.send === undefined) throw new Error('bench/child.ts runs under npm run bench');
    process.send(message, () => resolve());
  });

process.once('message', async (message: { input: never }) => {
  try {
    const run = sections[section];
    if (run === undefined) throw new Error(`unknown bench section "${section}"`);
    await send({ ok: true, value: await run(message.input) });
  } catch (error) {
    await send({
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
  // Keep-alive sockets and server handles of the section must not keep the child alive.
  process.exit(0);
});
