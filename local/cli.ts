const USAGE = `usage: facematch <command> [options]

commands:
  serve                 run everything locally (API, S3, DynamoDB, IDmeta simulator)
  --help                this text`;

export async function runCli(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'serve': {
      // Before the handlers load: Powertools reads this once. Local output is for a person at a
      // terminal; metrics (EMF JSON) only when asked for.
      process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
      const { serve } = await import('./serve.ts');
      await serve();
      return 0;
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}
