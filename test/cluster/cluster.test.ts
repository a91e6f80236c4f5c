import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_WEBRTC_OFFER } from '../../packages/gateway/src/testing/index.js';
import {
  ALICE,
  BOB,
  CALLS,
  REGISTRATION,
  type RecordingSink,
  SUBSCRIPTIONS,
  startSink,
  subscriptionBody,
} from '../../packages/gateway/test/http/support.js';
import { type LocalRedis, startRedis } from '../support/redis.js';
import { call, type GatewayNode, sleep, startNode, startSwitchableSink, tokenFor, until } from './support.js';

/*
 * Several gateway processes (the built CLI) on loopback ports, sharing one
 * real redis-server started here (with AOF, so a restart can keep or lose its
 * data on purpose). Timings are shortened by settings: a 1.5 s node lease, a
 * 300 ms store timeout, a 1 s sweep, a 3 s retention of ended sessions.
 */

const CLUSTER_SECRET = 'cluster-secret-for-tests-0123456789abcdef';
const OTHER_DEVICE = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

const callBody = (receiver = BOB) => ({
  originatorAddress: `tel:${ALICE}`,
  receiverAddress: `tel:${receiver}`,
  offer: { sdp: FLOW_WEBRTC_OFFER },
});

describe('gateway nodes sharing one Redis', () => {
  let redis: LocalRedis;
  let sink: RecordingSink;
  const nodes: GatewayNode[] = [];
  let a: GatewayNode;
  let b: GatewayNode;
  let token: string;
  let serial = 0;

  const node = async (name: string, prefix = 'cluster:') => {
    const started = await startNode(name, {
      STORE: redis.url,
      STORE_KEY_PREFIX: prefix,
      CLUSTER_SECRET,
    });
    nodes.push(started);
    return started;
  };

  beforeAll(async () => {
    [redis, sink] = await Promise.all([startRedis({ appendOnly: true }), startSink({ tls: true })]);
    [a, b] = await Promise.all([node('A'), node('B')]);
    token = await tokenFor(ALICE);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await sink?.close();
    await redis?.stop();
  });

  /** A registration of a fresh device on `on`, and a subscription of that device's events. */
  const register = async (on: GatewayNode) => {
    const deviceId = `7d444840-9dc0-41d1-b245-${String(++serial).padStart(12, '0')}`;
    const created = await call(on, token, 'POST', REGISTRATION, { deviceId });
    expect(created.status).toBe(201);
    const body = subscriptionBody(`${sink.url}/hook`);
    body.config.subscriptionDetail.deviceId = deviceId;
    expect((await call(on, token, 'POST', SUBSCRIPTIONS, body)).status).toBe(201);
    return { registrationId: created.body.registrationId as string, deviceId };
  };

  /** A call placed on `on`, answered (Connected) by the loopback network after about 1 s. */
  const connectedCall = async (on: GatewayNode, registrationId: string) => {
    const created = await call(on, token, 'POST', CALLS, callBody(), { registrationId });
    expect(created.status).toBe(201);
    const path = `${CALLS}/${created.body.mediaSessionId}`;
    await until(
      'the call is Connected',
      async () => (await call(on, token, 'GET', path)).body?.status === 'Connected',
    );
    return { path, mediaSessionId: created.body.mediaSessionId as string };
  };

  const statusEvents = (mediaSessionId: string) =>
    sink.events.filter((e) => e.data.mediaSessionId === mediaSessionId && e.type.endsWith('session-status'));

  it('racing duplicate registrations and subscriptions on A and B: exactly one of each is created', async () => {
    const requests = Array.from({ length: 10 }, (_, i) =>
      call(i % 2 === 0 ? a : b, token, 'POST', REGISTRATION, { deviceId: OTHER_DEVICE }),
    );
    const statuses = (await Promise.all(requests)).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    // The same subscription (device, sink, types) asked on both nodes at once: one is created.
    const body = subscriptionBody(`${sink.url}/race`);
    body.config.subscriptionDetail.deviceId = OTHER_DEVICE;
    const subscribing = Array.from({ length: 6 }, (_, i) =>
      call(i % 2 === 0 ? a : b, token, 'POST', SUBSCRIPTIONS, body),
    );
    expect((await Promise.all(subscribing)).map((r) => r.status).sort()).toEqual([
      201, 409, 409, 409, 409, 409,
    ]);
  });

  it('a call created on A is read, held, resumed and hung up on B (forwarded to A), with events', async () => {
    const { registrationId } = await register(a);
    const { path, mediaSessionId } = await connectedCall(a, registrationId);
    expect((await call(b, token, 'GET', path)).body).toMatchObject({ status: 'Connected' });
    const held = await call(b, token, 'PUT', `${path}/status`, { status: 'Hold' });
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ mediaSessionId, status: 'Hold' });
    expect((await call(a, token, 'GET', path)).body).toMatchObject({ status: 'Hold' });
    // The owner's errors come back as they are.
    const wrong = await call(b, token, 'PUT', `${path}/status`, { status: 'Declined' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });
    expect((await call(b, token, 'PUT', `${path}/status`, { status: 'Resume' })).status).toBe(200);
    expect((await call(b, token, 'DELETE', path)).status).toBe(204);
    await until(
      'Terminated on B',
      async () => (await call(b, token, 'GET', path)).body?.status === 'Terminated',
    );
    await sink.waitFor((e) => e.data.mediaSessionId === mediaSessionId && e.data.status === 'Terminated');
    // Another subscriber's call is not found, on either node.
    const mallory = await tokenFor('+818000000009');
    expect((await call(b, mallory, 'DELETE', path)).status).toBe(404);
  });

  it('deleting a registration on B ends its call on A', async () => {
    const { registrationId } = await register(a);
    const { path, mediaSessionId } = await connectedCall(a, registrationId);
    expect((await call(b, token, 'DELETE', `${REGISTRATION}/${registrationId}`)).status).toBe(204);
    await until(
      'the call ended',
      async () => (await call(b, token, 'GET', path)).body?.status === 'Terminated',
    );
    await sink.waitFor((e) => e.data.mediaSessionId === mediaSessionId && e.data.status === 'Terminated');
  });

  it('A killed (SIGKILL) during a call: B ends the call as Failed with a session-status event', async () => {
    const victim = await node('A2');
    const { registrationId } = await register(victim);
    const { path, mediaSessionId } = await connectedCall(victim, registrationId);
    await victim.kill();
    const failed = await sink.waitFor(
      (e) => e.data.mediaSessionId === mediaSessionId && e.data.status === 'Failed',
      10_000,
    );
    expect(failed.type).toBe('org.camaraproject.webrtc-events.v0.session-status');
    expect((await call(b, token, 'GET', path)).body).toMatchObject({ status: 'Failed' });
    // Exactly once, although A and B both look for dead nodes.
    await sleep(1000);
    expect(statusEvents(mediaSessionId).filter((e) => e.data.status === 'Failed')).toHaveLength(1);
    // An ended session leaves the store after the retention (3 s) by its TTL: no node's timer.
    await until('the ended session is gone', async () => (await call(b, token, 'GET', path)).status === 404);
  });

  it('A killed while its events wait for a failing sink: B delivers every one, in order (repeats dropped by id)', async () => {
    const slow = await startSwitchableSink();
    try {
      const victim = await node('A3');
      const deviceId = '7d444840-9dc0-41d1-b245-00000000aaaa';
      const { registrationId } = (await call(victim, token, 'POST', REGISTRATION, { deviceId })).body;
      const body = subscriptionBody(`${slow.url}/hook`);
      body.config.subscriptionDetail.deviceId = deviceId;
      expect((await call(victim, token, 'POST', SUBSCRIPTIONS, body)).status).toBe(201);
      slow.failing = true;
      const { path, mediaSessionId } = await connectedCall(victim, registrationId);
      expect((await call(victim, token, 'DELETE', path)).status).toBe(204);
      await until(
        'ended',
        async () => (await call(victim, token, 'GET', path)).body?.status === 'Terminated',
      );
      // The Terminated event is routed to the queue just after the state is stored: let it get there.
      await sleep(500);
      // A holds the events (retrying the first one) when it dies.
      await victim.kill();
      slow.failing = false;
      await until(
        'B delivered the Terminated event',
        () =>
          slow.received.some(
            (e) => e.data.mediaSessionId === mediaSessionId && e.data.status === 'Terminated',
          ),
        15_000,
      );
      const unique = [...new Map(slow.received.map((e) => [e.id, e])).values()];
      const sequence = unique.map((e) => e.data.sequenceNumber as number);
      expect(sequence).toEqual(Array.from({ length: unique.length }, (_, i) => i + 1));
      expect(unique.map((e) => e.data.status)).toEqual(['InProgress', 'Ringing', 'Connected', 'Terminated']);
    } finally {
      await slow.close();
    }
  });

  it('Redis stopped: 503 with Retry-After while down, no node exits; restarted with AOF: nothing lost', async () => {
    const { registrationId } = await register(a);
    const { path } = await connectedCall(a, registrationId);
    await redis.kill();
    for (const n of [a, b]) {
      const started = Date.now();
      const answer = await call(n, token, 'GET', `${REGISTRATION}/${registrationId}`);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('2');
      expect(answer.body).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(2000);
    }
    // A's own call: readable and holdable from A's memory while Redis is down.
    expect((await call(a, token, 'PUT', `${path}/status`, { status: 'Hold' })).status).toBe(200);
    await sleep(2500); // past a lease: heartbeats fail meanwhile
    expect(a.alive() && b.alive()).toBe(true);
    await redis.restart();
    await until('B reads the registration', async () => {
      return (await call(b, token, 'GET', `${REGISTRATION}/${registrationId}`)).status === 200;
    });
    // The hold made during the outage reached Redis (retried), and A's call was not taken for dead.
    await until(
      'B sees the call held',
      async () => (await call(b, token, 'GET', path)).body?.status === 'Hold',
    );
    await sleep(2000);
    expect((await call(b, token, 'GET', path)).body).toMatchObject({ status: 'Hold' });
    expect((await call(b, token, 'DELETE', path)).status).toBe(204);
    expect(a.alive() && b.alive()).toBe(true);
  });

  it('Redis restarted empty: A stores its live call again, so B can reach and hang it up', async () => {
    const { registrationId } = await register(a);
    const { path } = await connectedCall(a, registrationId);
    await redis.restart({ empty: true });
    await until(
      'the call is back in Redis',
      async () => (await call(b, token, 'GET', path)).status === 200,
      10_000,
    );
    expect((await call(b, token, 'GET', path)).body).toMatchObject({ status: 'Connected' });
    expect((await call(b, token, 'DELETE', path)).status).toBe(204);
    await until('ended', async () => (await call(a, token, 'GET', path)).body?.status === 'Terminated');
    expect(a.alive() && b.alive()).toBe(true);
  });
});
