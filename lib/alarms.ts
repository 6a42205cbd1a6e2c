/**
 * What wakes an operator: a message in the dead-letter queue, a function that crashes or is
 * throttled, IDmeta failing, IDmeta refusing the API token, and a paid verdict DynamoDB would
 * not store. Alarms go to an SNS topic (the
 * stack's own, KMS-encrypted and TLS-only, with an optional e-mail subscription, or an existing
 * one from the config).
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IdmetaTokenError } from '../lambda/core/errors.ts';
import { METRIC, METRICS_NAMESPACE } from '../lambda/observability.ts';
import type { FacematchFunction } from './facematch-function.ts';

const PERIOD = Duration.minutes(5);

/** Below this many IDmeta attempts in a period a rate says nothing (1 of 1 failing is 100 %). */
export const IDMETA_RATE_MIN_ATTEMPTS = 5;

/** The `error.code` of a verification that failed because IDmeta refused the token. */
export const TOKEN_REJECTED_CODE = new IdmetaTokenError().code;

/** The metric counting those verifications, from the runtime's "verification recorded" lines. */
export const TOKEN_REJECTED_METRIC = 'IdmetaTokenRejected';

/** An alarm as soon as one message is in `queue`, a dead-letter queue: nothing lands there quietly. */
export function deadLetterAlarm(
  scope: Construct,
  id: string,
  props: { alarmName: string; alarmDescription: string; queue: IQueue },
): Alarm {
  return new Alarm(scope, id, {
    alarmName: props.alarmName,
    alarmDescription: props.alarmDescription,
    metric: props.queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: 'Maximum',
    }),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}

export interface FacematchAlarmsProps {
  envName: string;
  key: IKey;
  /** Subscribe this address to the stack's topic. */
  email?: string;
  /** Send to this existing topic instead of creating one. */
  topicArn?: string;
  functions: FacematchFunction[];
  deadLetterQueue: IQueue;
  idmetaErrorRatePercent: number;
  /** The oldest open review may wait this long (hours) before the SLA alarm fires. */
  reviewSlaHours: number;
}

export class FacematchAlarms extends Construct {
  readonly topic: ITopic;
  readonly alarms: Alarm[] = [];
  /** This environment's IDmeta attempts and failed attempts (namespace `Facematch/<env>`). */
  readonly idmetaCalls: Metric;
  readonly idmetaErrors: Metric;
  /** Failed attempts in percent of all attempts, as the alarm sees it. */
  readonly idmetaErrorRate: IMetric;
  /** Verifications that ended FAILED with IDMETA_TOKEN_REJECTED in this environment. */
  readonly tokenRejections: Metric;
  /** Paid IDmeta answers whose verdict could not be stored (each one is paid again). */
  readonly paidVerdictsNotSaved: Metric;
  /** The age (seconds) of the oldest open review, measured every 5 minutes and on each read. */
  readonly oldestOpenReviewAge: Metric;

  constructor(scope: Construct, id: string, props: FacematchAlarmsProps) {
    super(scope, id);
    const name = (suffix: string) => `facematch-${props.envName}-${suffix}`;
    const namespace = `${METRICS_NAMESPACE}/${props.envName}`;
    const logGroups = props.functions.map((fn) => fn.functionLogGroup);

    this.topic =
      props.topicArn === undefined
        ? this.createTopic(props.envName, props.key, props.email)
        : Topic.fromTopicArn(this, 'Topic', props.topicArn);
    const action = new SnsAction(this.topic);
    const add = (alarm: Alarm) => {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
    };

    add(
      deadLetterAlarm(this, 'DeadLetters', {
        alarmName: name('dead-letters'),
        alarmDescription:
          'Selfie notifications reached the dead-letter queue: their verifications stay PENDING ' +
          'with error DEAD_LETTERED. Fix the cause, then redrive the DLQ (docs/runbook.md).',
        queue: props.deadLetterQueue,
      }),
    );

    for (const fn of props.functions) {
      const label = fn.handlerName;
      const id = label.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) =>
        letter.toUpperCase(),
      );
      add(
        new Alarm(this, `${id}Errors`, {
          alarmName: name(`${label}-errors`),
          alarmDescription: `The ${label} function failed: crashed or timed out (a 4xx/5xx answer is not a failure).`,
          metric: fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
      add(
        new Alarm(this, `${id}Throttles`, {
          alarmName: name(`${label}-throttles`),
          alarmDescription: `Lambda throttled the ${label} function (account or reserved concurrency).`,
          metric: fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    this.idmetaCalls = this.countFromLogs(namespace, logGroups, METRIC.idmetaCalls);
    this.idmetaErrors = this.countFromLogs(namespace, logGroups, METRIC.idmetaErrors);
    this.idmetaErrorRate = new MathExpression({
      expression: `IF(FILL(attempts, 0) >= ${IDMETA_RATE_MIN_ATTEMPTS}, 100 * FILL(failed, 0) / attempts, 0)`,
      usingMetrics: { attempts: this.idmetaCalls, failed: this.idmetaErrors },
      period: PERIOD,
      label: 'IDmeta attempts failed (%)',
    });
    add(
      new Alarm(this, 'IdmetaErrorRate', {
        alarmName: name('idmeta-error-rate'),
        alarmDescription:
          `At least ${props.idmetaErrorRatePercent} % of IDmeta attempts failed in 5 minutes ` +
          `(at least ${IDMETA_RATE_MIN_ATTEMPTS} attempts): IDmeta down, slow, rate-limiting, or the ` +
          'token revoked.',
        metric: this.idmetaErrorRate,
        threshold: props.idmetaErrorRatePercent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );

    // The rate alarm needs IDMETA_RATE_MIN_ATTEMPTS attempts: a quiet environment whose token was
    // revoked would fail every verification without it. One such verdict is enough to act on.
    this.tokenRejections = this.countFromLogs(
      namespace,
      logGroups,
      TOKEN_REJECTED_METRIC,
      FilterPattern.stringValue('$.error_code', '=', TOKEN_REJECTED_CODE),
      '1',
    );
    add(
      new Alarm(this, 'IdmetaTokenRejected', {
        alarmName: name('idmeta-token-rejected'),
        alarmDescription:
          'IDmeta refused the API token even after the secret was re-read: verifications end ' +
          `FAILED with ${TOKEN_REJECTED_CODE}. Put a valid token into the IDmeta token secret ` +
          '(docs/runbook.md).',
        metric: this.tokenRejections,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );

    // Each one was paid and will be paid again: one is enough to look at.
    this.paidVerdictsNotSaved = this.countFromLogs(
      namespace,
      logGroups,
      METRIC.paidVerdictsNotSaved,
    );
    add(
      new Alarm(this, 'PaidVerdictNotSaved', {
        alarmName: name('paid-verdict-not-saved'),
        alarmDescription:
          'IDmeta answered (and billed) a verification, but DynamoDB refused its verdict until ' +
          'the invocation ran out: the record stays PROCESSING and the retry after the lease ' +
          "pays again. The 'paid verdict not saved' log line has the verdict and IDmeta's uuid " +
          '(docs/runbook.md).',
        metric: this.paidVerdictsNotSaved,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );

    // A gauge, not a count: zero (an empty queue) is a value too, and the largest one counts.
    this.oldestOpenReviewAge = this.countFromLogs(
      namespace,
      logGroups,
      METRIC.oldestOpenReviewAge,
      FilterPattern.numberValue(`$.${METRIC.oldestOpenReviewAge}`, '>=', 0),
    ).with({ statistic: 'Maximum' });
    add(
      new Alarm(this, 'ReviewSla', {
        alarmName: name('review-sla'),
        alarmDescription:
          `The oldest open review has waited more than ${props.reviewSlaHours} h ` +
          '(review.slaHours). Work the queue: facematch reviews (docs/runbook.md, "Working the ' +
          'review queue"). Measured after each sweeper run (5 minutes); no measure at all also alarms.',
        metric: this.oldestOpenReviewAge,
        threshold: props.reviewSlaHours * 3600,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // The schedule emits every period, empty queue or not: silence means the measure broke,
        // and then nobody knows how old the queue is.
        treatMissingData: TreatMissingData.BREACHING,
      }),
    );
  }

  private createTopic(envName: string, key: IKey, email: string | undefined): Topic {
    const stack = Stack.of(this);
    const topic = new Topic(this, 'Topic', {
      displayName: `facematch ${envName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    const alarmsOfThisAccount = {
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
      StringEquals: { 'aws:SourceAccount': stack.account },
    };
    // The topic policy replaces SNS's default one, so CloudWatch is allowed to publish by name,
    // for this account's alarms only.
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: alarmsOfThisAccount,
      }),
    );
    // CloudWatch must encrypt what it publishes to an encrypted topic: for this account's alarms
    // only, as above (confused deputy), not for any alarm of any account.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsEncryptForTheAlarmTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: alarmsOfThisAccount,
      }),
    );
    if (email !== undefined) topic.addSubscription(new EmailSubscription(email));
    return topic;
  }

  /**
   * A count of this environment's own runtime log lines (the EMF lines of lambda/observability.ts,
   * or its "verification recorded" lines), as a metric in `Facematch/<env>`. Not from the EMF
   * metrics themselves: `IdmetaErrors` carries a third dimension, `kind`, so no query on
   * (`service`, `operation`) sees it, and operations x kinds are more series than the 10 an alarm
   * may use; and EMF dimensions do not say which environment emitted them, so two environments
   * in one account and region would count each other's calls.
   */
  private countFromLogs(
    namespace: string,
    logGroups: ILogGroup[],
    metricName: string,
    filterPattern = FilterPattern.numberValue(`$.${metricName}`, '>', 0),
    metricValue = `$.${metricName}`,
  ): Metric {
    logGroups.forEach((logGroup, index) => {
      new MetricFilter(this, `${metricName}Filter${index}`, {
        logGroup,
        metricNamespace: namespace,
        metricName,
        filterPattern,
        metricValue,
      });
    });
    return new Metric({ namespace, metricName, statistic: 'Sum', period: PERIOD });
  }
}
