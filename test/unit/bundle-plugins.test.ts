/**
 * The esbuild plugins of lib/bundling.ts, each on a small project of its own: what they change,
 * that the bundle still does what the source says, and that what they cannot handle fails the
 * build with a message instead of shipping something different.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtinImportsPlugin,
  builtinModuleSource,
  LAZY_BUILTINS,
} from '../../lib/builtin-imports.ts';
import { BUNDLE } from '../../lib/bundling.ts';
import { directImportsPlugin } from '../../lib/direct-imports.ts';

let root: string;

const write = async (path: string, text: string) => {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), text);
};

/** Bundles `entry` (a file under root) into one ES module; returns its text. */
async function bundle(entry: string, plugins = [directImportsPlugin()]): Promise<string> {
  const result = await build({
    entryPoints: [join(root, entry)],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
    plugins,
  });
  return result.outputFiles[0]?.text ?? '';
}

/** Runs an ES module's text in a fresh node, behind the bundle's banner; returns what it printed. */
async function run(text: string): Promise<string> {
  const file = join(root, `run-${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(file, `${BUNDLE.banner}\n${text}`);
  return execFileSync(process.execPath, [file], { encoding: 'utf8' }).trim();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'facematch-bundle-plugins-'));
  // A miniature @smithy/core: a root barrel, a subpath barrel re-exporting a leaf that only a
  // lazily loaded client uses (xml) and a renamed leaf, and a barrel defining a name itself.
  await write(
    'node_modules/@smithy/core/package.json',
    JSON.stringify({
      name: '@smithy/core',
      version: '0.0.0',
      module: './dist-es/index.js',
      exports: {
        '.': { module: './dist-es/index.js', default: './dist-es/index.js' },
        './protocols': {
          module: './dist-es/submodules/protocols/index.js',
          default: './dist-es/submodules/protocols/index.js',
        },
      },
    }),
  );
  await write(
    'node_modules/@smithy/core/dist-es/index.js',
    'export * from "./submodules/protocols/index.js";\n',
  );
  await write(
    'node_modules/@smithy/core/dist-es/submodules/protocols/index.js',
    [
      'import { json } from "./json.js";',
      'export * from "./xml/codec.js";',
      'export { jsonCodec as codec } from "./json.js";',
      'export const defined = "defined-in-barrel:" + json;',
      '',
    ].join('\n'),
  );
  await write(
    'node_modules/@smithy/core/dist-es/submodules/protocols/xml/codec.js',
    'globalThis.xmlLoaded = "XML_CODEC_RAN"; export const xml = "xml";\n',
  );
  await write(
    'node_modules/@smithy/core/dist-es/submodules/protocols/json.js',
    'export const json = "json"; export const jsonCodec = "json-codec";\n',
  );
  // A client package importing from the barrels, as the SDK's clients do.
  await write(
    'node_modules/@smithy/client/package.json',
    JSON.stringify({ name: '@smithy/client', version: '0.0.0', module: './dist-es/index.js' }),
  );
  await write(
    'node_modules/@smithy/client/dist-es/index.js',
    [
      'import { codec, defined } from "@smithy/core/protocols";',
      'export { codec as again } from "@smithy/core";',
      'export const client = codec + "|" + defined;',
      '',
    ].join('\n'),
  );
  await write(
    'entry.js',
    'import { client, again } from "@smithy/client";\nconsole.log(client, again, globalThis.xmlLoaded ?? "no-xml");\n',
  );
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('direct imports (lib/direct-imports.ts)', () => {
  it('imports each name from its defining file: what nobody imports is not bundled', async () => {
    // Act
    const without = await bundle('entry.js', []);
    const withPlugin = await bundle('entry.js');

    // Assess: the barrel's `export *` brought the xml codec in, and ran it; redirected, it is gone.
    expect(without).toContain('XML_CODEC_RAN');
    expect(withPlugin).not.toContain('XML_CODEC_RAN');
    expect(await run(withPlugin)).toBe('json-codec|defined-in-barrel:json json-codec no-xml');
    expect(await run(without)).toBe('json-codec|defined-in-barrel:json json-codec XML_CODEC_RAN');
  });

  it('keeps a barrel loaded with import() whole', async () => {
    // Prepare
    await write(
      'dynamic.js',
      'const protocols = await import("@smithy/core/protocols");\nconsole.log(protocols.xml, protocols.codec);\n',
    );
    await write(
      'node_modules/@smithy/core/dist-es/submodules/protocols/index.js',
      'export * from "./xml/codec.js";\nexport { jsonCodec as codec } from "./json.js";\n',
    );

    // Act
    const text = await bundle('dynamic.js');

    // Assess
    expect(await run(text)).toBe('xml json-codec');
  });

  it('fails the build on an import it cannot redirect, naming the file', async () => {
    // Prepare
    await write(
      'node_modules/@smithy/client/dist-es/index.js',
      'import * as protocols from "@smithy/core/protocols";\nexport const client = protocols.xml;\n',
    );

    // Act
    const attempt = bundle('entry.js');

    // Assess
    await expect(attempt).rejects.toThrow(
      /cannot redirect `import \* as protocols[^`]*` in .*@smithy\/client/,
    );
  });

  it('fails the build on a name no barrel exports', async () => {
    // Prepare
    await write(
      'node_modules/@smithy/client/dist-es/index.js',
      'import { missing } from "@smithy/core/protocols";\nexport const client = missing;\n',
    );

    // Act
    const attempt = bundle('entry.js');

    // Assess
    await expect(attempt).rejects.toThrow(
      /imports "missing" from .*protocols\/index\.js, which does not export it/,
    );
  });
  it('fails the build on a bare import of a barrel (its re-exports would not run)', async () => {
    // Prepare
    await write(
      'node_modules/@smithy/client/dist-es/index.js',
      'import "@smithy/core/protocols";\nexport const client = 1;\n',
    );

    // Act
    const attempt = bundle('entry.js');

    // Assess
    await expect(attempt).rejects.toThrow(/cannot redirect `import "@smithy\/core\/protocols"`/);
  });

  it("gives code outside the SDK's dist-es files the whole barrel", async () => {
    // Prepare: our own code (or another library) importing a barrel as a namespace.
    await write(
      'node_modules/@smithy/core/dist-es/submodules/protocols/index.js',
      'export * from "./xml/codec.js";\nexport { jsonCodec as codec } from "./json.js";\n',
    );
    await write(
      'outside.js',
      'import * as protocols from "@smithy/core/protocols";\nconsole.log(protocols.xml, protocols.codec);\n',
    );

    // Act
    const text = await bundle('outside.js');

    // Assess
    expect(await run(text)).toBe('xml json-codec');
  });
});

describe('built-ins through require() (lib/builtin-imports.ts)', () => {
  it('leaves lazy built-ins unloaded until an export is read, and they then work', async () => {
    // Prepare
    await write(
      'builtins.js',
      [
        'import { createHash } from "node:crypto";',
        'import { gzipSync, gunzipSync } from "node:zlib";',
        'const loaded = (name) => process.moduleLoadList.includes("NativeModule " + name);',
        'const before = loaded("zlib");',
        'const roundTrip = gunzipSync(gzipSync("facematch")).toString();',
        'console.log(before, loaded("zlib"), roundTrip, createHash("sha256").update("x").digest("hex").length);',
        '',
      ].join('\n'),
    );

    // Act
    const text = await bundle('builtins.js', [builtinImportsPlugin(['zlib'])]);

    // Assess
    expect(text).not.toMatch(/from\s*["']node:(crypto|zlib)["']/);
    expect(await run(text)).toBe('false true facematch 64');
  });

  it('gives each built-in one module of the names imported, read once, the rest unread', async () => {
    // Prepare: two modules import from node:crypto; util is read through its default export and
    // path through a namespace. webcrypto and util.parseArgs are getters that load subsystems.
    await write(
      'hash.js',
      'import { createHash } from "node:crypto";\nexport const hash = (text) => createHash("sha256").update(text).digest("hex").length;\n',
    );
    await write(
      'eager.js',
      [
        'import { randomUUID } from "node:crypto";',
        'import util from "node:util";',
        'import * as path from "node:path";',
        'import { hash } from "./hash.js";',
        'const loaded = (name) => process.moduleLoadList.includes("NativeModule " + name);',
        'console.log(hash("x"), randomUUID().length, util.format("%s", "ok"), path.join("a", "b"),',
        '  loaded("internal/crypto/webcrypto"), loaded("internal/util/parse_args/parse_args"));',
        '',
      ].join('\n'),
    );

    // Act
    const text = await bundle('eager.js', [builtinImportsPlugin()]);

    // Assess: no copy of a built-in per importing module (esbuild's CommonJS interop made one,
    // a getter per export, for every module that imported it), and no module of accessors when
    // none is imported (crypto and util have some).
    expect(text).not.toContain('__toESM(');
    expect(text).not.toContain('facematch-builtin-accessors');
    // Only the names imported are read: none of crypto's other plain exports is kept.
    expect(text).not.toMatch(/"(createCipheriv|randomBytes|scryptSync)"/);
    expect(await run(text)).toBe('64 36 ok a/b false false');
  });

  it('reads an accessor export where it is used: lazily, and as it is now', async () => {
    // Prepare: fs.ReadStream loads fs's stream classes when read; http.globalAgent can be set.
    await write(
      'accessors.js',
      [
        'import { ReadStream } from "node:fs";',
        'import http, { Agent, globalAgent } from "node:http";',
        'const loaded = (name) => process.moduleLoadList.includes("NativeModule " + name);',
        'const streamsAtStart = loaded("internal/fs/streams");',
        'const replacement = new Agent();',
        'http.globalAgent = replacement;',
        'console.log(streamsAtStart, typeof ReadStream, loaded("internal/fs/streams"), globalAgent === replacement);',
        '',
      ].join('\n'),
    );

    // Act
    const text = await bundle('accessors.js', [builtinImportsPlugin()]);

    // Assess: one module of accessors per built-in whose accessors are imported (fs, http).
    expect(text.match(/__toESM\(require_/g)).toHaveLength(2);
    expect(await run(text)).toBe('false function true true');
  });

  it('takes a built-in by its node: name, which some have alone (node:test)', () => {
    // Act
    const source = builtinModuleSource('test', false);

    // Assess
    expect(source).toContain('require("node:test")');
    expect(source).toMatch(/pick\("describe"\)/);
  });

  it("lists util's lazy getters as accessors even after this process has read them", () => {
    // Prepare: reading a lazy getter replaces it with a plain value, in this process only.
    const util = createRequire(import.meta.url)('node:util') as Record<string, unknown>;
    void util.parseArgs;

    // Act
    const source = builtinModuleSource('util', false);

    // Assess
    expect(source).not.toMatch(/pick\("parseArgs"\)/);
    expect(source).toMatch(
      /export \{[^}]*"parseArgs"[^}]*\} from "facematch-builtin-accessors:util"/,
    );
  });

  it('fails the build on an import of a name the built-in does not have', async () => {
    // Prepare
    await write(
      'missing.js',
      'import { createHashes } from "node:crypto";\nconsole.log(createHashes);\n',
    );

    // Act
    const built = bundle('missing.js', [builtinImportsPlugin()]);

    // Assess
    await expect(built).rejects.toThrow(/No matching export .* for import "createHashes"/);
  });

  it.each([...LAZY_BUILTINS, 'zlib'])(
    'a lazy %s offers every export of the real one, the same values',
    async (name) => {
      // Every own property, the non-enumerable ones too (zlib's Z_* constants are not enumerable).
      await write(`lazy-${name.replace('/', '-')}.js`, builtinModuleSource(name, true));
      const lazy = createRequire(join(root, 'x.js'))(
        join(root, `lazy-${name.replace('/', '-')}.js`),
      ) as Record<string, unknown>;
      const real = createRequire(import.meta.url)(name) as Record<string, unknown>;
      const names = Object.getOwnPropertyNames(real);
      expect(names.length).toBeGreaterThan(1);
      expect(names.filter((key) => lazy[key] !== real[key])).toEqual([]);
    },
  );
});
