import {
  type CryptoKey,
  createRemoteJWKSet,
  errors,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
} from 'jose';
import type { Logger } from '../core/logger.js';
import { PermissionDeniedError, ServiceUnavailableError, UnauthenticatedError } from '../errors.js';
import { PHONE_NUMBER_PATTERN } from '../sip/address.js';
import type { Auth, AuthContext } from './auth.js';

export interface JwtAuthOptions {
  /** Where the issuer publishes its keys (JWKS), fetched and cached by jose. */
  jwksUrl?: string | URL;
  /** Or one verification key / shared secret (dev mode, tests). */
  key?: CryptoKey | KeyObject | JWK | Uint8Array;
  issuer?: string | string[];
  audience?: string | string[];
  /** Accepted `alg` values (default: what the key allows; always set it in production). */
  algorithms?: string[];
  /** Claim carrying the subscriber number (default `phone_number`, OIDC standard claim). */
  phoneNumberClaim?: string;
  /** Claim binding the token to a device, if the authorization server sets one. */
  deviceIdClaim?: string;
  clockToleranceSeconds?: number;
  /** Time source (epoch ms), shared with the gateway clock. */
  now?: () => number;
  /** Where failures to fetch the JWKS are reported. */
  logger?: Logger;
}

/** Codes of jose errors that say the key set could not be had, not that the token is bad. */
const KEY_SET_UNAVAILABLE = new Set(['ERR_JOSE_GENERIC', 'ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID']);

function scopesOf(payload: JWTPayload): string[] {
  const scope = payload.scope ?? payload.scp;
  if (typeof scope === 'string') return scope.split(' ').filter((s) => s !== '');
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === 'string');
  return [];
}

/**
 * Verifies JWT access tokens (signature, `exp`/`nbf`, issuer, audience) with
 * jose and reads the subscriber number, scopes and client from their claims.
 * `tel:+…` subjects are accepted as phone numbers when no phone claim is set.
 */
export class JwtAuth implements Auth {
  readonly #key: JWTVerifyGetKey | CryptoKey | KeyObject | JWK | Uint8Array;
  readonly #options: JwtAuthOptions;
  /**
   * Tokens already verified, with their context and `exp`: a client sends the
   * same token on every request, and a signature check costs more than the
   * request. Bounded; the oldest entry goes first.
   */
  readonly #verified = new Map<string, { context: AuthContext; expiresAtMs: number }>();
  static readonly #MAX_CACHED = 10_000;

  constructor(options: JwtAuthOptions) {
    if ((options.jwksUrl === undefined) === (options.key === undefined)) {
      throw new Error('JwtAuth: give exactly one of jwksUrl and key');
    }
    this.#options = options;
    this.#key = options.jwksUrl !== undefined ? createRemoteJWKSet(new URL(options.jwksUrl)) : options.key!;
  }

  async authenticate(token: string): Promise<AuthContext> {
    const now = this.#options.now?.() ?? Date.now();
    const cached = this.#verified.get(token);
    if (cached && now < cached.expiresAtMs) return cached.context;
    if (cached) this.#verified.delete(token);
    const context = await this.#verify(token);
    return context;
  }

  async #verify(token: string): Promise<AuthContext> {
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, this.#key as Uint8Array, {
        ...(this.#options.issuer === undefined ? {} : { issuer: this.#options.issuer }),
        ...(this.#options.audience === undefined ? {} : { audience: this.#options.audience }),
        ...(this.#options.algorithms === undefined ? {} : { algorithms: this.#options.algorithms }),
        ...(this.#options.now === undefined ? {} : { currentDate: new Date(this.#options.now()) }),
        clockTolerance: this.#options.clockToleranceSeconds ?? 5,
        requiredClaims: ['exp'],
      });
      payload = verified.payload;
    } catch (error) {
      // An unreachable JWKS makes no token invalid: 503, so clients retry rather than drop the token.
      if (
        this.#options.jwksUrl !== undefined &&
        (!(error instanceof errors.JOSEError) || KEY_SET_UNAVAILABLE.has(error.code))
      ) {
        this.#options.logger?.warn(
          { error: error instanceof Error ? error.message : String(error) },
          'fetching the JWKS failed',
        );
        throw new ServiceUnavailableError('The authorization server could not be reached; try again later.');
      }
      // Never echo jose's message: it may describe the token.
      throw new UnauthenticatedError();
    }
    const claim = payload[this.#options.phoneNumberClaim ?? 'phone_number'];
    const fromSubject =
      typeof payload.sub === 'string' && payload.sub.startsWith('tel:') ? payload.sub.slice(4) : undefined;
    const phoneNumber = typeof claim === 'string' ? claim : fromSubject;
    if (phoneNumber === undefined || !PHONE_NUMBER_PATTERN.test(phoneNumber)) {
      throw new PermissionDeniedError(
        'The access token identifies no subscriber phone number (a three-legged token is required).',
        {
          code: 'INVALID_TOKEN_CONTEXT',
        },
      );
    }
    const clientId =
      typeof payload.client_id === 'string'
        ? payload.client_id
        : typeof payload.azp === 'string'
          ? payload.azp
          : undefined;
    const deviceClaim =
      this.#options.deviceIdClaim === undefined ? undefined : payload[this.#options.deviceIdClaim];
    const context: AuthContext = {
      phoneNumber,
      scopes: scopesOf(payload),
      ...(clientId === undefined ? {} : { clientId }),
      ...(typeof payload.sub === 'string' ? { subject: payload.sub } : {}),
      ...(typeof deviceClaim === 'string' ? { deviceId: deviceClaim } : {}),
    };
    // Cached without the clock tolerance: a cached token is never used past its `exp`.
    if (
      typeof payload.exp === 'number' &&
      (payload.nbf === undefined || payload.nbf * 1000 <= (this.#options.now?.() ?? Date.now()))
    ) {
      if (this.#verified.size >= JwtAuth.#MAX_CACHED) {
        const oldest = this.#verified.keys().next().value;
        if (oldest !== undefined) this.#verified.delete(oldest);
      }
      this.#verified.set(token, { context, expiresAtMs: payload.exp * 1000 });
    }
    return context;
  }
}
