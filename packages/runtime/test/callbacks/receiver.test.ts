import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CallbackDefinitions,
  type CallbackReceiver,
  type CallbackReceiverOptions,
  CallbackRejection,
  createCallbackReceiver,
  generateWebhookKeyPair,
  type ReceivedCallback,
  signWebhook,
} from '../../src/callbacks/index.js';
import { captureLogger } from './support.js';

const STATUS = 'org.example.v0.session-status';
const ENDED = 'org.example.v0.subscription-ended';
const definitions = {
  notify: {
    id: 'postNotification',
    method: 'POST',
    mediaType: 'application/cloudevents+json',
    eventTypes: { [STATUS]: 'onSessionStatus', [ENDED]: 'onSubscriptionEnded' },
  },
  delivered: {
    id: 'parcelDelivered',
    method: 'POST',
    mediaType: 'application/json',
    handler: 'onParcelDelivered',
  },
  lost: { id: 'parcelLost', method: 'POST', mediaType: 'application/json', handler: 'onParcelLost' },
} as const satisfies CallbackDefinitions;

/** Validators as the generated `callbackValidators` would give them. */
const validators = {
  postNotification: (event: unknown) =>
    typeof (event as { data?: { mediaSessionId?: unknown } }).data?.mediaSessionId === 'string' ||
    (event as { type?: string }).type === ENDED
      ? null
      : ['data/mediaSessionId is required'],
  parcelDelivered: (payload: unknown) =>
    typeof (payload as { deliveredAt?: unknown }).deliveredAt === 'string'
      ? null
      : ['deliveredAt is required'],
  parcelLost: (payload: unknown) =>
    typeof (payload as { status?: unknown }).status === 'string' ? null : ['status is required'],
};

function recordingHandlers() {
  const calls: { handler: string; payload: unknown; context: ReceivedCallback }[] = [];
  const record = (handler: string) => (payload: unknown, context: ReceivedCallback) => {
    calls.push({ handler, payload, context });
  };
  return {
    calls,
    handlers: {
      onSessionStatus: record('onSessionStatus'),
      onSubscriptionEnded: record('onSubscriptionEnded'),
      onParcelDelivered: record('onParcelDelivered'),
      onParcelLost: record('onParcelLost'),
    },
  };
}

const event = (id: string, type = STATUS) => ({
  specversion: '1.0',
  id,
  source: 'https://gateway.example',
  type,
  time: '2025-06-01T12:00:00Z',
  data: { mediaSessionId: 'm1' },
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  new Request('http://receiver.test/hooks', {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

function receiver(options: CallbackReceiverOptions = {}) {
  const { calls, handlers } = recordingHandlers();
  return { calls, receiver: createCallbackReceiver(definitions, handlers, { validators, ...options }) };
}

describe('dispatch and answers (fetch handler)', () => {
  it('dispatches CloudEvents by type and answers 204 with the x-correlator echoed', async () => {
    const { calls, receiver: r } = receiver();
    const response = await r.fetch(post(event('e1'), { 'x-correlator': 'corr-9' }));
    expect(response.status).toBe(204);
    expect(response.headers.get('x-correlator')).toBe('corr-9');
    expect(await r.fetch(post(event('e2', ENDED)))).toHaveProperty('status', 204);
    expect(calls.map((c) => c.handler)).toEqual(['onSessionStatus', 'onSubscriptionEnded']);
    expect(calls[0]?.context).toMatchObject({ callbackId: 'postNotification', correlator: 'corr-9' });
    expect(calls[0]?.payload).toEqual(event('e1'));
  });

  it('dispatches plain webhooks sharing one endpoint by the schema they satisfy', async () => {
    const { calls, receiver: r } = receiver();
    await r.fetch(
      post({ parcelId: 'p', deliveredAt: '2025-01-01T00:00:00Z' }, { 'content-type': 'application/json' }),
    );
    await r.fetch(post({ id: 'p', status: 'lost' }, { 'content-type': 'application/json' }));
    expect(calls.map((c) => c.handler)).toEqual(['onParcelDelivered', 'onParcelLost']);
    const dedicated = r.only('parcelLost');
    const wrong = await dedicated.fetch(post({ parcelId: 'p', deliveredAt: 'x' }));
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({
      status: 400,
      code: 'INVALID_ARGUMENT',
      message: 'status is required',
    });
  });

  it.each([
    ['not JSON', '{"specversion":', 'Body is not valid JSON.'],
    [
      'an unknown event type',
      event('e', 'org.example.v0.other'),
      /^type must be one of "org.example.v0.session-status"/,
    ],
    ['a wrong specversion', { ...event('e'), specversion: '0.3' }, 'specversion must be "1.0"'],
    ['no id', { ...event('e'), id: undefined }, 'id must be a non-empty string'],
    ['a schema violation', { ...event('e'), data: {} }, 'data/mediaSessionId is required'],
    ['an empty body', '', /body is required|must be an object/],
  ])('answers 400 INVALID_ARGUMENT to %s without calling a handler', async (_, body, message) => {
    const { calls, receiver: r } = receiver();
    const response = await r.fetch(post(body));
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json');
    const info = await response.json();
    expect(info).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });
    expect(info.message).toMatch(message);
    expect(calls).toHaveLength(0);
  });

  it('answers 400 to a body over maxBodyBytes and 405 to another method', async () => {
    const { receiver: r } = receiver({ maxBodyBytes: 100 });
    expect((await r.fetch(post({ ...event('e'), pad: 'x'.repeat(200) }))).status).toBe(400);
    const get = await r.fetch(new Request('http://receiver.test/hooks'));
    expect(get.status).toBe(405);
  });

  it('handles a duplicate event id once and answers 204 to the repeat', async () => {
    const { calls, receiver: r } = receiver();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await r.fetch(post(event('dup-1')))).status);
    const concurrent = await Promise.all([1, 2, 3].map(() => r.fetch(post(event('dup-2')))));
    expect(statuses).toEqual([204, 204, 204]);
    expect(concurrent.map((c) => c.status)).toEqual([204, 204, 204]);
    expect(calls.map((c) => c.payload)).toEqual([event('dup-1'), event('dup-2')]);
    // The same id from another source is another event.
    await r.fetch(post({ ...event('dup-1'), source: 'urn:other' }));
    expect(calls).toHaveLength(3);
  });

  it('dedupes plain payloads by webhook-id; duplicates: false turns it off', async () => {
    const { calls, receiver: r } = receiver();
    const body = { parcelId: 'p', deliveredAt: 'now' };
    await r.fetch(post(body, { 'webhook-id': 'msg_1' }));
    await r.fetch(post(body, { 'webhook-id': 'msg_1' }));
    await r.fetch(post(body, { 'webhook-id': 'msg_2' }));
    expect(calls).toHaveLength(2);
    const off = receiver({ duplicates: false });
    await off.receiver.fetch(post(event('x')));
    await off.receiver.fetch(post(event('x')));
    expect(off.calls).toHaveLength(2);
  });

  it('answers 500 when a handler throws, and lets the retry run it again', async () => {
    let failures = 1;
    const { lines, logger } = captureLogger();
    const r = createCallbackReceiver(
      definitions,
      {
        ...recordingHandlers().handlers,
        onSessionStatus() {
          if (failures-- > 0) throw new Error('database down');
        },
      },
      { validators, logger },
    );
    const first = await r.fetch(post(event('e')));
    expect(first.status).toBe(500);
    expect(await first.json()).toEqual({
      status: 500,
      code: 'INTERNAL',
      message: 'The event could not be processed.',
    });
    expect(lines.join()).toContain('database down');
    expect((await r.fetch(post(event('e')))).status).toBe(204);
  });

  it('answers a CallbackRejection with its status and code', async () => {
    const r = createCallbackReceiver(
      definitions,
      {
        ...recordingHandlers().handlers,
        onSessionStatus() {
          throw new CallbackRejection(410, 'GONE', 'No longer interested.');
        },
      },
      { validators },
    );
    const response = await r.fetch(post(event('e')));
    expect(response.status).toBe(410);
    expect(await response.json()).toEqual({ status: 410, code: 'GONE', message: 'No longer interested.' });
  });

  it('fails at creation when a handler is missing', () => {
    expect(() => createCallbackReceiver(definitions, { onSessionStatus() {} })).toThrow(
      /missing handlers onSubscriptionEnded, onParcelDelivered, onParcelLost/,
    );
  });
});

describe('authentication', () => {
  const unauthenticated = { status: 401, code: 'UNAUTHENTICATED' };

  it('checks the bearer token (401 without or with a wrong one)', async () => {
    const { calls, receiver: r } = receiver({ auth: { bearer: 'sink-token' } });
    const missing = await r.fetch(post(event('a')));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await missing.json()).toMatchObject(unauthenticated);
    expect((await r.fetch(post(event('b'), { authorization: 'Bearer other' }))).status).toBe(401);
    expect((await r.fetch(post(event('c'), { authorization: 'Bearer sink-token' }))).status).toBe(204);
    expect(calls).toHaveLength(1);
    const byFunction = receiver({ auth: { bearer: async (token) => token.startsWith('ok-') } });
    expect((await byFunction.receiver.fetch(post(event('d'), { authorization: 'Bearer ok-1' }))).status).toBe(
      204,
    );
  });

  it('checks Standard Webhooks signatures over the raw body', async () => {
    const keys = generateWebhookKeyPair();
    const { calls, receiver: r } = receiver({ auth: { signature: { publicKey: keys.publicKey } } });
    const body = JSON.stringify(event('s1'));
    const signed = signWebhook({ id: 'msg_1', body }, { privateKey: keys.privateKey });
    expect((await r.fetch(post(body, { ...signed }))).status).toBe(204);
    // Same signature, body changed by one character.
    const response = await r.fetch(post(body.replace('m1', 'm2'), { ...signed }));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject(unauthenticated);
    expect((await r.fetch(post(body))).status).toBe(401);
    expect(calls).toHaveLength(1);
  });
});

describe('framework adapters over real HTTP on 127.0.0.1', () => {
  const servers: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  async function listen(listener: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const exercise = async (url: string, calls: unknown[]) => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = JSON.stringify(event('f1'));
    const headers = {
      'content-type': 'application/cloudevents+json',
      ...signWebhook({ id: 'msg_f', body }, { secret }),
    };
    const ok = await fetch(url, { method: 'POST', headers, body });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('x-correlator')).toBeTruthy();
    const tampered = await fetch(url, { method: 'POST', headers, body: body.replace('f1', 'f2') });
    expect(tampered.status).toBe(401);
    const bad = signWebhook({ id: 'msg_g', body: '{}' }, { secret });
    const invalid = await fetch(url, { method: 'POST', headers: { ...headers, ...bad }, body: '{}' });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(calls).toHaveLength(1);
  };
  const signed = () => ({ auth: { signature: { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } } });

  it('node: http.createServer(receiver.node)', async () => {
    const { calls, receiver: r } = receiver(signed());
    await exercise(await listen(r.node), calls);
  });

  it('express: app.post(path, receiver.express)', async () => {
    const { calls, receiver: r } = receiver(signed());
    const app = express();
    app.post('/hooks', r.express);
    await exercise(`${await listen(app)}/hooks`, calls);
  });

  it('express with express.raw() in front still sees the exact bytes', async () => {
    const { calls, receiver: r } = receiver(signed());
    const app = express();
    app.post('/hooks', express.raw({ type: '*/*' }), r.express);
    await exercise(`${await listen(app)}/hooks`, calls);
  });

  it('fastify: app.register(receiver.fastify, { prefix })', async () => {
    const { calls, receiver: r } = receiver(signed());
    const app = Fastify();
    // The app's own JSON parsing keeps working next to the plugin.
    app.post('/other', async (request) => ({ echoed: request.body }));
    await app.register(r.fastify, { prefix: '/hooks' });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push(app);
    await exercise(`${address}/hooks`, calls);
    const other = await fetch(`${address}/other`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await other.json()).toEqual({ echoed: { a: 1 } });
  });

  it('the adapters are typed structurally and accept the frameworks’ own objects', () => {
    const r: CallbackReceiver = receiver().receiver;
    const app = express();
    app.use('/a', r.express);
    const fastify = Fastify();
    void fastify.register(r.fastify, { prefix: '/b', path: '/c' });
    expect(typeof r.fetch).toBe('function');
  });
});
