/**
 * The facematch request body is written into one buffer and streamed to the socket (so a 5 MB
 * selfie is not held as a base64 string, a JSON string and fetch's copy of each). What IDmeta
 * receives must not change: the same bytes `JSON.stringify` would give, with a Content-Length
 * (never chunked), and the same bytes again on a retry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdmetaClient } from '../../lambda/adapters/idmeta-client.ts';
import type { FacematchCheckInput } from '../../lambda/core/ports.ts';
import { type FakeHttpServer, json, startFakeHttp } from '../support/fake-http.ts';
import { VERIFIED_ANSWER } from '../support/idmeta-answers.ts';

/** Larger than one encoding chunk and not a multiple of 3, inside a larger buffer. */
function selfieBytes(): Uint8Array {
  const backing = new Uint8Array(150_001 + 7);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 31 + 7) & 0xff;
  backing.set([0xff, 0xd8, 0xff], 3);
  return backing.subarray(3, 3 + 150_001);
}

const INPUT: FacematchCheckInput = {
  verificationId: 'ver-body-1',
  templateId: 'tpl-body',
  nik: '3201125206930001',
  // Quotes, a backslash and non-ASCII letters: JSON escaping and UTF-8 byte counts both matter.
  name: 'Dewi "Ayu" Ni\\Luh Sekarini Öztürk',
  dateOfBirth: { year: 1993, month: 6, day: 12 },
  selfie: { bytes: selfieBytes(), mime: 'image/jpeg' },
};

const EXPECTED_BODY = JSON.stringify({
  date_of_birth: '12-06-1993',
  name: INPUT.name,
  nik: INPUT.nik,
  selfie_image: `data:image/jpeg;base64,${Buffer.from(INPUT.selfie.bytes).toString('base64')}`,
  template_id: INPUT.templateId,
  verification_id: INPUT.verificationId,
});

let server: FakeHttpServer;

beforeAll(async () => {
  server = await startFakeHttp();
});

afterAll(async () => {
  await server.close();
});

const client = () =>
  new IdmetaClient({
    baseUrl: server.url,
    tokenSource: { get: async () => 'token', refresh: async () => 'token' },
    timeoutMs: 5_000,
    maxAttempts: 2,
    dobFormat: 'DD-MM-YYYY',
    random: () => 0,
    sleep: async () => undefined,
  });

describe('IdmetaClient.facematch: the request body on the wire', () => {
  it('is exactly the JSON of the fields, sent with its Content-Length, not chunked', async () => {
    // Prepare
    server.script([json(200, VERIFIED_ANSWER)]);

    // Act
    await client().facematch(INPUT, { deadline: Date.now() + 10_000 });

    // Assess
    const [request] = server.requests;
    expect(request?.body).toBe(EXPECTED_BODY);
    expect(request?.headers['content-length']).toBe(String(Buffer.byteLength(EXPECTED_BODY)));
    expect(request?.headers['transfer-encoding']).toBeUndefined();
    expect(request?.headers['content-type']).toBe('application/json');
  });

  it('sends the same bytes again on a retry', async () => {
    // Prepare
    server.script([json(503, { message: 'busy' }), json(200, VERIFIED_ANSWER)]);

    // Act
    const result = await client().facematch(INPUT, { deadline: Date.now() + 10_000 });

    // Assess
    expect(result.outcome).toBe('VERIFIED');
    expect(server.requests).toHaveLength(2);
    expect(server.requests.map((request) => request.body)).toEqual([EXPECTED_BODY, EXPECTED_BODY]);
    expect(server.requests[1]?.headers['content-length']).toBe(
      String(Buffer.byteLength(EXPECTED_BODY)),
    );
  });
});
