/** The one stack of an environment: its name, for the CDK app and for the CLI that finds it. */
export const stackName = (envName: string) => `Facematch-${envName}`;
