/**
 * Request-rate limits over HTTP: 429 TOO_MANY_REQUESTS as a CAMARA ErrorInfo with the
 * exchange's x-correlator and Retry-After, per token and per client address, counted
 * together by two gateway nodes on one real redis-server. Traffic stays on 127.0.0.1.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildGateway, type GatewayServer } from '../../packages/gateway/src/index.js';
import { useRedis } from '../support/redis.js';

const REG = '/webrtc-registration/vwip/sessions';
const started: GatewayServer[] = [];

afterAll(async () => {
  await Promise.allSettled(started.map((g) => g.close()));
});

async function node(
  options: Parameters<typeof buildGateway>[0],
): Promise<{ gw: GatewayServer; origin: string }> {
  const gw = await buildGateway({
    logLevel: 'silent',
    devTokenSecret: 'rate-limit-test-secret-0123456789abcdef',
    ...options,
  });
  started.push(gw);
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = gw.app.server.address() as { port: number };
  return { gw, origin: `http://127.0.0.1:${port}` };
}

const get = (origin: string, token: string | undefined, correlator: string) =>
  fetch(`${origin}${REG}/00000000-0000-4000-8000-000000000000`, {
    headers: {
      'x-correlator': correlator,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
  });

async function expect429(response: Response, correlator: string): Promise<void> {
  expect(response.status).toBe(429);
  expect(await response.json()).toEqual({
    status: 429,
    code: 'TOO_MANY_REQUESTS',
    message: 'Rate limit reached.',
  });
  expect(response.headers.get('x-correlator')).toBe(correlator);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
}

describe('rate limits', () => {
  it('per token: the limit runs out for that token only', async () => {
    const { gw, origin } = await node({ rateLimitPerToken: 3, rateLimitPerAddress: 0 });
    const token = await gw.issueToken('+818000000001');
    const other = await gw.issueToken('+818000000002');
    for (let i = 0; i < 3; i++) expect((await get(origin, token, `t-${i}`)).status).toBe(404);
    await expect429(await get(origin, token, 't-3'), 't-3');
    expect((await get(origin, other, 'o-0')).status).toBe(404);
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
  });

  it('per client address: requests without a token', async () => {
    const { origin } = await node({ rateLimitPerToken: 0, rateLimitPerAddress: 2 });
    for (let i = 0; i < 2; i++) expect((await get(origin, undefined, `a-${i}`)).status).toBe(401);
    await expect429(await get(origin, undefined, 'a-2'), 'a-2');
  });

  describe('with a Redis store', () => {
    const redis = useRedis();
    it('two nodes count one token together', async () => {
      const store = `${redis().url}/3`;
      const a = await node({ store, rateLimitPerToken: 4, rateLimitPerAddress: 0 });
      const b = await node({ store, rateLimitPerToken: 4, rateLimitPerAddress: 0 });
      const token = await a.gw.issueToken('+818000000003');
      for (let i = 0; i < 2; i++) expect((await get(a.origin, token, `ra-${i}`)).status).toBe(404);
      for (let i = 0; i < 2; i++) expect((await get(b.origin, token, `rb-${i}`)).status).toBe(404);
      await expect429(await get(b.origin, token, 'rb-2'), 'rb-2');
      await expect429(await get(a.origin, token, 'ra-2'), 'ra-2');
    });
  });
});
