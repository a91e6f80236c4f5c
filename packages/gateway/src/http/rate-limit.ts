import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { TooManyRequestsError } from '@telegate/runtime/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { GatewayConfig } from '../config/gateway-config.js';

/**
 * Request-rate limits of the three APIs (`@fastify/rate-limit`; counters in Redis when
 * `STORE` is one, so every node counts together): a request with a bearer token counts
 * against that token (`RATE_LIMIT_PER_TOKEN`), one without against its client address
 * (`RATE_LIMIT_PER_ADDRESS`). Over a limit: `429 TOO_MANY_REQUESTS` with `Retry-After`, answered by the
 * API's own error handler as a CAMARA ErrorInfo with the exchange's `x-correlator`.
 * Register the hooks this returns in the scope that holds the API plugins, before them.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  config: GatewayConfig,
): Promise<{
  hooks: ((request: FastifyRequest, reply: unknown) => Promise<void>)[];
  close: () => Promise<void>;
}> {
  if (config.rateLimitPerToken === 0 && config.rateLimitPerAddress === 0) {
    return { hooks: [], close: async () => {} };
  }
  // A connection of its own: the store's client runs its scripts, this one counts requests.
  const redis =
    config.store === 'memory'
      ? undefined
      : new Redis(config.store, { connectTimeout: 2000, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await app.register(rateLimit, {
    global: false,
    ...(redis === undefined ? {} : { redis, nameSpace: `${config.storeKeyPrefix}rate:` }),
    // A counter store that does not answer lets requests through rather than failing them.
    skipOnError: true,
  });
  const timeWindow = config.rateLimitWindowSeconds * 1000;
  const refusal = (_request: FastifyRequest, context: { ttl: number }) =>
    new TooManyRequestsError('Rate limit reached.', {
      code: 'TOO_MANY_REQUESTS',
      retryAfter: Math.max(1, Math.ceil(context.ttl / 1000)),
    });
  const perToken = config.rateLimitPerToken;
  const perAddress = config.rateLimitPerAddress;
  // One limiter (the plugin runs one per request): a request with a bearer token counts against
  // that token, one without against its client address. Keyed by a digest: no token is kept.
  // With no per-token limit every token is let through: one key for all, and no digest to compute.
  const keyOf = (request: FastifyRequest) => {
    const authorization = request.headers.authorization;
    if (perToken === 0 && authorization !== undefined && BEARER.test(authorization)) return 'token:';
    const digest = tokenDigest(authorization);
    return digest === undefined ? `ip:${request.ip}` : `token:${digest}`;
  };
  const hooks = [
    app.rateLimit({
      timeWindow,
      keyGenerator: keyOf,
      max: (_request, key) => (key.startsWith('ip:') ? perAddress : perToken),
      allowList: (_request, key) => (key.startsWith('ip:') ? perAddress === 0 : perToken === 0),
      errorResponseBuilder: refusal,
    }) as never as (request: FastifyRequest, reply: unknown) => Promise<void>,
  ];
  return {
    hooks,
    close: async () => {
      redis?.disconnect();
    },
  };
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function tokenDigest(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : BEARER.exec(authorization);
  if (match === null) return undefined;
  return createHash('sha256').update(match[1]!).digest('base64url').slice(0, 32);
}
