/**
 * A scripted HTTP server on 127.0.0.1 and a free port, for testing outbound clients against a
 * real socket. Each request takes the next reply of the script (the last one repeats); every
 * request is recorded with its headers and body.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeReply =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Never answers: for timeouts. The socket is destroyed when the server closes. */
  | { hang: true }
  /** Closes the connection without a response (a reset seen by the client). */
  | { destroy: true };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Epoch ms when the request was fully received. */
  at: number;
  /** The client's port: equal ports on successive requests mean a reused keep-alive socket. */
  clientPort: number | undefined;
}

export interface FakeHttpServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: RecordedRequest[];
  /** Replaces the script and the position in it. */
  script(replies: FakeReply[] | ((request: RecordedRequest, index: number) => FakeReply)): void;
  close(): Promise<void>;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startFakeHttp(
  initial: FakeReply[] | ((request: RecordedRequest, index: number) => FakeReply) = [],
): Promise<FakeHttpServer> {
  const requests: RecordedRequest[] = [];
  let next: (request: RecordedRequest, index: number) => FakeReply;
  const script = (
    replies: FakeReply[] | ((request: RecordedRequest, index: number) => FakeReply),
  ) => {
    next =
      typeof replies === 'function'
        ? replies
        : (_request, index) => replies[Math.min(index, replies.length - 1)] ?? { status: 500 };
    requests.length = 0;
  };
  script(initial);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        clientPort: req.socket.remotePort,
      };
      const index = requests.length;
      requests.push(request);
      const reply = next(request, index);
      if ('hang' in reply) return;
      if ('destroy' in reply) {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  const port = await listen(server);

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL on which nothing listens: connecting to it is refused. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
