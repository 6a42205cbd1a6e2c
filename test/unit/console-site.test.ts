/** The console's own files as `npm start` serves them (local/console/site.ts), without a browser. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleSite, createConsoleSite } from '../../local/console/site.ts';
import { rawRequest } from '../support/raw-http.ts';

describe('the console site', () => {
  let site: ConsoleSite;
  let server: Server;
  let port: number;

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    rawRequest(port, { path, headers, method });

  beforeAll(async () => {
    site = createConsoleSite({
      imageOrigins: ['http://127.0.0.1:4569'],
      thresholds: { approve: 80, reject: 35 },
    });
    server = createServer(async (request, response) => {
      if (!(await site.handle(request, response))) {
        response.writeHead(418);
        response.end();
      }
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((done) => server.close(done)));

  it('leaves every path outside /console to the API', async () => {
    for (const path of ['/', '/verifications', '/consoles', '/health']) {
      expect((await get(path)).status).toBe(418);
    }
  });

  it("serves the page with the run's token, the configured thresholds and the S3 origin in its CSP", async () => {
    const page = await get('/console');
    expect(page.status).toBe(200);
    const html = page.text;
    expect(html).toContain(`<meta name="facematch-console-token" content="${site.token}">`);
    expect(html).toContain('<meta name="facematch-thresholds" content="80 35">');
    expect(html).toContain('<title>facematch console</title>');
    expect(page.headers['content-security-policy']).toContain(
      "img-src 'self' blob: data: http://127.0.0.1:4569;",
    );
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('refuses another Host (DNS rebinding) and any method but GET and HEAD', async () => {
    const rebound = await get('/console', { host: `rebind.attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.text).not.toContain(site.token);
    const posted = await get('/console', {}, 'POST');
    expect(posted.status).toBe(405);
    expect(posted.headers.allow).toBe('GET, HEAD');
    expect((await get('/console/../../package.json')).status).toBe(418);
    expect((await get('/console/secret.txt')).status).toBe(404);
  });

  it('sends the script gzip-compressed to a browser that accepts it, revalidated by ETag', async () => {
    const plain = await get('/console/console.js');
    const zipped = await get('/console/console.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    const again = await get('/console/console.js', { 'if-none-match': String(plain.headers.etag) });
    expect(again.status).toBe(304);
    // No eval or Function constructor: the CSP (no 'unsafe-eval') would block them anyway.
    expect(plain.text).not.toMatch(/\beval\(|new Function\(/);
  });
});
