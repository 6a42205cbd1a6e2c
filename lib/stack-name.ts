/** What an environment may be called (`-c env=<name>`): it names the stack and its resources. */
export const ENV_NAME = /^[a-z][a-z0-9-]{0,15}$/;

/** The one stack of an environment: its name, for the CDK app and for the CLI that finds it. */
export const stackName = (envName: string) => `Facematch-${envName}`;
