/**
 * Every shipped environment synthesized as `cdk synth -c env=<name>` does it: real esbuild
 * bundling of both handlers, cdk-nag, the AWS Control Tower proactive controls (cfn-guard) and
 * CloudFormation's built-in rules (a finding throws); then cfn-lint on every template at once.
 * One process, so the bundles and the rule engine are built once.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AssetStaging, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLE_ENTRY_FILE,
  buildBundle,
  esbuildBuildOptions,
  HANDLER_NAMES,
  type HandlerName,
} from '../../lib/bundling.ts';
import { availableEnvironments, loadInfraConfig } from '../../lib/config.ts';
import type { FacematchFunction } from '../../lib/facematch-function.ts';
import {
  CFN_LINT_REGIONS,
  cfnLintAcknowledgements,
  GUARD_PLUGIN_NAME,
} from '../../lib/iac-checks.ts';
import { configWith, logicalIdOf, nagFindings, type Synthesized, synthesize } from './support.ts';

const ENVIRONMENTS = availableEnvironments();
const synthesized = new Map<string, Synthesized>();

let cdkOut: string;

beforeAll(() => {
  // One cloud assembly directory for all: the handlers are bundled once, not once per stack.
  cdkOut = mkdtempSync(join(tmpdir(), 'facematch-cdk-out-'));
  for (const envName of ENVIRONMENTS) {
    synthesized.set(
      envName,
      synthesize(envName, { bundle: true, outdir: cdkOut, controlTower: true }),
    );
    // Each synth writes the validation report anew: keep this environment's.
    copyFileSync(join(cdkOut, 'validation-report.json'), reportPath(envName));
  }
  // No shipped environment lists a webhook: dev with one, for the sender's bundle.
  const withWebhook = configWith('dev', (config) => ({
    ...config,
    webhooks: [{ name: 'receiver', url: 'https://receiver.example/hooks', secret: 'create' }],
  }));
  // Its own folder: the same stack name would overwrite dev's template that cfn-lint reads.
  synthesized.set(
    'dev+webhook',
    synthesize('dev', { bundle: true, outdir: join(cdkOut, 'with-webhook'), config: withWebhook }),
  );
}, 360_000);

const reportPath = (envName: string) => join(cdkOut, `validation-report.${envName}.json`);
const templatePath = (envName: string) => join(cdkOut, `Facematch-${envName}.template.json`);

afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

const get = (envName: string): Synthesized => {
  const found = synthesized.get(envName);
  if (found === undefined) throw new Error(`${envName} was not synthesized`);
  return found;
};

/** The folder the stack staged a function's bundle in: what `cdk deploy` uploads. */
function stagedFolder(fn: FacematchFunction): string {
  const staging = fn.node.findChild('Code').node.findChild('Stage') as AssetStaging;
  return staging.absoluteStagedPath;
}

/** The bundle's entry, the file Lambda's `index.handler` loads. */
const stagedBundle = (fn: FacematchFunction) => join(stagedFolder(fn), BUNDLE_ENTRY_FILE);

/** Every file of a bundle folder (entry, chunks, maps), path -> bytes. */
function filesOf(folder: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path.slice(folder.length + 1), readFileSync(path));
  }
  return files;
}

interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations?: Array<{
      acknowledgedId: string;
      acknowledgedAt: string;
      reason?: string;
    }>;
  }>;
}

/** The Control Tower plugin's part of an environment's validation report (it ran, or fails). */
function controlTowerReport(envName: string) {
  const report = JSON.parse(readFileSync(reportPath(envName), 'utf8')) as ValidationReport;
  const guard = report.pluginReports.find((plugin) => plugin.pluginName === GUARD_PLUGIN_NAME);
  if (guard === undefined) throw new Error(`the ${GUARD_PLUGIN_NAME} plugin did not report`);
  return guard;
}

/** Every acknowledgement recorded on the app's constructs, as `<id> at <path>`. */
function acknowledgementsOf({ app }: Synthesized, prefix: string): string[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
      .filter((id) => id.startsWith(prefix))
      .map((id) => `${id} at ${construct.node.path}`),
  );
}

const functionsOf = ({ stack }: Synthesized): Partial<Record<HandlerName, FacematchFunction>> => ({
  api: stack.apiFunction,
  'selfie-uploaded': stack.queueFunction,
  sweeper: stack.sweeper.function,
  ...(stack.webhooks === undefined ? {} : { 'webhook-sender': stack.webhooks.senderFunction }),
});

/** Every handler's function: dev's, and the webhook sender of dev with a webhook. */
const deployedFunction = (handler: HandlerName): FacematchFunction => {
  const fn = functionsOf(get('dev'))[handler] ?? functionsOf(get('dev+webhook'))[handler];
  if (fn === undefined) throw new Error(`no function runs the ${handler} handler`);
  return fn;
};

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
      // A split bundle: the entry and its chunks, JavaScript of some weight all told.
      const code = [...filesOf(stagedFolder(fn))].filter(([path]) => path.endsWith('.mjs'));
      expect(code.map(([path]) => path)).toContain(BUNDLE_ENTRY_FILE);
      expect(code.reduce((sum, [, bytes]) => sum + bytes.length, 0)).toBeGreaterThan(100_000);
    }
  });

  it('passes the AWS Control Tower proactive controls, each accepted finding with its reason', () => {
    const guard = controlTowerReport(envName);

    expect(guard.conclusion).toBe('success');
    expect(guard.violations).toEqual([]);
    for (const accepted of guard.suppressedViolations ?? []) {
      const where = `${accepted.acknowledgedId} at ${accepted.acknowledgedAt}`;
      expect(accepted.reason?.length ?? 0, where).toBeGreaterThan(60);
    }
  });

  it('acknowledges only Control Tower findings that occur, where they occur', () => {
    const acknowledged = acknowledgementsOf(get(envName), `${GUARD_PLUGIN_NAME}::`);
    const occurred = (controlTowerReport(envName).suppressedViolations ?? []).map(
      (accepted) => `${accepted.acknowledgedId} at ${accepted.acknowledgedAt}`,
    );

    expect(acknowledged.length).toBeGreaterThan(0);
    for (const acknowledgement of new Set(acknowledged)) {
      expect(occurred, acknowledgement).toContain(acknowledgement);
    }
  });

  it('is protected from termination exactly when its config protects the table from deletion', () => {
    const { app, stack } = get(envName);

    const artifact = app.synth().getStackByName(stack.stackName);

    expect(artifact.terminationProtection ?? false).toBe(
      loadInfraConfig(envName).deletionProtection,
    );
  });

  it('stages only prebuilt or esbuild-bundled code: no Docker image, no build command', () => {
    const manifest = JSON.parse(
      readFileSync(join(cdkOut, `Facematch-${envName}.assets.json`), 'utf8'),
    ) as {
      files: Record<string, { displayName?: string; source: Record<string, unknown> }>;
      dockerImages: Record<string, unknown>;
    };
    const files = Object.values(manifest.files);

    expect(manifest.dockerImages).toEqual({});
    for (const file of files) expect(file.source.executable, file.displayName).toBeUndefined();
    // A destroyable environment empties its buckets with aws-cdk-lib's prebuilt handler.
    const emptying = files.filter((file) => file.displayName?.includes('S3AutoDeleteObjects'));
    expect(emptying).toHaveLength(loadInfraConfig(envName).removalPolicy === 'destroy' ? 1 : 0);
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

interface CfnLintFinding {
  Filename: string;
  Level: string;
  Message: string;
  Location: { Path: Array<string | number> };
  Rule: { Id: string };
}

let lintFindings: CfnLintFinding[] | undefined;

/**
 * cfn-lint on every environment's template in one run (it takes seconds to start). It is a Python
 * tool, not an npm dependency: a machine without it fails here, saying how to install it.
 */
function cfnLint(): CfnLintFinding[] {
  if (lintFindings !== undefined) return lintFindings;
  const templates = ENVIRONMENTS.map(templatePath);
  const result = spawnSync(
    'cfn-lint',
    ['--regions', ...CFN_LINT_REGIONS, '--format', 'json', '--', ...templates],
    { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      'cfn-lint is not installed (or not on PATH): the infra tests lint every synthesized ' +
        'template with it. Install it with `pip install cfn-lint` and run the tests again.',
    );
  }
  // cfn-lint's exit status is a bit mask: 2 errors, 4 warnings, 8 informational; 1 a crash.
  if (result.status === null || (result.status & 1) === 1 || result.stdout.trim() === '') {
    throw new Error(`cfn-lint failed to run (status ${result.status}): ${result.stderr}`);
  }
  lintFindings = JSON.parse(result.stdout) as CfnLintFinding[];
  return lintFindings;
}

/** `<template> <rule> <logical id>`, as findings and acknowledgements are compared. */
const lintKey = (template: string, rule: string, logicalId: unknown) =>
  `${template} ${rule} ${String(logicalId)}`;

const findingKey = (finding: CfnLintFinding) =>
  lintKey(
    finding.Filename.split('/').pop() ?? finding.Filename,
    finding.Rule.Id,
    finding.Location.Path[0] === 'Resources' ? finding.Location.Path[1] : '(template)',
  );

const lintAcknowledgements = () =>
  ENVIRONMENTS.flatMap((envName) =>
    cfnLintAcknowledgements(get(envName).stack).map((acknowledgement) => ({
      key: lintKey(
        `Facematch-${envName}.template.json`,
        acknowledgement.rule,
        logicalIdOf(acknowledgement.resource),
      ),
      reason: acknowledgement.reason,
    })),
  );

describe(`cfn-lint (--regions ${CFN_LINT_REGIONS.join(' ')})`, () => {
  it('finds nothing in any template but the findings accepted with a reason', () => {
    const accepted = lintAcknowledgements();
    const acceptedKeys = new Set(accepted.map((acknowledgement) => acknowledgement.key));

    const remaining = cfnLint().filter((finding) => !acceptedKeys.has(findingKey(finding)));

    expect(remaining.map((finding) => `${findingKey(finding)}: ${finding.Message}`)).toEqual([]);
    for (const { key, reason } of accepted) expect(reason.length, key).toBeGreaterThan(60);
  }, 200_000);

  it('accepts only findings that occur, where they occur', () => {
    const occurred = new Set(cfnLint().map(findingKey));

    const accepted = lintAcknowledgements();

    expect(accepted.length).toBeGreaterThan(0);
    for (const { key } of accepted) expect(occurred.has(key), key).toBe(true);
  }, 200_000);
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
    await Promise.all(
      HANDLER_NAMES.map((handler) => buildBundle(esbuildBuildOptions(handler, outdir))),
    );
  }, 60_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it.each(HANDLER_NAMES)('npm run build writes the very %s bundle the stack deploys', (handler) => {
    const built = filesOf(join(outdir, handler));
    const deployed = filesOf(stagedFolder(deployedFunction(handler)));

    // A split bundle: the entry, its chunks and their maps, nothing else, byte for byte.
    expect([...deployed.keys()].sort()).toEqual([...built.keys()].sort());
    expect([...built.keys()].filter((path) => path.startsWith('chunks/')).length).toBeGreaterThan(
      0,
    );
    for (const [path, bytes] of built) expect(deployed.get(path)?.equals(bytes), path).toBe(true);
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
          `await import(${JSON.stringify(pathToFileURL(stagedBundle(deployedFunction(handler))).href)});`,
        ],
        { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
      );

      // Assess
      expect(result.status).not.toBe(0);
      expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
      expect(result.stderr).toContain('ConfigError');
      expect(result.stderr).toMatch(/(VERDICT|WEBHOOK_DELIVERIES)_TABLE_NAME is required/);
    },
  );
});
