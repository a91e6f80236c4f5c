import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildGateway, ConfigError, type GatewayServer } from '../../src/index.js';
import { FLOW_WEBRTC_OFFER } from '../../src/testing/index.js';
import {
  ALICE,
  BOB,
  bearer,
  CA_FILE,
  CALLS,
  DEVICE,
  REGISTRATION,
  type RecordingSink,
  SINK_TOKEN,
  SUBSCRIPTIONS,
  startSink,
  subscriptionBody,
} from './support.js';

const callBody = (receiver = BOB) => ({
  originatorAddress: `tel:${ALICE}`,
  originatorName: 'Alice',
  receiverAddress: `tel:${receiver}`,
  receiverName: 'Bob',
  offer: { sdp: FLOW_WEBRTC_OFFER },
});

describe('buildGateway: the three APIs over HTTP', () => {
  let server: GatewayServer;
  let sink: RecordingSink;
  let token: string;

  beforeEach(async () => {
    // The webrtc-events schema admits https sinks only: a local sink with a certificate of a private CA.
    sink = await startSink({ tls: true });
    server = await buildGateway({ logLevel: 'silent', sinkAllowlist: ['127.0.0.1'], sinkCaFile: CA_FILE });
    server.network?.setBehaviour(BOB, {
      kind: 'answer',
      answerAtMs: 50,
      progress: [{ status: 180, atMs: 10 }],
    });
    token = await server.issueToken(ALICE);
  });
  afterEach(async () => {
    await server.close();
    await sink.close();
  });

  const request = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers = {}) =>
    server.app.inject({
      method,
      url,
      headers: { ...bearer(token), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it('does not listen, and exposes the resolved config and the loopback network', () => {
    expect(server.app.server.listening).toBe(false);
    expect(server.config).toMatchObject({ port: 8080, host: '127.0.0.1', authMode: 'dev', store: 'memory' });
    expect(server.network).toBe(server.gateway.network);
  });

  it('webrtc-registration: create 201, list, get, refresh, delete 204, then 404', async () => {
    const created = await request('POST', REGISTRATION, { deviceId: DEVICE });
    expect(created.statusCode).toBe(201);
    const registration = created.json();
    expect(registration).toMatchObject({ regInfo: { phoneNumber: ALICE, regStatus: 'Registered' } });
    const path = `${REGISTRATION}/${registration.registrationId}`;

    const listed = await request('GET', `${REGISTRATION}?deviceId=${DEVICE}`);
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual([registration]);
    expect((await request('GET', path)).json()).toEqual(registration);

    const refreshed = await request('PUT', path, {
      registrationExpireTime: new Date(Date.now() + 7_200_000).toISOString(),
    });
    expect(refreshed.statusCode).toBe(200);
    expect(Date.parse(refreshed.json().expiresAt)).toBeGreaterThan(Date.parse(registration.expiresAt));

    const deleted = await request('DELETE', path);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect((await request('GET', path)).json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('webrtc-events: create 201, list, get, update, delete 202 {id}; the sink never sees the credential echoed', async () => {
    await request('POST', REGISTRATION, { deviceId: DEVICE });
    const created = await request('POST', SUBSCRIPTIONS, subscriptionBody(`${sink.url}/hook`));
    expect(created.statusCode).toBe(201);
    const subscription = created.json();
    expect(subscription).toMatchObject({ status: 'ACTIVE', sink: `${sink.url}/hook` });
    expect(subscription.sinkCredential).toBeUndefined();
    const path = `${SUBSCRIPTIONS}/${subscription.id}`;

    expect((await request('GET', SUBSCRIPTIONS)).json()).toEqual([subscription]);
    expect((await request('GET', path)).json()).toEqual(subscription);
    const expireTime = new Date(Date.now() + 3_600_000).toISOString();
    const updated = await request('PUT', path, { config: { subscriptionExpireTime: expireTime } });
    expect(updated.statusCode).toBe(200);
    expect(Date.parse(updated.json().expiresAt)).toBe(Date.parse(expireTime));

    const deleted = await request('DELETE', path);
    expect(deleted.statusCode).toBe(202);
    expect(deleted.json()).toEqual({ id: subscription.id });
    const ended = await sink.waitFor((e) => e.type.endsWith('subscription-ended'));
    expect(ended.data).toMatchObject({
      subscriptionId: subscription.id,
      terminationReason: 'SUBSCRIPTION_DELETED',
    });
    expect(ended.authorization).toBe(`Bearer ${SINK_TOKEN}`);
    expect(ended.contentType).toBe('application/cloudevents+json');
    await server.gateway.idle();
    const metrics = await server.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain(
      'telegate_events_delivered_total{type="org.camaraproject.webrtc-events.v0.subscription-ended"} 1',
    );
  });

  it('webrtc-call-handling: create 201 Initial, events to the sink, hold 200, get, delete 204', async () => {
    const { registrationId } = (await request('POST', REGISTRATION, { deviceId: DEVICE })).json();
    await request('POST', SUBSCRIPTIONS, subscriptionBody(`${sink.url}/hook`));

    const created = await request('POST', CALLS, callBody(), { registrationId });
    expect(created.statusCode).toBe(201);
    const session = created.json();
    expect(session).toMatchObject({ status: 'Initial', receiverAddress: `tel:${BOB}` });
    const path = `${CALLS}/${session.mediaSessionId}`;

    const connected = await sink.waitFor((e) => e.data.status === 'Connected');
    expect(connected.data).toMatchObject({ mediaSessionId: session.mediaSessionId });
    expect((await request('GET', path)).json()).toMatchObject({ status: 'Connected' });

    const held = await request('PUT', `${path}/status`, { status: 'Hold' });
    expect(held.statusCode).toBe(200);
    expect(held.json()).toMatchObject({ status: 'Hold' });

    const deleted = await request('DELETE', path);
    expect(deleted.statusCode).toBe(204);
    await sink.waitFor((e) => e.data.status === 'Terminated');
  });

  it('answers a call to a demo number as that number behaves (busy)', async () => {
    const { registrationId } = (await request('POST', REGISTRATION, { deviceId: DEVICE })).json();
    await request('POST', SUBSCRIPTIONS, subscriptionBody(`${sink.url}/hook`));
    const created = await request('POST', CALLS, callBody('+990000000486'), { registrationId });
    expect(created.statusCode).toBe(201);
    await sink.waitFor((e) => e.data.status === 'Busy');
  });

  it('validation, error bodies and x-correlator come from the generated plugins', async () => {
    const bad = await request(
      'POST',
      REGISTRATION,
      { deviceId: 'not-a-uuid' },
      { 'x-correlator': 'abc-123' },
    );
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['x-correlator']).toBe('abc-123');
    expect(bad.json()).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });

    const missingHeader = await request('POST', CALLS, callBody());
    expect(missingHeader.json()).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });

    const notAllowed = await request('PATCH' as 'GET', REGISTRATION);
    expect(notAllowed.statusCode).toBe(405);
    expect(notAllowed.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
  });

  it('long path parameters reach the plugin (routerOptions.maxParamLength), which validates them', async () => {
    const unknown = await request('GET', `${REGISTRATION}/${'r'.repeat(200)}`);
    expect(unknown.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const tooLong = await request('GET', `${REGISTRATION}/${'r'.repeat(300)}`);
    expect(tooLong.json()).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });
  });

  it('gives a request without x-correlator a fresh one, echoed in the response', async () => {
    const response = await request('GET', `${REGISTRATION}?deviceId=${DEVICE}`);
    expect(response.headers['x-correlator']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown paths outside the APIs with a CAMARA 404', async () => {
    const response = await server.app.inject({
      method: 'GET',
      url: '/nowhere',
      headers: { 'x-correlator': 'c-1' },
    });
    expect(response.statusCode).toBe(404);
    expect(response.headers['x-correlator']).toBe('c-1');
    expect(response.json()).toEqual({
      status: 404,
      code: 'NOT_FOUND',
      message: 'The specified resource is not found.',
    });
  });

  it('refuses a sink on a private address that is not allowlisted: 400 INVALID_SINK', async () => {
    await request('POST', REGISTRATION, { deviceId: DEVICE });
    const response = await request('POST', SUBSCRIPTIONS, subscriptionBody('https://10.1.2.3/hook'));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_SINK' });
  });

  it('issueToken: scopes and ttl', async () => {
    const readOnly = await server.issueToken(ALICE, { scopes: ['webrtc-registration:sessions:read'] });
    const denied = await server.app.inject({
      method: 'POST',
      url: REGISTRATION,
      headers: bearer(readOnly),
      payload: { deviceId: DEVICE },
    });
    expect(denied.json()).toMatchObject({ status: 403, code: 'PERMISSION_DENIED' });
    const expired = await server.issueToken(ALICE, { ttlSeconds: 0 });
    const refused = await server.app.inject({ method: 'GET', url: SUBSCRIPTIONS, headers: bearer(expired) });
    expect(refused.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });
});

describe('health, readiness and metrics', () => {
  let server: GatewayServer;

  beforeEach(async () => {
    server = await buildGateway({ logLevel: 'silent' });
  });
  afterEach(async () => {
    await server.close();
  });

  it('/healthz and /readyz answer 200 without a token', async () => {
    const health = await server.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it('/readyz answers 503 once shutdown has begun', async () => {
    await server.app.ready();
    const closing = server.close();
    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    await closing;
  });

  it('/readyz answers 503 when the store does not answer', async () => {
    const slow = await buildGateway({ logLevel: 'silent' });
    slow.gateway.store.getRegistration = () => Promise.reject(new Error('store down'));
    const ready = await slow.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', reason: 'store not answering' });
    await slow.close();
  });

  it('/metrics counts requests by operation and status, calls, registrations and events', async () => {
    const token = await server.issueToken(ALICE);
    await server.app.inject({
      method: 'POST',
      url: REGISTRATION,
      headers: bearer(token),
      payload: { deviceId: DEVICE },
    });
    await server.app.inject({
      method: 'POST',
      url: REGISTRATION,
      headers: bearer(token),
      payload: { deviceId: DEVICE },
    });
    await server.app.inject({ method: 'GET', url: SUBSCRIPTIONS });
    const metrics = await server.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    const text = metrics.body;
    expect(text).toContain(
      'telegate_http_requests_total{operation="createRegistration",method="POST",status="201"} 1',
    );
    expect(text).toContain(
      'telegate_http_requests_total{operation="createRegistration",method="POST",status="409"} 1',
    );
    expect(text).toContain(
      'telegate_http_requests_total{operation="retrieveNotificationChannelSubscriptionList",method="GET",status="401"} 1',
    );
    expect(text).toMatch(
      /telegate_http_request_duration_seconds_count\{operation="createRegistration",method="POST",status="201"\} 1/,
    );
    expect(text).toContain('telegate_active_calls 0');
    expect(text).toContain('telegate_registrations 1');
    expect(text).toContain('# TYPE telegate_events_delivered_total counter');
    expect(text).toContain('# TYPE telegate_events_failed_total counter');
  });
});

describe('event delivery over https to a sink with a private CA (SINK_CA_FILE)', () => {
  it('without the CA every delivery fails the certificate check, is not retried, and shutdown does not wait', async () => {
    const sink = await startSink({ tls: true });
    const server = await buildGateway({
      logLevel: 'silent',
      sinkAllowlist: ['127.0.0.1'],
      shutdownTimeoutSeconds: 1,
    });
    try {
      const token = await server.issueToken(ALICE);
      const headers = bearer(token);
      await server.app.inject({ method: 'POST', url: REGISTRATION, headers, payload: { deviceId: DEVICE } });
      const created = await server.app.inject({
        method: 'POST',
        url: SUBSCRIPTIONS,
        headers,
        payload: subscriptionBody(`${sink.url}/hook`),
      });
      expect(created.statusCode).toBe(201);
      const failed = new Promise<string>((resolve) =>
        server.gateway.events.on('failed', ({ reason }) => resolve(reason)),
      );
      await server.app.inject({ method: 'DELETE', url: `${SUBSCRIPTIONS}/${created.json().id}`, headers });
      const started = Date.now();
      await server.close();
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await failed).toBe('rejected');
      expect(sink.events).toHaveLength(0);
    } finally {
      await server.close();
      await sink.close();
    }
  });

  it('refuses a SINK_CA_FILE that cannot be read', async () => {
    await expect(buildGateway({ logLevel: 'silent', sinkCaFile: '/nonexistent/ca.pem' })).rejects.toThrow(
      ConfigError,
    );
  });
});
