/**
 * `npm run bench:load`: N verifications through the whole local stack at concurrency C, half
 * through the API and half through S3 uploads, 10 % sent twice, FAULT_RATE of IDmeta calls
 * answered 503. See bench/load-runner.ts for the mix and the exact meaning of every counter.
 *
 *   npm run bench:load                      # N=1000 C=32 FAULT_RATE=0.05
 *   N=100 C=16 npm run bench:load           # or: npm run bench:load -- N=100 C=16
 *
 * Counters of the last line:
 * - sent: distinct verification ids tried (duplicates and retries are extra requests, not ids;
 *   fewer than N only when the run timed out);
 * - completed: COMPLETED; failed_with_reason: FAILED with error.code, plus dead-lettered
 *   (PENDING with error.code DEAD_LETTERED); lost: no record, or PENDING/PROCESSING without
 *   DEAD_LETTERED (sent = completed + failed_with_reason + lost);
 * - extra_idmeta_calls: sum over ids of max(0, facematch calls answered 2xx - 1). Calls the
 *   simulator answered with an injected fault are retries that fault forced, not payments;
 * - throughput: distinct ids with a final state / wall seconds (first request to queue idle);
 * - p50/p99: per distinct id, API: first POST to its verdict (client retries included);
 *   S3: upload start to the record's completion time;
 * - velocity_refusals: ids ended FAILED NIK_VELOCITY_EXCEEDED before any IDmeta call (the
 *   registry's few persons are verified again and again; part of failed_with_reason).
 *
 * - webhooks (the line before): every verdict event is also POSTed, signed, to a loopback
 *   receiver that verifies it with the Standard Webhooks library: events delivered, delivered
 *   more than once, never delivered.
 *
 * Exit code 1 when lost or extra_idmeta_calls is not 0, when a webhook was lost, duplicated or
 * badly signed, or when the run hit LOAD_TIMEOUT_MS (default 10 minutes).
 */
import { latencyTable, runLoad, summaryLine, webhookLine } from './load-runner.ts';

/** `KEY=value` arguments override the environment of the same name. */
function setting(name: string, fallback: number): number {
  const argument = process.argv
    .slice(2)
    .find(
      (arg) =>
        arg.toUpperCase().startsWith(`${name}=`) || arg.startsWith(`--${name.toLowerCase()}=`),
    );
  const text = argument?.slice(argument.indexOf('=') + 1) ?? process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number (got "${text}")`);
  return value;
}

const seconds = (value: number | null) => (value === null ? '-' : `${(value / 1000).toFixed(1)}s`);

const n = setting('N', 1000);
const concurrency = setting('C', 32);
const faultRate = setting('FAULT_RATE', 0.05);
const timeoutMs = setting('LOAD_TIMEOUT_MS', 10 * 60_000);

console.log(`load: N=${n} C=${concurrency} FAULT_RATE=${faultRate} on 127.0.0.1 ...`);
const report = await runLoad({
  n,
  concurrency,
  faultRate,
  timeoutMs,
  onProgress: (line) => console.log(line),
});

console.log('');
console.log(latencyTable(report));
console.log('');
console.log(
  [
    `requests=${report.requests} (duplicates=${report.duplicates}, client retries=${Object.values(report.clientRetries).reduce((a, b) => a + b, 0)}) polls=${report.polls}`,
    `idmeta facematch: paid=${report.paidIdmetaCalls} faulted=${report.faultedIdmetaCalls}`,
    `dead_lettered=${report.deadLettered} queue_dead_letters=${report.queueDeadLetters}`,
    `wrong_verdicts=${report.wrongVerdicts} api_answer_mismatches=${report.answerMismatches}`,
    `selfies left under incoming/: ${report.selfiesLeft}`,
    `verdict events: announced=${report.verdictEvents.announced} missing=${report.verdictEvents.missing} duplicated=${report.verdictEvents.duplicated}`,
    `last verdict: api half at ${seconds(report.doneAtMs.api)}, s3 half at ${seconds(report.doneAtMs.s3)}`,
    `process: event loop busy ${(100 * report.process.eventLoopUtilisation).toFixed(0)} %, ` +
      `timer lag p50 ${report.process.loopDelayP50Ms.toFixed(1)} ms p99 ${report.process.loopDelayP99Ms.toFixed(1)} ms, ` +
      `cpu ${report.process.cpuPerWallSecond.toFixed(2)} s per wall s`,
    `wall=${(report.wallMs / 1000).toFixed(1)}s${report.timedOut ? ` TIMED OUT (${report.notSent} ids never sent)` : ''}`,
  ].join('\n'),
);
if (Object.keys(report.failedReasons).length > 0) {
  console.log(`failed reasons: ${JSON.stringify(report.failedReasons)}`);
}
if (Object.keys(report.clientRetries).length > 0) {
  console.log(`client retried: ${JSON.stringify(report.clientRetries)}`);
}
if (Object.keys(report.clientErrors).length > 0) {
  console.log(`client gave up: ${JSON.stringify(report.clientErrors)}`);
}
if (report.lostIds.length > 0) {
  const shown = report.ids.filter((outcome) => outcome.sent && outcome.final === null).slice(0, 20);
  console.log(`lost ids (first ${shown.length}):`);
  for (const outcome of shown) {
    console.log(
      `  ${outcome.id} ${outcome.entrance} status=${outcome.status ?? 'none'} paid=${outcome.paidCalls} faulted=${outcome.faultedCalls}`,
    );
  }
}
const paidTwice = report.ids.filter((outcome) => outcome.paidCalls > 1);
if (paidTwice.length > 0) {
  console.log(`ids paid more than once (first ${Math.min(20, paidTwice.length)}):`);
  for (const outcome of paidTwice.slice(0, 20)) {
    console.log(
      `  ${outcome.id} ${outcome.entrance} duplicated=${outcome.duplicated} paid=${outcome.paidCalls} faulted=${outcome.faultedCalls} final=${outcome.final}`,
    );
  }
}
for (const line of report.runtimeLog.slice(0, 20)) console.log(`runtime: ${line}`);
console.log(webhookLine(report));
console.log(summaryLine(report));

const webhooksFailed =
  report.webhooks.lost > 0 || report.webhooks.duplicates > 0 || report.webhooks.badSignatures > 0;
process.exitCode =
  report.lost > 0 || report.extraIdmetaCalls > 0 || report.timedOut || webhooksFailed ? 1 : 0;
