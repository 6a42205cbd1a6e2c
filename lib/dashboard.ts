/**
 * One CloudWatch dashboard per environment, `Facematch-<env>`: what the verifications decided,
 * what IDmeta costs in time and failures, the paid calls saved by local refusals, and the plumbing
 * (DLQ, Lambda, API Gateway, housekeeping) an operator checks when an alarm fires.
 *
 * The runtime's EMF metrics (lambda/observability.ts) carry `environment` and `service` plus
 * their own dimensions, and a plain metric matches one exact dimension set: SEARCH expressions
 * find every series of a metric whatever its dimension values (outcomes, sources, reasons,
 * kinds) without listing them, within this environment.
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SearchExpression,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { IdmetaAttemptEvent } from '../lambda/core/ports.ts';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/observability.ts';
import type { FacematchAlarms } from './alarms.ts';
import type { FacematchFunction } from './facematch-function.ts';

const PERIOD = Duration.minutes(5);

/** The paid call whose latency matters: the one a person waits for. */
const FACEMATCH_OPERATION: IdmetaAttemptEvent['operation'] = 'dukcapilfacematch';

/** A CloudWatch dynamic label value (`${SUM}`), which only looks like a template placeholder. */
const live = (value: string) => `\${${value}}`;
const dim = (name: string) => live(`PROP('Dim.${name}')`);
const SUM = live('SUM');

/** The decisions, and FAILED: `Verifications.outcome` is `decision ?? status`. */
const FINAL_OUTCOMES = ['APPROVED', 'REVIEW', 'REJECTED', 'FAILED'] as const;

/**
 * `SEARCH('{Facematch,<dimensions>} MetricName="<metric>" ...', 'Sum', 300)`: every series of an
 * EMF metric of this environment with exactly these dimensions (besides `environment` and
 * `service`), summed per period.
 */
function searchEmf(
  envName: string,
  metricName: string,
  dimensions: string[],
  label: string,
  filter = '',
  statistic = 'Sum',
): SearchExpression {
  const schema = [METRICS_NAMESPACE, ...[...dimensions, 'environment', 'service'].sort()].join(',');
  const terms = [
    `MetricName="${metricName}"`,
    `environment="${envName}"`,
    `service="${SERVICE_NAME}"`,
    filter,
  ]
    .filter((term) => term !== '')
    .join(' ');
  return new SearchExpression({
    expression: `SEARCH('{${schema}} ${terms}', '${statistic}', ${PERIOD.toSeconds()})`,
    label,
    period: PERIOD,
  });
}

export interface FacematchDashboardProps {
  envName: string;
  functions: FacematchFunction[];
  api: RestApi;
  queue: IQueue;
  deadLetterQueue: IQueue;
  alarms: FacematchAlarms;
  reviewSlaHours: number;
}

export class FacematchDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: FacematchDashboardProps) {
    super(scope, id);
    const { alarms, api, functions } = props;

    const outcomeFilter = `(${FINAL_OUTCOMES.map((outcome) => `outcome="${outcome}"`).join(' OR ')})`;
    const refusals = searchEmf(
      props.envName,
      METRIC.localRefusals,
      ['reason', 'source'],
      `${dim('reason')} (${dim('source')}): ${SUM}`,
    );
    const idmetaLatency = (statistic: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: METRIC.idmetaLatency,
        dimensionsMap: {
          environment: props.envName,
          service: SERVICE_NAME,
          operation: FACEMATCH_OPERATION,
        },
        statistic,
        period: PERIOD,
        label: `${statistic}: ${live('LAST')} ms`,
      });
    const perFunction = (metric: (fn: FacematchFunction) => IMetric) => functions.map(metric);

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `Facematch-${props.envName}`,
      defaultInterval: Duration.hours(24),
      widgets: [
        [
          new TextWidget({
            width: 24,
            height: 2,
            markdown:
              `# facematch ${props.envName}\n` +
              'Alarms and what to do: `docs/runbook.md`. Verifications, IDmeta latency, errors ' +
              "by kind, local refusals and housekeeping come from the runtime's EMF metrics " +
              `(namespace \`${METRICS_NAMESPACE}\`, dimension \`environment=${props.envName}\`); ` +
              'IDmeta attempts, failures and token refusals from metric filters on this ' +
              `environment's log groups (\`${alarms.idmetaCalls.namespace}\`).`,
          }),
        ],
        [
          new AlarmStatusWidget({
            title: 'Alarms',
            width: 24,
            height: 3,
            alarms: alarms.alarms,
          }),
        ],
        [
          new GraphWidget({
            title: 'Verifications by decision and source',
            width: 12,
            left: [
              searchEmf(
                props.envName,
                METRIC.verifications,
                ['outcome', 'source'],
                `${dim('outcome')} (${dim('source')}): ${SUM}`,
                outcomeFilter,
              ),
            ],
            leftYAxis: { min: 0, label: 'per 5 min', showUnits: false },
          }),
          new GraphWidget({
            title: 'Local refusals: paid IDmeta calls saved, by reason',
            width: 12,
            left: [
              refusals,
              new MathExpression({
                expression: `SUM(${refusals.expression})`,
                usingMetrics: {},
                label: `all reasons: ${SUM} calls saved`,
                period: PERIOD,
              }),
            ],
            leftYAxis: { min: 0, label: 'per 5 min', showUnits: false },
          }),
        ],
        [
          new GraphWidget({
            title: `IDmeta latency (${FACEMATCH_OPERATION})`,
            width: 8,
            left: [idmetaLatency('p50'), idmetaLatency('p99')],
            leftYAxis: { min: 0, label: 'ms', showUnits: false },
          }),
          new GraphWidget({
            title: 'IDmeta attempts and failures (this environment)',
            width: 8,
            left: [
              alarms.idmetaCalls.with({ label: 'attempts' }),
              alarms.idmetaErrors.with({ label: 'failed attempts' }),
              alarms.tokenRejections.with({ label: 'verifications failed: token refused' }),
            ],
            right: [alarms.idmetaErrorRate],
            leftYAxis: { min: 0, showUnits: false },
            rightYAxis: { min: 0, max: 100, label: '%', showUnits: false },
          }),
          new GraphWidget({
            title: 'IDmeta errors by kind',
            width: 8,
            left: [
              searchEmf(
                props.envName,
                METRIC.idmetaErrors,
                ['kind', 'operation'],
                `${dim('kind')} (${dim('operation')}): ${SUM}`,
              ),
            ],
            leftYAxis: { min: 0, showUnits: false },
          }),
        ],
        [
          new GraphWidget({
            title: 'Selfie queue and dead-letter queue',
            width: 8,
            left: [
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
                statistic: 'Maximum',
                period: Duration.minutes(1),
                label: 'dead-lettered (redrive: docs/runbook.md)',
              }),
              props.queue.metricApproximateNumberOfMessagesVisible({
                statistic: 'Maximum',
                period: Duration.minutes(1),
                label: 'waiting',
              }),
            ],
            right: [
              props.queue.metricApproximateAgeOfOldestMessage({
                statistic: 'Maximum',
                period: Duration.minutes(1),
                label: 'oldest waiting (s)',
              }),
            ],
            leftYAxis: { min: 0, showUnits: false },
            rightYAxis: { min: 0, showUnits: false },
          }),
          new GraphWidget({
            title: 'Lambda errors and throttles',
            width: 8,
            left: [
              ...perFunction((fn) =>
                fn.metricErrors({
                  statistic: 'Sum',
                  period: PERIOD,
                  label: `${fn.handlerName} errors`,
                }),
              ),
              ...perFunction((fn) =>
                fn.metricThrottles({
                  statistic: 'Sum',
                  period: PERIOD,
                  label: `${fn.handlerName} throttles`,
                }),
              ),
            ],
            leftYAxis: { min: 0, showUnits: false },
          }),
          new GraphWidget({
            title:
              'Housekeeping failures (publish-verdict-event, finalize-verification, delete-selfie)',
            width: 8,
            left: [
              searchEmf(
                props.envName,
                METRIC.housekeepingFailures,
                ['operation'],
                `${dim('operation')}: ${SUM}`,
              ),
            ],
            leftYAxis: { min: 0, showUnits: false },
          }),
        ],
        [
          new GraphWidget({
            title: 'Reviews opened and closed (by decision)',
            width: 12,
            left: [
              searchEmf(props.envName, METRIC.reviewsOpened, [], `opened: ${SUM}`),
              searchEmf(
                props.envName,
                METRIC.reviewsClosed,
                ['decision'],
                `closed ${dim('decision')}: ${SUM}`,
              ),
            ],
            leftYAxis: { min: 0, label: 'per 5 min', showUnits: false },
          }),
          new GraphWidget({
            title: 'Oldest open review (hours; the line is review.slaHours)',
            width: 12,
            left: [
              new MathExpression({
                expression: 'age / 3600',
                usingMetrics: { age: alarms.oldestOpenReviewAge },
                label: `oldest open review: ${live('LAST')} h`,
                period: PERIOD,
              }),
            ],
            leftAnnotations: [{ value: props.reviewSlaHours, label: 'SLA' }],
            leftYAxis: { min: 0, label: 'hours', showUnits: false },
          }),
        ],
        [
          new GraphWidget({
            title: 'API Gateway: 4xx and 5xx answers',
            width: 8,
            left: [
              api.metricClientError({ statistic: 'Sum', period: PERIOD, label: '4xx' }),
              api.metricServerError({ statistic: 'Sum', period: PERIOD, label: '5xx' }),
            ],
            right: [api.metricCount({ statistic: 'Sum', period: PERIOD, label: 'requests' })],
            leftYAxis: { min: 0, showUnits: false },
            rightYAxis: { min: 0, showUnits: false },
          }),
          new GraphWidget({
            title: 'API Gateway latency',
            width: 8,
            left: [
              api.metricLatency({ statistic: 'p50', period: PERIOD, label: 'p50' }),
              api.metricLatency({ statistic: 'p99', period: PERIOD, label: 'p99' }),
              api.metricIntegrationLatency({
                statistic: 'p99',
                period: PERIOD,
                label: 'integration p99',
              }),
            ],
            leftYAxis: { min: 0, label: 'ms', showUnits: false },
          }),
          new GraphWidget({
            title: 'Lambda duration p99',
            width: 8,
            left: perFunction((fn) =>
              fn.metricDuration({ statistic: 'p99', period: PERIOD, label: fn.handlerName }),
            ),
            leftYAxis: { min: 0, label: 'ms', showUnits: false },
          }),
        ],
      ],
    });
  }
}
