/**
 * What each Lambda bundle holds, built as `npm run build` and the stack build it
 * (lib/bundling.ts). What a cold start loads (the entry and the chunks it imports statically) is
 * read, parsed and run while a person waits at a sign-up screen: it stays within its budget and
 * leaves out the clients a cold start does not need (S3, EventBridge), which load from chunks of
 * their own on first use; the aggregated S3 client with every S3 command never comes in at all.
 */
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { startupOutputs } from '../../bench/cold-import.ts';
import {
  BUNDLE_ENTRY_FILE,
  esbuildBuildOptions,
  HANDLER_NAMES,
  PROJECT_ROOT,
} from '../../lib/bundling.ts';

/** The budget of issue 6, for what a cold start reads (`npm run bench` measures its time). */
const MAX_STARTUP_BYTES = 700_000;

/**
 * Files a cold start loads one by one (the entry and its static chunks). Shared code cut into a
 * dozen small chunks cost more than their bytes (issue 17); the plugins in lib/bundling.ts keep it
 * to a few.
 */
const MAX_STARTUP_FILES = 5;

/**
 * What only lazily loaded clients use, reached from a cold start only through the SDK's barrels
 * (lib/direct-imports.ts): S3's XML protocol and checksum streams; the credential providers a
 * Lambda never needs (lib/lambda-credentials.ts).
 */
const NEVER_AT_STARTUP = [
  /@aws-sdk\/xml-builder\//,
  /\/protocols\/xml\//,
  /\/checksum\/ChecksumStream/,
  /@aws-sdk\/credential-provider-(node|ini|sso|process|web-identity|http)\//,
  /@smithy\/credential-provider-imds\//,
];

const S3_CLIENT = 'node_modules/@aws-sdk/client-s3/dist-es/S3Client.js';
const EVENTBRIDGE_CLIENT = 'node_modules/@aws-sdk/client-eventbridge/dist-es/EventBridgeClient.js';

const inputsOf = (metafile: Metafile, outputs: string[]) =>
  new Set(outputs.flatMap((output) => Object.keys(metafile.outputs[output]?.inputs ?? {})));

/** The handlers that read selfies from S3 (and may publish events). */
const S3_HANDLERS: string[] = ['api', 'selfie-uploaded', 'sweeper'];

describe.each(HANDLER_NAMES)('the %s bundle', (handler) => {
  it('loads within its budget at a cold start; S3 and EventBridge only on first use', async () => {
    // Prepare
    const outdir = join(tmpdir(), 'facematch-bundle-test');
    const options = esbuildBuildOptions(handler, outdir);

    // Act
    const result = await build({ ...options, write: false, metafile: true, logLevel: 'error' });

    // Assess
    const { metafile } = result;
    const startup = startupOutputs(metafile, join(outdir, handler, BUNDLE_ENTRY_FILE));
    expect(startup[0]).toBe(relative(PROJECT_ROOT, join(outdir, handler, BUNDLE_ENTRY_FILE)));
    const startupBytes = startup.reduce(
      (sum, path) => sum + (metafile.outputs[path]?.bytes ?? 0),
      0,
    );
    expect(startupBytes).toBeLessThanOrEqual(MAX_STARTUP_BYTES);
    expect(startup.length).toBeLessThanOrEqual(MAX_STARTUP_FILES);
    const atStartup = inputsOf(metafile, startup);
    expect(
      [...atStartup].filter((input) => NEVER_AT_STARTUP.some((pattern) => pattern.test(input))),
    ).toEqual([]);
    // Built-ins through require() (lib/builtin-imports.ts, the banner's process.getBuiltinModule):
    // no ES import of one, not even node:module.
    for (const path of startup) {
      const text = result.outputFiles.find(
        (file) => relative(PROJECT_ROOT, file.path) === path,
      )?.text;
      const builtinImports = [...(text ?? '').matchAll(/from\s*["'](node:[^"']+)["']/g)];
      expect(builtinImports.map((match) => match[1])).toEqual([]);
    }
    const anywhere = inputsOf(metafile, Object.keys(metafile.outputs));
    expect(atStartup).not.toContain(S3_CLIENT);
    expect(atStartup).not.toContain(EVENTBRIDGE_CLIENT);
    // The webhook sender uses no S3 and no EventBridge at all: none of it may be there.
    if (S3_HANDLERS.includes(handler)) {
      expect(anywhere).toContain(S3_CLIENT);
      expect(anywhere).toContain(EVENTBRIDGE_CLIENT);
    } else {
      expect([...anywhere].filter((input) => input.includes('@aws-sdk/client-s3/'))).toEqual([]);
      // SQS only for a retry (lambda/webhook-runtime.ts).
      expect([...atStartup].filter((input) => input.includes('@aws-sdk/client-sqs/'))).toEqual([]);
      expect(anywhere).toContain('node_modules/@aws-sdk/client-sqs/dist-es/SQSClient.js');
    }
    expect(anywhere).not.toContain('node_modules/@aws-sdk/client-s3/dist-es/S3.js');
    // The handlers validate with lambda/core/fields.ts; zod is for what is built, not run.
    expect([...anywhere].filter((input) => input.includes('node_modules/zod/'))).toEqual([]);
  });
});
