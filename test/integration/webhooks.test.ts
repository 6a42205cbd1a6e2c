/**
 * Webhook delivery against a real loopback receiver that verifies every signature with the
 * Standard Webhooks npm library: the shared policy (lambda/core/webhooks.ts) driven by the local
 * sender, with a schedule of milliseconds instead of hours.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DeliveryAttemptEvent,
  formatWebhookSecret,
  type WebhookMessage,
} from '../../lambda/core/webhooks.ts';
import { loadRegistry, referenceSelfie } from '../../local/idmeta-simulator/registry.ts';
import { type LocalRuntime, startLocalRuntime } from '../../local/server.ts';
import { LocalWebhooks } from '../../local/webhooks.ts';
import { runCliCaptured } from '../support/cli.ts';
import { captureOutput, type OutputCapture } from '../support/events.ts';
import { InMemoryWebhookDeliveries } from '../support/in-memory.ts';
import {
  type ReceivedWebhook,
  type ReceiverAnswer,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../support/webhook-receiver.ts';

const KEY = randomBytes(32);
const SECRET = formatWebhookSecret(KEY);
/** The deployed schedule's shape in milliseconds: every retry, none of the waiting. */
const FAST = { delaysMs: [20, 20, 20, 20, 20, 20, 20] };

const completed = (verificationId = `ver-${randomUUID().slice(0, 8)}`): WebhookMessage => ({
  id: randomUUID(),
  type: 'verification.completed',
  timestamp: '2026-12-03T10:00:00.000Z',
  data: {
    verification_id: verificationId,
    status: 'COMPLETED',
    decision: 'APPROVED',
    reasons: [],
    face_similarity: 91.5,
  },
});

let receiver: WebhookReceiver | undefined;
let sender: LocalWebhooks | undefined;

afterEach(async () => {
  await sender?.stop();
  await receiver?.close();
  sender = undefined;
  receiver = undefined;
});

async function setUp(
  answer: (attempt: number, request: ReceivedWebhook) => ReceiverAnswer,
  options: {
    timeoutMs?: number;
    url?: (receiverUrl: string) => string;
    now?: (receiver: WebhookReceiver) => number;
  } = {},
) {
  const started = await startWebhookReceiver(SECRET, answer);
  receiver = started;
  const deliveries = new InMemoryWebhookDeliveries();
  const attempts: DeliveryAttemptEvent[] = [];
  const lines: string[] = [];
  sender = new LocalWebhooks({
    url: options.url?.(receiver.url) ?? receiver.url,
    key: KEY,
    deliveries,
    log: (line) => lines.push(line),
    schedule: FAST,
    timeoutMs: options.timeoutMs ?? 2_000,
    random: () => 0,
    ...(options.now === undefined ? {} : { now: () => options.now?.(started) ?? Date.now() }),
    onAttempt: (event) => attempts.push(event),
  });
  return { receiver, sender, deliveries, attempts, lines };
}

describe('webhook delivery to a verifying receiver', () => {
  it('delivers each event once, signed so the Standard Webhooks library accepts it', async () => {
    // Prepare
    const { receiver, sender, deliveries } = await setUp(() => 200);
    const first = completed();
    const second = completed();

    // Act: the second event arrives twice, as EventBridge and SQS may deliver it
    sender.enqueue(first);
    sender.enqueue(second);
    await sender.idle();
    sender.enqueue(second);
    await sender.idle();

    // Assess
    expect(receiver.rejected()).toEqual([]);
    expect(receiver.delivered.sort()).toEqual([first.id, second.id].sort());
    const body = receiver.received.find((entry) => entry.id === first.id)?.verified;
    expect(body).toEqual({
      type: 'verification.completed',
      timestamp: first.timestamp,
      data: first.data,
    });
    const record = await deliveries.get(`local/${second.id}`);
    expect(record).toMatchObject({ state: 'DELIVERED', attempts: 1, last_status: 200 });
  });

  it('retries 500, 500 then 200: three attempts, one webhook-id, each signed afresh, DELIVERED', async () => {
    // Prepare: the sender's clock a minute later at every attempt (the receiver's tolerance is
    // five), so signed timestamps can only be equal if a signature were reused
    const { receiver, sender, deliveries, attempts } = await setUp(
      (attempt) => (attempt < 2 ? 500 : 200),
      { now: (running) => Date.now() + running.received.length * 61_000 },
    );
    const message = completed();

    // Act
    sender.enqueue(message);
    await sender.idle();

    // Assess
    expect(receiver.rejected()).toEqual([]);
    expect(receiver.received.map((entry) => entry.id)).toEqual([
      message.id,
      message.id,
      message.id,
    ]);
    const timestamps = receiver.received.map((entry) => entry.timestamp);
    expect(new Set(timestamps).size).toBe(3);
    expect(new Set(receiver.received.map((entry) => entry.signature)).size).toBe(3);
    expect(attempts.map((event) => event.state)).toEqual(['RETRYING', 'RETRYING', 'DELIVERED']);
    expect(await deliveries.get(`local/${message.id}`)).toMatchObject({
      state: 'DELIVERED',
      attempts: 3,
      last_status: 200,
    });
  });

  it.each([
    [400, 'HTTP_4XX'],
    [410, 'HTTP_4XX'],
    [401, 'HTTP_4XX'],
  ])('stops at once on %i: one attempt, FAILED', async (status, errorClass) => {
    const { receiver, sender, deliveries } = await setUp(() => status);
    const message = completed();

    sender.enqueue(message);
    await sender.idle();

    expect(receiver.received).toHaveLength(1);
    expect(await deliveries.get(`local/${message.id}`)).toMatchObject({
      state: 'FAILED',
      attempts: 1,
      last_status: status,
      last_error: errorClass,
    });
  });

  it('does not follow a redirect: a 3xx is a final failure and the target is never called', async () => {
    const { receiver, sender, deliveries } = await setUp((_attempt, request) =>
      request.path === '/moved' ? 200 : { status: 307, headers: { location: '/moved' } },
    );
    const message = completed();

    sender.enqueue(message);
    await sender.idle();

    expect(receiver.received.map((entry) => entry.path)).toEqual(['/hooks/facematch']);
    expect(await deliveries.get(`local/${message.id}`)).toMatchObject({
      state: 'FAILED',
      last_status: 307,
      last_error: 'REDIRECT',
    });
  });

  it('times out a receiver that hangs and retries it', async () => {
    const { receiver, sender, deliveries, attempts } = await setUp(
      (attempt) => (attempt === 0 ? 'hang' : 200),
      { timeoutMs: 300 },
    );
    const message = completed();

    sender.enqueue(message);
    await sender.idle();

    expect(receiver.received).toHaveLength(2);
    expect(attempts[0]).toMatchObject({ state: 'RETRYING', errorClass: 'TIMEOUT' });
    expect(await deliveries.get(`local/${message.id}`)).toMatchObject({
      state: 'DELIVERED',
      attempts: 2,
    });
  });

  it('retries when the receiver closes the connection without answering', async () => {
    const { sender, deliveries, attempts } = await setUp((attempt) =>
      attempt === 0 ? 'close' : 204,
    );
    const message = completed();

    sender.enqueue(message);
    await sender.idle();

    expect(attempts[0]).toMatchObject({ state: 'RETRYING', errorClass: 'NETWORK' });
    expect(await deliveries.get(`local/${message.id}`)).toMatchObject({
      state: 'DELIVERED',
      attempts: 2,
      last_status: 204,
    });
  });

  it('retries a network error (nothing listening) through the whole schedule, then FAILED', async () => {
    // Prepare: a receiver started and closed, so its port refuses connections
    const closed = await startWebhookReceiver(SECRET);
    await closed.close();
    const { sender, deliveries, attempts } = await setUp(() => 200, { url: () => closed.url });
    const message = completed();

    sender.enqueue(message);
    await sender.idle();

    expect(attempts).toHaveLength(FAST.delaysMs.length + 1);
    expect(attempts.every((event) => event.errorClass === 'NETWORK')).toBe(true);
    expect(await deliveries.get(`local/${message.id}`)).toMatchObject({
      state: 'FAILED',
      attempts: 8,
      last_error: 'NETWORK',
    });
  });

  it("honours a 429's Retry-After over a shorter scheduled wait", async () => {
    const { receiver, sender } = await setUp((attempt) =>
      attempt === 0 ? { status: 429, headers: { 'retry-after': '1' } } : 200,
    );
    const started = Date.now();

    sender.enqueue(completed());
    await sender.idle();

    expect(receiver.delivered).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('resends a delivered event with the same webhook-id, and logs a fresh attempt', async () => {
    const { receiver, sender, deliveries } = await setUp(() => 200);
    const message = completed();
    sender.enqueue(message);
    await sender.idle();

    const outcome = await sender.deliverOnce({ ...message, resend: true });

    expect(outcome.kind).toBe('delivered');
    expect(receiver.delivered).toEqual([message.id, message.id]);
    expect(receiver.rejected()).toEqual([]);
    expect(await deliveries.get(`local/${message.id}`)).toMatchObject({
      state: 'DELIVERED',
      attempts: 1,
    });
  });
});

describe('npm start with WEBHOOK_URL and WEBHOOK_SECRET', () => {
  let local: LocalRuntime | undefined;
  let dataDir: string;
  let output: OutputCapture;
  let runtimeLines: string[] = [];

  beforeEach(async () => {
    output = captureOutput();
    runtimeLines = [];
    dataDir = await mkdtemp(join(tmpdir(), 'facematch-webhooks-'));
  });

  afterEach(async () => {
    await local?.stop();
    local = undefined;
    output.restore();
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string>) =>
    startLocalRuntime({
      port: 0,
      s3Port: 0,
      dynamoPort: 0,
      simulatorPort: 0,
      dataDir,
      log: (line) => runtimeLines.push(line),
      webhookSchedule: FAST,
      env: { POWERTOOLS_LOG_LEVEL: 'WARN', ...env },
    });

  const cli = (argv: string[], env: Record<string, string>) => runCliCaptured(argv, { env });

  it('delivers each verdict signed, without personal data, logs it, and lists, resends and pings from the CLI', async () => {
    // Prepare
    const receiver = await startWebhookReceiver(SECRET, () => 200);
    const env = { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET };
    try {
      local = await start(env);
      const person = loadRegistry().people[0];
      if (person === undefined) throw new Error('empty simulator registry');
      const verificationId = `wh-${randomUUID().slice(0, 8)}`;

      // Act: one verification through the API
      const response = await fetch(`${local.apiUrl}/verifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          verification_id: verificationId,
          nik: person.nik,
          name: person.name,
          date_of_birth: person.date_of_birth,
          selfie_image: referenceSelfie(person.nik, 0).dataUri,
        }),
      });
      expect(response.status).toBe(200);
      await local.webhooks?.idle();

      // Assess: one signed delivery of the verdict, nothing personal in it
      expect(receiver.rejected()).toEqual([]);
      expect(receiver.delivered).toHaveLength(1);
      const [delivery] = receiver.received;
      expect(delivery?.verified).toMatchObject({
        type: 'verification.completed',
        data: { verification_id: verificationId, status: 'COMPLETED' },
      });
      for (const personal of [person.nik, person.name, person.date_of_birth, 'nik_masked']) {
        expect(delivery?.body).not.toContain(personal);
        expect(runtimeLines.join('\n')).not.toContain(personal);
      }
      // The runtime's own log lines carry the masked NIK (allowed); never the NIK or the name.
      for (const personal of [person.nik, person.name])
        expect(output.text()).not.toContain(personal);
      expect(runtimeLines.join('\n')).not.toContain(SECRET);

      // Act: the CLI against the local data
      const cliEnv = { ...env, DYNAMODB_PORT: new URL(local.dynamoEndpoint).port };
      const listed = await cli(['webhooks', 'deliveries', '--json'], cliEnv);
      const records = JSON.parse(listed.stdout) as Array<{ delivery_id: string; state: string }>;
      const resent = await cli(['webhooks', 'resend', records[0]?.delivery_id ?? '-'], cliEnv);
      const pinged = await cli(['webhooks', 'test', 'local'], cliEnv);
      const failedOnly = await cli(['webhooks', 'deliveries', '--failed'], cliEnv);

      // Assess
      expect(records).toEqual([
        expect.objectContaining({ delivery_id: `local/${delivery?.id}`, state: 'DELIVERED' }),
      ]);
      expect(resent).toMatchObject({ code: 0 });
      expect(pinged).toMatchObject({ code: 0 });
      expect(failedOnly.stdout.trim()).toBe('no deliveries');
      expect(receiver.delivered).toEqual([
        delivery?.id,
        delivery?.id,
        expect.stringMatching(/^ping_/),
      ]);
      expect(receiver.received[2]?.verified).toMatchObject({
        type: 'ping',
        data: { endpoint: 'local' },
      });
      expect(receiver.rejected()).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it.each([
    [{ WEBHOOK_URL: 'http://127.0.0.1:9/h' }, 'WEBHOOK_SECRET is required'],
    [
      { WEBHOOK_URL: 'http://127.0.0.1:9/h', WEBHOOK_SECRET: 'whsec_c2VjcmV0' },
      'WEBHOOK_SECRET must hold',
    ],
    [
      { WEBHOOK_URL: 'http://example.com/h', WEBHOOK_SECRET: SECRET },
      'WEBHOOK_URL must be an https URL',
    ],
  ])(
    'refuses to start with a bad webhook setting, naming it: %#',
    async (env: Record<string, string>, message) => {
      const started = start(env);
      await expect(started).rejects.toThrow(message);
      await expect(started).rejects.not.toThrow(env.WEBHOOK_SECRET ?? 'no secret given');
    },
  );
});
