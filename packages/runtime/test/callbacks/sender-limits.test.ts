import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CallbackDefinitions,
  type CallbackSenderControls,
  type CallbackSenderOptions,
  createCallbackSender,
  createNodeTransport,
  type DeliveryResult,
  type SinkCircuitChange,
} from '../../src/callbacks/index.js';
import { instantClock, LOOPBACK_POLICY } from './support.js';

const TYPE = 'org.example.v0.session-status';
const definitions = {
  notify: {
    id: 'postNotification',
    method: 'POST',
    mediaType: 'application/cloudevents+json',
    eventTypes: { [TYPE]: 'onSessionStatus' },
  },
} as const satisfies CallbackDefinitions;

interface Sender extends CallbackSenderControls {
  notify(sink: string, event: object, options?: { orderingKey?: string }): Promise<DeliveryResult>;
}

const event = (n: number) => ({ type: TYPE, data: { n } });

/**
 * A sink on 127.0.0.1 that answers `status()` after `delayMs` and counts what
 * it sees: requests, TCP connections accepted, and the most of each open at once.
 */
async function startCountingSink(options: { delayMs?: number; status?: () => number } = {}) {
  const seen = {
    requests: 0,
    connections: 0,
    openRequests: 0,
    maxRequests: 0,
    openSockets: 0,
    maxSockets: 0,
  };
  const server = createServer((req, res) => {
    seen.requests++;
    seen.openRequests++;
    seen.maxRequests = Math.max(seen.maxRequests, seen.openRequests);
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        seen.openRequests--;
        res.writeHead(options.status?.() ?? 204);
        res.end();
      }, options.delayMs ?? 0);
    });
  });
  server.on('connection', (socket) => {
    seen.connections++;
    seen.openSockets++;
    seen.maxSockets = Math.max(seen.maxSockets, seen.openSockets);
    socket.on('close', () => seen.openSockets--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sink`,
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0)) await close();
});

function senderFor(options: Partial<CallbackSenderOptions>) {
  const sender = createCallbackSender<Sender>(definitions, {
    source: 'urn:example',
    sinkPolicy: LOOPBACK_POLICY,
    clock: instantClock().clock,
    ...options,
  });
  cleanup.push(() => sender.close());
  return sender;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('maxConcurrent: a global cap on requests in flight', () => {
  it('a slow sink never sees more than the cap of requests or connections at once; the rest wait and are delivered', async () => {
    const sink = await startCountingSink({ delayMs: 60 });
    cleanup.push(sink.close);
    const sender = senderFor({ maxConcurrent: 3 });
    // Twelve ordering keys: without the cap all twelve would be in flight together.
    const sends = Array.from({ length: 12 }, (_, i) =>
      sender.notify(sink.url, event(i), { orderingKey: `k${i}` }),
    );
    await pause(20);
    const load = sender.load();
    expect(load.inFlight).toBe(3);
    expect(load.waiting).toBe(9);
    expect(load.queued).toBe(12);
    const results = await Promise.all(sends);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(sink.seen.requests).toBe(12);
    expect(sink.seen.maxRequests).toBe(3);
    expect(sink.seen.maxSockets).toBeLessThanOrEqual(3);
    expect(sender.load()).toEqual({ inFlight: 0, waiting: 0, queued: 0, openCircuits: 0 });
  });

  it('close() ends deliveries still waiting for a slot with closed, without sending them', async () => {
    const sink = await startCountingSink({ delayMs: 200 });
    cleanup.push(sink.close);
    const sender = senderFor({ maxConcurrent: 1 });
    const sends = Array.from({ length: 4 }, (_, i) =>
      sender.notify(sink.url, event(i), { orderingKey: `k${i}` }),
    );
    await pause(30);
    await sender.close();
    const results = await Promise.all(sends);
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['closed', 'closed', 'closed', 'closed']);
    expect(sink.seen.requests).toBe(1);
  });
});

describe('idle connections', () => {
  it('a kept-alive connection is closed once idle for idleSocketTimeoutMs; a slower answer in flight is not cut', async () => {
    const sink = await startCountingSink({ delayMs: 250 });
    cleanup.push(sink.close);
    const transport = createNodeTransport({ idleSocketTimeoutMs: 100 });
    cleanup.push(async () => transport.close());
    const sender = senderFor({ transport: transport.send, retry: { maxAttempts: 1 } });
    expect(await sender.notify(sink.url, event(1))).toMatchObject({ ok: true, attempts: 1 });
    expect(sink.seen.openSockets).toBe(1);
    await pause(400);
    expect(sink.seen.openSockets).toBe(0);
    expect(sink.seen.connections).toBe(1);
  });
});

describe('circuitBreaker: one circuit per sink origin', () => {
  it('opens after N failures in a row, refuses attempts without connecting while open, half-opens after the cool-down and closes when the sink recovers', async () => {
    let status = 503;
    const sink = await startCountingSink({ status: () => status });
    cleanup.push(sink.close);
    const changes: SinkCircuitChange[] = [];
    const sender = senderFor({
      retry: { maxAttempts: 1 },
      circuitBreaker: { failures: 3, coolDownMs: 300 },
      onCircuitChange: (change) => changes.push(change),
    });

    for (let i = 0; i < 3; i++) expect(await sender.notify(sink.url, event(i))).toMatchObject({ ok: false });
    expect(sink.seen.requests).toBe(3);
    expect(changes).toEqual([{ origin: sink.origin, state: 'open' }]);
    expect(sender.load().openCircuits).toBe(1);

    // Open: refused at once, no request and no connection; another path of the same origin too.
    const connections = sink.seen.connections;
    const refused = await Promise.all([
      sender.notify(sink.url, event(10), { orderingKey: 'a' }),
      sender.notify(`${sink.origin}/other`, event(11), { orderingKey: 'b' }),
    ]);
    for (const result of refused) {
      expect(result).toMatchObject({ ok: false, reason: 'exhausted', attempts: 1 });
      expect(result.ok === false && result.message).toMatch(/circuit open/);
    }
    expect(sink.seen.requests).toBe(3);
    expect(sink.seen.connections).toBe(connections);

    // Cool-down over, sink still failing: one probe among four concurrent sends, then open again.
    await pause(350);
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => sender.notify(sink.url, event(20 + i), { orderingKey: `p${i}` })),
    );
    expect(sink.seen.requests).toBe(4);
    expect(changes.map((c) => c.state)).toEqual(['open', 'half-open', 'open']);

    // The sink recovers: after the next cool-down the probe succeeds and the circuit closes.
    status = 204;
    await pause(350);
    expect(await sender.notify(sink.url, event(30))).toMatchObject({ ok: true });
    expect(changes.map((c) => c.state)).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
    const after = await Promise.all(
      Array.from({ length: 3 }, (_, i) => sender.notify(sink.url, event(40 + i), { orderingKey: `c${i}` })),
    );
    expect(after.every((r) => r.ok)).toBe(true);
    expect(sink.seen.requests).toBe(8);
    expect(sender.load().openCircuits).toBe(0);
  });

  it('answers that are not worth retrying (4xx) keep the circuit closed; another origin is not affected', async () => {
    const rejecting = await startCountingSink({ status: () => 400 });
    const failing = await startCountingSink({ status: () => 500 });
    const healthy = await startCountingSink();
    cleanup.push(rejecting.close, failing.close, healthy.close);
    const sender = senderFor({
      retry: { maxAttempts: 1 },
      circuitBreaker: { failures: 2, coolDownMs: 60_000 },
    });
    for (let i = 0; i < 4; i++) await sender.notify(rejecting.url, event(i));
    for (let i = 0; i < 4; i++) await sender.notify(failing.url, event(i));
    for (let i = 0; i < 2; i++)
      expect(await sender.notify(healthy.url, event(i))).toMatchObject({ ok: true });
    expect(rejecting.seen.requests).toBe(4);
    expect(failing.seen.requests).toBe(2);
    expect(sender.load().openCircuits).toBe(1);
  });

  it('a refused attempt is retried per the retry policy and is delivered once the circuit closes', async () => {
    let status = 503;
    const sink = await startCountingSink({ status: () => status });
    cleanup.push(sink.close);
    // Real sleeps here: the retry waits on the clock, the cool-down on the real time.
    const sender = createCallbackSender<Sender>(definitions, {
      source: 'urn:example',
      sinkPolicy: LOOPBACK_POLICY,
      retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 100 },
      random: () => 0.99,
      circuitBreaker: { failures: 2, coolDownMs: 250 },
    });
    cleanup.push(() => sender.close());
    const delivery = sender.notify(sink.url, event(1));
    await pause(150);
    // Two failures opened the circuit; the next attempts are refused without a request.
    expect(sink.seen.requests).toBe(2);
    status = 204;
    const result = await delivery;
    expect(result).toMatchObject({ ok: true });
    expect(result.attempts).toBeGreaterThan(3);
    expect(sink.seen.requests).toBe(3);
  });
});
