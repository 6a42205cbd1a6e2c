/**
 * Stack frames that point at our TypeScript, paid for only when an error is logged. The deployed
 * bundle is minified and split into chunks, each with a source map beside it; Node's
 * --enable-source-maps would read and parse every map at every cold start (over a megabyte), so
 * the stack leaves it off (lib/bundling.ts, LAMBDA_NODE_OPTIONS) and a logged frame is mapped
 * here instead: the first error a container logs reads the maps of the files in its frames (once
 * each, kept for the container's life), later ones reuse them. Frames of a file without a map
 * (the TypeScript itself, run locally or in tests; node's own) are left as they are.
 *
 * `node:module` itself is fetched with the first map, not imported: a bundle's import of it is a
 * stand-in module at every cold start (lib/builtin-imports.ts), for a class only an error needs.
 */
import { readFileSync } from 'node:fs';
import type { SourceMap, SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

const maps = new Map<string, SourceMap | null>();

function sourceMapOf(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    map = null;
    if (/\.[cm]?js$/.test(file)) {
      try {
        const payload = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload;
        map = new (process.getBuiltinModule('node:module').SourceMap)(payload);
      } catch {
        // No map beside the file (or not one we can read): its frames stay as they are.
      }
    }
    maps.set(file, map);
  }
  return map;
}

/** `    at fn (file:///var/task/index.mjs:1:2345)` or `    at file:///…:1:2345`. */
const FRAME = /^(\s*at (?:.*? \()?)((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)(\)?)$/;

/** A source as the map names it, relative to the map (`../../lambda/core/verify.ts`), tidied. */
const tidy = (source: string) => source.replace(/^(?:\.\.?\/)+/, '');

/** One frame line, mapped to the original file, line and column when a map knows it. */
export function mapStackFrame(line: string): string {
  const match = FRAME.exec(line);
  if (match === null) return line;
  const [, head, location, lineText, columnText, tail] = match as unknown as string[];
  const file = location?.startsWith('file://') ? fileURLToPath(location) : (location as string);
  const map = sourceMapOf(file);
  if (map === null) return line;
  const entry = map.findEntry(Number(lineText) - 1, Number(columnText) - 1) as Partial<{
    originalSource: string;
    originalLine: number;
    originalColumn: number;
  }>;
  if (entry.originalSource === undefined || entry.originalLine === undefined) return line;
  return `${head}${tidy(entry.originalSource)}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}${tail}`;
}

/** Frame lines (newline-separated), each mapped. */
export function mapStackFrames(frames: string): string {
  return frames.split('\n').map(mapStackFrame).join('\n');
}
