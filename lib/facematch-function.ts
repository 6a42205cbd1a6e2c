/**
 * The one way this project makes a Lambda function: arm64, the newest Node.js runtime, an ESM
 * bundle built by lib/bundling.ts (the same one `npm run build` writes), source maps on, X-Ray
 * on, its own KMS-encrypted log group with a retention, and its own role that starts empty: no
 * AWS managed policy, every permission granted by the stack, by name.
 */
import { join } from 'node:path';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, type Code, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  HANDLER_ENTRIES,
  type HandlerName,
  LAMBDA_HANDLER,
  LAMBDA_NODE_OPTIONS,
  LAMBDA_RUNTIME,
  nodejsBundlingOptions,
  PROJECT_ROOT,
} from './bundling.ts';

export interface FacematchFunctionProps {
  /** Which entry point (lambda/handlers/<handler>.ts) this function runs. */
  handler: HandlerName;
  description: string;
  timeout: Duration;
  memorySizeMb: number;
  /** The runtime configuration (DESIGN.md's variable names). */
  environment: Record<string, string>;
  logRetention: RetentionDays;
  /** Encrypts the log group. */
  logEncryptionKey: IKey;
  logRemovalPolicy: RemovalPolicy;
  /**
   * Tests only: prebuilt code instead of bundling. Every shipped environment is still synthesized
   * with real bundling by the infra tests.
   */
  code?: Code;
}

export class FacematchFunction extends NodejsFunction {
  readonly handlerName: HandlerName;
  /** The same role as `role`, typed as the concrete `Role` the stack grants to. */
  readonly executionRole: Role;
  readonly functionLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: FacematchFunctionProps) {
    // Created before the function so the function can be told to use them: siblings, not children.
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.logRemovalPolicy,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });

    super(scope, id, {
      description: props.description,
      entry: join(PROJECT_ROOT, HANDLER_ENTRIES[props.handler]),
      // Bundling turns the export's name into `index.handler`; prebuilt code needs the full form.
      handler: props.code === undefined ? 'handler' : LAMBDA_HANDLER,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySizeMb,
      timeout: props.timeout,
      tracing: Tracing.ACTIVE,
      role,
      logGroup,
      // SDK v3 keeps connections alive by itself; the variable only mattered to SDK v2.
      awsSdkConnectionReuse: false,
      environment: {
        ...props.environment,
        NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
      },
      bundling: nodejsBundlingOptions(props.handler),
      ...(props.code === undefined ? {} : { code: props.code }),
    });

    this.handlerName = props.handler;
    this.executionRole = role;
    this.functionLogGroup = logGroup;
    // Exactly the two calls Lambda makes to its own log group, on that group only.
    logGroup.grantWrite(role);
  }
}
