/**
 * The CDK app (cdk.json: `npx tsx bin/app.ts`). One environment per run:
 * `npx cdk synth -c env=dev`, `npx cdk deploy -c env=prod`.
 */

import { createFacematchApp } from '../lib/app.ts';
import { InfraConfigError } from '../lib/config.ts';

try {
  createFacematchApp().app.synth();
} catch (error) {
  if (!(error instanceof InfraConfigError)) throw error;
  // A configuration mistake is the operator's to fix: the message, not a stack trace.
  console.error(`facematch: ${error.message}`);
  process.exitCode = 1;
}
