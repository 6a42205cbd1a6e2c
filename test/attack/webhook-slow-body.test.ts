/**
 * Attack: a receiver answers 200 at once but never finishes its response body. The sender only
 * settles on the body's end, so the attempt times out and is judged TIMEOUT (retryable): the
 * event the receiver already accepted is posted again on the schedule.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpWebhookSender } from '../../lambda/adapters/webhook-sender.ts';

let server: Server | undefined;
let sender: HttpWebhookSender | undefined;

afterEach(async () => {
  sender?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('attack: a 200 whose body never ends', () => {
  it('is a delivery, not a timeout to retry', async () => {
    server = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('ok'); // and never end()
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    sender = new HttpWebhookSender({ allowLoopbackHttp: true, timeoutMs: 300 });

    const result = await sender.send({
      url: `http://127.0.0.1:${port}/hook`,
      key: new Uint8Array(32),
      message: {
        id: 'evt-1',
        type: 'verification.completed',
        timestamp: '2026-12-03T09:00:00.000Z',
        data: { verification_id: 'ver-1' },
      },
    });

    expect(result).toMatchObject({ kind: 'response', status: 200 });
  });
});
