/**
 * Authorization at the HTTP level, for every operation: missing, malformed,
 * foreign-signed and expired tokens are 401 UNAUTHENTICATED; a token without
 * the operation's scope is 403 PERMISSION_DENIED; another subscriber's
 * resources are indistinguishable from missing ones (404), and a request
 * naming them where the caller's own is required is 403.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../../packages/gateway/src/index.js';
import { type Fixture, scopesWithout, startFixture } from './support/context.js';
import {
  call,
  inSeconds,
  register,
  sessionBody,
  subscribe,
  subscriptionBody,
  TYPES,
  waitForStatus,
} from './support/fixtures.js';
import {
  ANSWERS,
  API_BASE,
  type Exchange,
  expectDocumented,
  type GatewayUnderTest,
  RINGS_FOREVER,
  specViolations,
} from './support/gateway.js';
import { loadSpecModel } from './support/spec.js';

let fx: Fixture;
let gw: GatewayUnderTest;

let foreignToken: string;
let counter = 0;
const freshNumber = () =>
  `+8192${String(process.pid % 1000).padStart(3, '0')}${String(++counter).padStart(5, '0')}`;

beforeAll(async () => {
  fx = await startFixture();
  gw = fx.gw;
  // A well-formed token for a valid number, signed by another gateway's dev key.
  const other = await buildGateway({ logLevel: 'error' });
  foreignToken = await other.issueToken('+818000000001');
  await other.close();
});

afterAll(async () => {
  await fx?.close();
});

/** One valid request per operation (method, path, body, headers), on resources of `phone`. */
async function validRequest(
  operationId: string,
  phone: string,
): Promise<{ method: string; path: string; json?: unknown; headers?: Record<string, string> }> {
  const needsRegistration = !['createRegistration', 'retrieveNotificationChannelSubscriptionList'].includes(
    operationId,
  );
  const reg = needsRegistration ? await register(gw, phone) : undefined;
  switch (operationId) {
    case 'getRegistrationsByDeviceId':
      return { method: 'GET', path: `${API_BASE.registration}/sessions?deviceId=${reg!.deviceId}` };
    case 'createRegistration':
      return { method: 'POST', path: `${API_BASE.registration}/sessions`, json: { deviceId: randomUUID() } };
    case 'getRegistrationById':
      return { method: 'GET', path: `${API_BASE.registration}/sessions/${reg!.registrationId}` };
    case 'updateRegistrationById':
      return { method: 'PUT', path: `${API_BASE.registration}/sessions/${reg!.registrationId}`, json: {} };
    case 'deleteRegistrationById':
      return { method: 'DELETE', path: `${API_BASE.registration}/sessions/${reg!.registrationId}` };
    case 'createSession':
      return {
        method: 'POST',
        path: `${API_BASE.callHandling}/sessions`,
        headers: { registrationId: reg!.registrationId },
        json: sessionBody(ANSWERS, phone),
      };
    case 'getSessionDetailsById':
    case 'deleteSessionById': {
      const id = await call(gw, reg!.registrationId, RINGS_FOREVER, phone);
      return {
        method: operationId === 'deleteSessionById' ? 'DELETE' : 'GET',
        path: `${API_BASE.callHandling}/sessions/${id}`,
      };
    }
    case 'updateSessionStatus': {
      // Hold needs an answered call.
      const id = await call(gw, reg!.registrationId, ANSWERS, phone);
      await waitForStatus(gw, id, 'Connected', phone);
      return {
        method: 'PUT',
        path: `${API_BASE.callHandling}/sessions/${id}/status`,
        json: { status: 'Hold' },
      };
    }
    case 'retrieveNotificationChannelSubscriptionList':
      return { method: 'GET', path: `${API_BASE.events}/subscriptions` };
    case 'createNotificationChannelSubscription':
      return {
        method: 'POST',
        path: `${API_BASE.events}/subscriptions`,
        json: subscriptionBody(fx.receiver.sink(), reg!.deviceId, { accessToken: fx.receiver.token }),
      };
    default: {
      const id = await subscribe(gw, fx.receiver, reg!.deviceId, phone);
      const path = `${API_BASE.events}/subscriptions/${id}`;
      if (operationId === 'retrieveNotificationChannelSubscription') return { method: 'GET', path };
      if (operationId === 'deleteNotificationChannelSubscription') return { method: 'DELETE', path };
      return { method: 'PUT', path, json: { config: { subscriptionExpireTime: inSeconds(600) } } };
    }
  }
}

async function send(
  request: Awaited<ReturnType<typeof validRequest>>,
  authorization: string | undefined,
  correlator: string,
): Promise<Exchange> {
  return gw.raw(request.method, request.path, {
    headers: {
      ...request.headers,
      'x-correlator': correlator,
      ...(authorization === undefined ? {} : { authorization }),
    },
    ...(request.json === undefined ? {} : { json: request.json }),
  });
}

describe('401 UNAUTHENTICATED for every operation', async () => {
  const operations = (await loadSpecModel()).operations.map((o) => o.id);
  const BAD_AUTHORIZATION: [string, () => Promise<string | undefined>][] = [
    ['no Authorization header', async () => undefined],
    ['an empty bearer token', async () => 'Bearer '],
    ['a garbage token', async () => 'Bearer garbage'],
    ['a Basic credential', async () => `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['a token signed by another issuer key', async () => `Bearer ${foreignToken}`],
    [
      'an expired token (ttl 0)',
      async () => `Bearer ${await gw.issueToken(freshNumber(), { ttlSeconds: 0 })}`,
    ],
    [
      'an unsigned token (alg none)',
      async () => {
        const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        return `Bearer ${b64({ alg: 'none' })}.${b64({ phone_number: '+818000000001', scope: 'webrtc-registration:sessions:read', exp: now + 600, iss: 'urn:telegate:dev' })}.`;
      },
    ],
    ['a tampered token', async () => `Bearer ${(await gw.issueToken(freshNumber())).slice(0, -4)}AAAA`],
  ];

  it.concurrent.each(operations)('%s', async (operationId) => {
    const request = await validRequest(operationId, freshNumber());
    for (const [name, authorization] of BAD_AUTHORIZATION) {
      const correlator = `auth-${name.replace(/[^a-z0-9]+/gi, '-')}`;
      const exchange = await send(request, await authorization(), correlator);
      expect(exchange.status, `${name}: ${exchange.text}`).toBe(401);
      expectDocumented(operationId, exchange, { status: 401, code: 'UNAUTHENTICATED', correlator });
      // Never a hint about why the token was refused.
      expect((exchange.body as { message: string }).message).not.toMatch(
        /signature|alg\b|jws|jwt|claim|jose/i,
      );
    }
  });
});

describe('403 for every operation', async () => {
  const operations = (await loadSpecModel()).operations;

  it.concurrent.each(operations.map((o) => [o.id, o] as const))(
    '%s: a token without its scope is 403 PERMISSION_DENIED; with only its scope it succeeds',
    async (operationId, op) => {
      const phone = freshNumber();
      const scopes = op.security.flatMap((s) => s.schemes.flatMap((x) => x.scopes));
      const request = await validRequest(operationId, phone);
      const without = await gw.issueToken(phone, { scopes: scopesWithout(...scopes) });
      expectDocumented(operationId, await send(request, `Bearer ${without}`, 'no-scope'), {
        status: 403,
        code: 'PERMISSION_DENIED',
        correlator: 'no-scope',
      });
      const only = await gw.issueToken(phone, { scopes });
      const ok = await send(request, `Bearer ${only}`, 'only-scope');
      expect(ok.status, ok.text).toBeLessThan(300);
      expect(specViolations(operationId, ok)).toBeNull();
    },
  );

  it.concurrent('createNotificationChannelSubscription needs the create scope of each requested type', async () => {
    const phone = freshNumber();
    const { deviceId } = await register(gw, phone);
    const onlyStatus = await gw.issueToken(phone, { scopes: [`webrtc-events:${TYPES.status}:create`] });
    const body = (types: string[]) =>
      subscriptionBody(fx.receiver.sink(), deviceId, {
        accessToken: fx.receiver.token,
        types: types as never,
      });
    const denied = await gw.raw('POST', `${API_BASE.events}/subscriptions`, {
      token: onlyStatus,
      json: body([TYPES.status, TYPES.invitation]),
    });
    expectDocumented('createNotificationChannelSubscription', denied, {
      status: 403,
      code: 'PERMISSION_DENIED',
    });
    const allowed = await gw.raw('POST', `${API_BASE.events}/subscriptions`, {
      token: onlyStatus,
      json: body([TYPES.status]),
    });
    expectDocumented('createNotificationChannelSubscription', allowed, { status: 201 });
  });

  it.concurrent.each(operations.map((o) => [o.id] as const))(
    '%s: a token that names no subscriber number is a documented 403',
    async (operationId) => {
      const request = await validRequest(operationId, freshNumber());
      const twoLegged = await gw.issueToken('client-credentials-only');
      const exchange = await send(request, `Bearer ${twoLegged}`, 'two-legged');
      expect(exchange.status, exchange.text).toBe(403);
      // webrtc-registration and webrtc-call-handling document INVALID_TOKEN_CONTEXT for this; webrtc-events
      // documents only PERMISSION_DENIED (and SUBSCRIPTION_MISMATCH), so the answer must be one of those there.
      expect(specViolations(operationId, exchange), `${operationId}: ${exchange.text}`).toBeNull();
    },
  );
});

describe("another subscriber's resources", () => {
  it.concurrent('registrations of another number are 404 to read, refresh and delete, and absent from lists', async () => {
    const [alice, bob] = [freshNumber(), freshNumber()];
    const reg = await register(gw, bob);
    const token = await gw.token(alice);
    const path = `${API_BASE.registration}/sessions/${reg.registrationId}`;
    expectDocumented('getRegistrationById', await gw.raw('GET', path, { token }), {
      status: 404,
      code: 'NOT_FOUND',
    });
    expectDocumented('updateRegistrationById', await gw.raw('PUT', path, { token, json: {} }), {
      status: 404,
      code: 'NOT_FOUND',
    });
    expectDocumented('deleteRegistrationById', await gw.raw('DELETE', path, { token }), {
      status: 404,
      code: 'NOT_FOUND',
    });
    const list = await gw.raw('GET', `${API_BASE.registration}/sessions?deviceId=${reg.deviceId}`, { token });
    expectDocumented('getRegistrationsByDeviceId', list, { status: 200 });
    expect(list.body).toEqual([]);
    // Still there for its owner.
    expect((await gw.raw('GET', path, { token: await gw.token(bob) })).status).toBe(200);
  });

  it.concurrent('sessions of another number are 404 to read, update and delete', async () => {
    const [alice, bob] = [freshNumber(), freshNumber()];
    const reg = await register(gw, bob);
    const id = await call(gw, reg.registrationId, RINGS_FOREVER, bob);
    const token = await gw.token(alice);
    const path = `${API_BASE.callHandling}/sessions/${id}`;
    expectDocumented('getSessionDetailsById', await gw.raw('GET', path, { token }), {
      status: 404,
      code: 'NOT_FOUND',
    });
    expectDocumented(
      'updateSessionStatus',
      await gw.raw('PUT', `${path}/status`, { token, json: { status: 'Hold' } }),
      {
        status: 404,
        code: 'NOT_FOUND',
      },
    );
    expectDocumented('deleteSessionById', await gw.raw('DELETE', path, { token }), {
      status: 404,
      code: 'NOT_FOUND',
    });
    const own = await gw.raw('GET', path, { token: await gw.token(bob) });
    expect(own.status).toBe(200);
    expect((own.body as { status: string }).status).not.toMatch(/Terminated|SessionCancelled/);
  });

  it.concurrent('subscriptions of another number are 404 to read, update and delete, and absent from lists', async () => {
    const [alice, bob] = [freshNumber(), freshNumber()];
    const reg = await register(gw, bob);
    const id = await subscribe(gw, fx.receiver, reg.deviceId, bob);
    const token = await gw.token(alice);
    const path = `${API_BASE.events}/subscriptions/${id}`;
    expectDocumented('retrieveNotificationChannelSubscription', await gw.raw('GET', path, { token }), {
      status: 404,
      code: 'NOT_FOUND',
    });
    expectDocumented(
      'updateNotificationChannelSubscription',
      await gw.raw('PUT', path, { token, json: { config: { subscriptionExpireTime: inSeconds(600) } } }),
      { status: 404, code: 'NOT_FOUND' },
    );
    expectDocumented('deleteNotificationChannelSubscription', await gw.raw('DELETE', path, { token }), {
      status: 404,
      code: 'NOT_FOUND',
    });
    const list = await gw.raw('GET', `${API_BASE.events}/subscriptions`, { token });
    expect(list.body).toEqual([]);
    expect((await gw.raw('GET', path, { token: await gw.token(bob) })).status).toBe(200);
  });

  it.concurrent("calling from another number's registration or as another originator is 403 INVALID_TOKEN_CONTEXT", async () => {
    const [alice, bob] = [freshNumber(), freshNumber()];
    const bobs = await register(gw, bob);
    const alices = await register(gw, alice);
    const token = await gw.token(alice);
    const path = `${API_BASE.callHandling}/sessions`;
    expectDocumented(
      'createSession',
      await gw.raw('POST', path, {
        token,
        headers: { registrationId: bobs.registrationId },
        json: sessionBody(ANSWERS, alice),
      }),
      { status: 403, code: 'INVALID_TOKEN_CONTEXT' },
    );
    expectDocumented(
      'createSession',
      await gw.raw('POST', path, {
        token,
        headers: { registrationId: alices.registrationId },
        json: sessionBody(ANSWERS, bob),
      }),
      { status: 403, code: 'INVALID_TOKEN_CONTEXT' },
    );
    expect(
      gw.network.messages().filter((m) => m.headers.From?.includes(alice) || m.headers.From?.includes(bob)),
    ).toEqual([]);
  });

  it.concurrent('subscribing to a device registered only by another number is 403 SUBSCRIPTION_MISMATCH', async () => {
    const [alice, bob] = [freshNumber(), freshNumber()];
    const { deviceId } = await register(gw, bob);
    const exchange = await gw.raw('POST', `${API_BASE.events}/subscriptions`, {
      token: await gw.token(alice),
      json: subscriptionBody(fx.receiver.sink(), deviceId, { accessToken: fx.receiver.token }),
    });
    expectDocumented('createNotificationChannelSubscription', exchange, {
      status: 403,
      code: 'SUBSCRIPTION_MISMATCH',
    });
  });
});
