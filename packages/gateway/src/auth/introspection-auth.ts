import { createHash } from 'node:crypto';
import { setNewest } from '../core/bounded-map.js';
import type { Logger } from '../core/logger.js';
import { PermissionDeniedError, ServiceUnavailableError, UnauthenticatedError } from '../errors.js';
import { PHONE_NUMBER_PATTERN } from '../sip/address.js';
import type { Auth, AuthContext } from './auth.js';

export interface IntrospectionAuthOptions {
  /** The RFC 7662 introspection endpoint. */
  url: string | URL;
  /** Client credentials for the endpoint, sent as HTTP Basic (RFC 6749 §2.3.1). */
  clientId?: string;
  clientSecret?: string;
  /** Required `iss` of active tokens, when set. */
  issuer?: string;
  /** Required `aud` (one of) of active tokens, when set. */
  audience?: string;
  /** Claim carrying the subscriber number (default `phone_number`). */
  phoneNumberClaim?: string;
  /** Claim binding the token to a device, if the authorization server sets one. */
  deviceIdClaim?: string;
  /** Most tokens remembered (default 10 000); the least recently used goes first. */
  cacheSize?: number;
  /** How long an active answer without `exp` is remembered (default 60 s). */
  defaultCacheSeconds?: number;
  /** Upper bound on how long any answer is remembered, e.g. to notice revocation sooner (default: until `exp`). */
  maxCacheSeconds?: number;
  /** Per request to the endpoint (default 5 000 ms). */
  timeoutMs?: number;
  clockToleranceSeconds?: number;
  /** Time source (epoch ms). */
  now?: () => number;
  /** HTTP client (default the global `fetch`). */
  fetch?: typeof fetch;
  /** Where endpoint failures are reported (never with the token). */
  logger?: Logger;
}

/** The members of an RFC 7662 §2.2 response the gateway reads. */
interface IntrospectionResponse {
  active: boolean;
  [claim: string]: unknown;
}

interface CacheEntry {
  claims: IntrospectionResponse;
  /** Epoch ms after which the entry is not used. */
  until: number;
}

const MAX_TOKEN_LENGTH = 8192;

/**
 * Verifies opaque (or any) access tokens with OAuth 2.0 Token Introspection
 * (RFC 7662): `POST token=…` with the gateway's client credentials. An
 * inactive, expired or not-yet-valid token is `401 UNAUTHENTICATED` (never
 * saying why); a token without a subscriber number `403 INVALID_TOKEN_CONTEXT`.
 * Active answers are cached per token (by its SHA-256) until the token's
 * `exp`, in a bounded LRU cache; concurrent requests with one token share one
 * introspection. An unreachable or failing endpoint is `503 UNAVAILABLE` and
 * is not cached.
 */
export class IntrospectionAuth implements Auth {
  readonly #options: IntrospectionAuthOptions;
  readonly #url: URL;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #pending = new Map<string, Promise<IntrospectionResponse>>();
  readonly #authorization: string | undefined;
  readonly #controller = new AbortController();

  constructor(options: IntrospectionAuthOptions) {
    this.#options = options;
    this.#url = new URL(options.url);
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
    if ((options.clientId === undefined) !== (options.clientSecret === undefined)) {
      throw new Error('IntrospectionAuth: give both clientId and clientSecret, or neither');
    }
    if (options.clientId !== undefined && options.clientSecret !== undefined) {
      // RFC 6749 §2.3.1: each part is form-urlencoded before the Basic encoding.
      const user = `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`;
      this.#authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    }
  }

  /** How many introspection answers are cached (tests, metrics). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  async authenticate(token: string): Promise<AuthContext> {
    if (token === '' || token.length > MAX_TOKEN_LENGTH) throw new UnauthenticatedError();
    const key = createHash('sha256').update(token).digest('base64url');
    const claims = await this.#claims(key, token);
    return this.#context(claims);
  }

  async close(): Promise<void> {
    this.#controller.abort();
    this.#cache.clear();
  }

  async #claims(key: string, token: string): Promise<IntrospectionResponse> {
    const now = this.#now();
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#cache.delete(key);
      if (cached.until > now) {
        this.#cache.set(key, cached); // most recently used goes last
        return cached.claims;
      }
    }
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#introspect(token).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const claims = await pending;
    this.#remember(key, claims);
    return claims;
  }

  #remember(key: string, claims: IntrospectionResponse): void {
    if (!this.#usable(claims)) return;
    const now = this.#now();
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
    let until = exp ?? now + (this.#options.defaultCacheSeconds ?? 60) * 1000;
    if (this.#options.maxCacheSeconds !== undefined) {
      until = Math.min(until, now + this.#options.maxCacheSeconds * 1000);
    }
    if (until <= now) return;
    setNewest(this.#cache, key, { claims, until }, Math.max(1, this.#options.cacheSize ?? 10_000));
  }

  async #introspect(token: string): Promise<IntrospectionResponse> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.#authorization !== undefined) headers.authorization = this.#authorization;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'error',
        signal: AbortSignal.any([
          this.#controller.signal,
          AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
        ]),
      });
    } catch (error) {
      throw this.#failure(error);
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw this.#failure(new Error(`the introspection endpoint answered ${response.status}`));
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw this.#failure(error);
    }
    if (
      typeof body !== 'object' ||
      body === null ||
      typeof (body as { active?: unknown }).active !== 'boolean'
    ) {
      throw this.#failure(new Error('the introspection response has no boolean "active"'));
    }
    return body as IntrospectionResponse;
  }

  /** The endpoint could not answer: the token is neither valid nor invalid, so not 401. */
  #failure(cause: unknown): ServiceUnavailableError {
    const message = cause instanceof Error ? cause.message : String(cause);
    this.#options.logger?.warn(
      { endpoint: this.#url.origin + this.#url.pathname, error: message },
      'token introspection failed',
    );
    return new ServiceUnavailableError('The authorization server could not be reached; try again later.', {
      cause,
    });
  }

  /** Active, in its validity window, from the expected issuer for the expected audience. */
  #usable(claims: IntrospectionResponse): boolean {
    if (claims.active !== true) return false;
    const now = this.#now() / 1000;
    const tolerance = this.#options.clockToleranceSeconds ?? 5;
    if (typeof claims.exp === 'number' && claims.exp <= now - tolerance) return false;
    if (typeof claims.nbf === 'number' && claims.nbf > now + tolerance) return false;
    if (this.#options.issuer !== undefined && claims.iss !== this.#options.issuer) return false;
    if (this.#options.audience !== undefined) {
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!audiences.includes(this.#options.audience)) return false;
    }
    return true;
  }

  #context(claims: IntrospectionResponse): AuthContext {
    if (!this.#usable(claims)) throw new UnauthenticatedError();
    const claim = claims[this.#options.phoneNumberClaim ?? 'phone_number'];
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    const phoneNumber =
      typeof claim === 'string' ? claim : sub?.startsWith('tel:') ? sub.slice(4) : undefined;
    if (phoneNumber === undefined || !PHONE_NUMBER_PATTERN.test(phoneNumber)) {
      throw new PermissionDeniedError(
        'The access token identifies no subscriber phone number (a three-legged token is required).',
        { code: 'INVALID_TOKEN_CONTEXT' },
      );
    }
    const scopes =
      typeof claims.scope === 'string' ? claims.scope.split(' ').filter((scope) => scope !== '') : [];
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : undefined;
    const deviceClaim =
      this.#options.deviceIdClaim === undefined ? undefined : claims[this.#options.deviceIdClaim];
    return {
      phoneNumber,
      scopes,
      ...(clientId === undefined ? {} : { clientId }),
      ...(sub === undefined ? {} : { subject: sub }),
      ...(typeof deviceClaim === 'string' ? { deviceId: deviceClaim } : {}),
    };
  }
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
