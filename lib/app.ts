/**
 * The CDK app as a function of its inputs, so `bin/app.ts` (run by the CDK CLI) and the infra
 * tests build exactly the same thing: one stack `Facematch-<env>`, tagged with its environment,
 * checked at synth by cdk-nag's AwsSolutions pack and the AWS Control Tower proactive controls.
 */
import { App, type AppProps, Tags } from 'aws-cdk-lib';
import type { Code } from 'aws-cdk-lib/aws-lambda';
import { CONFIG_DIR, type FacematchConfig, loadInfraConfig, resolveEnvName } from './config.ts';
import { FacematchStack } from './facematch-stack.ts';
import { acknowledgeControlTowerFindings, addControlTowerChecks } from './iac-checks.ts';
import { addNagChecks } from './nag.ts';
import { stackName } from './stack-name.ts';

export interface FacematchAppOptions extends AppProps {
  /** Defaults to the `env` context value (`-c env=<name>`). */
  envName?: string;
  /** Defaults to `config/<env>.json`. */
  config?: FacematchConfig;
  configDir?: string;
  /** Tests only: skip bundling. */
  functionCode?: Code;
  /**
   * Run the Control Tower proactive controls (cfn-guard) at synth; default true. Tests that
   * synthesize many variants turn it off (a few seconds each); every shipped environment is
   * synthesized with it.
   */
  controlTowerChecks?: boolean;
}

export function createFacematchApp(options: FacematchAppOptions = {}): {
  app: App;
  stack: FacematchStack;
} {
  const {
    envName: givenEnvName,
    config: givenConfig,
    configDir,
    functionCode,
    controlTowerChecks = true,
    ...appProps
  } = options;
  const app = new App(appProps);
  const envName =
    givenEnvName ?? resolveEnvName(app.node.tryGetContext('env'), configDir ?? CONFIG_DIR);
  const config = givenConfig ?? loadInfraConfig(envName, configDir);
  const stack = new FacematchStack(app, stackName(envName), {
    stackName: stackName(envName),
    envName,
    config,
    ...(functionCode === undefined ? {} : { functionCode }),
  });
  Tags.of(stack).add('application', 'facematch');
  Tags.of(stack).add('environment', envName);
  addNagChecks(app);
  acknowledgeControlTowerFindings(stack);
  if (controlTowerChecks) addControlTowerChecks(app);
  return { app, stack };
}
