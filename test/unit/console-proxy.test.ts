/**
 * The `facematch console` proxy's defences, without a browser: it holds the operator's AWS
 * credentials, so another site's page (CSRF), a rebinding DNS name or a stray local request must
 * not get it to sign anything.
 */
import { networkInterfaces } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../local/cli.ts';
import { type ConsoleProxy, startConsoleProxy } from '../../local/console/proxy.ts';
import { type FakeHttpServer, json, startFakeHttp } from '../support/fake-http.ts';
import { rawRequest } from '../support/raw-http.ts';

const CREDENTIALS = { accessKeyId: 'AKIDCONSOLETEST', secretAccessKey: 'console-test-secret' };

/** Answers like the API would (a problem with a header worth passing back), and records. */
const startUpstream = () =>
  startFakeHttp([
    json(
      429,
      { title: 'Too Many Requests', status: 429, code: 'X' },
      {
        'content-type': 'application/problem+json',
        'retry-after': '7',
        'set-cookie': 'upstream=1',
      },
    ),
  ]);

const send = (
  proxy: ConsoleProxy,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
) => rawRequest(proxy.port, options);

describe('facematch console proxy', () => {
  let upstream: FakeHttpServer;
  let proxy: ConsoleProxy;
  const apiHeaders = () => ({
    'x-facematch-console-token': proxy.token,
    'content-type': 'application/json',
  });

  beforeAll(async () => {
    upstream = await startUpstream();
    proxy = await startConsoleProxy({
      endpoint: `${upstream.url}/prod`,
      sign: true,
      credentials: CREDENTIALS,
      env: { AWS_REGION: 'ap-southeast-3' },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });
  afterEach(() => {
    upstream.requests.length = 0;
  });

  it('listens on loopback only', async () => {
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}/console`);
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address?.family === 'IPv4' && !address.internal);
    if (!outside) return;
    const reached = await fetch(`http://${outside.address}:${proxy.port}/console`).then(
      () => true,
      () => false,
    );
    expect(reached).toBe(false);
  });

  it.each([
    ['a rebinding DNS name', 'attacker.example'],
    ['a rebinding name on the right port', `attacker.example:PORT`],
    ['loopback on another port', '127.0.0.1:1'],
    ['no port', 'localhost'],
  ])('refuses a Host of %s, for the page and the API alike', async (_, host) => {
    for (const path of ['/console', '/verifications/abc']) {
      const answer = await send(proxy, {
        path,
        headers: { ...apiHeaders(), host: host.replace('PORT', String(proxy.port)) },
      });
      expect(answer.status).toBe(403);
      expect(answer.text).not.toContain(proxy.token);
    }
    expect(upstream.requests).toEqual([]);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { 'x-facematch-console-token': 'guessed' }],
    ['the token as a cookie', { cookie: 'x-facematch-console-token=TOKEN' }],
  ])('refuses an API call with %s', async (_, headers: Record<string, string>) => {
    const withToken = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, value.replace('TOKEN', proxy.token)]),
    );
    for (const [method, path] of [
      ['GET', '/verifications/abc'],
      ['POST', '/verifications'],
      ['POST', '/data-subjects/erase'],
    ] as const) {
      const answer = await send(proxy, {
        method,
        path,
        headers: { 'content-type': 'application/json', ...withToken },
        body: method === 'POST' ? '{"nik":"3174051403880012"}' : undefined,
      });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.text)).toMatchObject({ code: 'CONSOLE_TOKEN_REQUIRED' });
    }
    expect(upstream.requests).toEqual([]);
  });

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonp',
  ])('refuses a POST whose content type is %s (what a cross-site form can send)', async (type) => {
    const answer = await send(proxy, {
      method: 'POST',
      path: '/verifications',
      headers: { ...apiHeaders(), 'content-type': type },
      body: '{"nik":"3174051403880012"}',
    });
    expect(answer.status).toBe(415);
    expect(upstream.requests).toEqual([]);
  });

  it('refuses a call from another origin, even with the token', async () => {
    const refused: Array<Record<string, string>> = [
      { origin: 'https://attacker.example' },
      { origin: `http://localhost:${proxy.port + 1}` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refused) {
      const answer = await send(proxy, {
        method: 'POST',
        path: '/verifications',
        headers: { ...apiHeaders(), ...headers },
        body: '{}',
      });
      expect(answer.status).toBe(403);
    }
    expect(upstream.requests).toEqual([]);
  });

  it('passes on only the API routes', async () => {
    for (const path of ['/health', '/openapi.json', '/__sim/reset', '/verifications/a/b/c', '/x']) {
      const answer = await send(proxy, { path, headers: apiHeaders() });
      expect(answer.status).toBe(404);
    }
    const put = await send(proxy, { method: 'PUT', path: '/verifications', headers: apiHeaders() });
    expect(put.status).toBe(405);
    expect(upstream.requests).toEqual([]);
  });

  it('signs a tokened JSON call with SigV4 and passes the answer back, nothing more', async () => {
    const answer = await send(proxy, {
      method: 'POST',
      path: '/verifications/abc/review?ignored=no',
      headers: {
        ...apiHeaders(),
        origin: `http://127.0.0.1:${proxy.port}`,
        'sec-fetch-site': 'same-origin',
        cookie: 'session=operator',
      },
      body: '{"decision":"APPROVED","reason":"FACE_CONFIRMED"}',
    });
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('7');
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect(JSON.parse(answer.text)).toMatchObject({ title: 'Too Many Requests' });

    const [call] = upstream.requests;
    expect(call?.method).toBe('POST');
    // The stage stays in front of the path; the query goes along.
    expect(call?.path).toBe('/prod/verifications/abc/review?ignored=no');
    expect(call?.body).toBe('{"decision":"APPROVED","reason":"FACE_CONFIRMED"}');
    expect(call?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDCONSOLETEST\/\d{8}\/ap-southeast-3\/execute-api\/aws4_request, /,
    );
    // The browser's headers stay here: no token, cookie or origin reaches the API.
    expect(call?.headers['x-facematch-console-token']).toBeUndefined();
    expect(call?.headers.cookie).toBeUndefined();
    expect(call?.headers.origin).toBeUndefined();
  });

  it('serves the page with its token in a meta tag, a strict CSP and no inline script', async () => {
    for (const host of [`127.0.0.1:${proxy.port}`, `localhost:${proxy.port}`]) {
      const page = await send(proxy, { path: '/console', headers: { host } });
      expect(page.status).toBe(200);
      expect(page.text).toContain(`<meta name="facematch-console-token" content="${proxy.token}">`);
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).toContain("style-src 'self';");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe');
      expect(page.headers['cache-control']).toBe('no-store');
      const scripts = page.text.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? [];
      expect(scripts.length).toBe(1);
      for (const script of scripts)
        expect(script).toMatch(/^<script[^>]* src="\/console\/[^"]+"><\/script>$/);
      expect(page.text).not.toMatch(/\son\w+=/);
    }
    const script = await send(proxy, { path: '/console/console.js' });
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toContain('text/javascript');
  });

  it('makes a new token every run', async () => {
    const other = await startConsoleProxy({ endpoint: upstream.url });
    try {
      expect(other.token).not.toBe(proxy.token);
      expect(other.token.length).toBeGreaterThanOrEqual(40);
      const answer = await send(other, {
        path: '/verifications/abc',
        headers: { 'x-facematch-console-token': proxy.token },
      });
      expect(answer.status).toBe(403);
    } finally {
      await other.close();
    }
  });

  it('allows selfies only from the region S3 of a deployed endpoint', async () => {
    const deployed = await startConsoleProxy({
      endpoint: 'https://abc123.execute-api.ap-southeast-3.amazonaws.com/prod',
      credentials: CREDENTIALS,
    });
    try {
      const page = await send(deployed, { path: '/console' });
      expect(String(page.headers['content-security-policy'])).toContain(
        "img-src 'self' blob: data: https://*.s3.ap-southeast-3.amazonaws.com https://s3.ap-southeast-3.amazonaws.com;",
      );
      expect(deployed.signingRegion).toBe('ap-southeast-3');
    } finally {
      await deployed.close();
    }
  });
});

describe('facematch console (command)', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: {
        stdout: { write: (s: string) => out.push(s) },
        stderr: { write: (s: string) => err.push(s) },
      },
    };
  };

  it('prints where the console is, opens it unless told not to, and stops on request', async () => {
    const upstream = await startUpstream();
    const stop = new AbortController();
    const { io: streams, out } = io();
    const opened: string[] = [];
    const running = runCli(['console', '--endpoint', upstream.url], streams, {
      stop: stop.signal,
      openBrowser: (url) => opened.push(url),
    });
    await expect.poll(() => out.join('')).toMatch(/http:\/\/127\.0\.0\.1:\d+\/console/);
    const url = /http:\/\/127\.0\.0\.1:\d+\/console/.exec(out.join(''))?.[0] ?? '';
    expect(opened).toEqual([url]);
    expect((await fetch(url)).status).toBe(200);
    stop.abort();
    expect(await running).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
    await upstream.close();
  });

  it.each([
    [[], '--endpoint'],
    [['--endpoint', 'http://127.0.0.1:3000', '--port', 'eighty'], '--port'],
    [['--endpoint', 'http://127.0.0.1:3000', '--port', '70000'], '--port'],
    [['--endpoint', 'http://api.example.com'], 'https'],
  ])('refuses %j with a clear message', async (argv, message) => {
    const { io: streams, err } = io();
    const stop = new AbortController();
    stop.abort();
    expect(
      await runCli(['console', ...argv], streams, {
        stop: stop.signal,
        env: { AWS_REGION: 'x-1' },
        credentials: CREDENTIALS,
      }),
    ).toBe(1);
    expect(err.join('')).toContain(message);
  });
});
