/** The S3 client (aws-clients.ts says why it lives apart from the others). */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { type AwsClientOptions, resolveCommon } from './aws-clients.ts';

export const createS3Client = (options: AwsClientOptions = {}): S3Client => {
  const { endpointOverridden, ...common } = resolveCommon(options, 'AWS_ENDPOINT_URL_S3');
  const config: S3ClientConfig = {
    ...common,
    ...(endpointOverridden
      ? {
          // S3-compatible servers on loopback have no DNS for `<bucket>.127.0.0.1`.
          forcePathStyle: true,
          // The SDK's default flexible checksums (aws-chunked trailers) are stored verbatim, i.e.
          // corrupted, by servers such as s3rver; only send and check them when an API needs them.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  };
  return new S3Client(config);
};
