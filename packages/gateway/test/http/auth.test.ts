import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SCOPES, buildGateway, DevAuth, type GatewayServer } from '../../src/index.js';
import {
  ALICE,
  AUDIENCE,
  activeClaims,
  bearer,
  CLIENT_ID,
  CLIENT_SECRET,
  DEVICE,
  type LocalIntrospection,
  type LocalIssuer,
  REGISTRATION,
  startIntrospection,
  startIssuer,
} from './support.js';

const UNAUTHENTICATED = {
  status: 401,
  code: 'UNAUTHENTICATED',
  message:
    'Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.',
};

async function createRegistration(server: GatewayServer, headers: Record<string, string>) {
  const response = await server.app.inject({
    method: 'POST',
    url: REGISTRATION,
    headers,
    payload: { deviceId: DEVICE },
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

describe('dev auth', () => {
  let server: GatewayServer;
  beforeAll(async () => {
    server = await buildGateway({ logLevel: 'silent' });
  });
  afterAll(() => server.close());

  it.each([
    ['no Authorization header', {}],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a garbage token', { authorization: 'Bearer not.a.jwt' }],
    ['a token with a CRLF', { authorization: 'Bearer abc\r\nx-evil: 1' }],
  ])('401 UNAUTHENTICATED with %s, and nothing about why', async (_name, headers) => {
    const response = await server.app.inject({
      method: 'POST',
      url: REGISTRATION,
      headers: headers as Record<string, string>,
      payload: { deviceId: DEVICE },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual(UNAUTHENTICATED);
  });

  it('401 for an expired token (ttl 0) and for a token signed with another key', async () => {
    const expired = await server.issueToken(ALICE, { ttlSeconds: 0 });
    expect(await createRegistration(server, bearer(expired))).toEqual({ status: 401, body: UNAUTHENTICATED });
    const foreign = await new DevAuth().issue({ phoneNumber: ALICE });
    expect(await createRegistration(server, bearer(foreign))).toEqual({ status: 401, body: UNAUTHENTICATED });
  });

  it('403 PERMISSION_DENIED without the operation scope', async () => {
    const token = await server.issueToken(ALICE, {
      scopes: ALL_SCOPES.filter((s) => s !== 'webrtc-registration:sessions:create'),
    });
    const { status, body } = await createRegistration(server, bearer(token));
    expect(status).toBe(403);
    expect(body).toMatchObject({ status: 403, code: 'PERMISSION_DENIED' });
  });

  it('403 INVALID_TOKEN_CONTEXT for a token without a subscriber number', async () => {
    const token = await server.issueToken('not-a-number');
    const { status, body } = await createRegistration(server, bearer(token));
    expect(status).toBe(403);
    expect(body).toMatchObject({ code: 'INVALID_TOKEN_CONTEXT' });
  });

  it('issueToken is refused when the gateway does not run dev auth', async () => {
    const issuer = await startIssuer();
    const jwt = await buildGateway({
      logLevel: 'silent',
      authMode: 'jwt',
      jwksUrl: issuer.jwksUrl,
      issuer: issuer.issuer,
    });
    await expect(jwt.issueToken(ALICE)).rejects.toThrow(/authMode "dev"/);
    await jwt.close();
    await issuer.close();
  });
});

describe('jwt auth against a local JWKS', () => {
  let issuer: LocalIssuer;
  let server: GatewayServer;
  beforeAll(async () => {
    issuer = await startIssuer();
    server = await buildGateway({
      logLevel: 'silent',
      authMode: 'jwt',
      jwksUrl: issuer.jwksUrl,
      issuer: issuer.issuer,
      audience: AUDIENCE,
      phoneNumberClaim: 'msisdn',
    });
  });
  afterAll(async () => {
    await server.close();
    await issuer.close();
  });

  const claims = (extra: Record<string, unknown> = {}) => ({
    msisdn: ALICE,
    scope: ALL_SCOPES.join(' '),
    ...extra,
  });

  it('accepts a valid token: the number comes from the configured claim', async () => {
    const token = await issuer.sign(claims());
    const { status, body } = await createRegistration(server, bearer(token));
    expect(status).toBe(201);
    expect(body).toMatchObject({ regInfo: { phoneNumber: ALICE } });
    expect(issuer.jwksRequests).toBeGreaterThan(0);
  });

  it.each([
    ['expired', { expiresIn: -60 }],
    ['from another issuer', { issuer: 'https://evil.example/' }],
    ['for another audience', { audience: 'https://other.example' }],
  ])('401 for a token %s', async (_name, options) => {
    const token = await issuer.sign(claims(), options);
    expect(await createRegistration(server, bearer(token))).toEqual({ status: 401, body: UNAUTHENTICATED });
  });

  it.each(['not.a.jwt', 'abc', 'eyJhbGciOiJub25lIn0.eyJtc2lzZG4iOiIrODE4MDAwMDAwMDAxIn0.'])(
    '401 (not 503) for the garbage token %s',
    async (token) => {
      expect(await createRegistration(server, bearer(token))).toEqual({ status: 401, body: UNAUTHENTICATED });
    },
  );

  it('401 for a token signed by a key the JWKS does not hold', async () => {
    const other = await startIssuer();
    const token = await other.sign(claims(), { issuer: issuer.issuer });
    await other.close();
    expect(await createRegistration(server, bearer(token))).toEqual({ status: 401, body: UNAUTHENTICATED });
  });

  it('403 for a missing scope; 403 INVALID_TOKEN_CONTEXT without the number claim', async () => {
    const noScope = await issuer.sign(claims({ scope: 'webrtc-registration:sessions:read' }));
    expect((await createRegistration(server, bearer(noScope))).body).toMatchObject({
      status: 403,
      code: 'PERMISSION_DENIED',
    });
    const noNumber = await issuer.sign({ scope: ALL_SCOPES.join(' '), sub: 'user-1' });
    expect((await createRegistration(server, bearer(noNumber))).body).toMatchObject({
      status: 403,
      code: 'INVALID_TOKEN_CONTEXT',
    });
  });

  it('503 UNAVAILABLE (not 401) when the JWKS cannot be fetched', async () => {
    const gone = await startIssuer();
    const token = await gone.sign(claims());
    const jwksUrl = gone.jwksUrl;
    await gone.close();
    const orphan = await buildGateway({ logLevel: 'silent', authMode: 'jwt', jwksUrl, issuer: gone.issuer });
    const { status, body } = await createRegistration(orphan, bearer(token));
    expect(status).toBe(503);
    expect(body).toMatchObject({ code: 'UNAVAILABLE' });
    await orphan.close();
  });
});

describe('introspection auth against a local RFC 7662 endpoint', () => {
  let endpoint: LocalIntrospection;
  let server: GatewayServer;
  beforeAll(async () => {
    endpoint = await startIntrospection();
    server = await buildGateway({
      logLevel: 'silent',
      authMode: 'introspection',
      introspectionUrl: endpoint.endpoint,
      introspectionClientId: CLIENT_ID,
      introspectionClientSecret: CLIENT_SECRET,
    });
  });
  afterEach(() => {
    endpoint.requests.length = 0;
    endpoint.failWith = undefined;
  });
  afterAll(async () => {
    await server.close();
    await endpoint.close();
  });

  it('introspects with client credentials, then answers from the cache', async () => {
    endpoint.tokens.set('opaque-alice', activeClaims(ALICE));
    const first = await createRegistration(server, bearer('opaque-alice'));
    expect(first.status).toBe(201);
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.requests[0]).toMatchObject({
      contentType: 'application/x-www-form-urlencoded',
      body: 'token=opaque-alice&token_type_hint=access_token',
    });
    expect(endpoint.requests[0]?.authorization).toMatch(/^Basic /);

    const list = await server.app.inject({
      method: 'GET',
      url: `${REGISTRATION}?deviceId=${DEVICE}`,
      headers: bearer('opaque-alice'),
    });
    expect(list.statusCode).toBe(200);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('401 for an inactive token and for an active one past its exp', async () => {
    expect(await createRegistration(server, bearer('unknown-token'))).toEqual({
      status: 401,
      body: UNAUTHENTICATED,
    });
    endpoint.tokens.set('expired', activeClaims(ALICE, -60));
    expect(await createRegistration(server, bearer('expired'))).toEqual({
      status: 401,
      body: UNAUTHENTICATED,
    });
  });

  it('403 for a missing scope, 403 INVALID_TOKEN_CONTEXT without a number', async () => {
    endpoint.tokens.set(
      'read-only',
      activeClaims(ALICE, 600, { scope: 'webrtc-registration:sessions:read' }),
    );
    expect((await createRegistration(server, bearer('read-only'))).body).toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    endpoint.tokens.set('two-legged', activeClaims(ALICE, 600, { phone_number: undefined }));
    expect((await createRegistration(server, bearer('two-legged'))).body).toMatchObject({
      code: 'INVALID_TOKEN_CONTEXT',
    });
  });

  it('503 UNAVAILABLE when the endpoint fails; nothing is cached', async () => {
    endpoint.tokens.set('during-outage', activeClaims(ALICE));
    endpoint.failWith = 500;
    const { status, body } = await createRegistration(server, bearer('during-outage'));
    expect(status).toBe(503);
    expect(body).toMatchObject({ code: 'UNAVAILABLE' });
    expect(JSON.stringify(body)).not.toContain('500');
    endpoint.failWith = undefined;
    const retry = await server.app.inject({
      method: 'GET',
      url: '/webrtc-events/vwip/subscriptions',
      headers: bearer('during-outage'),
    });
    expect(retry.statusCode).toBe(200);
    expect(endpoint.requests).toHaveLength(2);
  });
});
