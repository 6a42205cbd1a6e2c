/**
 * An esbuild plugin: the AWS SDK's own modules import what they use from the file that defines it,
 * not through the `index.js` barrels of `@smithy/core` and `@aws-sdk/core`.
 *
 * Why: esbuild's code splitting puts a file in the chunks of every entry that can reach it through
 * any import, used or not. The SDK's clients import from barrels (`@smithy/core/protocols`,
 * `@aws-sdk/core/protocols`, …) that re-export everything: XML serde, checksum streams, event
 * streams. So what only the lazily loaded S3 client uses was reachable from a cold start, and
 * landed in the chunks a cold start reads (and ran: some of it touches web streams, loading
 * `stream/web`). With each import pointing at its defining file, a cold start reaches only what it
 * uses. `npm run bench` measures the lever side by side.
 *
 * How, and why it cannot silently change behaviour:
 * - A barrel is an `index.js` under `dist-es` of `@smithy/core` or `@aws-sdk/core` (any copy in
 *   node_modules). Its re-exports are followed to the module that defines each name.
 * - In the SDK's `dist-es` JavaScript, `import { a, b as c } from "<barrel>"` and
 *   `export { … } from "<barrel>"` become imports of the defining files. Names a barrel defines
 *   itself (a few do) still come from the barrel.
 * - A barrel imported statically is loaded without its re-exports (every name was redirected).
 *   Anything that still needs a name from it fails the build with esbuild's "No matching export":
 *   a mistake here is a build error, never a missing function at run time.
 * - A barrel loaded with `import()` or `require()` (the SDK loads event streams that way), or
 *   imported by anything outside the SDK's `dist-es` files, is bundled whole, re-exports
 *   included, in a namespace of its own, so it stays complete.
 * - Forms that cannot be redirected (`import * as`, a default import, a bare `import "<barrel>"`,
 *   `export *` of a barrel from outside the barrels) fail the build with a message naming the
 *   file.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { init as initLexer, parse as parseModule } from 'es-module-lexer';
import type { Plugin } from 'esbuild';

const WHOLE_BARREL_NAMESPACE = 'facematch-whole-barrel';

const BARREL_PATH =
  /[\\/]node_modules[\\/]@(smithy|aws-sdk)[\\/]core[\\/]dist-es[\\/](.+[\\/])?index\.js$/;

/** The SDK's ES module files, whose barrel imports are redirected. */
const SDK_MODULE_PATH =
  /[\\/]node_modules[\\/]@(smithy|aws-sdk)[\\/][^\\/]+[\\/]dist-es[\\/].+\.js$/;

/** Specifiers that may name a barrel: a core package or its subpath, or a relative path inside one. */
const CORE_SPECIFIER = /^(@smithy\/core|@aws-sdk\/core)(\/|$)/;
const RELATIVE_SPECIFIER = /^\.\.?(\/|$)/;
const IN_CORE_PACKAGE = /[\\/]node_modules[\\/]@(smithy|aws-sdk)[\\/]core[\\/]/;
const mayBeBarrel = (specifier: string, importer: string) =>
  CORE_SPECIFIER.test(specifier) ||
  (RELATIVE_SPECIFIER.test(specifier) && IN_CORE_PACKAGE.test(importer));

const STATIC_IMPORT = 1;

const isBarrel = (path: string) => BARREL_PATH.test(path);

type Origin = { path: string; name: string } | 'ambiguous';

interface ParsedModule {
  source: string;
  /** Static import and re-export statements: text, place, specifier. */
  statements: { text: string; start: number; end: number; specifier: string }[];
  /** Names exported by declarations or `export { local }` in the module itself. */
  localExports: string[];
}

interface Binding {
  imported: string;
  local: string;
}

/** `a, b as c, default as d` -> bindings (tsc's output: no comments, no string names). */
function parseBindings(list: string): Binding[] {
  return list
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [imported, local = imported] = part.split(/\s+as\s+/);
      return { imported: imported as string, local: local as string };
    });
}

const NAMED_IMPORT = /^import\s*\{([^}]*)\}\s*from\s*(["'])[^"']+\2$/;
const NAMED_REEXPORT = /^export\s*\{([^}]*)\}\s*from\s*(["'])[^"']+\2$/;
const STAR_REEXPORT = /^export\s*\*\s*from\s*(["'])[^"']+\1$/;

/** `compute` once per key (a build reads every SDK file once, however many import it). */
function memoize<A extends unknown[], T>(
  keyOf: (...args: A) => string,
  compute: (...args: A) => Promise<T>,
): (...args: A) => Promise<T> {
  const results = new Map<string, Promise<T>>();
  return (...args) => {
    const key = keyOf(...args);
    let result = results.get(key);
    if (result === undefined) {
      result = compute(...args);
      results.set(key, result);
    }
    return result;
  };
}

const byPath = (path: string) => path;

/** Blank lines for those a statement spanned: stack frames in the SDK keep their line numbers. */
const lineBreaksOf = (text: string) => '\n'.repeat(text.split('\n').length - 1);

export function directImportsPlugin(): Plugin {
  return {
    name: 'facematch-direct-imports',
    setup(build) {
      const parse = memoize(byPath, async (path): Promise<ParsedModule> => {
        await initLexer;
        const source = await readFile(path, 'utf8');
        const [imports, exports] = parseModule(source, path);
        const statements = imports
          .filter((record) => record.t === STATIC_IMPORT && record.n !== undefined)
          .map((record) => ({
            text: source.slice(record.ss, record.se).replace(/;$/, ''),
            start: record.ss,
            end: record.se,
            specifier: record.n as string,
          }));
        const localExports = exports
          .filter((entry) => entry.ln !== undefined)
          .map((entry) => entry.n);
        return { source, statements, localExports };
      });

      /** Resolved once per folder and specifier: every file of a folder asks the same. */
      const resolveFrom = memoize(
        (specifier: string, importer: string) => `${dirname(importer)}\0${specifier}`,
        async (specifier: string, importer: string) => {
          const result = await build.resolve(specifier, {
            kind: 'import-statement',
            resolveDir: dirname(importer),
            importer,
          });
          if (result.errors.length > 0) {
            throw new Error(`direct imports: cannot resolve ${specifier} from ${importer}`);
          }
          return result.path;
        },
      );

      /**
       * Every name a module exports, with the module that defines it, seen through barrels only:
       * a name a non-barrel module exports is its own, whatever it re-exports.
       */
      const exportMap: (path: string) => Promise<Map<string, Origin>> = memoize(
        byPath,
        async (path) => {
          const module = await parse(path);
          const origins = new Map<string, Origin>();
          const add = (name: string, origin: Origin) => {
            const seen = origins.get(name);
            if (seen === undefined) origins.set(name, origin);
            else if (
              seen === 'ambiguous' ||
              origin === 'ambiguous' ||
              seen.path !== origin.path ||
              seen.name !== origin.name
            ) {
              origins.set(name, 'ambiguous');
            }
          };
          const explicit = new Set<string>(module.localExports);
          for (const name of module.localExports) origins.set(name, { path, name });
          for (const statement of module.statements) {
            const named = NAMED_REEXPORT.exec(statement.text);
            if (named) {
              const target = await resolveFrom(statement.specifier, path);
              const targetMap = await exportMap(target);
              for (const { imported, local } of parseBindings(named[1] as string)) {
                explicit.add(local);
                const origin = isBarrel(path)
                  ? (targetMap.get(imported) ?? { path: target, name: imported })
                  : { path, name: local };
                origins.set(local, origin);
              }
            }
          }
          for (const statement of module.statements) {
            if (!STAR_REEXPORT.test(statement.text)) continue;
            const target = await resolveFrom(statement.specifier, path);
            for (const [name, origin] of await exportMap(target)) {
              if (name === 'default' || explicit.has(name)) continue;
              add(name, isBarrel(path) ? origin : { path, name });
            }
          }
          return origins;
        },
      );

      /** `import { … } from "<barrel>"` -> one import per defining module. */
      const redirect = async (
        keyword: 'import' | 'export',
        bindings: Binding[],
        barrel: string,
        importer: string,
      ) => {
        const map = await exportMap(barrel);
        const byModule = new Map<string, string[]>();
        for (const { imported, local } of bindings) {
          const origin = map.get(imported);
          if (origin === undefined || origin === 'ambiguous') {
            throw new Error(
              `direct imports: ${importer} imports "${imported}" from ${barrel}, which ` +
                `${origin === undefined ? 'does not export it' : 'exports it ambiguously'}`,
            );
          }
          const clause = origin.name === local ? local : `${origin.name} as ${local}`;
          byModule.set(origin.path, [...(byModule.get(origin.path) ?? []), clause]);
        }
        return [...byModule]
          .map(
            ([path, clauses]) =>
              `${keyword} { ${clauses.join(', ')} } from ${JSON.stringify(path)}`,
          )
          .join('; ');
      };

      build.onLoad({ filter: SDK_MODULE_PATH, namespace: 'file' }, async (args) => {
        const module = await parse(args.path);
        const barrel = isBarrel(args.path);
        let contents = '';
        let copied = 0;
        for (const statement of module.statements) {
          if (!mayBeBarrel(statement.specifier, args.path)) continue;
          const isReexport =
            STAR_REEXPORT.test(statement.text) || NAMED_REEXPORT.test(statement.text);
          const replaceStatement = (replacement: string) => {
            contents +=
              module.source.slice(copied, statement.start) +
              replacement +
              lineBreaksOf(statement.text);
            copied = statement.end;
          };
          if (barrel && isReexport) {
            // A barrel's re-exports: every importer was redirected past them.
            replaceStatement('');
            continue;
          }
          const target = await resolveFrom(statement.specifier, args.path);
          if (!isBarrel(target)) continue;
          const keyword = statement.text.startsWith('import') ? 'import' : 'export';
          const named = (keyword === 'import' ? NAMED_IMPORT : NAMED_REEXPORT).exec(statement.text);
          if (!named) {
            throw new Error(
              `direct imports: cannot redirect \`${statement.text}\` in ${args.path}; ` +
                'only named imports and re-exports of a barrel can be',
            );
          }
          replaceStatement(
            await redirect(keyword, parseBindings(named[1] as string), target, args.path),
          );
        }
        if (copied === 0) return undefined;
        return { contents: contents + module.source.slice(copied), loader: 'js' };
      });

      // A barrel loaded whole (by `import()` or `require()`) keeps its re-exports; what it
      // re-exports from other barrels is loaded whole too.
      build.onResolve({ filter: /^(@|\.)/ }, async (args) => {
        const whole = args.namespace === WHOLE_BARREL_NAMESPACE;
        // Static imports in the SDK's dist-es files were redirected (onLoad above); anything else
        // that imports a barrel gets all of it.
        const redirected =
          args.kind === 'import-statement' &&
          args.namespace === 'file' &&
          SDK_MODULE_PATH.test(args.importer);
        if (!whole && (redirected || args.kind === 'entry-point')) return undefined;
        if (args.pluginData === WHOLE_BARREL_NAMESPACE) return undefined;
        if (!mayBeBarrel(args.path, args.importer)) return undefined;
        const result = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: WHOLE_BARREL_NAMESPACE,
        });
        if (result.errors.length > 0) return { errors: result.errors };
        if (!isBarrel(result.path)) {
          return whole
            ? { path: result.path, namespace: result.namespace, sideEffects: result.sideEffects }
            : undefined;
        }
        return { path: result.path, namespace: WHOLE_BARREL_NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: WHOLE_BARREL_NAMESPACE }, async (args) => {
        // A second copy of a barrel's own definitions would be a second instance of each: refuse.
        const { source, localExports } = await parse(args.path);
        if (localExports.length > 0) {
          throw new Error(
            `direct imports: ${args.path} is loaded whole (by import(), require() or code outside ` +
              `the SDK) and defines ` +
              `${localExports.join(', ')} itself; it cannot be bundled whole beside its stripped copy`,
          );
        }
        return { contents: source, resolveDir: dirname(args.path), loader: 'js' };
      });
    },
  };
}
