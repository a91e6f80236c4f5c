import { afterEach, describe, expect, it } from 'vitest';
import {
  type CallbackDefinitions,
  type CallbackSenderControls,
  type CallbackSenderOptions,
  type CallbackTransport,
  createCallbackSender,
  type DeliveryFailure,
  type DeliveryReport,
  type DeliveryResult,
  type SinkCredentialInput,
  verifyWebhook,
} from '../../src/callbacks/index.js';
import { captureLogger, instantClock, LOOPBACK_POLICY, type SinkAnswer, startSink } from './support.js';

const TYPES = { STATUS: 'org.example.v0.session-status', ENDED: 'org.example.v0.subscription-ended' };
const definitions = {
  notify: {
    id: 'postNotification',
    method: 'POST',
    mediaType: 'application/cloudevents+json',
    eventTypes: { [TYPES.STATUS]: 'onSessionStatus', [TYPES.ENDED]: 'onSubscriptionEnded' },
  },
  parcel: {
    id: 'parcelDelivered',
    method: 'POST',
    mediaType: 'application/json',
    handler: 'onParcelDelivered',
  },
} as const satisfies CallbackDefinitions;

interface Sender extends CallbackSenderControls {
  notify(
    sink: string,
    event: object,
    options?: { sinkCredential?: SinkCredentialInput; orderingKey?: string; correlator?: string },
  ): Promise<DeliveryResult>;
  parcel(
    sink: string,
    payload: unknown,
    options?: { sinkCredential?: SinkCredentialInput },
  ): Promise<DeliveryResult>;
}

const TOKEN = 'eyJ2ZXIiOiIxLjAiLCJ0eXAiOiJKV1QiL.secret-token-value';
const credential: SinkCredentialInput = {
  credentialType: 'ACCESSTOKEN',
  accessToken: TOKEN,
  accessTokenExpiresUtc: '2099-01-01T00:00:00Z',
  accessTokenType: 'bearer',
};
const statusEvent = (n: number) => ({
  type: TYPES.STATUS,
  data: { mediaSessionId: 'm1', sequenceNumber: n },
});

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0)) await close();
});

async function setup(answer?: Parameters<typeof startSink>[0], options: Partial<CallbackSenderOptions> = {}) {
  const sink = await startSink(answer);
  const { clock, sleeps } = instantClock();
  const log = captureLogger();
  const delivered: DeliveryReport[] = [];
  const failed: DeliveryFailure[] = [];
  const sender = createCallbackSender<Sender>(definitions, {
    source: 'https://gateway.example/events',
    sinkPolicy: LOOPBACK_POLICY,
    clock,
    retry: { baseDelayMs: 10, maxAttempts: 4 },
    logger: log.logger,
    onDelivery: (r) => delivered.push(r),
    onFailure: (f) => failed.push(f),
    ...options,
  });
  cleanup.push(() => sender.close(), sink.close);
  return { sink, sender, sleeps, log, delivered, failed };
}

describe('CloudEvents delivery to a real HTTP sink on 127.0.0.1', () => {
  it('sends a completed structured-mode event with bearer, x-correlator and webhook-id', async () => {
    const { sink, sender, delivered } = await setup();
    const result = await sender.notify(sink.url, statusEvent(1), {
      sinkCredential: credential,
      correlator: 'corr-1',
    });
    expect(result).toMatchObject({ ok: true, status: 204, attempts: 1, callbackId: 'postNotification' });
    expect(delivered).toHaveLength(1);
    const [request] = sink.requests;
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/cloudevents+json');
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers['x-correlator']).toBe('corr-1');
    expect(request?.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    const event = JSON.parse(request!.body);
    expect(event).toMatchObject({
      specversion: '1.0',
      source: 'https://gateway.example/events',
      type: TYPES.STATUS,
      data: { mediaSessionId: 'm1', sequenceNumber: 1 },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.time).toBe('2025-06-01T12:00:00.000Z');
    expect(result.eventId).toBe(event.id);
  });

  it('keeps a given id, time and source; ids differ between events', async () => {
    const { sink, sender } = await setup();
    await sender.notify(sink.url, {
      ...statusEvent(1),
      id: 'fixed',
      source: 'urn:x',
      time: '2024-01-01T00:00:00Z',
    });
    await sender.notify(sink.url, statusEvent(2));
    await sender.notify(sink.url, statusEvent(3));
    const events = sink.requests.map((r) => JSON.parse(r.body));
    expect(events[0]).toMatchObject({ id: 'fixed', source: 'urn:x', time: '2024-01-01T00:00:00Z' });
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  it('refuses an event type the document does not list, and an invalid payload, without sending', async () => {
    const { sink, sender, failed } = await setup(undefined, {
      validate: (payload) =>
        (payload as { data?: { mediaSessionId?: unknown } }).data?.mediaSessionId === undefined
          ? ['data/mediaSessionId is required']
          : null,
    });
    const wrongType = await sender.notify(sink.url, {
      type: 'org.example.v0.other',
      data: { mediaSessionId: 'm' },
    });
    expect(wrongType).toMatchObject({ ok: false, reason: 'invalid-payload', attempts: 0 });
    expect((wrongType as DeliveryFailure).violations?.[0]).toMatch(/^type must be one of/);
    const invalid = await sender.notify(sink.url, { type: TYPES.STATUS, data: {} });
    expect(invalid).toMatchObject({
      ok: false,
      reason: 'invalid-payload',
      violations: ['data/mediaSessionId is required'],
    });
    expect(sink.requests).toHaveLength(0);
    expect(failed.map((f) => f.reason)).toEqual(['invalid-payload', 'invalid-payload']);
  });

  it('sends plain JSON payloads with their media type and passes the validator the callback id', async () => {
    const seen: string[] = [];
    const { sink, sender } = await setup(undefined, {
      validate: (_payload, id) => {
        seen.push(id);
        return null;
      },
    });
    const result = await sender.parcel(sink.url, { parcelId: 'p1' });
    expect(result.ok).toBe(true);
    expect(sink.requests[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sink.requests[0]!.body)).toEqual({ parcelId: 'p1' });
    expect(result.eventId).toBe(sink.requests[0]?.headers['webhook-id']);
    expect(seen).toEqual(['parcelDelivered']);
  });

  it('turns a throwing validator or an unserialisable payload into invalid-payload, never a rejection', async () => {
    const { sink, sender } = await setup(undefined, {
      validate: () => {
        throw new Error('schema compiler bug');
      },
    });
    expect(await sender.parcel(sink.url, {})).toMatchObject({
      ok: false,
      reason: 'invalid-payload',
      violations: ['the validator failed: schema compiler bug'],
    });
    const plain = await setup(undefined, { validate: () => null });
    expect(await plain.sender.parcel(plain.sink.url, { big: 1n })).toMatchObject({
      ok: false,
      reason: 'invalid-payload',
    });
    expect(plain.sink.requests).toHaveLength(0);
  });

  it('uses the generated validators by callback id when no validate option is given', async () => {
    const { sink, sender } = await setup(undefined, {
      validators: { parcelDelivered: () => ['parcelId is required'] },
    });
    expect(await sender.parcel(sink.url, {})).toMatchObject({
      ok: false,
      violations: ['parcelId is required'],
    });
    expect(sink.requests).toHaveLength(0);
  });
});

describe('retries', () => {
  it('retries 503 and network-level failures, then delivers once', async () => {
    const { sink, sender, sleeps } = await setup((_, i) => ({ status: i < 2 ? 503 : 204 }));
    const result = await sender.notify(sink.url, statusEvent(1), { sinkCredential: credential });
    expect(result).toMatchObject({ ok: true, attempts: 3 });
    expect(sink.requests).toHaveLength(3);
    // Every attempt carries the same event and correlator.
    expect(new Set(sink.requests.map((r) => JSON.parse(r.body).id)).size).toBe(1);
    expect(new Set(sink.requests.map((r) => r.headers['x-correlator'])).size).toBe(1);
    // Exponential backoff with jitter in the upper half: [5, 10] then [10, 20].
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(5);
    expect(sleeps[0]).toBeLessThanOrEqual(10);
    expect(sleeps[1]).toBeGreaterThanOrEqual(10);
    expect(sleeps[1]).toBeLessThanOrEqual(20);
  });

  it.each([408, 429, 500, 502, 504])('retries %i', async (status) => {
    const { sink, sender } = await setup((_, i) => ({ status: i === 0 ? status : 204 }));
    expect(await sender.notify(sink.url, statusEvent(1))).toMatchObject({ ok: true, attempts: 2 });
  });

  it.each([400, 401, 403, 404, 301])('does not retry %i', async (status) => {
    const { sink, sender, failed } = await setup(() => ({ status }));
    const result = await sender.notify(sink.url, statusEvent(1));
    expect(result).toMatchObject({ ok: false, reason: 'rejected', status, attempts: 1 });
    expect(sink.requests).toHaveLength(1);
    expect(failed).toHaveLength(1);
  });

  it('gives up after maxAttempts with the last status', async () => {
    const { sink, sender } = await setup(() => ({ status: 500 }));
    const result = await sender.notify(sink.url, statusEvent(1));
    expect(result).toMatchObject({ ok: false, reason: 'exhausted', status: 500, attempts: 4 });
    expect(sink.requests).toHaveLength(4);
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const answers: SinkAnswer[] = [
      { status: 429, headers: { 'retry-after': '2' } },
      // The instant clock has advanced by the 2 s slept: this date is 7 s after that.
      { status: 503, headers: { 'retry-after': 'Sun, 01 Jun 2025 12:00:09 GMT' } },
      { status: 204 },
    ];
    const { sink, sender, sleeps } = await setup((_, i) => answers[i]!);
    expect(await sender.notify(sink.url, statusEvent(1))).toMatchObject({ ok: true, attempts: 3 });
    expect(sleeps).toEqual([2000, 7000]);
  });

  it('gives up when Retry-After exceeds maxRetryAfterMs rather than holding the queue', async () => {
    const { sink, sender } = await setup(() => ({ status: 503, headers: { 'retry-after': '3600' } }), {
      retry: { maxRetryAfterMs: 60_000 },
    });
    expect(await sender.notify(sink.url, statusEvent(1))).toMatchObject({
      ok: false,
      reason: 'exhausted',
      status: 503,
      attempts: 1,
    });
  });

  it('retries a refused connection and a timeout', async () => {
    const { sink, sender } = await setup((_, i) => ({ status: 204, delayMs: i === 0 ? 500 : 0 }), {
      timeoutMs: 100,
    });
    const result = await sender.notify(sink.url, statusEvent(1));
    expect(result).toMatchObject({ ok: true, attempts: 2 });

    const closed = await startSink();
    await closed.close();
    const refused = await sender.notify(closed.url, statusEvent(1));
    expect(refused).toMatchObject({ ok: false, reason: 'exhausted', attempts: 4 });
    expect((refused as DeliveryFailure).message).toMatch(/ECONNREFUSED/);
  });
});

describe('410 Gone', () => {
  it('stops: no retry, events queued behind it are dropped, onFailure says gone', async () => {
    const { sink, sender, failed } = await setup(() => ({ status: 410, delayMs: 20 }));
    const results = await Promise.all([1, 2, 3].map((n) => sender.notify(sink.url, statusEvent(n))));
    expect(results.map((r) => !r.ok && r.reason)).toEqual(['gone', 'gone', 'gone']);
    expect(results.map((r) => r.attempts)).toEqual([1, 0, 0]);
    expect(sink.requests).toHaveLength(1);
    expect(failed).toHaveLength(3);
  });
});

describe('ordering and the bounded queue', () => {
  it('delivers events to one sink in call order, one at a time, even when the sink is slow and flaky', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    // Random delays and a 503 on every third request: order must hold anyway.
    const flaky = await startSink((_, i) => {
      const answer = { status: i % 3 === 1 ? 503 : 204, delayMs: Math.floor(Math.random() * 5) };
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => inFlight--, answer.delayMs);
      return answer;
    });
    cleanup.push(flaky.close);
    const { clock } = instantClock();
    const sender = createCallbackSender<Sender>(definitions, {
      source: 'urn:test',
      sinkPolicy: LOOPBACK_POLICY,
      clock,
      retry: { baseDelayMs: 1 },
    });
    cleanup.push(() => sender.close());
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => sender.notify(flaky.url, statusEvent(n + 1))),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const delivered = flaky.requests
      .filter((_, i) => i % 3 !== 1)
      .map((r) => JSON.parse(r.body).data.sequenceNumber);
    expect(delivered).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
    expect(maxInFlight).toBe(1);
  });

  it('orders per key: another sink (or ordering key) is not held up', async () => {
    const slow = await startSink((_, i) => ({ status: 204, delayMs: i === 0 ? 200 : 0 }));
    const fast = await startSink();
    cleanup.push(slow.close, fast.close);
    const sender = createCallbackSender<Sender>(definitions, {
      source: 'urn:t',
      sinkPolicy: LOOPBACK_POLICY,
    });
    cleanup.push(() => sender.close());
    const slowDone = sender.notify(slow.url, statusEvent(1));
    const started = Date.now();
    await sender.notify(fast.url, statusEvent(1));
    await sender.notify(slow.url, statusEvent(2), { orderingKey: 'subscription-2' });
    expect(Date.now() - started).toBeLessThan(150);
    await slowDone;
  });

  it('rejects sends beyond maxQueue with queue-full and keeps the queued ones', async () => {
    const { sink, sender, failed } = await setup(() => ({ status: 204, delayMs: 30 }), { maxQueue: 3 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => sender.notify(sink.url, statusEvent(n))));
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'ok',
      'ok',
      'ok',
      'queue-full',
      'queue-full',
    ]);
    expect(sink.requests.map((r) => JSON.parse(r.body).data.sequenceNumber)).toEqual([1, 2, 3]);
    expect(failed.map((f) => f.reason)).toEqual(['queue-full', 'queue-full']);
    // Once drained, the queue accepts again.
    expect((await sender.notify(sink.url, statusEvent(6))).ok).toBe(true);
  });

  it('drain waits for every queue; close ends queued deliveries with closed', async () => {
    const { sink, sender } = await setup(() => ({ status: 204, delayMs: 50 }));
    const pending = [1, 2, 3].map((n) => sender.notify(sink.url, statusEvent(n)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await sender.close();
    const results = await Promise.all(pending);
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['closed', 'closed', 'closed']);
    expect(await sender.notify(sink.url, statusEvent(4))).toMatchObject({ ok: false, reason: 'closed' });

    const second = await setup(() => ({ status: 204, delayMs: 5 }));
    const all = [1, 2, 3].map((n) => second.sender.notify(second.sink.url, statusEvent(n)));
    await second.sender.drain();
    expect(second.sink.requests).toHaveLength(3);
    expect((await Promise.all(all)).every((r) => r.ok)).toBe(true);
  });
});

describe('SSRF guard at delivery time', () => {
  const recordingTransport = () => {
    const calls: string[] = [];
    const transport: CallbackTransport = async ({ sink }) => {
      calls.push(sink.url.href);
      return { status: 204, headers: new Headers() };
    };
    return { calls, transport };
  };

  it.each([
    ['http://127.0.0.1:9/sink', { allowHttp: true }, /loopback/],
    ['https://10.0.0.1/sink', {}, /private/],
    ['https://169.254.169.254/latest/meta-data/', {}, /metadata/],
    ['https://[::1]/sink', {}, /loopback/],
    ['https://[::ffff:10.0.0.1]/sink', {}, /private/],
    ['https://hooks.attacker.example/sink', {}, /must resolve to public addresses only/],
    ['https://hooks.nat64.example/sink', {}, /must resolve to public addresses only/],
    ['https://hooks.6to4.example/sink', {}, /must resolve to public addresses only/],
    ['https://[64:ff9b::a9fe:a9fe]/sink', {}, /metadata \(NAT64\)/],
    ['https://[2002:7f00:1::1]/sink', {}, /loopback \(6to4\)/],
    ['https://[fec0::1]/sink', {}, /site-local/],
    ['http://hooks.public.example/sink', {}, /https/],
  ])('refuses %s before connecting', async (url, policy, message) => {
    const { calls, transport } = recordingTransport();
    const sender = createCallbackSender<Sender>(definitions, {
      source: 'urn:t',
      transport,
      sinkPolicy: {
        ...policy,
        // A stub resolver: nothing here is ever connected to.
        lookup: async (host) =>
          host === 'hooks.attacker.example'
            ? [{ address: '192.168.1.20', family: 4 }]
            : host === 'hooks.nat64.example'
              ? [{ address: '64:ff9b::7f00:1', family: 6 }]
              : host === 'hooks.6to4.example'
                ? [{ address: '2002:a9fe:a9fe::1', family: 6 }]
                : [{ address: '93.184.215.14', family: 4 }],
      },
    });
    const result = await sender.notify(url, statusEvent(1));
    expect(result).toMatchObject({ ok: false, reason: 'invalid-sink', attempts: 0 });
    expect((result as DeliveryFailure).message).toMatch(message);
    expect(calls).toEqual([]);
    await sender.close();
  });

  it('re-resolves on every attempt: a host rebinding to a private address is refused on retry', async () => {
    const answers = [
      [{ address: '93.184.215.14', family: 4 as const }],
      [{ address: '10.0.0.7', family: 4 as const }],
    ];
    let lookups = 0;
    const connected: string[] = [];
    const sender = createCallbackSender<Sender>(definitions, {
      source: 'urn:t',
      clock: instantClock().clock,
      sinkPolicy: { lookup: async () => answers[Math.min(lookups++, 1)]! },
      transport: async ({ sink }) => {
        connected.push(sink.addresses.map((a) => a.address).join());
        return { status: 503, headers: new Headers() };
      },
    });
    const result = await sender.notify('https://rebind.example/sink', statusEvent(1));
    expect(result).toMatchObject({ ok: false, reason: 'invalid-sink', attempts: 1 });
    expect(connected).toEqual(['93.184.215.14']);
    await sender.close();
  });

  it('connects to the vetted address, not to a second resolution of the name', async () => {
    const sink = await startSink();
    cleanup.push(sink.close);
    // The name resolves (through the injected lookup) to 127.0.0.1 only; Node's own resolver never sees it.
    const sender = createCallbackSender<Sender>(definitions, {
      source: 'urn:t',
      sinkPolicy: {
        allowHttp: true,
        allowlist: ['127.0.0.1'],
        lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      },
    });
    cleanup.push(() => sender.close());
    const result = await sender.notify(`http://sink.test.invalid:${sink.port}/sink`, statusEvent(1));
    expect(result).toMatchObject({ ok: true });
    expect(sink.requests[0]?.headers.host).toBe(`sink.test.invalid:${sink.port}`);
  });
});

describe('credentials', () => {
  it('never puts the access token in logs, results or hook reports', async () => {
    const { sink, sender, log, failed } = await setup((_, i) => ({ status: i < 2 ? 500 : 401 }));
    const result = await sender.notify(sink.url, statusEvent(1), { sinkCredential: credential });
    expect(result).toMatchObject({ ok: false, reason: 'rejected', status: 401 });
    const closed = await startSink();
    await closed.close();
    await sender.notify(`${closed.url}?token=${TOKEN}`, statusEvent(2), { sinkCredential: credential });
    await sender.notify('https://10.0.0.1/sink', statusEvent(3), { sinkCredential: credential });
    expect(log.lines.length).toBeGreaterThan(4);
    const everything = [...log.lines, JSON.stringify(result), JSON.stringify(failed)].join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain('secret-token-value');
    expect(sink.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it.each([
    [{ ...credential, accessTokenExpiresUtc: '2020-01-01T00:00:00Z' }, 'credential-expired'],
    [{ credentialType: 'PLAIN' }, 'invalid-credential'],
    [{ credentialType: 'ACCESSTOKEN', accessTokenType: 'bearer' }, 'invalid-credential'],
    [{ ...credential, accessTokenType: 'mac' }, 'invalid-credential'],
  ])('refuses an unusable sinkCredential %j without sending', async (sinkCredential, reason) => {
    const { sink, sender } = await setup();
    expect(await sender.notify(sink.url, statusEvent(1), { sinkCredential })).toMatchObject({
      ok: false,
      reason,
    });
    expect(sink.requests).toHaveLength(0);
  });

  it('stops retrying once the token expires between attempts', async () => {
    const { sink, sender } = await setup(() => ({ status: 503, headers: { 'retry-after': '120' } }));
    const sinkCredential = { ...credential, accessTokenExpiresUtc: '2025-06-01T12:01:00Z' };
    const result = await sender.notify(sink.url, statusEvent(1), { sinkCredential });
    expect(result).toMatchObject({ ok: false, reason: 'credential-expired', attempts: 1 });
  });
});

describe('signing', () => {
  it('adds Standard Webhooks headers that verify against the exact body', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const { sink, sender } = await setup(undefined, { signing: { secret } });
    await sender.notify(sink.url, statusEvent(1));
    const request = sink.requests[0]!;
    const headers = new Headers(request.headers as Record<string, string>);
    expect(request.headers['webhook-signature']).toMatch(/^v1,/);
    expect(request.headers['webhook-timestamp']).toBe(String(Date.parse('2025-06-01T12:00:00Z') / 1000));
    expect(
      verifyWebhook({ headers, body: request.body }, { secret }, { now: Date.parse('2025-06-01T12:00:00Z') })
        .ok,
    ).toBe(true);
  });
});
