/**
 * The facematch command line. `serve` runs the embedded runtime; `verify` and `get` call a
 * running API, the local one or a deployed stage (SigV4-signed). Commands write through `io`
 * and return the exit status, so tests run them whole.
 */
import { parseCommandArgs } from './cli/args.ts';
import { CONSOLE_USAGE, runConsole } from './cli/console-command.ts';
import type { CliDeps, CliIo } from './cli/context.ts';
import { CliError, UsageError } from './cli/errors.ts';
import { GET_USAGE, runGet } from './cli/get-command.ts';
import { EXIT, EXIT_STATUS_TEXT } from './cli/output.ts';
import { REDRIVE_USAGE, runRedrive } from './cli/redrive-command.ts';
import { REVIEW_USAGE, REVIEWS_USAGE, runReview, runReviews } from './cli/review-command.ts';
import { runSubject, SUBJECT_USAGE } from './cli/subject-command.ts';
import { runVerify, VERIFY_USAGE } from './cli/verify-command.ts';
import { runWebhooks, WEBHOOKS_USAGE } from './cli/webhooks-command.ts';

export type { CliDeps, CliIo } from './cli/context.ts';

const USAGE = `usage: facematch <command> [options]

commands:
  serve                 run everything locally (API, S3, DynamoDB, IDmeta simulator)
  verify                verify a NIK, name, date of birth and selfie: POST /verifications
  get ID                show a verification: GET /verifications/{ID}
  reviews               the open review queue: GET /verifications?review=open
  review ID             decide a review: POST /verifications/{ID}/review
  subject search|erase  a data subject's access or erasure request (NIK from a file or stdin)
  redrive               move the dead-letter queue back to the selfie queue (deployed stack)
  console               the operator console for a deployed API (SigV4 proxy on 127.0.0.1)
  webhooks ACTION       webhook delivery log: deliveries [--failed], resend ID, test NAME
  help [COMMAND]        this text, or a command's (also: facematch COMMAND --help)

verify and get call --endpoint URL, else $FACEMATCH_ENDPOINT, else http://127.0.0.1:3000.
A loopback endpoint is called as is. Any other (a deployed API Gateway stage, e.g.
https://abc.execute-api.ap-southeast-3.amazonaws.com/prod) must be https and is signed with
SigV4 (execute-api; region from the host, else AWS_REGION) with the standard AWS credentials.

${EXIT_STATUS_TEXT}`;

const SERVE_USAGE = `usage: facematch serve

Runs on 127.0.0.1: the HTTP API (PORT, default 3000), an S3-compatible server (S3_PORT, 4569),
a DynamoDB-compatible server (DYNAMODB_PORT, 8000) and, unless IDMETA_BASE_URL is set, the
IDmeta simulator (IDMETA_SIM_PORT, 4010). State lives in FACEMATCH_DATA_DIR (default
.facematch). With WEBHOOK_URL and WEBHOOK_SECRET (whsec_...) set, every verdict event is also
POSTed there, signed per Standard Webhooks (http allowed to loopback only). Ctrl-C stops
everything.`;

const USAGES: Record<string, string> = {
  serve: SERVE_USAGE,
  verify: VERIFY_USAGE,
  get: GET_USAGE,
  reviews: REVIEWS_USAGE,
  review: REVIEW_USAGE,
  subject: SUBJECT_USAGE,
  redrive: REDRIVE_USAGE,
  console: CONSOLE_USAGE,
  webhooks: WEBHOOKS_USAGE,
};

const defaultIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr });

export async function runCli(
  argv: string[],
  io: CliIo = defaultIo(),
  deps: CliDeps = {},
): Promise<number> {
  const [command, ...rest] = argv;
  const context = { ...deps, io, env: deps.env ?? process.env };
  try {
    switch (command) {
      case 'serve': {
        if (
          parseCommandArgs(rest, { help: { type: 'boolean', short: 'h' } }, SERVE_USAGE) === 'help'
        ) {
          io.stdout.write(`${SERVE_USAGE}\n`);
          return 0;
        }
        // Before the handlers load: Powertools reads this once. Local output is for a person at a
        // terminal; metrics (EMF JSON) only when asked for.
        process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
        const { serve } = await import('./serve.ts');
        await serve();
        return 0;
      }
      case 'verify':
        return await runVerify(rest, context);
      case 'get':
        return await runGet(rest, context);
      case 'reviews':
        return await runReviews(rest, context);
      case 'review':
        return await runReview(rest, context);
      case 'subject':
        return await runSubject(rest, context);
      case 'redrive':
        return await runRedrive(rest, context);
      case 'console':
        return await runConsole(rest, context);
      case 'webhooks':
        return await runWebhooks(rest, context);
      case 'help': {
        const [topic] = rest;
        if (topic === undefined) {
          io.stdout.write(`${USAGE}\n`);
          return 0;
        }
        const usage = USAGES[topic];
        if (!usage) throw new UsageError(`unknown command "${topic}"`, USAGE);
        io.stdout.write(`${usage}\n`);
        return 0;
      }
      case undefined:
      case '--help':
      case '-h':
        io.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`, USAGE);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n\n${error.usage}\n`);
    } else if (error instanceof CliError) {
      io.stderr.write(`error: ${error.message}\n`);
    } else {
      io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    return EXIT.ERROR;
  }
}
