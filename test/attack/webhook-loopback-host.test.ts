/**
 * Attack: the local runtime allows plain http "to loopback only", but the check is a string
 * prefix on the host name: `127.attacker.example` is a DNS name that resolves anywhere, and the
 * signed verdict event then crosses the network in clear.
 */
import { describe, expect, it } from 'vitest';
import { assertWebhookUrl } from '../../lambda/core/webhooks.ts';

describe('attack: loopback-only http for local webhooks', () => {
  it('refuses a DNS name that merely starts with 127.', () => {
    expect(() =>
      assertWebhookUrl('http://127.attacker.example/hook', 'WEBHOOK_URL', {
        allowLoopbackHttp: true,
      }),
    ).toThrow(/https/);
  });
});
