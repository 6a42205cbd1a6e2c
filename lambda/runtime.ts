/**
 * The composition root: configuration in, the core's dependencies out. Built once per container
 * (Lambda init, or the local server's start) and shared by every invocation, so SDK clients keep
 * their sockets and secrets stay cached.
 */
import { randomUUID } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type AwsClientOptions,
  createDynamoDocumentClient,
  createSecretsManagerClient,
} from './adapters/aws-clients.ts';
import { createIdentityVault } from './adapters/identity-vault.ts';
import { IdmetaClient } from './adapters/idmeta-client.ts';
import { lazyPort, loadOnce } from './adapters/lazy-port.ts';
import { PageCursors } from './adapters/page-cursor.ts';
import { DynamoPersonIndex } from './adapters/person-index.ts';
import { DynamoReviewStore } from './adapters/review-store.ts';
import { DynamoSubjectRecords } from './adapters/subject-records.ts';
import {
  SecretsManagerSecret,
  StaticTokenSource,
  type TokenSource,
} from './adapters/token-source.ts';
import { DynamoVerdictStore } from './adapters/verdict-store.ts';
import { DynamoWebhookDeliveries } from './adapters/webhook-deliveries.ts';
import { DynamoWorklist } from './adapters/worklist.ts';
import type { RuntimeConfig, SecretRef } from './config.ts';
import type {
  IdentityVault,
  ReviewEvents,
  ReviewSelfies,
  SelfieStore,
  VerdictEvents,
} from './core/ports.ts';
import type { ReviewDeps } from './core/review-service.ts';
import type {
  ErasureReceipts,
  SubjectDeps,
  SubjectEvents,
  SubjectObjects,
} from './core/subjects.ts';
import type { SweepDeps, Uploads, WorkQueue } from './core/sweep.ts';
import type { Identity } from './core/types.ts';
import type { VerifyDeps } from './core/verify.ts';
import {
  recordHousekeepingFailure,
  recordIdmetaAttempt,
  recordLocalRefusal,
  recordPaidVerdictNotSaved,
  recordReviewed,
  recordReviewQueueAge,
  recordSweepAction,
  recordUnknownIdmetaFields,
  recordVerdict,
  setMetricsEnvironment,
} from './observability.ts';

export interface RuntimeOptions {
  /** How long an API request that finds its id busy waits for the other worker (0 on queues). */
  busyWaitMs: number;
  /** Time kept back from the deadline to store the verdict. */
  storeReserveMs?: number;
  /** Explicit endpoints and credentials (local runtime, tests); the SDK defaults otherwise. */
  aws?: { dynamodb?: AwsClientOptions; s3?: AwsClientOptions };
  /** Where verdict events go instead of `EVENT_BUS_NAME`'s bus (the local runtime's file). */
  events?: VerdictEvents;
  /** Where erasure events go instead of `EVENT_BUS_NAME`'s bus (the local runtime's file). */
  subjectEvents?: SubjectEvents;
  /** Where review events go instead of `EVENT_BUS_NAME`'s bus (the local runtime's file). */
  reviewEvents?: ReviewEvents;
}

export interface Runtime {
  deps: VerifyDeps;
  /** The review routes' dependencies (the same table, bucket and events as `deps`). */
  review: ReviewDeps;
  /** Access and erasure of a data subject's records (DESIGN.md: data subjects). */
  subjects: SubjectDeps;
  /** The sweeper's dependencies, handing uploads back to `queue` (SQS; in-process locally). */
  sweepDeps(queue: WorkQueue): SweepDeps;
  config: RuntimeConfig;
  /** Fetches secrets ahead of the first request; failures are left for that request to see. */
  prefetch(): Promise<void>;
}

let secretsClient: SecretsManagerClient | undefined;

function secretSource(
  ref: SecretRef,
  ttlMs: number,
  localVariable: string,
  field?: string,
): TokenSource {
  if (ref.kind === 'static') return new StaticTokenSource(ref.value, localVariable);
  secretsClient ??= createSecretsManagerClient();
  return new SecretsManagerSecret({
    client: secretsClient,
    secretId: ref.secretId,
    ttlMs,
    ...(field === undefined ? {} : { field }),
  });
}

/** The vault's key lives in a secret; it is read once and the vault built from it is kept. */
class SecretBackedVault implements IdentityVault {
  constructor(private readonly key: TokenSource) {}

  private readonly current = loadOnce(async () => createIdentityVault(await this.key.get()));

  async hashNik(nik: string) {
    return (await this.current()).hashNik(nik);
  }

  async digest(field: string, value: string | Uint8Array) {
    return (await this.current()).digest(field, value);
  }

  async seal(identity: Identity) {
    return (await this.current()).seal(identity);
  }

  async open(sealed: string) {
    return (await this.current()).open(sealed);
  }
}

export function createRuntime(config: RuntimeConfig, options: RuntimeOptions): Runtime {
  setMetricsEnvironment(config.environment);
  const token = secretSource(config.idmeta.token, config.secretCacheTtlMs, 'IDMETA_TOKEN', 'token');
  // The data key never rotates on its own: rotating it would orphan every stored NIK hash.
  const dataKey = secretSource(config.dataKey, Number.POSITIVE_INFINITY, 'FACEMATCH_DATA_KEY');
  // S3 and EventBridge load on their first call (lazy-port.ts): their chunks, not read at init.
  const { eventBusName } = config;
  const bus =
    eventBusName === undefined || eventBusName === ''
      ? undefined
      : loadOnce(async () =>
          (await import('./adapters/event-adapters.ts')).createEventAdapters(eventBusName),
        );
  const events =
    options.events ??
    (bus ? lazyPort<VerdictEvents>(async () => (await bus()).verdicts) : undefined);
  const subjectEvents =
    options.subjectEvents ??
    (bus ? lazyPort<SubjectEvents>(async () => (await bus()).subjects) : undefined);
  const reviewEvents =
    options.reviewEvents ??
    (bus ? lazyPort<ReviewEvents>(async () => (await bus()).reviews) : undefined);
  // One document client for the store, the person index and the worklist: one socket pool for
  // the table.
  const documentClient = createDynamoDocumentClient(options.aws?.dynamodb);
  const s3 = loadOnce(async () =>
    (await import('./adapters/s3-adapters.ts')).createS3Adapters(
      options.aws?.s3,
      config.bucketName,
    ),
  );
  const bucketObjects = lazyPort<SubjectObjects & Uploads>(async () => (await s3()).objects);
  const vault = new SecretBackedVault(dataKey);
  const store = new DynamoVerdictStore({ client: documentClient, tableName: config.tableName });
  const reviewSelfies = lazyPort<ReviewSelfies>(async () => (await s3()).reviewSelfies);
  const deps: VerifyDeps = {
    idmeta: new IdmetaClient({
      baseUrl: config.idmeta.baseUrl,
      tokenSource: token,
      timeoutMs: config.idmeta.timeoutMs,
      maxAttempts: config.idmeta.maxAttempts,
      dobFormat: config.idmeta.dobFormat,
      onAttempt: recordIdmetaAttempt,
      onUnknownFields: recordUnknownIdmetaFields,
    }),
    store,
    history: new DynamoPersonIndex({ client: documentClient, tableName: config.tableName }),
    selfies: lazyPort<SelfieStore>(async () => (await s3()).selfies),
    reviewSelfies,
    vault,
    clock: { now: () => Date.now() },
    newLeaseOwner: randomUUID,
    ...(events ? { events } : {}),
    observer: {
      recorded: recordVerdict,
      housekeepingFailed: recordHousekeepingFailure,
      paidVerdictNotSaved: recordPaidVerdictNotSaved,
      refused: recordLocalRefusal,
    },
    settings: {
      defaultTemplateId: config.idmeta.defaultTemplateId,
      profiles: config.profiles,
      selfieLimits: config.selfieLimits,
      retentionDays: config.retentionDays,
      leaseMs: config.leaseMs,
      finalizeOwnedVerifications: config.idmeta.finalizeOwnedVerifications,
      uploadExpiresSeconds: config.uploadExpiresSeconds,
      deleteSelfieAfterVerdict: config.deleteSelfieAfterVerdict,
      busyWaitMs: options.busyWaitMs,
      storeReserveMs: options.storeReserveMs ?? 1_500,
    },
  };
  const subjects: SubjectDeps = {
    vault,
    store,
    records: new DynamoSubjectRecords({ client: documentClient, tableName: config.tableName }),
    objects: bucketObjects,
    receipts: lazyPort<ErasureReceipts>(async () => (await s3()).receipts),
    clock: deps.clock,
    newReceiptId: randomUUID,
    onEventFailed: (error) => recordHousekeepingFailure('publish-erasure-event', error),
    ...(subjectEvents ? { events: subjectEvents } : {}),
    ...(config.webhookDeliveriesTableName === undefined
      ? {}
      : {
          deliveries: new DynamoWebhookDeliveries({
            client: documentClient,
            tableName: config.webhookDeliveriesTableName,
          }),
        }),
  };
  const review: ReviewDeps = {
    store,
    reviews: new DynamoReviewStore({
      client: documentClient,
      tableName: config.tableName,
      cursors: new PageCursors(() => dataKey.get()),
    }),
    selfies: reviewSelfies,
    selfieDays: config.reviewSelfieDays,
    clock: deps.clock,
    ...(reviewEvents ? { events: reviewEvents } : {}),
    observer: {
      reviewed: recordReviewed,
      queueMeasured: recordReviewQueueAge,
      housekeepingFailed: recordHousekeepingFailure,
    },
  };
  return {
    deps,
    review,
    subjects,
    sweepDeps: (queue) => ({
      verify: deps,
      worklist: new DynamoWorklist({ client: documentClient, tableName: config.tableName }),
      uploads: bucketObjects,
      queue,
      settings: config.sweep,
      onAction: recordSweepAction,
    }),
    config,
    async prefetch() {
      await Promise.allSettled([token.get(), dataKey.get()]);
    },
  };
}
