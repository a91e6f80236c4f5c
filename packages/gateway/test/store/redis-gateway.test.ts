import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useRedis } from '../../../../test/support/redis.js';
import { buildGateway, ConfigError, type GatewayServer } from '../../src/index.js';
import { CA_FILE, SUBSCRIPTIONS, startSink, subscriptionBody } from '../http/support.js';

const ALICE = '+818000000001';
const DEVICE = '7d444840-9dc0-11d1-b245-5ffdce74fad2';
const REGISTRATION = '/webrtc-registration/vwip/sessions';
/** Both nodes accept each other's dev tokens. */
const SHARED_SECRET = 'shared-dev-token-secret-0123456789abcdef';

const redis = useRedis();
let serial = 0;

describe('two gateway nodes sharing one Redis (STORE=redis://…)', () => {
  let nodeA: GatewayServer;
  let nodeB: GatewayServer;
  let token: string;
  beforeEach(async () => {
    const options = {
      logLevel: 'silent' as const,
      store: redis().url,
      storeKeyPrefix: `gw${++serial}:`,
      devTokenSecret: SHARED_SECRET,
    };
    nodeA = await buildGateway(options);
    nodeB = await buildGateway(options);
    token = await nodeA.issueToken(ALICE);
  });
  afterEach(async () => {
    await nodeA.close();
    await nodeB.close();
  });

  const request = (
    node: GatewayServer,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
  ) =>
    node.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload }),
    });

  it('a node started later expires the registrations a stopped node created', async () => {
    const shortLived = {
      logLevel: 'silent' as const,
      store: redis().url,
      storeKeyPrefix: `gw-expiry${serial}:`,
      devTokenSecret: SHARED_SECRET,
      registrationTtlMinSeconds: 1,
    };
    const first = await buildGateway(shortLived);
    const created = await first.app.inject({
      method: 'POST',
      url: REGISTRATION,
      headers: { authorization: `Bearer ${token}` },
      payload: { deviceId: DEVICE, registrationExpireTime: new Date(Date.now() + 1_500).toISOString() },
    });
    expect(created.statusCode).toBe(201);
    await first.close(); // its expiry timer goes with it
    const later = await buildGateway(shortLived);
    try {
      const path = `${REGISTRATION}/${created.json().registrationId}`;
      const get = () =>
        later.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } });
      const { registrationId } = created.json();
      expect((await get()).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect((await get()).statusCode).toBe(404);
      // Ended by the later node's timer (not just hidden as lapsed): the record is gone from the store.
      expect(await later.gateway.store.getRegistration(registrationId)).toBeUndefined();
    } finally {
      await later.close();
    }
  });

  describe('expiry across nodes (registration lifetimes of seconds)', () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString();
    const shortLived = (name: string, storeSweepSeconds: number) => ({
      logLevel: 'silent' as const,
      store: redis().url,
      storeKeyPrefix: `gw-${name}${serial}:`,
      devTokenSecret: SHARED_SECRET,
      registrationTtlMinSeconds: 1,
      storeSweepSeconds,
    });
    /** Registers `DEVICE` on `node` for `ms`; its registrationId. */
    const registerFor = async (node: GatewayServer, ms: number): Promise<string> => {
      const created = await request(node, 'POST', REGISTRATION, {
        deviceId: DEVICE,
        registrationExpireTime: inFuture(ms),
      });
      expect(created.statusCode).toBe(201);
      return created.json().registrationId;
    };
    const endings = (nodes: GatewayServer[]) => {
      const ended: string[] = [];
      for (const node of nodes) {
        node.gateway.registrations.on('ended', ({ reason }) => ended.push(reason));
      }
      return ended;
    };

    it('a refresh on B outlives the expiry timer A armed before it', async () => {
      // No sweep during the test: only how a timer that fires treats what it finds is at work.
      const a = await buildGateway(shortLived('refresh', 3600));
      const b = await buildGateway(shortLived('refresh', 3600));
      const ended = endings([a, b]);
      try {
        const registrationId = await registerFor(a, 1_500);
        const path = `${REGISTRATION}/${registrationId}`;
        const refreshed = await request(b, 'PUT', path, { registrationExpireTime: inFuture(3_500) });
        expect(refreshed.statusCode).toBe(200);

        await sleep(2_000); // past the first expiry: A's timer fired, found it refreshed
        expect((await request(a, 'GET', path)).statusCode).toBe(200);
        expect(ended).toEqual([]);

        await sleep(2_200); // past the refreshed expiry
        expect((await request(a, 'GET', path)).statusCode).toBe(404);
        expect(await b.gateway.store.getRegistration(registrationId)).toBeUndefined();
        expect(ended).toEqual(['REGISTRATION_EXPIRED']);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a subscription extended on B outlives the timer A armed before it, and ends once', async () => {
      // Sinks must be https: a local one with a certificate of a private CA.
      const sink = await startSink({ tls: true });
      const options = { ...shortLived('extend', 3600), sinkAllowlist: ['127.0.0.1'], sinkCaFile: CA_FILE };
      const a = await buildGateway(options);
      const b = await buildGateway(options);
      try {
        await registerFor(a, 60_000);
        const created = await request(a, 'POST', SUBSCRIPTIONS, {
          ...subscriptionBody(`${sink.url}/hook`),
          config: { subscriptionDetail: { deviceId: DEVICE }, subscriptionExpireTime: inFuture(1_500) },
        });
        expect(created.statusCode).toBe(201);
        const path = `${SUBSCRIPTIONS}/${created.json().id}`;
        const extended = await request(b, 'PUT', path, {
          config: { subscriptionExpireTime: inFuture(3_500) },
        });
        expect(extended.statusCode).toBe(200);

        await sleep(2_000); // past the first end: A's timer fired, found it extended
        expect((await request(a, 'GET', path)).statusCode).toBe(200);

        const ended = await sink.waitFor((e) => e.type.endsWith('subscription-ended'), 4_000);
        expect(ended.data).toMatchObject({
          subscriptionId: created.json().id,
          terminationReason: 'SUBSCRIPTION_EXPIRED',
        });
        expect((await request(b, 'GET', path)).statusCode).toBe(404);
        await a.gateway.idle();
        await b.gateway.idle();
        expect(sink.events.filter((e) => e.type.endsWith('subscription-ended'))).toHaveLength(1);
      } finally {
        await a.close();
        await b.close();
        await sink.close();
      }
    });

    it('a running node ends, within STORE_SWEEP, the registrations of a node that stopped', async () => {
      const b = await buildGateway(shortLived('sweep', 1)); // running before the registration exists
      const a = await buildGateway(shortLived('sweep', 1));
      const ended = endings([b]);
      try {
        const registrationId = await registerFor(a, 1_500);
        await a.close(); // its expiry timer goes with it
        await sleep(3_000); // the expiry, then at most one sweep of B
        expect(await b.gateway.store.getRegistration(registrationId)).toBeUndefined();
        expect(ended).toEqual(['REGISTRATION_EXPIRED']);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  it('a registration created on A is visible on B, and a duplicate on B is 409', async () => {
    const created = await request(nodeA, 'POST', REGISTRATION, { deviceId: DEVICE });
    expect(created.statusCode).toBe(201);
    const registration = created.json();
    const path = `${REGISTRATION}/${registration.registrationId}`;

    const seen = await request(nodeB, 'GET', path);
    expect(seen.statusCode).toBe(200);
    expect(seen.json()).toEqual(registration);

    const duplicate = await request(nodeB, 'POST', REGISTRATION, { deviceId: DEVICE });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toMatchObject({ status: 409, code: 'ALREADY_EXISTS' });

    // Deleted on B: gone on A too, and the pair is free again.
    expect((await request(nodeB, 'DELETE', path)).statusCode).toBe(204);
    expect((await request(nodeA, 'GET', path)).statusCode).toBe(404);
    expect((await request(nodeA, 'POST', REGISTRATION, { deviceId: DEVICE })).statusCode).toBe(201);
  });

  it('both nodes are ready (/readyz asks the store)', async () => {
    for (const node of [nodeA, nodeB]) {
      expect((await node.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    }
  });
});

describe('buildGateway with an unreachable Redis', () => {
  it('fails with a ConfigError naming the server and the reason', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const address = probe.address();
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const port = typeof address === 'object' && address !== null ? address.port : 1;
    const failure = buildGateway({ logLevel: 'silent', store: `redis://127.0.0.1:${port}` });
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(
      `STORE: cannot connect to Redis at redis://127.0.0.1:${port} (ECONNREFUSED)`,
    );
  });
});
