/**
 * Every shipped environment synthesized as `cdk synth -c env=<name>` does it: real esbuild
 * bundling of both handlers, cdk-nag and CloudFormation's built-in rules (a finding throws).
 * One process, so the bundles and the rule engine are built once.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AssetStaging } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLE,
  esbuildBuildOptions,
  HANDLER_NAMES,
  type HandlerName,
} from '../../lib/bundling.ts';
import { availableEnvironments, loadInfraConfig } from '../../lib/config.ts';
import type { FacematchFunction } from '../../lib/facematch-function.ts';
import { logicalIdOf, nagFindings, type Synthesized, synthesize } from './support.ts';

const ENVIRONMENTS = availableEnvironments();
const synthesized = new Map<string, Synthesized>();

let cdkOut: string;

beforeAll(() => {
  // One cloud assembly directory for all: the handlers are bundled once, not once per stack.
  cdkOut = mkdtempSync(join(tmpdir(), 'facematch-cdk-out-'));
  for (const envName of ENVIRONMENTS) {
    synthesized.set(envName, synthesize(envName, { bundle: true, outdir: cdkOut }));
  }
}, 120_000);

afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

const get = (envName: string): Synthesized => {
  const found = synthesized.get(envName);
  if (found === undefined) throw new Error(`${envName} was not synthesized`);
  return found;
};

/** Where the stack staged a function's bundle: what `cdk deploy` uploads. */
function stagedBundle(fn: FacematchFunction): string {
  const staging = fn.node.findChild('Code').node.findChild('Stage') as AssetStaging;
  return join(staging.absoluteStagedPath, BUNDLE.outfile);
}

const functionsOf = ({ stack }: Synthesized): Record<HandlerName, FacematchFunction> => ({
  api: stack.apiFunction,
  'selfie-uploaded': stack.queueFunction,
  sweeper: stack.sweeper.function,
});

describe.each(ENVIRONMENTS)('the %s environment', (envName) => {
  it('synthesizes with bundled code and no cdk-nag finding', () => {
    // Prepare
    const env = get(envName);

    // Assess
    expect(env.stack.stackName).toBe(`Facematch-${envName}`);
    expect(nagFindings(env.app)).toEqual([]);
    const functions = env.template.toJSON().Resources as Record<string, { Properties: unknown }>;
    for (const fn of Object.values(functionsOf(env))) {
      expect(functions[logicalIdOf(fn)]?.Properties).toMatchObject({
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Code: { S3Key: expect.stringMatching(/\.zip$/) },
      });
      expect(readFileSync(stagedBundle(fn), 'utf8').length).toBeGreaterThan(100_000);
    }
  });

  it('tags its resources, sizes them from its own config and names its bus and dashboard after it', () => {
    const env = get(envName);
    const config = loadInfraConfig(envName);

    env.template.hasResourceProperties('AWS::DynamoDB::Table', {
      Tags: Match.arrayWith([{ Key: 'environment', Value: envName }]),
      DeletionProtectionEnabled: config.deletionProtection,
    });
    env.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: config.idmeta.maxConcurrency },
    });
    env.template.hasResourceProperties('AWS::Events::EventBus', { Name: `facematch-${envName}` });
    env.template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: `Facematch-${envName}`,
    });
  });
});

describe('prod', () => {
  it('retains every data-holding resource and protects the table from deletion', () => {
    const { stack, template } = get('prod');
    const json = template.toJSON() as { Resources: Record<string, { DeletionPolicy?: string }> };
    const retained = [
      stack.table,
      stack.storage.bucket,
      stack.storage.accessLogBucket,
      stack.key,
      stack.dataKeySecret,
      stack.apiFunction.functionLogGroup,
      stack.queueFunction.functionLogGroup,
      stack.api.accessLogGroup,
    ];

    for (const construct of retained) {
      const id = logicalIdOf(construct);
      expect(json.Resources[id]?.DeletionPolicy, id).toBe('Retain');
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
  });

  it('talks to the production IDmeta host', () => {
    get('prod').template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ IDMETA_BASE_URL: 'https://integrate.idmetagroup.com' }),
      },
    });
  });
});

describe('the deployable bundles', () => {
  let outdir: string;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'facematch-build-'));
    await Promise.all(HANDLER_NAMES.map((handler) => build(esbuildBuildOptions(handler, outdir))));
  }, 60_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it.each(HANDLER_NAMES)('npm run build writes the very %s bundle the stack deploys', (handler) => {
    const built = readFileSync(join(outdir, handler, BUNDLE.outfile));
    const deployed = readFileSync(stagedBundle(functionsOf(get('dev'))[handler]));

    expect(built.equals(deployed)).toBe(true);
  });

  it.each(HANDLER_NAMES)(
    'the deployed %s bundle loads every module and stops only at the missing configuration',
    (handler) => {
      // Act
      const result = spawnSync(
        process.execPath,
        [
          '--enable-source-maps',
          '--input-type=module',
          '-e',
          `await import(${JSON.stringify(pathToFileURL(stagedBundle(functionsOf(get('dev'))[handler])).href)});`,
        ],
        { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
      );

      // Assess
      expect(result.status).not.toBe(0);
      expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
      expect(result.stderr).toContain('ConfigError');
      expect(result.stderr).toContain('VERDICT_TABLE_NAME is required');
    },
  );
});
