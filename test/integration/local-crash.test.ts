/**
 * Issue 18, part 2: `npm start` killed mid-batch (SIGKILL, as an out-of-memory kill would) and
 * started again on the same data folder loses no queued upload. The runtime runs as a child
 * process (`node --import tsx bin/facematch.ts serve`, what `npm start` runs) against an IDmeta
 * simulator in this process, which answers slowly and counts every paid call across both lives.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRegistry, referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { type IdmetaSimulator, startIdmetaSimulator } from '../../local/idmeta-simulator/server.ts';

const TOKEN = 'sim-crash-token';
const UPLOADS = 12;
/** Slow enough to kill the runtime while a call is in flight, fast enough for `npm test`. */
const IDMETA_LATENCY_MS = 400;
/** The shortest lease config validation allows here: IDMETA_TIMEOUT_MS x IDMETA_MAX_ATTEMPTS. */
const LEASE_MS = 2_000;

interface Running {
  child: ChildProcess;
  apiUrl: string;
  exited: Promise<void>;
  output: () => string;
}

/** Starts `facematch serve` on free ports; resolves once it has printed its endpoints. */
async function serve(env: NodeJS.ProcessEnv): Promise<Running> {
  // node itself, not npm or tsx's CLI: either would stand between the signal and the runtime.
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/facematch.ts', 'serve'], {
    cwd: join(import.meta.dirname, '../..'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const until = Date.now() + 30_000;
  for (;;) {
    const api = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    if (api !== undefined) return { child, apiUrl: api, exited, output: () => text };
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`facematch serve did not start:\n${text}`);
    }
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the local runtime killed mid-batch and started again on the same data folder', () => {
  let simulator: IdmetaSimulator | undefined;
  let dataDir: string | undefined;
  const children: Running[] = [];

  afterAll(async () => {
    for (const running of children) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    await simulator?.close();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('completes every upload, paying at most once more for the verification in flight', async () => {
    // Prepare: a slow IDmeta here, the runtime in a child process with the shortest lease.
    simulator = await startIdmetaSimulator({ tokens: [TOKEN], latencyMs: IDMETA_LATENCY_MS });
    const sim = simulator;
    dataDir = await mkdtemp(join(tmpdir(), 'facematch-crash-'));
    const { NODE_OPTIONS: _inherited, ...parentEnv } = process.env;
    const env: NodeJS.ProcessEnv = {
      ...parentEnv,
      FACEMATCH_DATA_DIR: dataDir,
      PORT: '0',
      S3_PORT: '0',
      DYNAMODB_PORT: '0',
      IDMETA_BASE_URL: sim.url,
      IDMETA_TOKEN: TOKEN,
      IDMETA_TIMEOUT_MS: String(LEASE_MS),
      IDMETA_MAX_ATTEMPTS: '1',
      VERIFICATION_LEASE_MS: String(LEASE_MS),
    };
    const first = await serve(env);
    children.push(first);
    const people = loadRegistry().people.filter((person) =>
      ['clean match', 'a woman', 'two reference selfies'].some((scenario) =>
        person.scenario?.includes(scenario),
      ),
    );
    expect(people.length).toBeGreaterThan(0);
    const batch = Array.from({ length: UPLOADS }, (_, index) => {
      const person = people[index % people.length];
      if (person === undefined) throw new Error('no person');
      return { id: `crash-${index}-${randomUUID().slice(0, 8)}`, person };
    });
    const facematchCalls = () =>
      sim.calls().filter((call) => call.endpoint === 'dukcapilfacematch');

    // Act 1: every verification asks for a form, and every selfie goes up through it.
    for (const { id, person } of batch) {
      const pending = await fetch(`${first.apiUrl}/verifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          verification_id: id,
          nik: person.nik,
          name: person.name,
          date_of_birth: person.date_of_birth,
        }),
      });
      expect(pending.status).toBe(202);
      const { upload } = (await pending.json()) as {
        upload: { url: string; fields: Record<string, string> };
      };
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
      const selfie = referenceSelfie(person.nik);
      form.append('file', new Blob([selfie.bytes], { type: selfie.mime }), 'selfie.jpg');
      const uploaded = await fetch(upload.url, { method: 'POST', body: form });
      expect(uploaded.status).toBe(204);
    }

    // Act 2: kill -9 while a call is in flight, after at least one verdict.
    const killUntil = Date.now() + 30_000;
    let inFlight: string | undefined;
    while (inFlight === undefined) {
      const calls = facematchCalls();
      const answered = calls.filter((call) => call.httpStatus !== 0).length;
      const open = calls.find(
        (call) => call.httpStatus === 0 && Date.now() - call.at < IDMETA_LATENCY_MS / 2,
      );
      if (answered >= 1 && open !== undefined) inFlight = open.verificationId;
      else if (Date.now() > killUntil) throw new Error('no IDmeta call to interrupt');
      else await sleep(5);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const callsBeforeKill = facematchCalls().length;
    const leftLock = await readFile(join(dataDir, 'lock'), 'utf8');

    // Act 3: start again on the same folder; wait for every verification to finish.
    const second = await serve(env);
    children.push(second);
    const finalRecords = new Map<string, Record<string, unknown>>();
    const until = Date.now() + 45_000;
    while (finalRecords.size < UPLOADS && Date.now() < until) {
      for (const { id } of batch) {
        if (finalRecords.has(id)) continue;
        const response = await fetch(`${second.apiUrl}/verifications/${id}`);
        const body = (await response.json()) as Record<string, unknown>;
        if (body.status === 'COMPLETED' || body.status === 'FAILED') finalRecords.set(id, body);
      }
      await sleep(200);
    }
    second.child.kill('SIGTERM');
    await second.exited;

    // Assess: the kill came mid-batch, over a lock the dead process still held.
    expect(callsBeforeKill).toBeLessThan(UPLOADS);
    expect(leftLock).toBe(String(first.child.pid));
    // Every upload ended COMPLETED with a decision.
    for (const { id } of batch) {
      expect(finalRecords.get(id), id).toMatchObject({
        status: 'COMPLETED',
        decision: expect.stringMatching(/^(APPROVED|REVIEW|REJECTED)$/),
      });
    }
    // One paid call each; the one whose answer the kill lost was paid once more, after its lease.
    const callsPerId = new Map<string, number>();
    for (const call of facematchCalls()) {
      callsPerId.set(
        call.verificationId ?? '',
        (callsPerId.get(call.verificationId ?? '') ?? 0) + 1,
      );
    }
    for (const { id } of batch) {
      expect(callsPerId.get(id), id).toBe(id === inFlight ? 2 : 1);
    }
    expect(finalRecords.get(inFlight as string)).toMatchObject({ attempts: 2 });
    // Every message was acknowledged and removed; none was dead-lettered.
    expect(await readdir(join(dataDir, 'queue'))).toEqual(['dead']);
    expect(await readdir(join(dataDir, 'queue', 'dead'))).toEqual([]);
    // And the child's logs, both lives, name nobody.
    const logs = first.output() + second.output();
    for (const person of people) {
      expect(logs).not.toContain(person.nik);
      expect(logs.toLowerCase()).not.toContain(person.name.toLowerCase());
    }
  }, 120_000);
});
