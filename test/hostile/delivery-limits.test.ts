/**
 * The limits on event delivery, over real HTTP(S) on 127.0.0.1: a global cap on deliveries
 * in flight (a slow sink never sees more requests or connections than the cap), a global
 * bound on queued events (work that would queue more is refused with 503 UNAVAILABLE as a
 * CAMARA ErrorInfo with the x-correlator, nothing stored changes, the process still serves,
 * events raised by the network are dropped and counted, never those already queued), and a
 * circuit breaker per sink. In memory and on a real redis-server. Bounded loops only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../packages/gateway/src/index.js';
import { register, sessionBody, subscriptionBody, TYPES } from '../conformance/support/fixtures.js';
import {
  ALICE,
  BOB,
  baseConfig,
  type GatewayUnderTest,
  startGateway,
  XCORRELATOR_PATTERN,
} from '../conformance/support/gateway.js';
import { createTestPki, type TestPki } from '../conformance/support/pki.js';
import { useRedis } from '../support/redis.js';

const SINK_TOKEN = 'delivery-limits-sink-token';

/**
 * An HTTPS sink that counts what it sees (requests, connections, the most open at once)
 * and answers `status` at once, or holds every request while `held` until `release()`.
 */
async function startSink(pki: TestPki) {
  const seen = { requests: 0, connections: 0, open: 0, maxOpen: 0, sockets: 0, maxSockets: 0 };
  const events: { type: string; subscriptionId: string }[] = [];
  let held: (() => void)[] | undefined;
  let status = 204;
  const server: Server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    seen.requests++;
    seen.open++;
    seen.maxOpen = Math.max(seen.maxOpen, seen.open);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = () => {
        seen.open--;
        if (status < 300) {
          const event = JSON.parse(Buffer.concat(chunks).toString()) as {
            type: string;
            data: { subscriptionId: string };
          };
          events.push({ type: event.type, subscriptionId: event.data.subscriptionId });
        }
        res.writeHead(status);
        res.end();
      };
      if (held === undefined) answer();
      else held.push(answer);
    });
  });
  server.on('connection', (socket) => {
    seen.connections++;
    seen.sockets++;
    seen.maxSockets = Math.max(seen.maxSockets, seen.sockets);
    socket.on('close', () => seen.sockets--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `https://127.0.0.1:${port}/${path}`,
    seen,
    events,
    hold() {
      held ??= [];
    },
    release() {
      const waiting = held ?? [];
      held = undefined;
      for (const answer of waiting) answer();
    },
    answer(next: number) {
      status = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
type Sink = Awaited<ReturnType<typeof startSink>>;

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(async () => {
  await pki?.cleanup();
});

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const sink of sinks.splice(0)) sink.release();
  // Gateways first (their last deliveries still reach the sinks), then the sinks.
  for (const item of open.splice(0).reverse()) await item.close();
});
const sinks: Sink[] = [];

async function setup(config: Partial<GatewayConfig>) {
  const sink = await startSink(pki);
  open.push(sink);
  sinks.push(sink);
  const gw = await startGateway({
    ...baseConfig(pki),
    logLevel: 'silent',
    shutdownTimeoutSeconds: 1,
    ...config,
  });
  open.push(gw);
  return { sink, gw };
}

async function subscribeTo(
  gw: GatewayUnderTest,
  sink: Sink,
  deviceId: string,
  path: string,
  phone = ALICE,
): Promise<string> {
  const { data, response } = await gw
    .events({ token: await gw.token(phone) })
    .createNotificationChannelSubscription({
      body: subscriptionBody(sink.url(path), deviceId, {
        accessToken: SINK_TOKEN,
        types: [TYPES.invitation],
      }),
    });
  expect(response.status).toBe(201);
  return (data as { id: string }).id;
}

/** Sends with the subscriber's token. */
async function as(gw: GatewayUnderTest, phone = ALICE) {
  const token = await gw.token(phone);
  return (method: string, path: string, correlator: string, json?: unknown) =>
    gw.raw(method, path, {
      token,
      headers: { 'x-correlator': correlator },
      ...(json === undefined ? {} : { json }),
    });
}

/** One sample of the gateway's `/metrics`, by series (`name{labels}` → value). */
async function metrics(gw: GatewayUnderTest): Promise<Map<string, number>> {
  const text = await (await fetch(`${gw.origin}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** Polls `check` every 20 ms until it holds (at most `tries` times). */
async function until(check: () => boolean | Promise<boolean>, what: string, tries = 250): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each([
  ['sent from their own thread (the default)', true],
  ['sent from the main thread (DELIVERY_THREAD=false)', false],
] as const)('DELIVERY_MAX_CONCURRENT: a global cap on deliveries in flight, %s', (_name, deliveryThread) => {
  it('a slow sink never sees more than the cap of requests or connections at once; every event still arrives', async () => {
    const { sink, gw } = await setup({ deliveryMaxConcurrent: 3, deliveryThread });
    const { deviceId } = await register(gw, ALICE);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await subscribeTo(gw, sink, deviceId, `cap-${i}`));
    sink.hold();
    for (const id of ids) expect((await deleteSubscriptionAs(gw, id)).status).toBe(202);
    await until(() => sink.seen.open === 3, 'three deliveries held at the sink');
    // Held there: the other nine wait for a slot at the gateway, not at the sink.
    await until(async () => (await metrics(gw)).get('telegate_deliveries_waiting') === 9, 'nine waiting');
    expect(sink.seen.open).toBe(3);
    sink.release();
    await until(() => sink.events.length === 12, 'twelve subscription-ended events');
    expect(sink.seen.maxOpen).toBe(3);
    expect(sink.seen.maxSockets).toBeLessThanOrEqual(3);
    expect(new Set(sink.events.map((e) => e.subscriptionId))).toEqual(new Set(ids));
  });
});

async function deleteSubscriptionAs(gw: GatewayUnderTest, id: string, correlator: string = randomUUID()) {
  const send = await as(gw);
  return send('DELETE', `/webrtc-events/vwip/subscriptions/${id}`, correlator);
}

describe.each([
  ['in memory', false],
  ['on Redis (every node counts together)', true],
] as const)('EVENT_QUEUE_MAX: a global bound on queued events, %s', (_name, onRedis) => {
  const redis = onRedis ? useRedis() : undefined;

  it('a full queue refuses new API work with 503 UNAVAILABLE; network events are dropped and counted; nothing queued is lost', async () => {
    const store = redis === undefined ? {} : { store: redis().url };
    const { sink, gw } = await setup({ eventQueueMax: 10, deliveryMaxConcurrent: 2, ...store });
    const { deviceId, registrationId } = await register(gw, ALICE);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await subscribeTo(gw, sink, deviceId, `q-${i}`));
    sink.hold();
    // Nine subscription-ended events fill the queue to its admission share (90% of 10).
    for (const id of ids.slice(0, 9)) expect((await deleteSubscriptionAs(gw, id)).status).toBe(202);
    const send = await as(gw);
    const before = {
      subscriptions: (await send('GET', '/webrtc-events/vwip/subscriptions', 'list-before')).body,
      registration: (await send('GET', `/webrtc-registration/vwip/sessions/${registrationId}`, 'reg-before'))
        .body,
    };

    const refusals = [
      ['deleteNotificationChannelSubscription', await deleteSubscriptionAs(gw, ids[9]!, 'refused-delete')],
      [
        'createNotificationChannelSubscription',
        await send(
          'POST',
          '/webrtc-events/vwip/subscriptions',
          'refused-create',
          subscriptionBody(sink.url('late'), deviceId, {
            accessToken: SINK_TOKEN,
            types: [TYPES.invitation],
          }),
        ),
      ],
      [
        'createSession',
        await gw.raw('POST', '/webrtc-call-handling/vwip/sessions', {
          token: await gw.token(ALICE),
          headers: { 'x-correlator': 'refused-call', registrationid: registrationId },
          json: sessionBody(BOB, ALICE),
        }),
      ],
      [
        'deleteRegistrationById',
        await send('DELETE', `/webrtc-registration/vwip/sessions/${registrationId}`, 'refused-unregister'),
      ],
    ] as const;
    for (const [operation, answer] of refusals) {
      expect(answer.status, `${operation}: ${answer.text}`).toBe(503);
      expect(answer.body).toEqual({
        status: 503,
        code: 'UNAVAILABLE',
        message: 'Too many events are waiting for delivery; try again shortly.',
      });
      expect(answer.headers['x-correlator']).toMatch(XCORRELATOR_PATTERN);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(refusals.map(([, answer]) => answer.headers['x-correlator'])).toEqual([
      'refused-delete',
      'refused-create',
      'refused-call',
      'refused-unregister',
    ]);
    let sample = await metrics(gw);
    for (const [operation] of refusals) {
      expect(sample.get(`telegate_events_refused_total{operation="${operation}"}`), operation).toBe(1);
    }

    // Nothing stored changed, and what does not raise events is still served.
    expect((await send('GET', '/webrtc-events/vwip/subscriptions', 'list-after')).body).toEqual(
      before.subscriptions,
    );
    expect(
      (await send('GET', `/webrtc-registration/vwip/sessions/${registrationId}`, 'reg-after')).body,
    ).toEqual(before.registration);
    expect((await send('GET', `/webrtc-events/vwip/subscriptions/${ids[9]}`, 'get-kept')).status).toBe(200);
    expect((await fetch(`${gw.origin}/healthz`)).status).toBe(200);

    // A call from the network to the three remaining subscriptions: one invitation fits, the rest is dropped.
    gw.network.callIn({ from: BOB, to: ALICE });
    await until(
      async () =>
        ((await metrics(gw)).get(`telegate_events_dropped_total{type="${TYPES.invitation}"}`) ?? 0) >= 2,
      'two dropped invitations',
    );

    // The sink catches up: every event that was queued arrives, the oldest included.
    sink.release();
    await until(() => sink.events.length === 10, 'the ten queued events');
    const ended = sink.events.filter((e) => e.type === TYPES.subscriptionEnded).map((e) => e.subscriptionId);
    expect(ended.sort()).toEqual(ids.slice(0, 9).sort());
    expect(sink.events.filter((e) => e.type === TYPES.invitation)).toHaveLength(1);

    // With room again, the refused work goes through.
    await until(async () => (await deleteSubscriptionAs(gw, ids[9]!)).status === 202, 'the delete admitted');
    sample = await metrics(gw);
    expect(
      sample.get(`telegate_events_refused_total{operation="deleteNotificationChannelSubscription"}`),
    ).toBe(1);
  });
});

describe('SINK_BREAKER_*: a circuit breaker per sink', () => {
  it('opens after N failures, stops connecting while open, half-opens after the cool-down and closes when the sink recovers', async () => {
    const { sink, gw } = await setup({ sinkBreakerFailures: 3, sinkBreakerCoolDownMs: 1500 });
    const { deviceId } = await register(gw, ALICE);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await subscribeTo(gw, sink, deviceId, `b-${i}`));
    sink.answer(503);
    // Three deliveries, each failing its first attempt: three failures in a row open the circuit.
    for (const id of ids) expect((await deleteSubscriptionAs(gw, id)).status).toBe(202);
    await until(
      async () => (await metrics(gw)).get('telegate_sink_circuit_transitions_total{state="open"}') === 1,
      'the circuit to open',
    );
    expect(sink.seen.requests).toBe(3);
    const connections = sink.seen.connections;
    expect((await metrics(gw)).get('telegate_sink_circuits_open')).toBe(1);

    // Open: the retries (after 0.5-1 s) are refused by the gateway; nothing reaches the sink.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(sink.seen.requests).toBe(3);
    expect(sink.seen.connections).toBe(connections);

    // The sink recovers: the first retry after the cool-down is the probe; it closes the circuit.
    sink.answer(204);
    await until(() => sink.events.length === 3, 'the three subscription-ended events', 600);
    const sample = await metrics(gw);
    expect(sample.get('telegate_sink_circuit_transitions_total{state="half-open"}')).toBe(1);
    expect(sample.get('telegate_sink_circuit_transitions_total{state="closed"}')).toBe(1);
    expect(sample.get('telegate_sink_circuits_open')).toBe(0);
    expect(sink.seen.requests).toBe(6);
  });
});
