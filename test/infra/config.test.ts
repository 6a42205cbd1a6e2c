import { describe, expect, it } from 'vitest';
import {
  availableEnvironments,
  InfraConfigError,
  loadInfraConfig,
  parseInfraConfig,
  resolveEnvName,
} from '../../lib/config.ts';
import { configWith, shippedConfig } from './support.ts';

function problemsOf(input: unknown): string {
  try {
    parseInfraConfig(input, 'config/test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(InfraConfigError);
    return (error as Error).message;
  }
  throw new Error('expected an InfraConfigError');
}

/** dev.json with the values at dotted paths replaced (`undefined` removes the field). */
function devWith(changes: Record<string, unknown>): unknown {
  const config = structuredClone(shippedConfig('dev')) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let parent = config;
    for (const key of keys) parent = parent[key] as Record<string, unknown>;
    if (value === undefined) delete parent[last];
    else parent[last] = value;
  }
  return config;
}

describe('the shipped environments', () => {
  it('are dev, staging and prod, and each one is valid', () => {
    // Act
    const names = availableEnvironments();

    // Assess
    expect(names).toEqual(['dev', 'prod', 'staging']);
    for (const name of names) expect(() => loadInfraConfig(name)).not.toThrow();
  });

  it('prod retains its data and protects its table from deletion', () => {
    const prod = loadInfraConfig('prod');

    expect(prod.removalPolicy).toBe('retain');
    expect(prod.deletionProtection).toBe(true);
  });
});

describe('choosing an environment', () => {
  it('without -c env says how to choose one and lists the choices', () => {
    expect(() => resolveEnvName(undefined)).toThrow(
      /no environment chosen: choose one with -c env=<name>.*available: dev, prod, staging/,
    );
  });

  it('refuses an environment without a config file, naming the file', () => {
    expect(() => resolveEnvName('qa')).toThrow(
      /unknown environment "qa": there is no config\/qa\.json/,
    );
  });

  it('refuses a name that could climb out of config/', () => {
    expect(() => resolveEnvName('../secrets')).toThrow(/invalid environment name/);
  });
});

describe('config validation', () => {
  it('names every missing required field at once', () => {
    // Prepare
    const config = devWith({
      'idmeta.baseUrl': undefined,
      policy: undefined,
      deletionProtection: undefined,
    });

    // Act
    const message = problemsOf(config);

    // Assess
    expect(message).toContain('config/test.json is invalid');
    expect(message).toContain('idmeta.baseUrl: must be an https URL');
    expect(message).toContain('policy: is required');
    expect(message).toContain('deletionProtection: is required');
  });

  it('names an invalid value by its path', () => {
    const config = devWith({
      'idmeta.baseUrl': 'http://b2b-dev.idmetagroup.com',
      'idmeta.maxConcurrency': 1,
      'queue.maxReceiveCount': 0,
      'retention.logDays': 15,
      'api.allowedAccountIds': ['12345'],
    });

    const message = problemsOf(config);

    expect(message).toContain('idmeta.baseUrl: must be an https URL');
    expect(message).toContain('idmeta.maxConcurrency: must be an integer from 2 to 1000');
    expect(message).toContain('queue.maxReceiveCount: must be an integer from 1 to 1000');
    expect(message).toMatch(/retention\.logDays: must be one of 1, 3, 5, 7, 14, 30/);
    expect(message).toContain('api.allowedAccountIds.0: must be a 12-digit AWS account id');
  });

  it('refuses an unknown field, so a typo cannot fall back to a default', () => {
    const config = devWith({ 'policy.aproveThreshold': 80 });

    expect(problemsOf(config)).toMatch(/policy: Unrecognized key: "aproveThreshold"/);
  });

  it('refuses a reject threshold above the approve threshold', () => {
    const config = devWith({ policy: { approveThreshold: 60, rejectThreshold: 70 } });

    expect(problemsOf(config)).toContain(
      'policy.rejectThreshold: must not be above policy.approveThreshold',
    );
  });

  it('refuses policy profiles without default, or with a field the runtime would refuse, naming it', () => {
    const withoutDefault = devWith({ 'policy.profiles': { mortgage: {} } });
    const badFields = devWith({
      'policy.profiles': {
        default: { velocity: { refuseAfter: 0 } },
        mortgage: { requiredMatches: ['shoe_size'], approveThreshold: 30 },
      },
    });

    expect(problemsOf(withoutDefault)).toContain('policy.profiles: must have a "default" profile');
    const message = problemsOf(badFields);
    expect(message).toContain('policy.profiles.default.velocity.refuseAfter: must be at least 1');
    expect(message).toMatch(
      /policy\.profiles\.mortgage\.requiredMatches\.0: must be a match field/,
    );
  });

  it('refuses an IDmeta budget the API function cannot wait for', () => {
    const config = devWith({ 'idmeta.timeoutMs': 10_000, 'idmeta.maxAttempts': 3 });

    expect(problemsOf(config)).toMatch(/idmeta\.timeoutMs: .*30000 ms\) must stay within 25000 ms/);
  });

  it('refuses a queue function timeout shorter than a batch of IDmeta budgets', () => {
    const config = devWith({ 'queue.batchSize': 5, 'queue.functionTimeoutSeconds': 100 });

    expect(problemsOf(config)).toMatch(
      /queue\.functionTimeoutSeconds: must be longer than .* \(120 s\)/,
    );
  });

  it('refuses a selfie retention shorter than the queue retries', () => {
    const config = devWith({ 'queue.maxReceiveCount': 200 });

    expect(problemsOf(config)).toMatch(/retention\.selfieDays: must outlast the queue's retries/);
  });

  it('refuses a selfie cap an inline API request could not carry through Lambda', () => {
    const config = devWith({ 'selfies.maxBytes': 5 * 1024 * 1024 });

    expect(problemsOf(config)).toContain(
      'selfies.maxBytes: must be an integer from 1024 to 4500000',
    );
  });

  it('refuses both an alarm e-mail and an existing topic', () => {
    const config = devWith({
      alarms: {
        email: 'ops@example.co.id',
        topicArn: 'arn:aws:sns:ap-southeast-3:111122223333:ops',
      },
    });

    expect(problemsOf(config)).toContain('alarms: give either alarms.email');
  });

  it('accepts an existing token secret by name or complete ARN, not by partial ARN', () => {
    const byName = configWith('dev', (config) => ({
      ...config,
      idmeta: { ...config.idmeta, tokenSecret: 'facematch/dev/idmeta-token' },
    }));
    const byArn = configWith('dev', (config) => ({
      ...config,
      idmeta: {
        ...config.idmeta,
        tokenSecret:
          'arn:aws:secretsmanager:ap-southeast-3:111122223333:secret:facematch/idmeta-AbC123',
      },
    }));
    const partial = devWith({
      'idmeta.tokenSecret': 'arn:aws:secretsmanager:ap-southeast-3:111122223333:secret:x',
    });

    expect(byName.idmeta.tokenSecret).toBe('facematch/dev/idmeta-token');
    expect(byArn.idmeta.tokenSecret).toMatch(/-AbC123$/);
    expect(problemsOf(partial)).toContain('idmeta.tokenSecret: must be the complete secret ARN');
  });

  it('creates the verdict event bus unless told to use an existing one by name or ARN', () => {
    const omitted = parseInfraConfig(devWith({ events: undefined }), 'config/test.json');
    const byName = configWith('dev', (c) => ({ ...c, events: { busName: 'lending.verdicts' } }));
    const arn = 'arn:aws:events:ap-southeast-3:111122223333:event-bus/lending-verdicts';
    const byArn = configWith('dev', (c) => ({ ...c, events: { busName: arn } }));

    expect(omitted.events.busName).toBe('create');
    expect(byName.events.busName).toBe('lending.verdicts');
    expect(byArn.events.busName).toBe(arn);
  });

  it('refuses an event bus that is neither a bus name nor a bus ARN', () => {
    expect(problemsOf(devWith({ 'events.busName': 'verdicts bus' }))).toContain(
      'events.busName: must be "create", an event bus name',
    );
    expect(
      problemsOf(devWith({ 'events.busName': 'arn:aws:sns:ap-southeast-3:111122223333:verdicts' })),
    ).toContain('events.busName: must be an event bus ARN');
  });

  it('accepts CORS origins only as bare https origins', () => {
    const config = devWith({
      'selfies.corsAllowedOrigins': ['https://app.example.co.id', '*', 'https://x.id/path'],
    });

    const message = problemsOf(config);

    expect(message).toContain('selfies.corsAllowedOrigins.1: must be an origin');
    expect(message).toContain('selfies.corsAllowedOrigins.2: must be an origin');
    expect(message).not.toContain('corsAllowedOrigins.0');
  });
});
