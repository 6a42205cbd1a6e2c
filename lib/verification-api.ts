/**
 * The REST API (DESIGN.md): `POST /verifications`, `GET /verifications/{verification_id}` and the
 * review routes (the open queue, a decision, the kept selfie), all IAM (SigV4) authorized,
 * validated before the Lambda is paid for, throttled per stage, traced, access-logged as JSON to a KMS-encrypted log group. Errors API Gateway answers by
 * itself are RFC 9457 problem documents like the handler's own.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  MethodLoggingLevel,
  Model,
  RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import {
  AccountPrincipal,
  AnyPrincipal,
  Effect,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Field } from '../lambda/core/fields.ts';
import { subjectBodyFields, verificationBodyFields } from '../lambda/core/request.ts';
import { reviewBodyFields, reviewListQueryFields } from '../lambda/core/review.ts';

export const API_STAGE_NAME = 'v1';

/**
 * Bodies of these types reach the handler base64-encoded (`isBase64Encoded: true`), byte-exact
 * instead of mangled into UTF-8 text, so the handler measures their real size and answers 413/415
 * itself. JSON is not listed: it arrives as text, as the handler and the body model expect.
 */
export const BINARY_MEDIA_TYPES = [
  'image/jpeg',
  'image/png',
  'multipart/form-data',
  'application/octet-stream',
];

/**
 * A first sieve, not the contract: the handler validates every field and names it in `errors`.
 * Only shape checks live here (no patterns, no lengths), because API Gateway's own messages for
 * those quote the offending value, and values here are NIKs and names.
 */
function requestModelSchema(title: string, fields: Record<string, Field<unknown>>) {
  const entries = Object.entries(fields);
  return {
    schema: JsonSchemaVersion.DRAFT4,
    title,
    type: JsonSchemaType.OBJECT,
    // The handler's own fields say which there are, which are required and which are booleans.
    required: entries.filter(([, field]) => !field.optional).map(([name]) => name),
    properties: Object.fromEntries(
      entries.map(([name, field]) => [
        name,
        {
          type: field.spec.kind === 'boolean' ? JsonSchemaType.BOOLEAN : JsonSchemaType.STRING,
        },
      ]),
    ),
  };
}

const VERIFICATION_REQUEST_SCHEMA = requestModelSchema(
  'VerificationRequest',
  verificationBodyFields,
);
const DATA_SUBJECT_REQUEST_SCHEMA = requestModelSchema('DataSubjectRequest', subjectBodyFields);
const REVIEW_REQUEST_SCHEMA = requestModelSchema('ReviewRequest', reviewBodyFields);

/** GET /verifications's query parameters, required as the handler's fields say. */
const REVIEW_LIST_PARAMETERS = Object.fromEntries(
  Object.entries(reviewListQueryFields).map(([name, field]) => [
    `method.request.querystring.${name}`,
    !field.optional,
  ]),
);

/**
 * API Gateway's own refusals, as problem documents: a status, a title, a `code` (the handler's
 * where it refuses the same thing, else the gateway's response type, as the OpenAPI document's
 * Problem requires one) and a detail that never quotes the request. Without a status
 * (DEFAULT_4XX) the gateway's own status code is kept.
 */
export const GATEWAY_PROBLEMS: Array<{
  type: ResponseType;
  status?: number;
  title: string;
  detail?: string;
  code?: string;
}> = [
  {
    type: ResponseType.BAD_REQUEST_BODY,
    status: 400,
    title: 'Bad Request',
    // One gateway response serves every route's body model, so it names each route's fields.
    detail:
      'the body must be a JSON object: POST /verifications with the string fields nik, name and ' +
      'date_of_birth; POST /verifications/{verification_id}/review with the string fields ' +
      'decision and reason (reopen a boolean); POST /data-subjects/* with the string field nik',
    code: 'INVALID_REQUEST',
  },
  {
    type: ResponseType.BAD_REQUEST_PARAMETERS,
    status: 400,
    title: 'Bad Request',
    code: 'INVALID_REQUEST',
  },
  { type: ResponseType.MISSING_AUTHENTICATION_TOKEN, status: 403, title: 'Forbidden' },
  { type: ResponseType.ACCESS_DENIED, status: 403, title: 'Forbidden' },
  { type: ResponseType.EXPIRED_TOKEN, status: 403, title: 'Forbidden' },
  { type: ResponseType.INVALID_SIGNATURE, status: 403, title: 'Forbidden' },
  {
    type: ResponseType.REQUEST_TOO_LARGE,
    status: 413,
    title: 'Content Too Large',
    code: 'BODY_TOO_LARGE',
  },
  {
    type: ResponseType.UNSUPPORTED_MEDIA_TYPE,
    status: 415,
    title: 'Unsupported Media Type',
    code: 'UNSUPPORTED_CONTENT_TYPE',
  },
  { type: ResponseType.THROTTLED, status: 429, title: 'Too Many Requests' },
  { type: ResponseType.QUOTA_EXCEEDED, status: 429, title: 'Too Many Requests' },
  { type: ResponseType.INTEGRATION_TIMEOUT, status: 504, title: 'Gateway Timeout' },
  { type: ResponseType.INTEGRATION_FAILURE, status: 502, title: 'Bad Gateway' },
  { type: ResponseType.DEFAULT_4XX, title: 'Client Error' },
  {
    type: ResponseType.DEFAULT_5XX,
    status: 500,
    title: 'Internal Server Error',
    code: 'INTERNAL_ERROR',
  },
];

export function problemTemplate(problem: (typeof GATEWAY_PROBLEMS)[number]): string {
  const { title, status, detail, code } = problem;
  // `messageString` is API Gateway's message already quoted and escaped as a JSON string; a
  // response type is an upper-case identifier, safe inside quotes.
  const detailJson = detail === undefined ? '$context.error.messageString' : JSON.stringify(detail);
  const statusJson = status === undefined ? '' : `"status":${status},`;
  const codeJson = code === undefined ? '"$context.error.responseType"' : JSON.stringify(code);
  return `{"type":"about:blank","title":${JSON.stringify(title)},${statusJson}"detail":${detailJson},"code":${codeJson}}`;
}

export interface VerificationApiProps {
  envName: string;
  handler: IFunction;
  key: IKey;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  throttlingRateLimit: number;
  throttlingBurstLimit: number;
  /** Accounts allowed to call; empty: no resource policy. */
  allowedAccountIds: string[];
  createCloudWatchRole: boolean;
}

export class VerificationApi extends Construct {
  readonly api: RestApi;
  readonly accessLogGroup: LogGroup;
  readonly executionLogGroup: LogGroup;
  readonly methods: Method[];

  constructor(scope: Construct, id: string, props: VerificationApiProps) {
    super(scope, id);

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      encryptionKey: props.key,
      removalPolicy: props.removalPolicy,
    });

    this.api = new RestApi(this, 'Api', {
      restApiName: `facematch-${props.envName}`,
      description: `facematch ${props.envName}: eKYC verifications (IAM-authorized)`,
      endpointTypes: [EndpointType.REGIONAL],
      binaryMediaTypes: BINARY_MEDIA_TYPES,
      cloudWatchRole: props.createCloudWatchRole,
      ...(props.allowedAccountIds.length === 0
        ? {}
        : { policy: callerAccountsPolicy(props.allowedAccountIds) }),
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: API_STAGE_NAME,
        tracingEnabled: true,
        metricsEnabled: true,
        // Errors only, and never the bodies: they hold NIKs, names and selfies.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: props.throttlingRateLimit,
        throttlingBurstLimit: props.throttlingBurstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
      },
    });
    if (props.allowedAccountIds.length > 0) {
      // A policy change only takes effect with a new deployment.
      this.api.latestDeployment?.addToLogicalId({ allowedAccountIds: props.allowedAccountIds });
    }

    // API Gateway writes execution logs to this name; made here so it is encrypted and expires,
    // and before the stage, so API Gateway never creates it first.
    this.executionLogGroup = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE_NAME}`,
      retention: props.logRetention,
      encryptionKey: props.key,
      removalPolicy: props.removalPolicy,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogGroup);

    const validator = new RequestValidator(this, 'Validator', {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const requestModel = new Model(this, 'VerificationRequestModel', {
      restApi: this.api,
      contentType: 'application/json',
      modelName: 'VerificationRequest',
      schema: VERIFICATION_REQUEST_SCHEMA,
    });
    // The test-invoke permission would let the console call the function outside the stage.
    const integration = new LambdaIntegration(props.handler, { allowTestInvoke: false });

    const verifications = this.api.root.addResource('verifications');
    const verification = verifications.addResource('{verification_id}');
    const byId = { 'method.request.path.verification_id': true };
    this.methods = [
      verifications.addMethod('POST', integration, {
        authorizationType: AuthorizationType.IAM,
        requestValidator: validator,
        requestModels: { 'application/json': requestModel },
      }),
      verification.addMethod('GET', integration, {
        authorizationType: AuthorizationType.IAM,
        requestValidator: validator,
        requestParameters: byId,
      }),
      // The review routes, each its own method so IAM can grant reading the queue, deciding and
      // seeing selfies separately (execute-api:Invoke on <api>/<stage>/<METHOD>/<path>).
      verifications.addMethod('GET', integration, {
        authorizationType: AuthorizationType.IAM,
        requestValidator: validator,
        requestParameters: REVIEW_LIST_PARAMETERS,
      }),
      verification.addResource('review').addMethod('POST', integration, {
        authorizationType: AuthorizationType.IAM,
        requestValidator: validator,
        requestParameters: byId,
        requestModels: {
          'application/json': new Model(this, 'ReviewRequestModel', {
            restApi: this.api,
            contentType: 'application/json',
            modelName: 'ReviewRequest',
            schema: REVIEW_REQUEST_SCHEMA,
          }),
        },
      }),
      verification.addResource('selfie').addMethod('GET', integration, {
        authorizationType: AuthorizationType.IAM,
        requestValidator: validator,
        requestParameters: byId,
      }),
    ];

    // A privacy officer's routes: each its own method, so IAM grants search and erase apart
    // from verifying (e.g. execute-api:Invoke on POST/data-subjects/erase for one role only).
    const subjectModel = new Model(this, 'DataSubjectRequestModel', {
      restApi: this.api,
      contentType: 'application/json',
      modelName: 'DataSubjectRequest',
      schema: DATA_SUBJECT_REQUEST_SCHEMA,
    });
    const subjects = this.api.root.addResource('data-subjects');
    for (const action of ['search', 'erase']) {
      this.methods.push(
        subjects.addResource(action).addMethod('POST', integration, {
          authorizationType: AuthorizationType.IAM,
          requestValidator: validator,
          requestModels: { 'application/json': subjectModel },
        }),
      );
    }

    for (const problem of GATEWAY_PROBLEMS) {
      this.api.addGatewayResponse(`Problem${problem.type.responseType}`, {
        type: problem.type,
        ...(problem.status === undefined ? {} : { statusCode: String(problem.status) }),
        responseHeaders: { 'Content-Type': "'application/problem+json'" },
        templates: {
          'application/json': problemTemplate(problem),
        },
      });
    }
  }
}

/**
 * Allows the listed accounts and denies everyone else. The explicit deny matters: without it, a
 * principal of this account with an IAM permission would pass even when the account is not
 * listed, because a same-account call needs only one of the two policies.
 */
function callerAccountsPolicy(accountIds: string[]): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'AllowListedAccounts',
        principals: accountIds.map((accountId) => new AccountPrincipal(accountId)),
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new PolicyStatement({
        sid: 'DenyOtherAccounts',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions: { StringNotEquals: { 'aws:PrincipalAccount': accountIds } },
      }),
    ],
  });
}
