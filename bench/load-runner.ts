/**
 * A mixed load through the whole local stack (`startLocalRuntime`), counted for the two things
 * facematch promises: nothing is lost, and IDmeta is paid once per verification.
 *
 * The mix, per run of `n` distinct verification ids at `concurrency` requests in flight:
 * - half through the API (`POST /verifications` with an inline selfie: synchronous), half
 *   through the bucket (`PutObject incoming/<id>.<ext>` with the identity as user metadata,
 *   then `GET /verifications/{id}` until a final state);
 * - `duplicateShare` of the ids sent a second time (an API replay, or the same object put
 *   again), some while the first is still in flight, some after it finished;
 * - `faultRate` of IDmeta facematch calls answered with `faultStatus` by the simulator. The
 *   IDmeta client retries it within one invocation, the queue redelivers, and the load's API
 *   client retries a 5xx or an in-progress 409 as a well-behaved caller would.
 *
 * Every id uses a registry person and that person's own reference selfie, so the verdicts are
 * real (and checked against the decision the registry implies). The registry has a handful of
 * persons, so each NIK is verified again and again across ids, under the default profile's
 * velocity limits (REVIEW from 3 earlier attempts in 24 h, refused from 10): an APPROVED person
 * may fairly end REVIEW with NIK_VELOCITY, and an id may end FAILED NIK_VELOCITY_EXCEEDED (the
 * API answers 429 for it). `velocityRefusals` counts those; they are final, not lost, and paid
 * nothing.
 *
 * Counters (one row per distinct id, read from the verdict table once the queue is idle):
 * - `sent`: distinct verification ids at least one request was sent for (duplicates and client
 *   retries are not counted here; `requests` counts every POST / PutObject). Equal to `n`
 *   unless the run timed out (`notSent` says how many were never tried).
 * - `completed`: status COMPLETED.
 * - `failedWithReason`: status FAILED (with `error.code`), plus PENDING records whose
 *   `error.code` is DEAD_LETTERED (retries exhausted; the record says why). So
 *   sent = completed + failedWithReason + lost.
 * - `lost`: no record, or PENDING/PROCESSING without DEAD_LETTERED. On the S3 entrance that is a
 *   verification nobody will finish. On the API entrance a PENDING record with `error` is one
 *   whose caller was answered 5xx and stopped retrying (the README's "waits for a retry"); the
 *   load's client retries up to 6 times, so at a 5 % fault rate this does not happen.
 * - `extraIdmetaCalls`: sum over ids of max(0, facematch calls answered 2xx - 1), from the
 *   simulator's call log. A call answered with an injected fault (503) is a retry the fault
 *   forced, not a second payment, so only 2xx answers count as paid.
 *
 * Everything listens on and is sent to 127.0.0.1 only. The run is bounded: `timeoutMs` after
 * the start nothing more is sent, what is known is reported and `timedOut` is set.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient, createDynamoDocumentClient } from '../lambda/adapters/aws-clients.ts';
import { createS3Client } from '../lambda/adapters/s3-client.ts';
import type { Decision } from '../lambda/core/types.ts';
import { LOCAL_AWS_CREDENTIALS } from '../local/aws-servers.ts';
import {
  loadRegistry,
  type ReferenceSelfie,
  referenceSelfie,
  type SimPerson,
} from '../local/idmeta-simulator/registry.ts';
import { type IdmetaSimulator, startIdmetaSimulator } from '../local/idmeta-simulator/server.ts';
import type { LocalRuntime } from '../local/server.ts';
import { uploadMetadata } from '../test/support/events.ts';
import { startWebhookReceiver } from '../test/support/webhook-receiver.ts';

export interface LoadOptions {
  /** Distinct verification ids. */
  n: number;
  /** Requests in flight (API requests, and uploads until their verdict is seen). */
  concurrency: number;
  /** Share (0-1) of IDmeta facematch calls the simulator answers with `faultStatus`. */
  faultRate: number;
  /** Default 503: a status the IDmeta client retries. */
  faultStatus?: number;
  /** Share (0-1) of ids sent twice; default 0.1. */
  duplicateShare?: number;
  /** Nothing is sent after this (from the start); default 10 minutes. */
  timeoutMs?: number;
  /** Simulated IDmeta latency per call; default 5 ms. */
  idmetaLatencyMs?: number;
  /**
   * `IDMETA_TIMEOUT_MS`; default 8000 (the service's default). Generous on purpose: a timed-out
   * call that IDmeta did answer is retried, and on a saturated event loop a short timeout would
   * measure the loop, not IDmeta.
   */
  idmetaTimeoutMs?: number;
  /** `IDMETA_MAX_ATTEMPTS`; default 3. */
  idmetaMaxAttempts?: number;
  /** The queue's `maxReceiveCount`; default 5. */
  maxReceiveCount?: number;
  /** Queue redelivery delay (SQS visibility timeout); default 100 ms. */
  queueRetryDelayMs?: number;
  /** Silences Powertools logs and metrics (set before the runtime's modules load); default true. */
  quiet?: boolean;
  /** A progress line now and then (bench output). */
  onProgress?: (line: string) => void;
  /** The `fetch` for API calls; the test passes one that checks each answer against /openapi.json. */
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
}

export type FinalState = 'COMPLETED' | 'FAILED' | 'DEAD_LETTERED';

export interface IdOutcome {
  id: string;
  /** False only for an id the run never got to (timed out). */
  sent: boolean;
  entrance: 'api' | 's3';
  duplicated: boolean;
  /** Null: lost (no record, or not final and not dead-lettered), or never sent. */
  final: FinalState | null;
  /** The stored status (or null without a record). */
  status: string | null;
  /** `error.code` of a FAILED or dead-lettered record. */
  reason: string | null;
  /** The record's reasons (NIK_VELOCITY explains an APPROVED person's REVIEW). */
  reasons: string[];
  decision: Decision | null;
  expectedDecision: Decision;
  /** Facematch calls answered 2xx: paid. */
  paidCalls: number;
  /** Facematch calls answered with anything else (injected faults). */
  faultedCalls: number;
  /** API: first POST to final answer (client retries included). S3: upload start to the record's completion. */
  latencyMs: number | null;
  /** When the id reached its final state, from the run's start (as `latencyMs` measures it). */
  doneAtMs: number | null;
}

export interface LatencyStats {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface LoadReport {
  sent: number;
  /** Planned ids never tried because the run timed out. */
  notSent: number;
  /** Every POST and PutObject sent, duplicates and client retries included. */
  requests: number;
  duplicates: number;
  completed: number;
  failedWithReason: number;
  /** Part of `failedWithReason`. */
  deadLettered: number;
  failedReasons: Record<string, number>;
  /** Part of `failedWithReason`: ids refused for NIK velocity before any IDmeta call. */
  velocityRefusals: number;
  lost: number;
  lostIds: string[];
  extraIdmetaCalls: number;
  paidIdmetaCalls: number;
  faultedIdmetaCalls: number;
  /** COMPLETED records whose decision is not the one the registry person implies. */
  wrongVerdicts: number;
  /** API answers (first or replay) whose status or decision differs from the stored verdict. */
  answerMismatches: number;
  /** `GET /verifications/{id}` sent to watch uploads. */
  polls: number;
  /** Retries of the load's own API client (5xx, 409 in progress, network errors), by cause. */
  clientRetries: Record<string, number>;
  /** Answers the load's API client gave up on (after its retries). */
  clientErrors: Record<string, number>;
  /** Messages the local queue dead-lettered. */
  queueDeadLetters: number;
  /** Lines the runtime printed (dead letters, ...), without the verdict-event lines. */
  runtimeLog: string[];
  /**
   * Verdict events the local runtime appended to `<data dir>/events.jsonl`, per final
   * (COMPLETED/FAILED) id: announced, never announced, announced more than once. Publishing is
   * best effort by design, so these are reported, not failed on.
   */
  verdictEvents: { announced: number; missing: number; duplicated: number };
  /**
   * The local webhook sender's work, seen by a loopback receiver that verifies every signature
   * with the Standard Webhooks library: events of events.jsonl delivered (2xx), delivered more than
   * once (same webhook-id), never delivered, and requests whose signature the library refused.
   */
  webhooks: { delivered: number; duplicates: number; lost: number; badSignatures: number };
  /**
   * Objects still under `incoming/` at the end. The verdict deletes its selfie
   * (SELFIE_DELETE_AFTER_VERDICT, default true); a duplicate upload that arrives after the
   * verdict is answered from the record and its object stays until the bucket's lifecycle rule.
   */
  selfiesLeft: number;
  latency: { api: LatencyStats; apiReplay: LatencyStats; s3: LatencyStats; all: LatencyStats };
  wallMs: number;
  /**
   * The one process everything runs in (runtime, servers, simulator and this load): how busy its
   * event loop was (utilisation 0-1), how late its timers fired, and the CPU it used per wall
   * second (above 1 means worker threads, e.g. LevelDB, helped).
   */
  process: {
    eventLoopUtilisation: number;
    loopDelayP50Ms: number;
    loopDelayP99Ms: number;
    cpuPerWallSecond: number;
  };
  /** From the start to the last final state of each half: which entrance is the long pole. */
  doneAtMs: { api: number | null; s3: number | null };
  throughputPerSecond: number;
  timedOut: boolean;
  ids: IdOutcome[];
}

const LOOPBACK = '127.0.0.1';
const TOKEN = 'load-sim-token';
const TEMPLATE_ID = 'load-trust-flow';
const REGION = 'ap-southeast-3';
/** The thresholds the runtime runs with; the expected verdicts are derived from them. */
const APPROVE_THRESHOLD = 75;
const REJECT_THRESHOLD = 40;
/** The load's API client: a 5xx or an in-progress 409 is retried this often, with backoff. */
const CLIENT_MAX_ATTEMPTS = 6;
/** How long one upload's verdict is polled for before the id is left to the final count. */
const POLL_CAP_MS = 60_000;
/**
 * Polling backs off from the first to the largest interval. The latency is taken from the
 * record's completion time, not from the poll that saw it, so the interval only decides how soon
 * the worker moves on, and how much of the (shared, single-threaded) runtime the polls eat.
 */
const POLL_FIRST_MS = 50;
const POLL_MAX_MS = 500;
const ACCOUNTING_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// The plan: which id goes where, with which person, and when it is sent again.

interface Subject {
  index: number;
  id: string;
  entrance: 'api' | 's3';
  person: SimPerson;
  selfie: ReferenceSelfie;
  expectedDecision: Decision;
  duplicated: boolean;
}

interface Task {
  subject: Subject;
  duplicate: boolean;
}

/** The decision facematch's policy gives a registry person's own reference selfie. */
function expectedDecisionOf(person: SimPerson, score: string): Decision {
  const similarity = Number(score);
  if (similarity < REJECT_THRESHOLD) return 'REJECTED';
  if (similarity >= APPROVE_THRESHOLD && person.risk_rating !== 'HIGH') return 'APPROVED';
  return 'REVIEW';
}

/** `k` indices spread evenly over `items`. */
function spread<T>(items: T[], k: number): T[] {
  const picked: T[] = [];
  for (let j = 0; j < k && items.length > 0; j++) {
    const item = items[Math.floor(((j + 0.5) * items.length) / k)];
    if (item !== undefined) picked.push(item);
  }
  return picked;
}

export function planLoad(options: {
  n: number;
  concurrency: number;
  duplicateShare: number;
  runId: string;
}): { subjects: Subject[]; tasks: Task[] } {
  const people = loadRegistry().people;
  const selfies = new Map<string, ReferenceSelfie>();
  const selfieOf = (person: SimPerson, image: number) => {
    const key = `${person.nik}#${image}`;
    let selfie = selfies.get(key);
    if (selfie === undefined) {
      selfie = referenceSelfie(person.nik, image);
      selfies.set(key, selfie);
    }
    return selfie;
  };

  const subjects: Subject[] = [];
  for (let index = 0; index < options.n; index++) {
    // Both entrances see every person: consecutive pairs share one.
    const pair = Math.floor(index / 2);
    const person = people[pair % people.length] as SimPerson;
    const image = Math.floor(pair / people.length) % person.reference_images.length;
    const selfie = selfieOf(person, image);
    subjects.push({
      index,
      id: `load-${options.runId}-${String(index).padStart(5, '0')}`,
      entrance: index % 2 === 0 ? 'api' : 's3',
      person,
      selfie,
      expectedDecision: expectedDecisionOf(person, selfie.score),
      duplicated: false,
    });
  }

  // Duplicates split evenly between the entrances.
  const duplicates = Math.round(options.n * options.duplicateShare);
  const api = subjects.filter((subject) => subject.entrance === 'api');
  const s3 = subjects.filter((subject) => subject.entrance === 's3');
  const apiDuplicates = Math.ceil(duplicates / 2);
  for (const subject of [
    ...spread(api, apiDuplicates),
    ...spread(s3, duplicates - apiDuplicates),
  ]) {
    subject.duplicated = true;
  }

  // A duplicate follows its original at a varying distance: right behind it (both in flight at
  // once), a few slots later, or well after its verdict.
  const offsets = [1, Math.max(2, Math.floor(options.concurrency / 2)), 4 * options.concurrency];
  const tasks: Task[] = subjects.map((subject) => ({ subject, duplicate: false }));
  const inserts = subjects
    .filter((subject) => subject.duplicated)
    .map((subject, j) => ({
      at: subject.index + (offsets[j % offsets.length] as number),
      task: { subject, duplicate: true },
    }))
    .sort((a, b) => b.at - a.at);
  for (const { at, task } of inserts) tasks.splice(Math.min(at, tasks.length), 0, task);
  return { subjects, tasks };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function latencyStats(values: number[]): LatencyStats {
  if (values.length === 0) return { count: 0, p50: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank.
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
  return {
    count: sorted.length,
    p50: rank(0.5),
    p99: rank(0.99),
    max: sorted[sorted.length - 1] as number,
  };
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Resolves with the promise's value, or `fallback` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(fallback), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const isFinalStatus = (status: unknown) => status === 'COMPLETED' || status === 'FAILED';

interface StoredRow {
  verification_id: string;
  status?: string;
  decision?: Decision | null;
  reasons?: string[];
  error?: { code?: string };
  completed_at?: string;
  updated_at?: string;
}

/** The registry's decision, or REVIEW for an APPROVED person whose NIK hit velocity's review. */
function isExpectedVerdict(outcome: IdOutcome): boolean {
  if (outcome.decision === outcome.expectedDecision) return true;
  return (
    outcome.expectedDecision === 'APPROVED' &&
    outcome.decision === 'REVIEW' &&
    outcome.reasons.includes('NIK_VELOCITY')
  );
}

function finalStateOf(row: StoredRow | undefined): FinalState | null {
  if (row === undefined) return null;
  if (row.status === 'COMPLETED' || row.status === 'FAILED') return row.status;
  return row.error?.code === 'DEAD_LETTERED' ? 'DEAD_LETTERED' : null;
}

/** When the record reached its final state, by the server's clock (the same process). */
function finishedAt(row: StoredRow): number | null {
  const at = Date.parse(row.completed_at ?? row.updated_at ?? '');
  return Number.isNaN(at) ? null : at;
}

function assertLoopback(...urls: string[]): void {
  for (const url of urls) {
    if (new URL(url).hostname !== LOOPBACK)
      throw new Error(`load targets ${LOOPBACK} only: ${url}`);
  }
}

/** Environment the runtime's modules read when they load; returns the undo. */
function quietEnvironment(): () => void {
  const wanted: Record<string, string> = {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(wanted)) {
    previous.set(name, process.env[name]);
    process.env[name] = value;
  }
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// The run

interface Observed {
  /** API: the first POST's start; S3: the first upload's start. */
  startedAt?: number;
  /** API: when the final answer came back. */
  answeredAt?: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const {
    n,
    concurrency,
    faultRate,
    faultStatus = 503,
    duplicateShare = 0.1,
    timeoutMs = 10 * 60_000,
    idmetaLatencyMs = 5,
    idmetaTimeoutMs = 8_000,
    idmetaMaxAttempts = 3,
    maxReceiveCount = 5,
    queueRetryDelayMs = 100,
    quiet = true,
    onProgress,
  } = options;
  if (!Number.isInteger(n) || n < 1) throw new Error('n must be a positive integer');
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error('concurrency must be a positive integer');
  }
  if (!(faultRate >= 0 && faultRate <= 1)) throw new Error('faultRate must be from 0 to 1');

  const restoreEnvironment = quiet ? quietEnvironment() : () => undefined;
  const runId = Date.now().toString(36);
  const { subjects, tasks } = planLoad({ n, concurrency, duplicateShare, runId });
  const observed = new Map<string, Observed>(subjects.map((subject) => [subject.id, {}]));
  const apiReplayLatencies: number[] = [];
  const clientErrors: Record<string, number> = {};
  const runtimeLog: string[] = [];
  let requests = 0;
  const clientRetries: Record<string, number> = {};
  let answerMismatches = 0;
  let polls = 0;

  const dataDir = await mkdtemp(join(tmpdir(), 'facematch-load-'));
  const cleanups: Array<() => Promise<void> | void> = [
    () => rm(dataDir, { recursive: true, force: true }),
    restoreEnvironment,
  ];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) {
      await within(
        Promise.resolve(cleanup()).catch(() => undefined),
        15_000,
        undefined,
      );
    }
  };

  try {
    // The simulator is started here rather than by the runtime: only here can it take a fault rate.
    const simulator: IdmetaSimulator = await startIdmetaSimulator({
      host: LOOPBACK,
      port: 0,
      tokens: [TOKEN],
      latencyMs: idmetaLatencyMs,
      faultRate: { probability: faultRate, status: faultStatus },
    });
    cleanups.push(() => simulator.close());
    // Every verdict event also goes out as a signed webhook, as WEBHOOK_URL makes npm start do.
    const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const receiver = await startWebhookReceiver(webhookSecret, () => 204);
    cleanups.push(() => receiver.close());
    // Loaded only now: Powertools reads its log level when lambda/observability.ts loads.
    const { startLocalRuntime } = await import('../local/server.ts');
    const local: LocalRuntime = await startLocalRuntime({
      port: 0,
      s3Port: 0,
      dynamoPort: 0,
      simulatorPort: 0,
      dataDir,
      queueRetryDelayMs,
      maxReceiveCount,
      // Not process.env: a real IDMETA_BASE_URL in the caller's shell must never be paid for.
      env: {
        IDMETA_BASE_URL: simulator.url,
        IDMETA_TOKEN: TOKEN,
        IDMETA_TEMPLATE_ID: TEMPLATE_ID,
        IDMETA_TIMEOUT_MS: String(idmetaTimeoutMs),
        IDMETA_MAX_ATTEMPTS: String(idmetaMaxAttempts),
        APPROVE_THRESHOLD: String(APPROVE_THRESHOLD),
        REJECT_THRESHOLD: String(REJECT_THRESHOLD),
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: webhookSecret,
      },
      log: (line) => {
        // One line per verdict event and per delivered webhook: counted from events.jsonl and
        // the receiver instead.
        if (!line.startsWith('event ') && !/^webhook .*: delivered/.test(line)) {
          runtimeLog.push(line);
        }
      },
    });
    cleanups.push(() => local.stop());
    assertLoopback(local.apiUrl, local.s3Endpoint, local.dynamoEndpoint, simulator.url);

    const credentials = () => ({ ...LOCAL_AWS_CREDENTIALS });
    const s3: S3Client = createS3Client({
      region: REGION,
      credentials: credentials(),
      endpoint: local.s3Endpoint,
      maxSockets: concurrency * 2,
    });
    cleanups.push(() => s3.destroy());
    const dynamo = createDynamoClient({
      region: REGION,
      credentials: credentials(),
      endpoint: local.dynamoEndpoint,
    });
    cleanups.push(() => dynamo.destroy());

    const abort = new AbortController();
    const { signal } = abort;
    // Every worker may sleep on it at once (retry backoff, polling).
    setMaxListeners(concurrency + 16, signal);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    cleanups.push(() => {
      loopDelay.disable();
    });
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const started = Date.now();
    const deadline = setTimeout(() => abort.abort(), timeoutMs);
    cleanups.push(() => clearTimeout(deadline));
    // Each request gets its own signal, aborted with the run: fetch and the SDK leave their
    // listeners on the signal they are given, and one shared signal would collect thousands.
    const inFlight = new Set<AbortController>();
    signal.addEventListener('abort', () => {
      for (const controller of inFlight) controller.abort();
    });
    const guarded = async <T>(request: (signal: AbortSignal) => Promise<T>): Promise<T> => {
      const controller = new AbortController();
      if (signal.aborted) controller.abort();
      inFlight.add(controller);
      try {
        return await request(controller.signal);
      } finally {
        inFlight.delete(controller);
      }
    };

    const api = (method: 'GET' | 'POST', path: string, body?: unknown) =>
      guarded(async (requestSignal) => {
        const response = await (options.fetch ?? fetch)(`${local.apiUrl}${path}`, {
          method,
          signal: requestSignal,
          ...(body === undefined
            ? {}
            : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        });
        const text = await response.text();
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // An empty or non-JSON body (a 500 from the local server) carries nothing to read.
        }
        return { status: response.status, body: json };
      });

    /** POSTs until a final answer, retrying what a caller should retry. */
    const postVerification = async (subject: Subject) => {
      const body = {
        verification_id: subject.id,
        nik: subject.person.nik,
        name: subject.person.name,
        date_of_birth: subject.person.date_of_birth,
        selfie_image: subject.selfie.dataUri,
      };
      let last = 'none';
      for (let attempt = 1; attempt <= CLIENT_MAX_ATTEMPTS && !signal.aborted; attempt++) {
        if (attempt > 1) {
          clientRetries[last] = (clientRetries[last] ?? 0) + 1;
          await sleep(100 * 2 ** (attempt - 2), signal);
          if (signal.aborted) break;
        }
        requests += 1;
        try {
          const response = await api('POST', '/verifications', body);
          const code = typeof response.body.code === 'string' ? response.body.code : '';
          const retry =
            response.status >= 500 ||
            (response.status === 409 && code === 'VERIFICATION_IN_PROGRESS');
          if (!retry) return response;
          last = `HTTP ${response.status}${code ? ` ${code}` : ''}`;
        } catch (error) {
          if (signal.aborted) break;
          last = (error as Error).name;
        }
      }
      const key = signal.aborted ? 'aborted' : last;
      clientErrors[key] = (clientErrors[key] ?? 0) + 1;
      return null;
    };

    /** Every API answer, compared with the stored verdict once everything is done. */
    const answers: Array<{ id: string; status: unknown; decision: unknown }> = [];
    const runApi = async (task: Task) => {
      const { subject } = task;
      const seen = observed.get(subject.id) as Observed;
      const at = Date.now();
      if (!task.duplicate) seen.startedAt = at;
      const response = await postVerification(subject);
      if (response === null) return;
      if (task.duplicate) apiReplayLatencies.push(Date.now() - at);
      else seen.answeredAt = Date.now();
      // A velocity refusal (429) is the API's answer for a record stored FAILED.
      const refused = response.status === 429 && response.body.code === 'NIK_VELOCITY_EXCEEDED';
      answers.push({
        id: subject.id,
        status: refused ? 'FAILED' : response.body.status,
        decision: refused ? null : response.body.decision,
      });
    };

    const runS3 = async (task: Task) => {
      const { subject } = task;
      const seen = observed.get(subject.id) as Observed;
      const at = Date.now();
      if (!task.duplicate) seen.startedAt = at;
      const extension = subject.selfie.mime === 'image/png' ? 'png' : 'jpg';
      requests += 1;
      try {
        await guarded((requestSignal) =>
          s3.send(
            new PutObjectCommand({
              Bucket: local.bucket,
              Key: `incoming/${subject.id}.${extension}`,
              Body: subject.selfie.bytes,
              ContentType: subject.selfie.mime,
              Metadata: uploadMetadata(subject.person),
            }),
            { abortSignal: requestSignal },
          ),
        );
      } catch (error) {
        const key = signal.aborted ? 'aborted' : `PutObject ${(error as Error).name}`;
        clientErrors[key] = (clientErrors[key] ?? 0) + 1;
        return;
      }
      // The duplicate's own message is waited for with the queue; its original polls the verdict.
      if (task.duplicate) return;
      const until = Math.min(at + POLL_CAP_MS, started + timeoutMs);
      for (
        let wait = POLL_FIRST_MS;
        !signal.aborted && Date.now() < until;
        wait = Math.min(POLL_MAX_MS, wait * 1.5)
      ) {
        await sleep(wait, signal);
        polls += 1;
        try {
          const { status, body } = await api(
            'GET',
            `/verifications/${encodeURIComponent(subject.id)}`,
          );
          const error = body.error as { code?: unknown } | undefined;
          if (status === 200 && (isFinalStatus(body.status) || error?.code === 'DEAD_LETTERED')) {
            return;
          }
        } catch {
          // Aborted, or the server is struggling: the final count reads the table anyway.
        }
      }
    };

    let next = 0;
    let finishedTasks = 0;
    const worker = async () => {
      for (;;) {
        if (signal.aborted) return;
        const task = tasks[next++];
        if (task === undefined) return;
        await (task.subject.entrance === 'api' ? runApi(task) : runS3(task));
        finishedTasks += 1;
      }
    };
    const progress = onProgress
      ? setInterval(() => {
          const seconds = ((Date.now() - started) / 1000).toFixed(0);
          onProgress(`load: ${seconds}s, ${finishedTasks}/${tasks.length} requests done`);
        }, 10_000)
      : undefined;
    cleanups.push(() => clearInterval(progress));

    await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
    // Redeliveries and duplicate notifications still in the queue belong to this run.
    const idle = await within(
      local.queue.idle().then(() => true),
      Math.max(0, started + timeoutMs - Date.now()),
      false,
    );
    const wallMs = Date.now() - started;
    loopDelay.disable();
    const busy = performance.eventLoopUtilization(elu).utilization;
    const cpuUsed = process.cpuUsage(cpu);
    clearTimeout(deadline);
    clearInterval(progress);
    const timedOut = signal.aborted || !idle;

    // The accounting: the table is the truth, the simulator's log says what was paid.
    const rows = await within(scanTable(dynamo, local.tableName), ACCOUNTING_TIMEOUT_MS, null);
    if (rows === null) throw new Error('the verdict table could not be read for the final count');
    const byId = new Map(rows.map((row) => [row.verification_id, row]));
    const calls = new Map<string, { paid: number; faulted: number }>();
    for (const call of simulator.calls()) {
      if (call.endpoint !== 'dukcapilfacematch' || call.verificationId === undefined) continue;
      const count = calls.get(call.verificationId) ?? { paid: 0, faulted: 0 };
      if (call.httpStatus >= 200 && call.httpStatus < 300) count.paid += 1;
      else count.faulted += 1;
      calls.set(call.verificationId, count);
    }

    const ids: IdOutcome[] = subjects.map((subject) => {
      const row = byId.get(subject.id);
      const seen = observed.get(subject.id) as Observed;
      const final = finalStateOf(row);
      const count = calls.get(subject.id) ?? { paid: 0, faulted: 0 };
      let latencyMs: number | null = null;
      if (seen.startedAt !== undefined) {
        if (subject.entrance === 'api' && seen.answeredAt !== undefined) {
          latencyMs = seen.answeredAt - seen.startedAt;
        } else if (subject.entrance === 's3' && row !== undefined && final !== null) {
          const at = finishedAt(row);
          latencyMs = at === null ? null : at - seen.startedAt;
        }
      }
      return {
        id: subject.id,
        sent: seen.startedAt !== undefined,
        entrance: subject.entrance,
        duplicated: subject.duplicated,
        final,
        status: row?.status ?? null,
        reason: final === 'COMPLETED' || final === null ? null : (row?.error?.code ?? 'UNKNOWN'),
        reasons: row?.reasons ?? [],
        decision: row?.decision ?? null,
        expectedDecision: subject.expectedDecision,
        paidCalls: count.paid,
        faultedCalls: count.faulted,
        latencyMs,
        doneAtMs:
          latencyMs === null || seen.startedAt === undefined
            ? null
            : seen.startedAt + latencyMs - started,
      };
    });

    for (const answer of answers) {
      const row = byId.get(answer.id);
      if (row === undefined || answer.status !== row.status || answer.decision !== row.decision) {
        answerMismatches += 1;
      }
    }

    const verdictEvents = await countVerdictEvents(join(dataDir, 'events.jsonl'), ids);
    await within(local.webhooks?.idle() ?? Promise.resolve(), 30_000, undefined);
    const webhooks = await countWebhooks(join(dataDir, 'events.jsonl'), receiver);
    const selfiesLeft = await within(countObjects(s3, local.bucket, 'incoming/'), 30_000, -1);
    const failedReasons: Record<string, number> = {};
    for (const outcome of ids) {
      if (outcome.reason !== null) {
        failedReasons[outcome.reason] = (failedReasons[outcome.reason] ?? 0) + 1;
      }
    }
    const latencies = (entrance?: 'api' | 's3') =>
      ids
        .filter((outcome) => entrance === undefined || outcome.entrance === entrance)
        .flatMap((outcome) => (outcome.latencyMs === null ? [] : [outcome.latencyMs]));
    const lastDone = (entrance: 'api' | 's3') => {
      const times = ids.flatMap((outcome) =>
        outcome.entrance === entrance && outcome.doneAtMs !== null ? [outcome.doneAtMs] : [],
      );
      return times.length === 0 ? null : Math.max(...times);
    };
    const finished = ids.filter((outcome) => outcome.final !== null).length;
    const sentIds = ids.filter((outcome) => outcome.sent);
    const lostIds = sentIds
      .filter((outcome) => outcome.final === null)
      .map((outcome) => outcome.id);

    return {
      sent: sentIds.length,
      notSent: ids.length - sentIds.length,
      requests,
      duplicates: subjects.filter((subject) => subject.duplicated).length,
      completed: ids.filter((outcome) => outcome.final === 'COMPLETED').length,
      failedWithReason: ids.filter(
        (outcome) => outcome.final === 'FAILED' || outcome.final === 'DEAD_LETTERED',
      ).length,
      deadLettered: ids.filter((outcome) => outcome.final === 'DEAD_LETTERED').length,
      failedReasons,
      velocityRefusals: failedReasons.NIK_VELOCITY_EXCEEDED ?? 0,
      lost: lostIds.length,
      lostIds,
      extraIdmetaCalls: ids.reduce((sum, outcome) => sum + Math.max(0, outcome.paidCalls - 1), 0),
      paidIdmetaCalls: ids.reduce((sum, outcome) => sum + outcome.paidCalls, 0),
      faultedIdmetaCalls: ids.reduce((sum, outcome) => sum + outcome.faultedCalls, 0),
      wrongVerdicts: ids.filter(
        (outcome) => outcome.final === 'COMPLETED' && !isExpectedVerdict(outcome),
      ).length,
      answerMismatches,
      polls,
      clientRetries,
      clientErrors,
      queueDeadLetters: local.queue.deadLetters.length,
      runtimeLog,
      verdictEvents,
      webhooks,
      selfiesLeft,
      latency: {
        api: latencyStats(latencies('api')),
        apiReplay: latencyStats(apiReplayLatencies),
        s3: latencyStats(latencies('s3')),
        all: latencyStats(latencies()),
      },
      wallMs,
      process: {
        eventLoopUtilisation: busy,
        loopDelayP50Ms: loopDelay.percentile(50) / 1e6,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        cpuPerWallSecond: (cpuUsed.user + cpuUsed.system) / 1000 / wallMs,
      },
      doneAtMs: { api: lastDone('api'), s3: lastDone('s3') },
      throughputPerSecond: finished / (wallMs / 1000),
      timedOut,
      ids,
    };
  } finally {
    await cleanUp();
  }
}

async function scanTable(
  client: ReturnType<typeof createDynamoClient>,
  tableName: string,
): Promise<StoredRow[]> {
  const documents = createDynamoDocumentClient({ client });
  const rows: StoredRow[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ProjectionExpression:
          'verification_id, #status, decision, reasons, #error, completed_at, updated_at',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    rows.push(...((page.Items ?? []) as StoredRow[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return rows;
}

async function countObjects(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    count += page.KeyCount ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return count;
}

/** Events per id in the local runtime's events file (one EventBridge-shaped JSON per line). */
async function countVerdictEvents(
  file: string,
  ids: IdOutcome[],
): Promise<LoadReport['verdictEvents']> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const perId = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const id = (JSON.parse(line) as { detail?: { verification_id?: unknown } }).detail
        ?.verification_id;
      if (typeof id === 'string') perId.set(id, (perId.get(id) ?? 0) + 1);
    } catch {
      // A torn last line of an interrupted append: not an announcement.
    }
  }
  const finals = ids.filter(
    (outcome) => outcome.final === 'COMPLETED' || outcome.final === 'FAILED',
  );
  return {
    announced: finals.filter((outcome) => (perId.get(outcome.id) ?? 0) > 0).length,
    missing: finals.filter((outcome) => (perId.get(outcome.id) ?? 0) === 0).length,
    duplicated: finals.filter((outcome) => (perId.get(outcome.id) ?? 0) > 1).length,
  };
}

/** Each event of the events file against what the receiver accepted, by webhook-id. */
async function countWebhooks(
  file: string,
  receiver: Awaited<ReturnType<typeof startWebhookReceiver>>,
): Promise<LoadReport['webhooks']> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const eventIds = new Set<string>();
  for (const line of text.split('\n')) {
    try {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id === 'string') eventIds.add(id);
    } catch {
      // A blank or torn line: no event.
    }
  }
  const deliveries = new Map<string, number>();
  for (const id of receiver.delivered) deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
  return {
    delivered: [...eventIds].filter((id) => deliveries.has(id)).length,
    duplicates: [...deliveries.values()].filter((count) => count > 1).length,
    lost: [...eventIds].filter((id) => !deliveries.has(id)).length,
    badSignatures: receiver.rejected().length,
  };
}

const ms = (value: number | null) => (value === null ? '-' : String(Math.round(value)));

/** The bench's table: API vs S3 (and the replays), count and latency percentiles. */
export function latencyTable(report: LoadReport): string {
  const rows: Array<[string, LatencyStats]> = [
    ['api (POST to verdict)', report.latency.api],
    ['api replay', report.latency.apiReplay],
    ['s3 (upload to verdict)', report.latency.s3],
    ['all ids', report.latency.all],
  ];
  const lines = [
    `${'path'.padEnd(24)}${'count'.padStart(7)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}`,
  ];
  for (const [name, stats] of rows) {
    lines.push(
      `${name.padEnd(24)}${String(stats.count).padStart(7)}${ms(stats.p50).padStart(9)}${ms(stats.p99).padStart(9)}${ms(stats.max).padStart(9)}`,
    );
  }
  return lines.join('\n');
}

/** The webhook line of a run. */
export function webhookLine(report: LoadReport): string {
  const { delivered, duplicates, lost, badSignatures } = report.webhooks;
  return `webhooks: delivered=${delivered} duplicates=${duplicates} lost=${lost}${badSignatures > 0 ? ` bad_signatures=${badSignatures}` : ''}`;
}

/** The one line a run ends with. */
export function summaryLine(report: LoadReport): string {
  return (
    `load: sent=${report.sent} completed=${report.completed} ` +
    `failed_with_reason=${report.failedWithReason} lost=${report.lost} ` +
    `extra_idmeta_calls=${report.extraIdmetaCalls} ` +
    `throughput=${report.throughputPerSecond.toFixed(1)}/s ` +
    `p50=${ms(report.latency.all.p50)} p99=${ms(report.latency.all.p99)} ` +
    `velocity_refusals=${report.velocityRefusals}`
  );
}
