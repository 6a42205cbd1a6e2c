/** Errors the CLI reports as one clear line (and, for bad arguments, the command's usage). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Bad arguments: the message, then the usage of the command that was called. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}
