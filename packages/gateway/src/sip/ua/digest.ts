import { createHash, randomBytes } from 'node:crypto';

/** A `WWW-Authenticate`/`Proxy-Authenticate` Digest challenge (RFC 3261 §22.4, RFC 8760). */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: 'MD5' | 'SHA-256' | 'MD5-sess' | 'SHA-256-sess';
  qop?: 'auth';
  stale?: boolean;
}

const HASHES = { MD5: 'md5', 'SHA-256': 'sha256' } as const;

/** Reads one Digest challenge; `undefined` for other schemes and algorithms we do not implement. */
export function parseDigestChallenge(value: string): DigestChallenge | undefined {
  const match = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!match) return undefined;
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let m = re.exec(match[1]!); m; m = re.exec(match[1]!)) {
    params.set(m[1]!.toLowerCase(), (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  const algorithm = (params.get('algorithm') ?? 'MD5').toUpperCase().replace('SHA-256', 'SHA-256');
  const known = {
    MD5: 'MD5',
    'MD5-SESS': 'MD5-sess',
    'SHA-256': 'SHA-256',
    'SHA-256-SESS': 'SHA-256-sess',
  } as const;
  const normalized = known[algorithm as keyof typeof known];
  if (normalized === undefined) return undefined;
  const qops = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
  if (params.has('qop') && !qops.includes('auth')) return undefined; // auth-int is not offered by us
  return {
    realm,
    nonce,
    algorithm: normalized,
    ...(params.has('opaque') ? { opaque: params.get('opaque')! } : {}),
    ...(qops.includes('auth') ? { qop: 'auth' as const } : {}),
    ...(params.get('stale')?.toLowerCase() === 'true' ? { stale: true } : {}),
  };
}

/** Picks the strongest challenge we can answer: SHA-256 before MD5 (RFC 8760 §2.4). */
export function pickChallenge(values: string[]): DigestChallenge | undefined {
  const challenges = values.map(parseDigestChallenge).filter((c): c is DigestChallenge => c !== undefined);
  return challenges.find((c) => c.algorithm.startsWith('SHA-256')) ?? challenges[0];
}

/** The `Authorization`/`Proxy-Authorization` value answering `challenge` (RFC 2617 §3.2.2, RFC 8760). */
export function digestAuthorization(
  challenge: DigestChallenge,
  credentials: { username: string; password: string },
  request: { method: string; uri: string },
  nonceCount = 1,
  cnonce = randomBytes(8).toString('hex'),
): string {
  const hashName = HASHES[challenge.algorithm.startsWith('SHA-256') ? 'SHA-256' : 'MD5'];
  const h = (text: string) => createHash(hashName).update(text, 'utf8').digest('hex');
  const nc = nonceCount.toString(16).padStart(8, '0');
  let ha1 = h(`${credentials.username}:${challenge.realm}:${credentials.password}`);
  if (challenge.algorithm.endsWith('-sess')) ha1 = h(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = h(`${request.method}:${request.uri}`);
  const response =
    challenge.qop === 'auth'
      ? h(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`)
      : h(`${ha1}:${challenge.nonce}:${ha2}`);
  const quote = (v: string) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const parts = [
    `username=${quote(credentials.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(request.uri)}`,
    `response=${quote(response)}`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  if (challenge.qop === 'auth') parts.push('qop=auth', `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}
