/**
 * The console's first load in headless Chromium: bytes transferred (as sent: gzip) and the time
 * until the page is interactive (its `console-interactive` mark, from navigation start), each run
 * in a fresh browser profile (nothing cached); beside them, the same page's API round trips
 * (a GET of a record, and a whole verification from the form to the verdict on screen).
 * Runs in a child process (bench/child.ts): the local runtime's logs go to its discarded stdout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { loadRegistry, referenceSelfie } from '../local/idmeta-simulator/registry.ts';
import { launchChromium } from '../test/support/chromium.ts';

export interface ConsoleInput {
  loads: number;
  roundTrips: number;
}

export interface ConsoleResult {
  buildMs: number;
  /** Per load: bytes on the wire (bodies as encoded, plus headers), and per resource. */
  transferredBytes: number[];
  resources: Array<{ url: string; bytes: number; encoding: string }>;
  interactiveMs: number[];
  getRoundTripMs: number[];
  verifyRoundTripMs: number[];
}

export async function consoleChild(input: ConsoleInput): Promise<ConsoleResult> {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { startLocalRuntime } = await import('../local/server.ts');
  const { buildConsolePage } = await import('../local/console/site.ts');
  const dataDir = await mkdtemp(join(tmpdir(), 'facematch-bench-console-'));
  const local = await startLocalRuntime({
    port: 0,
    s3Port: 0,
    dynamoPort: 0,
    simulatorPort: 0,
    dataDir,
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
    log: () => {},
  });
  const result: ConsoleResult = {
    buildMs: 0,
    transferredBytes: [],
    resources: [],
    interactiveMs: [],
    getRoundTripMs: [],
    verifyRoundTripMs: [],
  };
  try {
    // The one-time build (first request after start) is the server's, not the page's: apart.
    const started = performance.now();
    await buildConsolePage();
    result.buildMs = performance.now() - started;

    for (let run = 0; run < input.loads; run += 1) {
      const chromium = await launchChromium();
      try {
        const page = await chromium.context.newPage();
        const responses: Array<Promise<{ url: string; bytes: number; encoding: string }>> = [];
        page.on('response', (response) => {
          responses.push(
            response
              .request()
              .sizes()
              .then((sizes) => ({
                url: new URL(response.url()).pathname,
                bytes: sizes.responseBodySize + sizes.responseHeadersSize,
                encoding: response.headers()['content-encoding'] ?? 'identity',
              })),
          );
        });
        await page.goto(local.consoleUrl, { waitUntil: 'networkidle' });
        await page.locator('html[data-ready="true"]').waitFor();
        const interactive = (await page.evaluate(
          `performance.getEntriesByName('console-interactive')[0].startTime`,
        )) as number;
        const resources = await Promise.all(responses);
        result.interactiveMs.push(interactive);
        result.transferredBytes.push(resources.reduce((sum, resource) => sum + resource.bytes, 0));
        if (run === 0) result.resources = resources;

        if (run === 0) await roundTrips(page, input.roundTrips, result);
      } finally {
        await chromium.close();
      }
    }
  } finally {
    await local.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return result;
}

/** From the page itself: a GET of a stored record, and a verification from click to verdict. */
async function roundTrips(page: Page, count: number, result: ConsoleResult) {
  const registry = loadRegistry();
  const person = registry.people[0];
  if (!person) throw new Error('the simulator registry has no people');
  const selfie = referenceSelfie(0, 0, registry);
  const token = await page.locator('meta[name="facematch-console-token"]').getAttribute('content');
  for (let index = 0; index < count; index += 1) {
    const id = `bench-console-${Date.now()}-${index}`;
    await page.getByRole('textbox', { name: 'NIK', exact: true }).fill(person.nik);
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(person.name);
    await page.getByRole('textbox', { name: 'Date of birth' }).fill(person.date_of_birth);
    await page.getByRole('textbox', { name: 'Verification id' }).fill(id);
    await page.getByLabel('Selfie', { exact: true }).setInputFiles(selfie.path);
    const started = Date.now();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#verify-result article.record').waitFor({ timeout: 30_000 });
    result.verifyRoundTripMs.push(Date.now() - started);

    const ms = (await page.evaluate(`(async () => {
      const started = performance.now();
      const response = await fetch('/verifications/${id}', {
        headers: { 'x-facematch-console-token': ${JSON.stringify(token)} },
      });
      await response.text();
      return performance.now() - started;
    })()`)) as number;
    result.getRoundTripMs.push(ms);
  }
}
