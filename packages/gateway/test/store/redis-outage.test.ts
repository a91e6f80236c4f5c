import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, startRedis } from '../../../../test/support/redis.js';
import { buildGateway, type GatewayServer } from '../../src/index.js';
import { FLOW_WEBRTC_OFFER } from '../../src/testing/index.js';
import { ALICE, BOB, bearer, CALLS, DEVICE, REGISTRATION } from '../http/support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const callBody = () => ({
  originatorAddress: `tel:${ALICE}`,
  receiverAddress: `tel:${BOB}`,
  offer: { sdp: FLOW_WEBRTC_OFFER },
});

/** Polls `check` every 50 ms until it returns true; fails after `ms`. */
async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`condition not met within ${ms} ms`);
}

describe('a gateway node on Redis while Redis is unreachable', () => {
  let redis: LocalRedis;
  let server: GatewayServer;
  let token: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = await startRedis();
    server = await buildGateway({
      logLevel: 'silent',
      store: redis.url,
      storeKeyPrefix: 'outage:',
      storeTimeoutMs: 300,
      sessionRetentionSeconds: 1,
    });
    server.network?.setBehaviour(BOB, { kind: 'answer', answerAtMs: 50 });
    token = await server.issueToken(ALICE);
  });
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
    process.off('unhandledRejection', onUnhandled);
  });

  const request = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, headers = {}) =>
    server.app.inject({
      method,
      url,
      headers: { ...bearer(token), ...headers },
      ...(payload === undefined ? {} : { payload }),
    });

  it('answers 503 UNAVAILABLE with Retry-After promptly, hangs up its own call, and survives the removal of ended sessions', async () => {
    const registration = await request('POST', REGISTRATION, { deviceId: DEVICE });
    expect(registration.statusCode).toBe(201);
    const { registrationId } = registration.json();
    const place = async () => {
      const created = await request('POST', CALLS, callBody(), { registrationId });
      expect(created.statusCode).toBe(201);
      const path = `${CALLS}/${created.json().mediaSessionId}`;
      await until(async () => (await request('GET', path)).json().status === 'Connected');
      return path;
    };
    const ended = await place();
    const live = await place();
    expect((await request('DELETE', ended)).statusCode).toBe(204);
    await until(async () => (await request('GET', ended)).json().status === 'Terminated');

    await redis.kill();

    // Every store-bound request: a prompt 503 with Retry-After, never a 500.
    for (const [method, url, body] of [
      ['POST', REGISTRATION, { deviceId: '3fa85f64-5717-4562-b3fc-2c963f66afa6' }],
      ['GET', `${REGISTRATION}/${registrationId}`, undefined],
      ['GET', `${CALLS}/no-such-session`, undefined],
    ] as const) {
      const started = Date.now();
      const response = await request(method, url, body);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('2');
      expect(response.json()).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    }

    // The node's own live call is still readable and can be hung up (from memory).
    expect((await request('GET', live)).json()).toMatchObject({ status: 'Connected' });
    expect((await request('DELETE', live)).statusCode).toBe(204);

    // The ended sessions' removal (1 s retention) fails while Redis is down: kept, no crash.
    await sleep(1500);
    expect(server.gateway.writes.size).toBeGreaterThan(0);
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);

    await redis.restart();
    await until(async () => (await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200);
    await until(async () => server.gateway.writes.size === 0);
    expect((await request('POST', REGISTRATION, { deviceId: DEVICE })).statusCode).toBe(201);
    expect(unhandled).toEqual([]);
  }, 20_000);
});
