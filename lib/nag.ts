/**
 * cdk-nag 3 runs as a CDK validation plugin: `synth` fails on any finding that is not
 * acknowledged. An acknowledgement names one finding (`AwsSolutions-IAM5[Resource::*]`, not the
 * whole rule) on one construct and its children, and always says why.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

export function addNagChecks(app: IConstruct): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

/** Acknowledges one cdk-nag finding on `scope` (and everything under it), with its reason. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
