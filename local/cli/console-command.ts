/** `facematch console`: the operator console on loopback, proxying to a (deployed) API. */
import { spawn } from 'node:child_process';
import { startConsoleProxy } from '../console/proxy.ts';
import {
  type CredentialsSource,
  isLoopbackHost,
  parseEndpoint,
  regionFromHost,
} from './api-client.ts';
import { parseCommandArgs, requireOptions } from './args.ts';
import type { CliContext } from './context.ts';
import { CliError, UsageError } from './errors.ts';

export const CONSOLE_USAGE = `usage: facematch console --endpoint URL [--port N] [--no-open]

Serves the operator console on http://127.0.0.1:<port>/console and passes its API calls to URL,
signed with SigV4 (execute-api; region from the host, else AWS_REGION) with the standard AWS
credentials (AWS_PROFILE, ~/.aws, SSO, environment, instance or container role). The credentials
stay in this process: the page only ever talks to 127.0.0.1. A loopback URL (npm start) is
called unsigned. Ctrl-C stops it.

options:
  --endpoint URL           the API, e.g. https://abc.execute-api.ap-southeast-3.amazonaws.com/prod
  --port N                 the local port (default: a free one)
  --no-open                print the address, do not open a browser
  --approve-threshold N    the face similarity gauge's approve mark (default 75)
  --reject-threshold N     its reject mark (default 40)
  -h, --help               this text`;

const OPTIONS = {
  endpoint: { type: 'string' },
  port: { type: 'string' },
  'no-open': { type: 'boolean' },
  'approve-threshold': { type: 'string' },
  'reject-threshold': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function numberOption(text: string | undefined, name: string, fallback: number, max: number) {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new UsageError(
      `--${name} must be an integer from 0 to ${max} (got "${text}")`,
      CONSOLE_USAGE,
    );
  }
  return value;
}

/** The platform's "open this URL"; no browser (a server, a container) is fine: the URL is printed. */
export function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // Nothing to open it with: the printed address is enough.
  }
}

/**
 * The standard AWS credential chain, resolved once now (no credentials: say so before serving a
 * page that cannot work) and then cached by the SDK until they near expiry, not per API call.
 */
async function standardCredentials(
  endpoint: string,
  env: CliContext['env'],
): Promise<CredentialsSource | undefined> {
  const url = parseEndpoint(endpoint);
  if (isLoopbackHost(url.hostname)) return undefined;
  const region = regionFromHost(url.hostname) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const provider = fromNodeProviderChain(region ? { clientConfig: { region } } : {});
  try {
    await provider();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `no AWS credentials to sign the console's calls with (standard chain: AWS_PROFILE and ` +
        `~/.aws, SSO, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, container or instance role): ${reason}`,
    );
  }
  return () => provider();
}

export async function runConsole(argv: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(argv, OPTIONS, CONSOLE_USAGE);
  if (parsed === 'help') {
    context.io.stdout.write(`${CONSOLE_USAGE}\n`);
    return 0;
  }
  const { values } = parsed;
  requireOptions(values, ['endpoint'], CONSOLE_USAGE);
  const port = numberOption(values.port, 'port', 0, 65535);
  const approve = numberOption(values['approve-threshold'], 'approve-threshold', 75, 100);
  const reject = numberOption(values['reject-threshold'], 'reject-threshold', 40, 100);
  if (reject > approve) {
    throw new UsageError('--reject-threshold must not be above --approve-threshold', CONSOLE_USAGE);
  }

  const endpoint = values.endpoint as string;
  const credentials = context.credentials ?? (await standardCredentials(endpoint, context.env));
  const proxy = await startConsoleProxy({
    endpoint,
    port,
    env: context.env,
    fetch: context.fetch,
    credentials,
    now: context.now,
    thresholds: { approve, reject },
  }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(`port ${port} is in use: choose another with --port, or leave it out`);
    }
    throw error;
  });
  const signing = proxy.signingRegion
    ? `signed with SigV4 (execute-api, ${proxy.signingRegion})`
    : 'unsigned (loopback)';
  context.io.stdout.write(
    `facematch console: ${proxy.url}\n  API calls go to ${values.endpoint}, ${signing}\n  Ctrl-C stops it.\n`,
  );
  if (values['no-open'] !== true) (context.openBrowser ?? openInBrowser)(proxy.url);

  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    if (context.stop) {
      if (context.stop.aborted) stop();
      context.stop.addEventListener('abort', stop, { once: true });
      return;
    }
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await proxy.close();
  return 0;
}
