/**
 * Errors in CloudWatch still point at our TypeScript. The deployed bundle is minified and split,
 * and runs without --enable-source-maps (LAMBDA_NODE_OPTIONS: it would parse every map at each
 * cold start); the logger's stack_frames are mapped when an error is logged instead
 * (lambda/handlers/stack-frames.ts). Built with the deployed options, run with the deployed flags.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLE_ENTRY_FILE,
  buildBundle,
  esbuildBundleOptions,
  LAMBDA_NODE_OPTIONS,
  PROJECT_ROOT,
} from '../../lib/bundling.ts';

const ENTRY = join(PROJECT_ROOT, 'test/fixtures/bundles/logs-an-error.ts');

/** The line of config.ts that throws a configuration's problems (found, not hard-coded). */
function throwLine(): number {
  const lines = readFileSync(join(PROJECT_ROOT, 'lambda/config.ts'), 'utf8').split('\n');
  const index = lines.findIndex((line) =>
    line.includes('throw new ConfigError(`invalid configuration: '),
  );
  if (index < 0) throw new Error('the throw in lambda/config.ts moved: update this test');
  return index + 1;
}

describe('a logged error in the deployed bundle', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'facematch-frames-'));
    await buildBundle({
      ...esbuildBundleOptions('api', dir),
      entryPoints: { index: ENTRY },
      logLevel: 'error',
    });
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (nodeOptions: string) =>
    spawnSync(process.execPath, [join(dir, BUNDLE_ENTRY_FILE)], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions },
      timeout: 30_000,
    });

  // The logger writes an ERROR to stderr (console.error), as CloudWatch collects both.
  const framesOf = (stdout: string): string => {
    const line = stdout.split('\n').find((candidate) => candidate.includes('"init failed"'));
    if (line === undefined) throw new Error(`no error logged: ${stdout}`);
    return (JSON.parse(line) as { stack_frames: string }).stack_frames;
  };

  it('names our TypeScript file and line in stack_frames, run with the deployed NODE_OPTIONS', () => {
    // Act
    const result = run(LAMBDA_NODE_OPTIONS);

    // Assess
    expect(LAMBDA_NODE_OPTIONS).not.toContain('--enable-source-maps');
    const frames = framesOf(result.stdout + result.stderr).split('\n');
    expect(frames[0]).toMatch(new RegExp(`lambda/config\\.ts:${throwLine()}:\\d+\\)?$`));
    expect(frames.join('\n')).toContain('test/fixtures/bundles/logs-an-error.ts:8:');
  });

  it('is read from the maps beside the chunks: without them, the minified file is all it can say', () => {
    // Prepare
    for (const map of ['index.mjs.map']) rmSync(join(dir, map));

    // Act
    const result = run(LAMBDA_NODE_OPTIONS);

    // Assess
    expect(framesOf(result.stdout + result.stderr)).not.toContain('lambda/config.ts');
    expect(framesOf(result.stdout + result.stderr)).toContain(BUNDLE_ENTRY_FILE);
  });
});
