/**
 * Peak memory of one verification of a 5 MiB selfie read from S3 (s3rver), measured in a fresh
 * child process that holds nothing but the runtime: dynalite, s3rver and the IDmeta simulator
 * run in the parent, so their copies of the image never count.
 *
 * In the child, every verification goes through the same path (`selfie_s3_key`: HEAD + GET,
 * IDmeta, DynamoDB, DELETE) and starts from a settled heap (full GC); its baseline is the RSS it
 * starts from and its peak the kernel's RSS high-water mark, reset at the start
 * (`/proc/self/clear_refs` = 5) and read (VmHWM) at the end, so peaks inside synchronous work
 * that a timer could never sample count too; a 1 ms sampler runs alongside as a cross-check.
 * The 6 KB reference selfie is measured the same way just before, for what any verification
 * costs whatever its selfie.
 *
 * The child runs as Lambda's Node runtime starts node: with `--expose-gc`, which the runtime uses
 * to hand back the HTTP stack's copies of a large read as it goes (lambda/adapters/young-garbage.ts).
 * With `exposeGc: false` the child runs without the flag, as a local run does (and settles with a
 * `gc` of its own that the runtime cannot see).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AwsClientOptions } from '../lambda/adapters/aws-clients.ts';
import { parseConfig } from '../lambda/config.ts';
import { verify } from '../lambda/core/verify.ts';
import { createRuntime } from '../lambda/runtime.ts';
import { LOCAL_AWS_CREDENTIALS } from '../local/aws-servers.ts';
import { LOCAL_AWS_REGION } from '../test/support/local-aws.ts';
import { startTestRuntime } from '../test/support/runtime.ts';
import { runChild } from './child-process.ts';
import { budget, SELFIE, s3Request } from './fixtures.ts';
import { median } from './stats.ts';

export const SELFIE_BYTES = 5 * 1024 * 1024;

/**
 * A valid JPEG of exactly `size` bytes: the reference selfie with comment (COM) segments inserted
 * after its start-of-image marker. Every decoder, and our structure check, walks past them.
 */
export function paddedJpeg(jpeg: Uint8Array, size: number): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  const out = Buffer.alloc(size);
  out[0] = 0xff;
  out[1] = 0xd8;
  let at = 2;
  let room = size - jpeg.byteLength;
  while (room > 0) {
    // A segment is FF FE, a 2-byte length (that counts itself), then the comment: 4..65537 bytes.
    let segment = Math.min(room, 65_537);
    if (room - segment > 0 && room - segment < 4) segment -= 4;
    if (segment < 4) throw new Error(`cannot pad a JPEG by ${room} bytes`);
    out[at] = 0xff;
    out[at + 1] = 0xfe;
    out.writeUInt16BE(segment - 2, at + 2);
    out.fill(0x20, at + 4, at + segment);
    at += segment;
    room -= segment;
  }
  out.set(jpeg.subarray(2), at);
  return out;
}

interface RssChildInput {
  env: Record<string, string>;
  aws: { dynamodb: AwsClientOptions; s3: AwsClientOptions };
  /** Small selfies: the warm-up ones, then the one whose peak is the baseline. */
  smallKeys: string[];
  bigKey: string;
}

/** One measured verification: RSS when it started (after a full GC) and its peak. */
export interface Peak {
  startBytes: number;
  /** VmHWM; null where the high-water mark cannot be reset. */
  hwmBytes: number | null;
  /** The largest RSS a 1 ms `process.memoryUsage.rss()` sampler saw (a cross-check). */
  sampledBytes: number;
}

export interface RssChildResult {
  /** The last 6 KB reference selfie, verified just before the big one. */
  small: Peak;
  big: Peak;
  decision: string | null;
}

function procStatusBytes(field: 'VmRSS' | 'VmHWM'): number | null {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync('/proc/self/status', 'utf8'),
  );
  return match?.[1] === undefined ? null : Number(match[1]) * 1024;
}

/** Resets the kernel's high-water mark to the current RSS; false where that is not allowed. */
function resetHighWaterMark(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * The same starting point for every measured verification: a full GC, twice (the second
 * collects what the first finalised), and a pause for the sweeper. Without it, the baseline
 * carried 15 MiB more or less of dead but unreturned memory from run to run, which the next
 * verification reused or not.
 */
/**
 * The child's own `gc`: the global one under `--expose-gc`; otherwise one from a fresh context
 * after setting the flag, which leaves `globalThis.gc` undefined for the runtime, as locally.
 */
function settlingGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

let gc: (() => void) | undefined;

async function settle(): Promise<void> {
  gc ??= settlingGc();
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Verifies the object at `key` from a settled heap; its start and peak RSS, and decision. */
async function peakOf(
  runtime: ReturnType<typeof createRuntime>,
  key: string,
): Promise<Peak & { decision: string | null }> {
  const id = key.slice('incoming/'.length, key.lastIndexOf('.'));
  const request = s3Request(id, key);
  await settle();
  const hwmUsable = resetHighWaterMark();
  const startBytes = procStatusBytes('VmRSS') ?? process.memoryUsage.rss();
  let sampledBytes = startBytes;
  const sampler = setInterval(() => {
    sampledBytes = Math.max(sampledBytes, process.memoryUsage.rss());
  }, 1);
  try {
    const outcome = await verify(request, runtime.deps, budget());
    return {
      startBytes,
      hwmBytes: hwmUsable ? procStatusBytes('VmHWM') : null,
      sampledBytes: Math.max(sampledBytes, process.memoryUsage.rss()),
      decision: outcome.record.decision,
    };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Child: warm-up verifications of small selfies through the same S3 path (code loaded, sockets
 * open, heap at its working size), the last one measured, then the 5 MiB one.
 */
export async function rssChild(input: RssChildInput): Promise<RssChildResult> {
  const runtime = createRuntime(parseConfig(input.env), { busyWaitMs: 0, aws: input.aws });
  await runtime.prefetch();
  let small: (Peak & { decision: string | null }) | undefined;
  for (const key of input.smallKeys) {
    small = await peakOf(runtime, key);
    if (small.decision === null) throw new Error('a small verification has no decision');
  }
  if (small === undefined) throw new Error('no small selfie to warm up with');
  const { decision, ...big } = await peakOf(runtime, input.bigKey);
  const { decision: _small, ...smallPeak } = small;
  return { small: smallPeak, big, decision };
}

/** What a verification added to the RSS it started from: by VmHWM, else as sampled. */
export const rise = (peak: Peak): number => (peak.hwmBytes ?? peak.sampledBytes) - peak.startBytes;

export interface RssResult {
  selfieBytes: number;
  runs: RssChildResult[];
  /** Median over the runs of the 5 MiB verification's peak minus its starting RSS. */
  aboveBaselineBytes: number;
  maxAboveBaselineBytes: number;
  method: 'VmHWM' | 'sampled';
  exposeGc: boolean;
}

async function put(client: S3Client, bucket: string, key: string, body: Uint8Array) {
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'image/jpeg' }),
  );
}

/** Parent: servers here, one fresh child per run. */
export async function measureRss(options: { runs: number; exposeGc: boolean }): Promise<RssResult> {
  const t = await startTestRuntime();
  try {
    const big = paddedJpeg(SELFIE.bytes, SELFIE_BYTES);
    const { s3Client, bucket } = t.localAws;
    const aws = {
      dynamodb: {
        region: LOCAL_AWS_REGION,
        endpoint: t.localAws.dynamoEndpoint,
        credentials: { ...LOCAL_AWS_CREDENTIALS },
      },
      s3: {
        region: LOCAL_AWS_REGION,
        endpoint: t.localAws.s3Endpoint,
        credentials: { ...LOCAL_AWS_CREDENTIALS },
      },
    };
    const runs: RssChildResult[] = [];
    for (let run = 0; run < options.runs; run++) {
      // Selfies are deleted after their verdict: each run uploads its own pair (and table rows).
      const table = await t.createTable();
      const smallKeys = [1, 2, 3].map((i) => `incoming/rss-${run}-small-${i}.jpg`);
      const bigKey = `incoming/rss-${run}-big.jpg`;
      for (const key of smallKeys) await put(s3Client, bucket, key, SELFIE.bytes);
      await put(s3Client, bucket, bigKey, big);
      const result = await runChild<RssChildResult>('rss', {
        input: {
          env: {
            ...t.env,
            VERDICT_TABLE_NAME: table,
            SELFIE_MAX_BYTES: String(SELFIE_BYTES),
          },
          aws,
          smallKeys,
          bigKey,
        } satisfies RssChildInput,
        execArgv: options.exposeGc ? ['--expose-gc'] : [],
        timeoutMs: 120_000,
      });
      if (result.decision === null) throw new Error('the 5 MiB verification has no decision');
      runs.push(result);
    }
    const method = runs.every((run) => run.big.hwmBytes !== null) ? 'VmHWM' : 'sampled';
    const above = runs.map((run) => rise(run.big));
    return {
      selfieBytes: big.byteLength,
      runs,
      aboveBaselineBytes: median(above),
      maxAboveBaselineBytes: Math.max(...above),
      method,
      exposeGc: options.exposeGc,
    };
  } finally {
    await t.stop();
  }
}
