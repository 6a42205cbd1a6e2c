/**
 * The floor of the api's cold start (bench/cold-import.ts, informational): only the libraries every
 * first request needs (the DynamoDB and Secrets Manager clients as aws-clients.ts configures them,
 * Powertools' logger and metrics, middy), and none of the rest of our code. Built with the stack's
 * bundle options, so the difference between this row and the api's is what our code and its own
 * dependencies (the routes, the config, image-size) cost at a cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import {
  createDynamoDocumentClient,
  createSecretsManagerClient,
} from '../lambda/adapters/aws-clients.ts';

const logger = new Logger({ serviceName: 'facematch' });
const metrics = new Metrics({ namespace: 'facematch', serviceName: 'facematch' });
const documentClient = createDynamoDocumentClient();
const secrets = createSecretsManagerClient();

export const handler = middy(async () => [documentClient, secrets, metrics]).use(
  injectLambdaContext(logger),
);
