/**
 * What each Lambda bundle holds, built as `npm run build` and the stack build it
 * (lib/bundling.ts). Every byte is parsed at each cold start, which a person waits for at a
 * sign-up screen: the bundle stays within its budget, and a dynamic `import()` of an SDK module
 * must not come back (in a single-file bundle it wraps the module's whole barrel in lazy init
 * code: the aggregated S3 client with every S3 command, 31 kB, evaluated at every cold start).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { esbuildBuildOptions, HANDLER_NAMES } from '../../lib/bundling.ts';

/** The budget of issue 6 (`npm run bench` measures the cold start itself). */
const MAX_BUNDLE_BYTES = 700_000;

/** The handlers that read selfies from S3. */
const S3_HANDLERS: string[] = ['api', 'selfie-uploaded', 'sweeper'];

describe.each(HANDLER_NAMES)('the %s bundle', (handler) => {
  it('stays within its size budget and leaves the unused S3 commands out', async () => {
    // Prepare
    const options = esbuildBuildOptions(handler, join(tmpdir(), 'facematch-bundle-test'));

    // Act
    const result = await build({ ...options, write: false, metafile: true, logLevel: 'error' });

    // Assess
    const output = Object.values(result.metafile.outputs).find((entry) => entry.entryPoint);
    expect(output?.bytes).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
    const inputs = Object.keys(output?.inputs ?? {});
    // The webhook sender uses no S3 at all: none of it may be there. (The sweeper HEADs uploads.)
    if (S3_HANDLERS.includes(handler)) {
      expect(inputs).toContain('node_modules/@aws-sdk/client-s3/dist-es/S3Client.js');
    } else {
      expect(inputs.filter((input) => input.includes('@aws-sdk/client-s3/'))).toEqual([]);
    }
    expect(inputs).not.toContain('node_modules/@aws-sdk/client-s3/dist-es/S3.js');
  });
});
