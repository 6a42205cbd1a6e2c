// s3rver 3.7 ships no type declarations; only what local/aws-servers.ts uses.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';
  import type { S3Event } from 'aws-lambda';

  interface S3rverOptions {
    address?: string;
    port?: number;
    /** Where buckets and objects live on disk. */
    directory?: string;
    silent?: boolean;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    serviceEndpoint?: string;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  /** A Koa application; it emits `event` with an S3 notification for every object write. */
  export default class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    httpServer?: Server;
    /** Creates the configured buckets, then listens. */
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    reset(): void;
    on(eventName: 'event', listener: (event: S3Event) => void): this;
    on(eventName: string | symbol, listener: (...args: unknown[]) => void): this;
  }
}

// The filesystem store, for local/s3rver-put-fix.ts: only the members it replaces or calls.
declare module 's3rver/lib/stores/filesystem.js' {
  import type { Readable } from 'node:stream';

  interface StoredObject {
    bucket: string;
    key: string;
    metadata: Record<string, string>;
    content: Buffer | Readable;
  }

  export default class FilesystemStore {
    constructor(rootDirectory: string);
    getResourcePath(bucket: string, key: string, resource: string): string;
    putMetadata(
      bucket: string,
      key: string,
      metadata: Record<string, string>,
      md5: string,
    ): Promise<void>;
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
    getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  }
}

// The object controller and S3's error, for local/s3rver-post-policy.ts.
declare module 's3rver/lib/controllers/object.js' {
  import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

  /** The Koa context s3rver's controllers get: only what the POST policy patch uses. */
  export interface S3rverContext {
    app: object;
    req: IncomingMessage;
    headers: IncomingHttpHeaders;
    params: { bucket: string; key?: string };
    is(type: string): string | false | null;
  }

  const objectController: {
    postObject(ctx: S3rverContext): Promise<void>;
  };
  export default objectController;
}

declare module 's3rver/lib/models/error.js' {
  /** Rendered by s3rver as S3's XML error with the status S3 gives `code`. */
  export default class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, string | number>);
    code: string;
    status: number;
  }
}
