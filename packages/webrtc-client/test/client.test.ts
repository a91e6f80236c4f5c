import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  type CallHandling,
  createCallHandlingClient,
  createEventsClient,
  createRegistrationClient,
  NetworkError,
  type Registration,
  ResponseValidationError,
} from '../src/index.js';
import { startRecordingServer } from './server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const deviceId = '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10';
const registrationId = 'a1b2c3d4-1234-4678-abcd-ef0123456789';

let server: Awaited<ReturnType<typeof startRecordingServer>>;
beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const created: Registration.RegSessionResponse = {
  registrationId,
  expiresAt: '2026-12-01T10:00:00Z',
  regInfo: { phoneNumber: '+123456789', regStatus: 'Registered' },
} as Registration.RegSessionResponse;

describe('createRegistrationClient against a real HTTP server', () => {
  it('sends the bearer token, a generated x-correlator and the JSON body; types data on 201', async () => {
    const api = createRegistrationClient({ apiRoot: server.origin, token: 'tok-123' });
    server.reply({ status: 201, body: created });
    const { data, error, response } = await api.createRegistration({ body: { deviceId } });
    expect(error).toBeUndefined();
    expect(data).toEqual(created);
    expect(response.status).toBe(201);
    if (data) expectTypeOf(data).toEqualTypeOf<Registration.RegSessionResponse>();
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/webrtc-registration/vwip/sessions' });
    expect(request?.headers.authorization).toBe('Bearer tok-123');
    expect(request?.headers['x-correlator']).toMatch(UUID);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body ?? '')).toEqual({ deviceId });
    expect(response.headers.get('x-correlator')).toBe(request?.headers['x-correlator']);
  });

  it('keeps the caller x-correlator, and a new one is generated per request otherwise', async () => {
    const api = createRegistrationClient({ baseUrl: `${server.origin}/webrtc-registration/vwip` });
    server.reply(
      { status: 200, body: created },
      { status: 200, body: created },
      { status: 200, body: created },
    );
    await api.getRegistrationById({
      params: { path: { registrationId }, header: { 'x-correlator': 'caller-corr-1' } },
    });
    await api.getRegistrationById({ params: { path: { registrationId } } });
    await api.getRegistrationById({ params: { path: { registrationId } } });
    const [first, second, third] = server.requests;
    expect(first?.url).toBe(`/webrtc-registration/vwip/sessions/${registrationId}`);
    expect(first?.headers['x-correlator']).toBe('caller-corr-1');
    expect(second?.headers['x-correlator']).toMatch(UUID);
    expect(third?.headers['x-correlator']).not.toBe(second?.headers['x-correlator']);
    expect(first?.headers.authorization).toBeUndefined(); // no token configured
  });

  it('asks an async token provider before every request and uses a configured correlator', async () => {
    let n = 0;
    const api = createRegistrationClient({
      apiRoot: server.origin,
      token: async () => `tok-${++n}`,
      correlator: () => `corr-${n}`,
    });
    server.reply({ status: 204 }, { status: 204 });
    await api.deleteRegistrationById({ params: { path: { registrationId } } });
    await api.deleteRegistrationById({ params: { path: { registrationId } } });
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(server.requests.map((r) => r.headers['x-correlator'])).toEqual(['corr-0', 'corr-1']);
  });

  it('serialises query parameters', async () => {
    const api = createRegistrationClient({ apiRoot: server.origin });
    server.reply({ status: 200, body: [created] });
    const { data } = await api.getRegistrationsByDeviceId({ params: { query: { deviceId } } });
    expect(data).toEqual([created]);
    expect(server.requests[0]?.url).toBe(`/webrtc-registration/vwip/sessions?deviceId=${deviceId}`);
  });

  it.each([
    [400, 'INVALID_ARGUMENT', 'deviceId must match format "uuid"'],
    [401, 'UNAUTHENTICATED', 'Request not authenticated due to missing, invalid, or expired credentials.'],
    [403, 'PERMISSION_DENIED', 'Client does not have sufficient permissions to perform this action.'],
    [409, 'ALREADY_EXISTS', 'An active registration exists for this device and phone number.'],
  ])('types error as CAMARA ErrorInfo on %i %s', async (status, code, message) => {
    const api = createRegistrationClient({ apiRoot: server.origin, token: 't' });
    server.reply({ status, body: { status, code, message } });
    const { data, error, response } = await api.createRegistration({ body: { deviceId } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(status);
    expect(error).toEqual({ status, code, message });
    if (error) {
      expectTypeOf(error.code).toExtend<string>();
      expectTypeOf(error.message).toEqualTypeOf<string>();
    }
  });

  it('surfaces a network failure as a NetworkError naming the request, never the token', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const api = createRegistrationClient({ apiRoot: `http://127.0.0.1:${port}`, token: 'secret-token' });
    const failure = await api.createRegistration({ body: { deviceId } }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(NetworkError);
    expect((failure as NetworkError).message).toMatch(
      new RegExp(
        `^POST http://127\\.0\\.0\\.1:${port}/webrtc-registration/vwip/sessions failed: .*ECONNREFUSED`,
      ),
    );
    expect(String(failure)).not.toContain('secret-token');
  });

  it('rejects options without a base URL', () => {
    // @ts-expect-error: baseUrl or apiRoot is required
    expect(() => createRegistrationClient({ token: 't' })).toThrow(/pass `baseUrl`/);
  });
});

describe('validate: true', () => {
  it('does not send an invalid request: it returns the 400 ErrorInfo a server would answer, as `error`', async () => {
    const api = createRegistrationClient({ apiRoot: server.origin, validate: true, correlator: 'c-1' });
    const { data, error, response } = await api.createRegistration({ body: { deviceId: 'not-a-uuid' } });
    expect(data).toBeUndefined();
    expect(error).toEqual({
      status: 400,
      code: 'INVALID_ARGUMENT',
      message: 'body/deviceId must match format "uuid"',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-correlator')).toBe('c-1');
    expect(server.requests).toHaveLength(0);
  });

  it('a server 400 and a refused request reach the caller the same way', async () => {
    const checked = createRegistrationClient({ apiRoot: server.origin, validate: true });
    const unchecked = createRegistrationClient({ apiRoot: server.origin });
    const refused = {
      status: 400,
      code: 'INVALID_ARGUMENT',
      message: 'body/deviceId must match format "uuid"',
    };
    server.reply({ status: 400, body: refused });
    const fromServer = await unchecked.createRegistration({ body: { deviceId: 'not-a-uuid' } });
    const fromClient = await checked.createRegistration({ body: { deviceId: 'not-a-uuid' } });
    expect(fromClient.error).toEqual(fromServer.error);
    expect(fromClient.response.status).toBe(fromServer.response.status);
    expect(server.requests).toHaveLength(1);
  });

  it('sends a valid request and accepts a valid response', async () => {
    const api = createRegistrationClient({ apiRoot: server.origin, validate: true });
    server.reply({ status: 200, body: [created] });
    const { data } = await api.getRegistrationsByDeviceId({ params: { query: { deviceId } } });
    expect(data).toEqual([created]);
  });

  it('rejects a response that does not match the API description', async () => {
    const api = createRegistrationClient({
      apiRoot: server.origin,
      validate: { response: true, request: false },
    });
    server.reply({ status: 201, body: { regInfo: { phoneNumber: 'not a number' } } });
    const failure = await api.createRegistration({ body: { deviceId } }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ResponseValidationError);
    expect((failure as ResponseValidationError).violations).toContain('body/registrationId is required');
  });

  it('is off by default', async () => {
    const api = createRegistrationClient({ apiRoot: server.origin });
    server.reply({ status: 201, body: { unexpected: true } });
    const { data } = await api.createRegistration({ body: { deviceId: 'not-a-uuid' } });
    expect(data).toEqual({ unexpected: true });
  });
});

describe('createCallHandlingClient and createEventsClient', () => {
  it('address their own base paths and path parameters', async () => {
    const calls = createCallHandlingClient({ apiRoot: server.origin, token: 't' });
    const events = createEventsClient({ apiRoot: server.origin, token: 't' });
    server.reply({
      status: 404,
      body: { status: 404, code: 'NOT_FOUND', message: 'The specified resource is not found.' },
    });
    server.reply({ status: 204 });
    const session = await calls.getSessionDetailsById({
      params: { path: { mediaSessionId: registrationId } },
    });
    expect(session.error?.code).toBe('NOT_FOUND');
    await events.deleteNotificationChannelSubscription({ params: { path: { subscriptionId: 'sub-1' } } });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET /webrtc-call-handling/vwip/sessions/${registrationId}`,
      'DELETE /webrtc-events/vwip/subscriptions/sub-1',
    ]);
  });

  it('exposes the per-document types under namespaces', () => {
    expectTypeOf<'Connected'>().toExtend<CallHandling.SessionStatus>();
    expectTypeOf<'Answered'>().not.toExtend<CallHandling.SessionStatus>();
    expectTypeOf<
      Registration.CreateRegistrationRequest['body']
    >().toEqualTypeOf<Registration.RegSessionRequest>();
  });
});
