/**
 * Building the app as `cdk synth` does (cdk.json's context, cdk-nag registered) and reading what
 * came out. Fast builds skip bundling and CloudFormation's built-in rule validation (it warms up
 * for seconds per process); environments.test.ts synthesizes every shipped environment for real.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { createFacematchApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/bundling.ts';
import {
  type FacematchConfig,
  type FacematchConfigInput,
  parseInfraConfig,
} from '../../lib/config.ts';
import type { FacematchStack } from '../../lib/facematch-stack.ts';

/** The context `cdk` passes to bin/app.ts: cdk.json's, feature flags included. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export function shippedConfig(envName: string): FacematchConfigInput {
  return JSON.parse(
    readFileSync(join(PROJECT_ROOT, 'config', `${envName}.json`), 'utf8'),
  ) as FacematchConfigInput;
}

/** A shipped environment's config with some fields replaced, validated like a file would be. */
export function configWith(
  envName: string,
  change: (config: FacematchConfigInput) => FacematchConfigInput,
): FacematchConfig {
  return parseInfraConfig(change(structuredClone(shippedConfig(envName))), `test ${envName}`);
}

export interface Synthesized {
  app: App;
  stack: FacematchStack;
  template: Template;
}

/**
 * Synthesizes one environment (cdk-nag runs, and throws on any finding). Apps sharing an `outdir`
 * share their staged bundles: aws-cdk-lib caches bundling per output directory.
 */
export function synthesize(
  envName: string,
  options: {
    config?: FacematchConfig;
    bundle?: boolean;
    outdir?: string;
    /** Run the Control Tower controls too (cfn-guard, seconds per synth). */
    controlTower?: boolean;
  } = {},
): Synthesized {
  const bundle = options.bundle ?? false;
  const { app, stack } = createFacematchApp({
    envName,
    context: { ...cdkJsonContext(), env: envName },
    builtinCloudFormationValidation: bundle,
    controlTowerChecks: options.controlTower ?? false,
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    ...(options.config === undefined ? {} : { config: options.config }),
    ...(bundle ? {} : { functionCode: Code.fromInline('export const handler = async () => {};') }),
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** Builds (without synthesizing) an environment's app with fast, unbundled functions. */
export function buildApp(envName: string, config?: FacematchConfig) {
  return createFacematchApp({
    envName,
    context: { ...cdkJsonContext(), env: envName },
    builtinCloudFormationValidation: false,
    controlTowerChecks: false,
    ...(config === undefined ? {} : { config }),
    functionCode: Code.fromInline('export const handler = async () => {};'),
  });
}

/** cdk-nag's AwsSolutions findings left after the acknowledgements, as readable lines. */
export function nagFindings(scope: App | Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
    ),
  );
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The template's logical id of an L2 construct (its default child) or an L1 resource. */
export function logicalIdOf(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).resolve(element.logicalId) as string;
}

export interface PolicyStatementJson {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
  Sid?: string;
}

/** Every statement of every AWS::IAM::Policy attached to the role with this logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  const policies = template.findResources('AWS::IAM::Policy') as Resources;
  return Object.values(policies)
    .filter((policy) =>
      (policy.Properties?.Roles as unknown[] | undefined)?.some(
        (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .flatMap((policy) => {
      const document = policy.Properties?.PolicyDocument as
        | { Statement: PolicyStatementJson[] }
        | undefined;
      return document?.Statement ?? [];
    });
}

export const actionsOf = (statement: PolicyStatementJson): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

export const resourcesOf = (statement: PolicyStatementJson): unknown[] =>
  Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
