/**
 * Every adapter of the selfie bucket, on one S3 client (one socket pool). lambda/runtime.ts loads
 * this module with a dynamic `import()` on the first S3 call, so its chunk (the S3 client and
 * commands, the presigned POST) is not read at a cold start that may never need it.
 */
import type { AwsClientOptions } from './aws-clients.ts';
import { S3BucketObjects } from './bucket-objects.ts';
import { S3ErasureReceipts } from './erasure-receipts.ts';
import { S3ReviewSelfies } from './review-selfies.ts';
import { createS3Client } from './s3-client.ts';
import { S3SelfieStore } from './selfie-store.ts';

export function createS3Adapters(options: AwsClientOptions | undefined, bucket: string) {
  const client = createS3Client(options);
  return {
    selfies: new S3SelfieStore({ client, bucket }),
    objects: new S3BucketObjects({ client, bucket }),
    receipts: new S3ErasureReceipts({ client, bucket }),
    reviewSelfies: new S3ReviewSelfies({ client, bucket }),
  };
}
