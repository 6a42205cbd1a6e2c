/**
 * An esbuild plugin: the bundle reaches Node's built-in modules with `require()`, not `import`.
 *
 * Why: an ES module bundle keeps `import … from "node:crypto"` as it is, and Node answers an
 * `import` of a built-in with an ES module facade built from every export the built-in has. Making
 * that list reads each export, and some exports are lazy getters that load whole subsystems when
 * read: `crypto.webcrypto`, `util.parseArgs`/`util.MIMEType`, `stream`'s web stream adapters. A
 * cold start paid for all of them though the code uses none. `require()` returns the module object
 * as it is, getters untouched. Measured side by side with `npm run bench` (its lever rows).
 *
 * A few built-ins are used only on paths a cold start does not take (`stream/web` by middy's
 * streaming responses and the SDK's event streams, `zlib` by compressed response bodies): they are
 * loaded on the first read of one of their exports, not when the bundle starts.
 */
import { builtinModules, createRequire } from 'node:module';
import type { Plugin } from 'esbuild';

/** Built-ins a cold start never uses, loaded on first use. */
export const LAZY_BUILTINS: readonly string[] = ['stream/web', 'zlib'];

const NAMESPACE = 'facematch-builtin';

const requireHere = createRequire(import.meta.url);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const PUBLIC_BUILTINS = builtinModules.filter((name) => !name.startsWith('_'));

const BUILTIN_SPECIFIER = new RegExp(`^(node:)?(${PUBLIC_BUILTINS.map(escapeRegExp).join('|')})$`);

/**
 * A CommonJS module standing for the built-in `name`. A lazy one defines every export as a getter
 * that loads the built-in on first read; esbuild's interop copies exports as getters, so named
 * imports of it stay lazy too. The export list is taken from the Node that builds: every Node
 * from 20 on has the same one for these modules (a test checks each still exists).
 */
export function builtinModuleSource(name: string, lazy: boolean): string {
  const specifier = JSON.stringify(`node:${name}`);
  if (!lazy) return `module.exports = require(${specifier});`;
  const exportNames = Object.keys(requireHere(name) as object);
  const getters = exportNames
    .map(
      (key) =>
        `${JSON.stringify(key)}: { get: () => load()[${JSON.stringify(key)}], enumerable: true }`,
    )
    .join(',\n');
  return [
    'let loaded;',
    `const load = () => (loaded ??= require(${specifier}));`,
    `module.exports = Object.defineProperties({}, {\n${getters}\n});`,
  ].join('\n');
}

export function builtinImportsPlugin(lazyBuiltins: readonly string[] = LAZY_BUILTINS): Plugin {
  const lazy = new Set(lazyBuiltins);
  return {
    name: 'facematch-builtin-imports',
    setup(build) {
      build.onResolve({ filter: BUILTIN_SPECIFIER }, (args) => {
        // `require("node:x")` calls already get the module as it is; a dynamic `import()` of a
        // built-in is left to Node (none is on a cold start's path).
        if (args.kind !== 'import-statement') return undefined;
        return { path: args.path.replace(/^node:/, ''), namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        contents: builtinModuleSource(args.path, lazy.has(args.path)),
        loader: 'js',
      }));
    },
  };
}
