/**
 * A generated sender talking to a generated receiver over real HTTP on
 * 127.0.0.1, with the generated Ajv validators on both sides.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type CallbackLogger,
  type CallbackReceiver,
  CallbackRejection,
  type DeliveryResult,
  generateWebhookSecret,
  type ReceivedCallback,
} from '@telegate/runtime/callbacks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, repoTempDir } from '../../test/support/typecheck.js';
import { generateFiles, writeFiles } from '../src/generate.js';
import { fixture } from './helpers.js';

const T = 'org.camaraproject.webrtc-events.v0';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.sink-access-token-do-not-log';
const sinkCredential = {
  credentialType: 'ACCESSTOKEN',
  accessToken: TOKEN,
  accessTokenExpiresUtc: '2099-12-31T23:59:59Z',
  accessTokenType: 'bearer',
};
const LOOPBACK = { allowHttp: true, allowlist: ['127.0.0.1'] };
const FAST = { baseDelayMs: 1, maxDelayMs: 5 };

// biome-ignore lint/suspicious/noExplicitAny: the generated modules are imported at run time; usage.ts in callbacks.test.ts checks their types
type Module = Record<string, any>;
let events: Module;
let parcels: Module;

async function generate(spec: string, cwd: string, file: string): Promise<Module> {
  const out = await repoTempDir('callbacks-e2e-');
  const { files } = await generateFiles({ specs: [spec], out, emit: ['callbacks'], cwd });
  await writeFiles(out, files);
  return import(join(out, file));
}

beforeAll(async () => {
  events = await generate(
    join(repoRoot, 'spec/webrtc-events.yaml'),
    repoRoot,
    'webrtc-events.callbacks.gen.ts',
  );
  parcels = await generate(fixture('webhooks-3.1.yaml'), fixture(''), 'webhooks-3.1.callbacks.gen.ts');
});

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

/** Serves `receiver.node` on 127.0.0.1; `before` may answer a request itself (to fail it). */
async function serve(
  receiver: CallbackReceiver,
  before?: (req: IncomingMessage, res: ServerResponse, index: number) => boolean,
): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    const index = hits++;
    if (before?.(req, res, index)) return;
    receiver.node(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`, hits: () => hits };
}

function eventsReceiver(overrides: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  const calls: { handler: string; event: { id: string; type: string; data?: Record<string, unknown> } }[] =
    [];
  const record = (handler: string) => (event: (typeof calls)[number]['event'], context: ReceivedCallback) => {
    expect(context.callbackId).toBe('postNotification');
    calls.push({ handler, event });
  };
  const receiver: CallbackReceiver = events.createWebrtcEventsCallbackReceiver(
    {
      onSessionInvitation: record('onSessionInvitation'),
      onSessionStatus: record('onSessionStatus'),
      onRegistrationEnds: record('onRegistrationEnds'),
      onSubscriptionEnded: record('onSubscriptionEnded'),
      ...overrides,
    },
    { auth: { bearer: TOKEN }, ...options },
  );
  return { calls, receiver };
}

function eventsSender(options: Record<string, unknown> = {}) {
  const sender = events.createWebrtcEventsCallbackSender({
    source: 'https://gateway.example/webrtc-events',
    sinkPolicy: LOOPBACK,
    retry: FAST,
    ...options,
  });
  open.push(() => sender.close());
  return sender;
}

const sessionStatus = (sequenceNumber: number, status = 'Connected') => ({
  type: `${T}.session-status`,
  datacontenttype: 'application/json',
  data: { subscriptionId: 'sub-1', mediaSessionId: 'ms-1', status, sequenceNumber },
});

const everyType = [
  [
    'session-invitation',
    'onSessionInvitation',
    {
      type: `${T}.session-invitation`,
      data: {
        subscriptionId: 'sub-1',
        mediaSessionId: 'ms-1',
        originatorAddress: 'tel:+11234567899',
        receiverAddress: 'tel:+11234998765',
        status: 'Initial',
        offer: { sdp: 'v=0\r\n' },
        sequenceNumber: 1,
      },
    },
  ],
  ['session-status', 'onSessionStatus', sessionStatus(2)],
  [
    'registration-ends',
    'onRegistrationEnds',
    {
      type: `${T}.registration-ends`,
      data: { registrationId: 'reg-1', terminationReason: 'REGISTRATION_EXPIRED' },
    },
  ],
  [
    'subscription-ended',
    'onSubscriptionEnded',
    {
      type: `${T}.subscription-ended`,
      data: { subscriptionId: 'sub-1', terminationReason: 'SUBSCRIPTION_EXPIRED' },
    },
  ],
] as const;

describe('webrtc-events: generated sender → generated receiver', () => {
  it.each(everyType)('%s reaches %s, authenticated and validated', async (_, handler, event) => {
    const { calls, receiver } = eventsReceiver();
    const sink = await serve(receiver);
    const result: DeliveryResult = await eventsSender().postNotification(sink.url, event, { sinkCredential });
    expect(result).toMatchObject({ ok: true, status: 204, attempts: 1 });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ handler, event: { ...event, specversion: '1.0', id: result.eventId } });
  });

  it('the sender refuses an event its validator rejects; the receiver answers 400 to one sent anyway', async () => {
    const { calls, receiver } = eventsReceiver();
    const sink = await serve(receiver);
    const invalid = { type: `${T}.registration-ends`, data: { terminationReason: 'REGISTRATION_EXPIRED' } };
    const result = await eventsSender().postNotification(sink.url, invalid, { sinkCredential });
    expect(result).toMatchObject({ ok: false, reason: 'invalid-payload', attempts: 0 });
    expect(result.violations.join()).toMatch(/registrationId/);
    expect(sink.hits()).toBe(0);

    const unchecked = eventsSender({ validate: () => null });
    const sent = await unchecked.postNotification(sink.url, invalid, { sinkCredential });
    expect(sent).toMatchObject({ ok: false, reason: 'rejected', status: 400 });
    expect(calls).toHaveLength(0);
  });

  it('answers 401 without the subscription token, and the sender does not retry it', async () => {
    const { calls, receiver } = eventsReceiver();
    const sink = await serve(receiver);
    const result = await eventsSender().postNotification(sink.url, sessionStatus(1));
    expect(result).toMatchObject({ ok: false, reason: 'rejected', status: 401, attempts: 1 });
    expect(calls).toHaveLength(0);
  });

  it('retries a sink that fails twice, then the handler runs exactly once', async () => {
    const { calls, receiver } = eventsReceiver();
    const sink = await serve(receiver, (_req, res, index) => {
      if (index >= 2) return false;
      res.writeHead(index === 0 ? 503 : 429, { 'retry-after': '0' }).end();
      return true;
    });
    const result = await eventsSender().postNotification(sink.url, sessionStatus(1), { sinkCredential });
    expect(result).toMatchObject({ ok: true, attempts: 3 });
    expect(sink.hits()).toBe(3);
    expect(calls).toHaveLength(1);
  });

  it('a redelivered event (same id) is handled once', async () => {
    const { calls, receiver } = eventsReceiver();
    const sink = await serve(receiver);
    const sender = eventsSender();
    const event = { ...sessionStatus(1), id: 'evt-42' };
    const results = await Promise.all(
      [1, 2, 3].map(() => sender.postNotification(sink.url, event, { sinkCredential })),
    );
    expect(results.map((r: DeliveryResult) => r.ok)).toEqual([true, true, true]);
    expect(sink.hits()).toBe(3);
    expect(calls).toHaveLength(1);
  });

  it('410 from the consumer stops delivery and reports gone', async () => {
    const { calls, receiver } = eventsReceiver({
      onSessionStatus() {
        throw new CallbackRejection(410, 'GONE', 'Access to the target resource is no longer available.');
      },
    });
    const sink = await serve(receiver);
    const gone: unknown[] = [];
    const sender = eventsSender({ onFailure: (failure: { reason: string }) => gone.push(failure.reason) });
    const results = await Promise.all(
      [1, 2, 3].map((n) => sender.postNotification(sink.url, sessionStatus(n), { sinkCredential })),
    );
    expect(results.map((r: DeliveryResult) => (r.ok ? 'ok' : r.reason))).toEqual(['gone', 'gone', 'gone']);
    expect(sink.hits()).toBe(1);
    expect(gone).toEqual(['gone', 'gone', 'gone']);
    expect(calls).toHaveLength(0);
  });

  it('keeps order under concurrent sends while the sink is flaky', async () => {
    const { calls, receiver } = eventsReceiver();
    const sink = await serve(receiver, (_req, res, index) => {
      if (index % 4 !== 1) return false;
      res.writeHead(503).end();
      return true;
    });
    const sender = eventsSender();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        sender.postNotification(sink.url, sessionStatus(n + 1), { sinkCredential }),
      ),
    );
    expect(results.every((r: DeliveryResult) => r.ok)).toBe(true);
    expect(calls.map((c) => c.event.data?.sequenceNumber)).toEqual(
      Array.from({ length: 12 }, (_, n) => n + 1),
    );
  });

  it('signs deliveries; the receiver verifies them and refuses a wrong key', async () => {
    const secret = generateWebhookSecret();
    const { calls, receiver } = eventsReceiver({}, { auth: { bearer: TOKEN, signature: { secret } } });
    const sink = await serve(receiver);
    const signed = await eventsSender({ signing: { secret } }).postNotification(sink.url, sessionStatus(1), {
      sinkCredential,
    });
    expect(signed.ok).toBe(true);
    const wrong = await eventsSender({ signing: { secret: generateWebhookSecret() } }).postNotification(
      sink.url,
      sessionStatus(2),
      { sinkCredential },
    );
    expect(wrong).toMatchObject({ ok: false, reason: 'rejected', status: 401 });
    expect(calls).toHaveLength(1);
  });

  it('refuses sinks the SSRF guard rejects, before connecting, with the token kept out of logs', async () => {
    const lines: string[] = [];
    const logger: CallbackLogger = {
      info: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
      warn: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
      error: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
    };
    const { receiver } = eventsReceiver();
    const sink = await serve(receiver);
    const sender = eventsSender({
      logger,
      sinkPolicy: { allowHttp: true, lookup: async () => [{ address: '10.20.30.40', family: 4 }] },
    });
    const refused: DeliveryResult[] = [];
    for (const url of [
      sink.url,
      'https://10.0.0.1/webhooks',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::1]/webhooks',
      'https://[::ffff:10.0.0.1]/webhooks',
      'https://hooks.customer.example/webhooks',
    ]) {
      refused.push(await sender.postNotification(url, sessionStatus(1), { sinkCredential }));
    }
    expect(refused.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(Array(6).fill('invalid-sink'));
    expect(sink.hits()).toBe(0);
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect([...lines, JSON.stringify(refused)].join('\n')).not.toContain(TOKEN);
  });
});

describe('3.1 webhooks fixture: generated sender → generated receiver', () => {
  it('dispatches two JSON webhooks sharing one endpoint by callback, validated', async () => {
    const calls: [string, unknown][] = [];
    const receiver: CallbackReceiver = parcels.createWebhooks31CallbackReceiver({
      onParcelDeliveredWebhook: (payload: unknown) => calls.push(['delivered', payload]),
      onParcelLost: (payload: unknown) => calls.push(['lost', payload]),
    });
    const sink = await serve(receiver);
    const sender = parcels.createWebhooks31CallbackSender({ sinkPolicy: LOOPBACK, retry: FAST });
    open.push(() => sender.close());
    const delivered = {
      parcelId: '6c0f8d2e-3f5a-4b8e-9d3c-1a2b3c4d5e6f',
      deliveredAt: '2025-06-01T12:00:00Z',
      signature: null,
    };
    const lost = { id: '6c0f8d2e-3f5a-4b8e-9d3c-1a2b3c4d5e6f', status: 'lost' };
    expect(await sender.parcelDeliveredWebhook(sink.url, delivered)).toMatchObject({ ok: true });
    expect(await sender.onParcelLost(sink.url, lost)).toMatchObject({ ok: true });
    expect(calls).toEqual([
      ['delivered', delivered],
      ['lost', lost],
    ]);
    const invalid = await sender.onParcelLost(sink.url, { id: 'not-a-uuid', status: 'lost' });
    expect(invalid).toMatchObject({ ok: false, reason: 'invalid-payload' });
    expect(invalid.violations.join()).toMatch(/uuid/);
  });
});

afterAll(async () => {
  for (const close of open.splice(0)) await close();
});
