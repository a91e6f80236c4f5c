/**
 * Webhook signatures in the Standard Webhooks style
 * (https://www.standardwebhooks.com): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, sent as
 * `webhook-signature: v1,<base64 HMAC-SHA256>` (symmetric, secret `whsec_…`)
 * or `v1a,<base64 Ed25519>` (asymmetric, keys `whsk_…` / `whpk_…`).
 * Several signatures may be sent, space separated, to rotate keys.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

/**
 * A key that signs: an HMAC secret (`whsec_<base64>`, or raw bytes) or an
 * Ed25519 private key (`whsk_<base64 seed>`, PEM, or a `KeyObject`).
 */
export type WebhookSigningKey = { secret: string | Uint8Array } | { privateKey: string | KeyObject };

/**
 * A key that verifies: an HMAC secret, or an Ed25519 public key
 * (`whpk_<base64>`, PEM, or a `KeyObject`).
 */
export type WebhookVerificationKey = { secret: string | Uint8Array } | { publicKey: string | KeyObject };

// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS #8) or public key (SPKI), RFC 8410.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The HMAC-SHA256 scheme (`v1`) of a secret, from the `standardwebhooks` package. What that
 * package lacks stays ours: Ed25519 signatures (`v1a`, `whsk_`/`whpk_` keys), several keys at
 * once (rotation), a configurable timestamp tolerance and clock, plain-text secrets besides
 * `whsec_`, and a verdict with a reason instead of a throw.
 */
function hmacScheme(secret: string | Uint8Array): Webhook {
  return new Webhook(secretBytes(secret), { format: 'raw' });
}

function secretBytes(secret: string | Uint8Array): Buffer {
  if (typeof secret !== 'string') return Buffer.from(secret);
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice('whsec_'.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

function privateKeyOf(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string') return key;
  if (key.startsWith('whsk_')) {
    const seed = Buffer.from(key.slice('whsk_'.length), 'base64');
    return createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
  }
  return createPrivateKey(key);
}

function publicKeyOf(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string') return key.type === 'private' ? createPublicKey(key) : key;
  if (key.startsWith('whpk_')) {
    const raw = Buffer.from(key.slice('whpk_'.length), 'base64');
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  }
  return createPublicKey(key);
}

function signedContent(id: string, timestamp: number, body: Uint8Array | string): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), bytes]);
}

/** A prepared signer; parse keys once, sign every attempt. */
export interface WebhookSigner {
  /** The `webhook-signature` header value for this message. */
  sign(id: string, timestamp: number, body: Uint8Array | string): string;
}

export function createWebhookSigner(keys: WebhookSigningKey | readonly WebhookSigningKey[]): WebhookSigner {
  const prepared = (Array.isArray(keys) ? keys : [keys]).map((key: WebhookSigningKey) =>
    'secret' in key
      ? { kind: 'v1' as const, webhook: hmacScheme(key.secret) }
      : { kind: 'v1a' as const, privateKey: privateKeyOf(key.privateKey) },
  );
  if (prepared.length === 0) throw new TypeError('createWebhookSigner: no key');
  return {
    sign(id, timestamp, body) {
      if (id.includes('.')) throw new TypeError('webhook-id must not contain "."');
      const content = signedContent(id, timestamp, body);
      return prepared
        .map((key) =>
          key.kind === 'v1'
            ? key.webhook.sign(id, new Date(timestamp * 1000), body)
            : `v1a,${sign(null, content, key.privateKey).toString('base64')}`,
        )
        .join(' ');
    },
  };
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Signs one message: the three Standard Webhooks headers. */
export function signWebhook(
  message: { id: string; timestamp?: number; body: Uint8Array | string },
  keys: WebhookSigningKey | readonly WebhookSigningKey[],
): SignedHeaders {
  const timestamp = message.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': createWebhookSigner(keys).sign(message.id, timestamp, message.body),
  };
}

export type WebhookVerification =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; reason: 'missing-headers' | 'stale-timestamp' | 'bad-signature' };

export interface WebhookVerifyOptions {
  /** How far `webhook-timestamp` may be from now, either way (default 300 s), against replays. */
  toleranceSeconds?: number;
  /** Current time in milliseconds (default `Date.now()`). */
  now?: number;
}

/** A prepared verifier; parse keys once, verify every request. */
export interface WebhookVerifier {
  verify(
    headers: { get(name: string): string | null | undefined },
    body: Uint8Array | string,
  ): WebhookVerification;
}

// Equal-time comparison of two byte strings of any lengths: hashing first removes the length leak.
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export function createWebhookVerifier(
  keys: WebhookVerificationKey | readonly WebhookVerificationKey[],
  options: Omit<WebhookVerifyOptions, 'now'> & { now?: () => number } = {},
): WebhookVerifier {
  const list = Array.isArray(keys) ? keys : [keys];
  const secrets = list.flatMap((key: WebhookVerificationKey) =>
    'secret' in key ? [hmacScheme(key.secret)] : [],
  );
  const publicKeys = list.flatMap((key: WebhookVerificationKey) =>
    'publicKey' in key ? [publicKeyOf(key.publicKey)] : [],
  );
  if (secrets.length + publicKeys.length === 0) throw new TypeError('createWebhookVerifier: no key');
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.now ?? Date.now;

  return {
    verify(headers, body) {
      const id = headers.get(WEBHOOK_ID_HEADER);
      const stamp = headers.get(WEBHOOK_TIMESTAMP_HEADER);
      const signatures = headers.get(WEBHOOK_SIGNATURE_HEADER);
      // An id with `.` would make the signed content ambiguous (`a.1` + `2` vs `a` + `1.2`).
      if (!id || id.includes('.') || !stamp || !signatures || !/^\d{1,15}$/.test(stamp)) {
        return { ok: false, reason: 'missing-headers' };
      }
      const timestamp = Number(stamp);
      if (Math.abs(now() / 1000 - timestamp) > tolerance) return { ok: false, reason: 'stale-timestamp' };
      let content: Buffer | undefined;
      let expectedHmacs: Buffer[] | undefined;
      for (const entry of signatures.split(' ')) {
        const comma = entry.indexOf(',');
        if (comma < 0) continue;
        const version = entry.slice(0, comma);
        const signature = Buffer.from(entry.slice(comma + 1), 'base64');
        if (version === 'v1') {
          expectedHmacs ??= secrets.map((webhook) =>
            Buffer.from(webhook.sign(id, new Date(timestamp * 1000), body).slice('v1,'.length), 'base64'),
          );
          if (expectedHmacs.some((expected) => constantTimeEqual(expected, signature))) {
            return { ok: true, id, timestamp };
          }
        } else if (version === 'v1a' && signature.length === 64) {
          content ??= signedContent(id, timestamp, body);
          const signed = content;
          if (publicKeys.some((key) => verify(null, signed, key, signature)))
            return { ok: true, id, timestamp };
        }
      }
      return { ok: false, reason: 'bad-signature' };
    },
  };
}

/** Verifies one message's Standard Webhooks headers against `keys`. */
export function verifyWebhook(
  message: { headers: { get(name: string): string | null | undefined }; body: Uint8Array | string },
  keys: WebhookVerificationKey | readonly WebhookVerificationKey[],
  options: WebhookVerifyOptions = {},
): WebhookVerification {
  const { now, ...rest } = options;
  const verifier = createWebhookVerifier(keys, now === undefined ? rest : { ...rest, now: () => now });
  return verifier.verify(message.headers, message.body);
}

/** A new random HMAC secret, `whsec_<base64 of 32 bytes>`. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** A new Ed25519 key pair as `whsk_…` (the 32-byte seed) and `whpk_…` (the public key). */
export function generateWebhookKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(ED25519_PKCS8_PREFIX.length);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  return { privateKey: `whsk_${seed.toString('base64')}`, publicKey: `whpk_${raw.toString('base64')}` };
}
