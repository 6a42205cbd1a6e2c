/**
 * A port whose adapter is loaded on its first call, so a cold start does not read, parse and run
 * an SDK client it may never use: the bundle is split (lib/bundling.ts) and a dynamic `import()`
 * is where esbuild cuts a chunk. Every port method is async, so a call simply waits for the load.
 */

/** `load` once; a failed load is forgotten, so the next call tries again. */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}

/**
 * A stand-in for a port of async methods whose every method loads the adapter (once) and calls
 * it. Not a thenable: `then` is absent, so the stand-in can be returned from an async function.
 */
export function lazyPort<T extends object>(load: () => Promise<T>): T {
  const adapter = loadOnce(load);
  const methods = new Map<PropertyKey, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy({} as T, {
    get(_target, name) {
      if (name === 'then' || typeof name === 'symbol') return undefined;
      let method = methods.get(name);
      if (method === undefined) {
        method = async (...args: unknown[]) => {
          const port = (await adapter()) as Record<PropertyKey, unknown>;
          const member = port[name];
          if (typeof member !== 'function') throw new TypeError(`no method ${String(name)}`);
          return member.apply(port, args);
        };
        methods.set(name, method);
      }
      return method;
    },
  });
}
