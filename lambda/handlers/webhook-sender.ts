/** Lambda entry point of the webhook sender (SQS event sources with ReportBatchItemFailures). */
import { parseWebhookSenderConfig } from '../webhook-config.ts';
import { createWebhookRuntime } from '../webhook-runtime.ts';
import { createWebhookSenderHandler } from './webhook-sender-handler.ts';

export const handler = createWebhookSenderHandler(createWebhookRuntime(parseWebhookSenderConfig()));
