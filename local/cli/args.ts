/** `node:util` parseArgs with the CLI's rules: strict, `--help` wins, errors carry the usage. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

const asksForHelp = (argv: string[]) => argv.includes('--help') || argv.includes('-h');

/** `'help'` when help was asked for (even next to bad arguments); the parsed arguments otherwise. */
export function parseCommandArgs<const T extends Options>(
  argv: string[],
  options: T,
  usage: string,
  allowPositionals = false,
) {
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals });
    if ((parsed.values as Record<string, unknown>).help === true) return 'help' as const;
    return parsed;
  } catch (error) {
    if (asksForHelp(argv)) return 'help' as const;
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message, usage);
  }
}

export function requireOptions(
  values: Record<string, unknown>,
  names: readonly string[],
  usage: string,
): void {
  const missing = names.filter((name) => {
    const value = values[name];
    return typeof value !== 'string' || value.trim() === '';
  });
  if (missing.length === 0) return;
  const list = missing.map((name) => `--${name}`).join(', ');
  throw new UsageError(`missing required option${missing.length > 1 ? 's' : ''}: ${list}`, usage);
}
