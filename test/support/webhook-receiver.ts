/**
 * A real webhook receiver on loopback that checks every request with the Standard Webhooks npm
 * library (`standardwebhooks`), not with this project's code, and answers as each test scripts
 * it: a status, a hang, a closed connection or a redirect.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type ReceiverAnswer =
  | number
  | 'hang'
  | 'close'
  | { status: number; headers?: Record<string, string> };

export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  signature: string;
  body: string;
  /** The body as the library returned it after verifying the signature; null if it refused. */
  verified: { type: string; timestamp: string; data: Record<string, unknown> } | null;
  path: string;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Ids of the requests answered 2xx, in order. */
  delivered: string[];
  /** Requests whose signature the library refused. */
  rejected(): ReceivedWebhook[];
  close(): Promise<void>;
}

/** `answer(n, request)`: how to answer the n-th request (0-based) for the same webhook-id. */
export async function startWebhookReceiver(
  secret: string,
  answer: (attempt: number, request: ReceivedWebhook) => ReceiverAnswer = () => 204,
): Promise<WebhookReceiver> {
  const library = new Webhook(secret);
  const received: ReceivedWebhook[] = [];
  const delivered: string[] = [];
  const attemptsById = new Map<string, number>();
  const readBody = (request: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      request.on('error', reject);
    });
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request);
    const header = (name: string) => String(request.headers[name] ?? '');
    let verified: ReceivedWebhook['verified'] = null;
    try {
      verified = library.verify(body, {
        'webhook-id': header('webhook-id'),
        'webhook-timestamp': header('webhook-timestamp'),
        'webhook-signature': header('webhook-signature'),
      }) as ReceivedWebhook['verified'];
    } catch {
      verified = null;
    }
    const entry: ReceivedWebhook = {
      id: header('webhook-id'),
      timestamp: Number(header('webhook-timestamp')),
      signature: header('webhook-signature'),
      body,
      verified,
      path: request.url ?? '/',
    };
    received.push(entry);
    const attempt = attemptsById.get(entry.id) ?? 0;
    attemptsById.set(entry.id, attempt + 1);
    const planned = verified === null ? 401 : answer(attempt, entry);
    if (planned === 'hang') return; // never answers; the sender's timeout must end it
    if (planned === 'close') {
      request.socket.destroy();
      return;
    }
    const { status, headers } = typeof planned === 'number' ? { status: planned } : planned;
    if (status >= 200 && status <= 299) delivered.push(entry.id);
    response.writeHead(status, headers);
    response.end(status >= 400 ? '{"error":"scripted"}' : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/facematch`,
    received,
    delivered,
    rejected: () => received.filter((entry) => entry.verified === null),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
