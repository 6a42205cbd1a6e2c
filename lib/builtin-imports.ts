/**
 * An esbuild plugin: the bundle reaches Node's built-in modules with `require()`, not `import`.
 *
 * Why: an ES module bundle keeps `import … from "node:util"` as it is, and Node answers an
 * `import` of a built-in with an ES module facade built from every export the built-in has. Making
 * that list reads each export, and some exports are lazy getters that load whole subsystems when
 * read (`util.parseArgs` and `util.MIMEType`, `stream`'s web stream adapters). A cold
 * start paid for all of them though the code uses none. `require()` returns the module object as it
 * is, getters untouched. Measured side by side with `npm run bench` (its lever rows).
 * (`crypto.webcrypto` still loads: the SDK's uuid reads `globalThis.crypto` at start-up.)
 *
 * Some built-ins are imported at start-up only for a path a cold start does not take: middy's
 * `stream/web` and `stream/promises`, for streaming responses. Each is loaded on the first read
 * of one of its exports, not when the bundle starts. (Our own code fetches such a built-in where
 * it is used: lambda/handlers/stack-frames.ts asks for `node:module` when an error is logged.)
 */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import type { Plugin } from 'esbuild';

/** Built-ins a cold start never uses, loaded on first use. */
export const LAZY_BUILTINS: readonly string[] = ['stream/web', 'stream/promises'];

const NAMESPACE = 'facematch-builtin';
const ACCESSORS_NAMESPACE = 'facematch-builtin-accessors';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const PUBLIC_BUILTINS = builtinModules.filter((name) => !name.startsWith('_'));

const BUILTIN_SPECIFIER = new RegExp(`^(node:)?(${PUBLIC_BUILTINS.map(escapeRegExp).join('|')})$`);

/** A built-in's exports: every own property, and which of them are accessors. */
interface BuiltinShape {
  names: string[];
  accessors: string[];
}

const SHAPE_SCRIPT = [
  'const builtin = require(process.argv[1]);',
  'const names = Object.getOwnPropertyNames(builtin);',
  'const accessors = names.filter((key) => {',
  '  const descriptor = Object.getOwnPropertyDescriptor(builtin, key);',
  '  return descriptor.get !== undefined || descriptor.set !== undefined;',
  '});',
  'process.stdout.write(JSON.stringify({ names, accessors }));',
].join('\n');

const shapes = new Map<string, BuiltinShape>();

/**
 * The exports of the built-in `name` as a fresh `node` has them. Not this process's copy: a lazy
 * getter turns into a plain value once something reads it (util's `parseArgs` and `TextEncoder`
 * are read by the time tsx has started), and the bundle would then read it at every cold start.
 * One child per built-in, so loading one cannot settle another's getters. The list is the
 * building Node's: a bundle built on another Node version may differ in its minified names.
 */
function builtinShape(name: string): BuiltinShape {
  let shape = shapes.get(name);
  if (shape === undefined) {
    const output = execFileSync(process.execPath, ['-e', SHAPE_SCRIPT, `node:${name}`], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    shape = JSON.parse(output) as BuiltinShape;
    shapes.set(name, shape);
  }
  return shape;
}

/**
 * An ES module standing for the built-in `name`, for the `import` statements of the bundle's ES
 * modules. Its default export is the built-in as `require()` returns it; each named export reads
 * its one property, marked pure, so esbuild keeps only the names some module imports. A CommonJS
 * stand-in would cost more than its one `require()`: esbuild's interop then gives every importing
 * module a copy of the built-in with a getter per export (node:crypto's 73, seven times over in
 * the api bundle), 1,300 getters made at each cold start. An import of a name the building Node
 * does not have fails the build, where a CommonJS stand-in would have read undefined at run time.
 *
 * The accessors are the exception (`fs.ReadStream`, `http.globalAgent`, `util.parseArgs`): read
 * once at start-up, some would load a subsystem a cold start does not use, and a value set later
 * (`http.globalAgent = …`) would never be seen. They come from a CommonJS module of their own
 * (`accessorModuleSource`), whose interop reads them where they are used, as `require()` would.
 *
 * A lazy one is CommonJS: every export is a getter that loads the built-in on first read, and
 * esbuild's interop copies exports as getters, so named imports of it stay lazy too. Its export
 * list is the building Node's (every own property, the non-enumerable ones included); an export a
 * later Node adds would read as undefined, so a lazy built-in must be one whose exports the code
 * uses have been there since Node 20 (ReadableStream).
 */
export function builtinModuleSource(name: string, lazy: boolean): string {
  // Always with its prefix: some built-ins exist only as `node:x` (node:test, node:sqlite).
  const specifier = JSON.stringify(`node:${name}`);
  const { names: exportNames, accessors: accessorList } = builtinShape(name);
  if (!lazy) {
    const accessors = new Set(accessorList);
    const named = exportNames
      .filter((key) => key !== 'default' && !accessors.has(key))
      .map(
        (key, index) =>
          `const export${index} = /* @__PURE__ */ pick(${JSON.stringify(key)});\n` +
          `export { export${index} as ${JSON.stringify(key)} };`,
      );
    const reexported = [...accessors].map((key) => JSON.stringify(key)).join(', ');
    return [
      `const builtin = require(${specifier});`,
      'const pick = (key) => builtin[key];',
      'export default builtin;',
      ...(accessors.size === 0
        ? []
        : [`export { ${reexported} } from ${JSON.stringify(`${ACCESSORS_NAMESPACE}:${name}`)};`]),
      ...named,
    ].join('\n');
  }
  return [
    'let loaded;',
    `const load = () => (loaded ??= require(${specifier}));`,
    gettersExport(exportNames, 'load()'),
  ].join('\n');
}

/** The accessor exports of the built-in `name`, as a CommonJS module of getters (see above). */
export function accessorModuleSource(name: string): string {
  return [
    `const builtin = require(${JSON.stringify(`node:${name}`)});`,
    gettersExport(builtinShape(name).accessors, 'builtin'),
  ].join('\n');
}

/** `module.exports` as an object of getters, one per key, each reading it from `source`. */
function gettersExport(keys: readonly string[], source: string): string {
  const getters = keys
    .map(
      (key) =>
        `${JSON.stringify(key)}: { get: () => ${source}[${JSON.stringify(key)}], enumerable: true }`,
    )
    .join(',\n');
  return `module.exports = Object.defineProperties({}, {\n${getters}\n});`;
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
      build.onResolve({ filter: new RegExp(`^${ACCESSORS_NAMESPACE}:`) }, (args) => ({
        path: args.path.slice(ACCESSORS_NAMESPACE.length + 1),
        namespace: ACCESSORS_NAMESPACE,
        // Reading getters does nothing but read: a facade none of whose accessors is imported
        // leaves the module out, instead of running it and copying its getters at start-up.
        sideEffects: false,
      }));
      build.onLoad({ filter: /.*/, namespace: ACCESSORS_NAMESPACE }, (args) => ({
        contents: accessorModuleSource(args.path),
        loader: 'js',
      }));
    },
  };
}
