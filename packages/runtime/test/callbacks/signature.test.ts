import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateWebhookKeyPair,
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  type WebhookSigningKey,
  type WebhookVerificationKey,
} from '../../src/callbacks/index.js';

const now = Date.parse('2025-06-01T12:00:00Z');
const timestamp = now / 1000;
const body = '{"specversion":"1.0","id":"e-1","type":"x.y.session-status"}';
const headersOf = (record: Record<string, string>) => new Headers(record);

const secret = generateWebhookSecret();
const pair = generateWebhookKeyPair();
const pem = generateKeyPairSync('ed25519');

const schemes: [string, WebhookSigningKey, WebhookVerificationKey, RegExp][] = [
  ['HMAC-SHA256 (whsec_)', { secret }, { secret }, /^v1,[A-Za-z0-9+/]+=*$/],
  [
    'HMAC-SHA256 (raw bytes)',
    { secret: new Uint8Array(32).fill(7) },
    { secret: new Uint8Array(32).fill(7) },
    /^v1,/,
  ],
  [
    'Ed25519 (whsk_/whpk_)',
    { privateKey: pair.privateKey },
    { publicKey: pair.publicKey },
    /^v1a,[A-Za-z0-9+/]+=*$/,
  ],
  ['Ed25519 (KeyObject)', { privateKey: pem.privateKey }, { publicKey: pem.publicKey }, /^v1a,/],
  [
    'Ed25519 (PEM)',
    { privateKey: pem.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
    { publicKey: pem.publicKey.export({ format: 'pem', type: 'spki' }).toString() },
    /^v1a,/,
  ],
];

describe.each(schemes)('%s', (_, signingKey, verificationKey, shape) => {
  const signed = signWebhook({ id: 'msg_1', timestamp, body }, signingKey);

  it('signs id.timestamp.body and verifies the round trip', () => {
    expect(signed['webhook-id']).toBe('msg_1');
    expect(signed['webhook-timestamp']).toBe(String(timestamp));
    expect(signed['webhook-signature']).toMatch(shape);
    expect(verifyWebhook({ headers: headersOf({ ...signed }), body }, verificationKey, { now })).toEqual({
      ok: true,
      id: 'msg_1',
      timestamp,
    });
    expect(
      verifyWebhook(
        { headers: headersOf({ ...signed }), body: new TextEncoder().encode(body) },
        verificationKey,
        {
          now,
        },
      ).ok,
    ).toBe(true);
  });

  it.each([
    ['the body', { ...signed }, body.replace('e-1', 'e-2'), 'bad-signature'],
    ['the id', { ...signed, 'webhook-id': 'msg_2' }, body, 'bad-signature'],
    ['the timestamp', { ...signed, 'webhook-timestamp': String(timestamp + 1) }, body, 'bad-signature'],
    [
      'a stale timestamp',
      { ...signed, 'webhook-timestamp': String(timestamp - 301) },
      body,
      'stale-timestamp',
    ],
    [
      'no signature',
      { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp) },
      body,
      'missing-headers',
    ],
    ['an id with a dot', { ...signed, 'webhook-id': 'msg.1' }, body, 'missing-headers'],
  ])('rejects a message with tampered %s', (__, headers, tamperedBody, reason) => {
    expect(
      verifyWebhook({ headers: headersOf(headers), body: tamperedBody }, verificationKey, { now }),
    ).toEqual({
      ok: false,
      reason,
    });
  });
});

describe('key rotation and key mismatch', () => {
  it('accepts a message signed with old and new keys by either key', () => {
    const oldSecret = generateWebhookSecret();
    const signed = signWebhook({ id: 'msg_9', timestamp, body }, [
      { secret },
      { secret: oldSecret },
      { privateKey: pair.privateKey },
    ]);
    expect(signed['webhook-signature'].split(' ')).toHaveLength(3);
    for (const key of [{ secret }, { secret: oldSecret }, { publicKey: pair.publicKey }]) {
      expect(verifyWebhook({ headers: headersOf({ ...signed }), body }, key, { now }).ok).toBe(true);
    }
  });

  it('rejects a signature made with another key', () => {
    const signed = signWebhook({ id: 'msg_3', timestamp, body }, { secret: generateWebhookSecret() });
    expect(verifyWebhook({ headers: headersOf({ ...signed }), body }, { secret }, { now }).ok).toBe(false);
    const other = generateWebhookKeyPair();
    const asym = signWebhook({ id: 'msg_3', timestamp, body }, { privateKey: other.privateKey });
    expect(
      verifyWebhook({ headers: headersOf({ ...asym }), body }, { publicKey: pair.publicKey }, { now }).ok,
    ).toBe(false);
  });

  it('refuses to sign an id containing "."', () => {
    expect(() => signWebhook({ id: 'a.b', timestamp, body }, { secret })).toThrow(/must not contain/);
  });
});
