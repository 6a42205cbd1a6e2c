/**
 * The operator console in a real browser (Debian's Chromium, headless): a newcomer's path after
 * `npm start`. Verify an APPROVED person from a file, open a REVIEW one, approve it with a reason,
 * see the queue empty, and an invalid NIK shown beside its field. Screenshots of each view go to
 * test/browser/artifacts/ (ignored by git). The review and data-subject steps run when the API
 * has those routes; a clear probe (404/405) skips them, and the fallback the page shows instead
 * is tested then.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadRegistry, referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import type { LocalRuntime } from '../../local/server.ts';
import { launchChromium, type RunningChromium } from '../support/chromium.ts';
import { captureOutput } from '../support/events.ts';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');

// Powertools reads these once, on the first import of lambda/: before local/server.ts loads.
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
const output = captureOutput();
const { startLocalRuntime } = await import('../../local/server.ts');
const dataDir = await mkdtemp(join(tmpdir(), 'facematch-console-'));
const local: LocalRuntime = await startLocalRuntime({
  port: 0,
  s3Port: 0,
  dynamoPort: 0,
  simulatorPort: 0,
  dataDir,
  queueRetryDelayMs: 50,
  env: { IDMETA_TIMEOUT_MS: '5000' },
});

/** Capability probes: a route this branch's API lacks answers 404 (unknown path) or 405. */
const missing = (status: number) => status === 404 || status === 405;
const reviewRoutes = !missing(
  (await fetch(`${local.apiUrl}/verifications?review=open&limit=1`)).status,
);
const subjectRoutes = !missing(
  (
    await fetch(`${local.apiUrl}/data-subjects/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
  ).status,
);

const registry = loadRegistry();
const approvedPerson = registry.people[0];
const reviewPerson = registry.people[3];
if (!approvedPerson || !reviewPerson) throw new Error('the simulator registry changed');
const approvedSelfie = referenceSelfie(0, 0, registry);
const reviewSelfie = referenceSelfie(3, 0, registry);
const reviewId = `console-review-${Date.now()}`;

describe('the operator console in headless Chromium', () => {
  let chromium: RunningChromium;
  let page: Page;
  const offOrigin: string[] = [];
  const requestedUrls: string[] = [];
  const cspViolations: string[] = [];

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  const fillVerification = async (fields: {
    nik: string;
    name: string;
    dob: string;
    id?: string;
    selfie: string;
  }) => {
    await page.getByRole('button', { name: 'New verification' }).click();
    await page.getByRole('textbox', { name: 'NIK', exact: true }).fill(fields.nik);
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(fields.name);
    await page.getByRole('textbox', { name: 'Date of birth' }).fill(fields.dob);
    await page.getByRole('textbox', { name: 'Verification id' }).fill(fields.id ?? '');
    await page.getByLabel('Selfie', { exact: true }).setInputFiles(fields.selfie);
    await page.getByRole('button', { name: 'Verify' }).click();
  };

  /** The decision badge of the record the verify view shows. */
  const shownDecision = async () => {
    const record = page.locator('#verify-result article.record');
    await record.waitFor({ timeout: 15_000 });
    return record.locator('dd .badge').first().textContent();
  };

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    const origin = new URL(local.apiUrl).origin;
    const s3Origin = new URL(local.s3Endpoint).origin;
    page.on('request', (request) => {
      requestedUrls.push(request.url());
      const url = new URL(request.url());
      if (!['blob:', 'data:'].includes(url.protocol) && ![origin, s3Origin].includes(url.origin)) {
        offOrigin.push(url.origin);
      }
    });
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    page.on('pageerror', (error) => cspViolations.push(`page error: ${error.message}`));
    await page.goto(local.consoleUrl);
    await page.locator('html[data-ready="true"]').waitFor();
  });

  afterAll(async () => {
    await chromium?.close();
    await local.stop();
    output.restore();
    vi.unstubAllEnvs();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('verifies an APPROVED person from a file and shows the matches and the face gauge', async () => {
    await fillVerification({
      nik: approvedPerson.nik,
      name: approvedPerson.name,
      dob: approvedPerson.date_of_birth,
      selfie: approvedSelfie.path,
    });
    expect(await shownDecision()).toBe('APPROVED');
    const record = page.locator('#verify-result article.record');
    expect(await record.getByRole('row', { name: /NIK matches/ }).count()).toBe(1);
    expect(await record.getByText('Every check passed.').count()).toBe(1);
    const gauge = record.getByRole('meter', { name: 'Face similarity' });
    expect(Number(await gauge.getAttribute('aria-valuenow'))).toBe(Number(approvedSelfie.score));
    await shot('1-verified-approved');
  });

  it('opens a REVIEW verification with its reasons in words', async () => {
    await fillVerification({
      nik: reviewPerson.nik,
      name: reviewPerson.name,
      dob: reviewPerson.date_of_birth,
      id: reviewId,
      selfie: reviewSelfie.path,
    });
    expect(await shownDecision()).toBe('REVIEW');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('textbox', { name: 'Verification id' }).fill(reviewId);
    await page.getByRole('button', { name: 'Open' }).click();
    const record = page.locator('#lookup-result article.record');
    await record.waitFor();
    expect(await record.locator('.vid').textContent()).toBe(reviewId);
    expect(await record.getByText(/between the two thresholds/).count()).toBe(1);
    const gauge = record.getByRole('meter', { name: 'Face similarity' });
    expect(Number(await gauge.getAttribute('aria-valuenow'))).toBe(Number(reviewSelfie.score));
    await shot('2-review-verdict');
  });

  it.skipIf(!reviewRoutes)(
    'approves the open review with a reason, then shows the queue empty',
    async () => {
      await page.getByRole('button', { name: 'Review queue' }).click();
      const entry = page.locator(`#queue-list li[data-verification-id="${reviewId}"]`);
      await entry.waitFor();
      expect(await entry.textContent()).toMatch(/waiting/);
      await shot('3-review-queue');
      await entry.getByRole('button', { name: reviewId }).click();
      await page.getByRole('heading', { name: `Review ${reviewId}` }).waitFor();
      expect(await page.locator('#review-detail figure').count()).toBe(1);

      // No reason: refused beside the select, nothing sent.
      await page.getByRole('button', { name: 'Approve' }).click();
      expect(
        await page.getByRole('combobox', { name: 'Reason' }).getAttribute('aria-invalid'),
      ).toBe('true');
      await page.getByRole('combobox', { name: 'Reason' }).selectOption('FACE_CONFIRMED');
      await page.getByRole('textbox', { name: 'Note' }).fill('same person as the KTP photo');
      await shot('4-review-decision');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('heading', { name: `Reviewed ${reviewId}` }).waitFor();
      expect(await page.locator('#review-detail dd .badge').first().textContent()).toBe('APPROVED');
      await page.locator('#queue-status', { hasText: 'No open reviews.' }).waitFor();
      expect(await page.locator('#queue-list li').count()).toBe(0);
      await shot('5-queue-empty');
    },
  );

  it.skipIf(reviewRoutes)(
    'says the review queue is not available on an API without it',
    async () => {
      await page.getByRole('button', { name: 'Review queue' }).click();
      await page.locator('#queue-status', { hasText: 'Review queue not available' }).waitFor();
    },
  );

  it('shows an invalid NIK as text beside its field, marked aria-invalid', async () => {
    await fillVerification({
      nik: '12345',
      name: approvedPerson.name,
      dob: approvedPerson.date_of_birth,
      selfie: approvedSelfie.path,
    });
    const nik = page.getByRole('textbox', { name: 'NIK', exact: true });
    await page.locator('#nik[aria-invalid="true"]').waitFor();
    const error = page.locator('#nik-error');
    expect((await error.textContent())?.length).toBeGreaterThan(0);
    expect(await error.isVisible()).toBe(true);
    // Beside the input: to its right, on the same line.
    const [fieldBox, errorBox] = [await nik.boundingBox(), await error.boundingBox()];
    if (!fieldBox || !errorBox) throw new Error('the NIK field or its error is not laid out');
    expect(errorBox.x).toBeGreaterThanOrEqual(fieldBox.x + fieldBox.width);
    expect(errorBox.y).toBeLessThan(fieldBox.y + fieldBox.height);
    // The problem's title is shown; the field is announced with its error.
    expect(await page.locator('#verify-form .problem').isVisible()).toBe(true);
    expect(await nik.getAttribute('aria-describedby')).toContain('nik-error');
    expect(await page.locator('#name').getAttribute('aria-invalid')).toBeNull();
    await shot('6-invalid-nik');
  });

  it.skipIf(subjectRoutes)('hides the data-subject view on an API without it', async () => {
    expect(await page.getByRole('button', { name: 'Data subjects' }).count()).toBe(0);
  });

  it.skipIf(!subjectRoutes)(
    'finds a data subject by NIK without putting it in the URL',
    async () => {
      await page.getByRole('button', { name: 'Data subjects' }).click();
      await page.getByRole('textbox', { name: 'NIK', exact: true }).fill(approvedPerson.nik);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.locator('#subject-result h2').waitFor();
      expect(await page.locator('#subject-result').textContent()).not.toContain(approvedPerson.nik);
      await shot('7-data-subject');
    },
  );

  it('works through the facematch console proxy, which needs the token of the page', async () => {
    const { startConsoleProxy } = await import('../../local/console/proxy.ts');
    const proxy = await startConsoleProxy({ endpoint: local.apiUrl });
    const proxied = await chromium.context.newPage();
    try {
      await proxied.goto(proxy.url);
      await proxied.locator('html[data-ready="true"]').waitFor();
      await proxied.getByRole('button', { name: 'Look up' }).click();
      await proxied.getByRole('textbox', { name: 'Verification id' }).fill(reviewId);
      await proxied.getByRole('button', { name: 'Open' }).click();
      await proxied.locator('#lookup-result article.record').waitFor();
      expect(await proxied.locator('#lookup-result .vid').textContent()).toBe(reviewId);
      // The same call without the token, from the page's own origin: refused.
      const bare = await proxied.evaluate(
        `fetch('/verifications/${reviewId}').then((response) => response.status)`,
      );
      expect(bare).toBe(403);
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('keeps the NIK out of the URL, the title and browser storage', async () => {
    // Strings, not functions: this code runs in the page (the project's types have no DOM).
    const stored = (await page.evaluate(`({
      url: location.href,
      title: document.title,
      local: JSON.stringify(localStorage),
      session: JSON.stringify(sessionStorage),
      cookie: document.cookie,
    })`)) as Record<string, string>;
    for (const person of [approvedPerson, reviewPerson]) {
      expect(JSON.stringify(stored)).not.toContain(person.nik);
      // Bodies only: no request the page made carried a NIK in its URL.
      expect(requestedUrls.filter((url) => url.includes(person.nik))).toEqual([]);
    }
    expect(requestedUrls.length).toBeGreaterThan(5);
    expect(stored.title).toBe('facematch console');
    expect(stored.local).toBe('{}');
    expect(stored.session).toBe('{}');
  });

  it('is usable from the keyboard with a visible focus, and in a narrow window', async () => {
    // A fresh load: the first Tab starts at the top of the page.
    await page.goto(local.consoleUrl);
    await page.locator('html[data-ready="true"]').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(`({
      tag: document.activeElement.tagName,
      style: getComputedStyle(document.activeElement).outlineStyle,
    })`);
    expect(outline).toEqual({ tag: 'BUTTON', style: 'solid' });
    // Enter on a nav button switches the view.
    await page.keyboard.press('Enter');
    expect(await page.locator('#view-verify').isVisible()).toBe(true);

    await page.setViewportSize({ width: 360, height: 800 });
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('8-narrow');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('made no request off its origin and broke no CSP rule', () => {
    expect(offOrigin).toEqual([]);
    expect(cspViolations).toEqual([]);
  });

  it('left no NIK or name in the logs', () => {
    const logged = output.text();
    for (const person of [approvedPerson, reviewPerson]) {
      expect(logged).not.toContain(person.nik);
      expect(logged).not.toContain(person.name);
    }
  });
});
