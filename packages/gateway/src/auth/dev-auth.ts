import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Auth, AuthContext } from './auth.js';
import { OPERATION_SCOPES, subscriptionCreateScope } from './auth.js';
import { JwtAuth } from './jwt-auth.js';

/** Every scope of the three APIs: what a dev token gets unless told otherwise. */
export const ALL_SCOPES: readonly string[] = [
  ...new Set(Object.values(OPERATION_SCOPES)),
  ...[
    'org.camaraproject.webrtc-events.v0.session-invitation',
    'org.camaraproject.webrtc-events.v0.session-status',
    'org.camaraproject.webrtc-events.v0.registration-ends',
  ].map(subscriptionCreateScope),
];

export interface DevTokenClaims {
  phoneNumber: string;
  scopes?: readonly string[];
  clientId?: string;
  deviceId?: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
}

const ISSUER = 'urn:telegate:dev';

/**
 * Development mode: issues and verifies locally signed HS256 tokens (a random
 * secret per instance), so `npm start` works without an identity provider.
 * Not for production: anyone who can call `issue` is anyone.
 */
export class DevAuth implements Auth {
  readonly #secret: Uint8Array;
  readonly #verifier: JwtAuth;
  readonly #now: () => number;

  constructor(options: { secret?: Uint8Array; now?: () => number; clockToleranceSeconds?: number } = {}) {
    this.#secret = options.secret ?? new Uint8Array(randomBytes(32));
    this.#now = options.now ?? Date.now;
    this.#verifier = new JwtAuth({
      key: this.#secret,
      issuer: ISSUER,
      algorithms: ['HS256'],
      deviceIdClaim: 'device_id',
      now: this.#now,
      ...(options.clockToleranceSeconds === undefined
        ? {}
        : { clockToleranceSeconds: options.clockToleranceSeconds }),
    });
  }

  async issue(claims: DevTokenClaims): Promise<string> {
    const now = Math.floor(this.#now() / 1000);
    return new SignJWT({
      phone_number: claims.phoneNumber,
      scope: (claims.scopes ?? ALL_SCOPES).join(' '),
      ...(claims.clientId === undefined ? {} : { client_id: claims.clientId }),
      ...(claims.deviceId === undefined ? {} : { device_id: claims.deviceId }),
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(`tel:${claims.phoneNumber}`)
      .setIssuedAt(now)
      .setExpirationTime(now + (claims.ttlSeconds ?? 3600))
      .sign(this.#secret);
  }

  authenticate(token: string): Promise<AuthContext> {
    return this.#verifier.authenticate(token);
  }
}
