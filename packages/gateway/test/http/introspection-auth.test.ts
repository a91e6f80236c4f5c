import { describe, expect, it } from 'vitest';
import { IntrospectionAuth, type IntrospectionAuthOptions } from '../../src/index.js';

const NOW = Date.UTC(2026, 0, 1);
const ALICE = '+818000000001';

interface FakeEndpoint {
  fetch: typeof fetch;
  calls: { token: string; authorization: string | null }[];
  answers: Map<string, Record<string, unknown>>;
}

function fakeEndpoint(): FakeEndpoint {
  const calls: FakeEndpoint['calls'] = [];
  const answers = new Map<string, Record<string, unknown>>();
  const fake = (async (_url: string | URL | Request, init?: RequestInit) => {
    const token = new URLSearchParams(String(init?.body)).get('token') ?? '';
    calls.push({ token, authorization: new Headers(init?.headers).get('authorization') });
    await new Promise((resolve) => setTimeout(resolve, 5));
    return Response.json(answers.get(token) ?? { active: false });
  }) as typeof fetch;
  return { fetch: fake, calls, answers };
}

function setup(options: Partial<IntrospectionAuthOptions> = {}) {
  const endpoint = fakeEndpoint();
  const clock = { now: NOW };
  const auth = new IntrospectionAuth({
    url: 'https://as.example/introspect',
    fetch: endpoint.fetch,
    now: () => clock.now,
    ...options,
  });
  const active = (token: string, extra: Record<string, unknown> = {}) =>
    endpoint.answers.set(token, {
      active: true,
      scope: 'a b  c',
      phone_number: ALICE,
      exp: NOW / 1000 + 600,
      ...extra,
    });
  return { auth, endpoint, clock, active };
}

describe('IntrospectionAuth', () => {
  it('maps an active answer to the auth context', async () => {
    const { auth, active } = setup();
    active('t1', { client_id: 'app', sub: 'user-1', device_id: 'd' });
    expect(await auth.authenticate('t1')).toEqual({
      phoneNumber: ALICE,
      scopes: ['a', 'b', 'c'],
      clientId: 'app',
      subject: 'user-1',
    });
  });

  it('takes the number from the configured claim, or a tel: subject', async () => {
    const { auth, active } = setup({ phoneNumberClaim: 'msisdn', deviceIdClaim: 'device_id' });
    active('claim', { phone_number: undefined, msisdn: '+818000000002', device_id: 'dev-1' });
    expect(await auth.authenticate('claim')).toMatchObject({
      phoneNumber: '+818000000002',
      deviceId: 'dev-1',
    });
    active('subject', { phone_number: undefined, sub: 'tel:+818000000003' });
    expect(await auth.authenticate('subject')).toMatchObject({ phoneNumber: '+818000000003' });
  });

  it('sends client_secret_basic with form-encoded credentials', async () => {
    const { auth, endpoint, active } = setup({ clientId: 'my client', clientSecret: 'p:ss&' });
    active('t');
    await auth.authenticate('t');
    const decoded = Buffer.from(endpoint.calls[0]!.authorization!.slice(6), 'base64').toString();
    expect(decoded).toBe('my+client:p%3Ass%26');
  });

  it('caches an active answer until exp, then asks again', async () => {
    const { auth, endpoint, clock, active } = setup();
    active('t', { exp: NOW / 1000 + 60 });
    await auth.authenticate('t');
    clock.now += 59_000;
    await auth.authenticate('t');
    expect(endpoint.calls).toHaveLength(1);
    clock.now += 10_000; // past exp and the 5 s clock tolerance
    await expect(auth.authenticate('t')).rejects.toMatchObject({ status: 401 });
    expect(endpoint.calls).toHaveLength(2);
  });

  it('maxCacheSeconds bounds how long an answer is used', async () => {
    const { auth, endpoint, clock, active } = setup({ maxCacheSeconds: 10 });
    active('t');
    await auth.authenticate('t');
    clock.now += 11_000;
    await auth.authenticate('t');
    expect(endpoint.calls).toHaveLength(2);
  });

  it('keeps at most cacheSize tokens, dropping the least recently used', async () => {
    const { auth, endpoint, active } = setup({ cacheSize: 2 });
    for (const token of ['a', 'b', 'c']) active(token);
    await auth.authenticate('a');
    await auth.authenticate('b');
    await auth.authenticate('a'); // a is now the most recent
    await auth.authenticate('c'); // evicts b
    expect(auth.cacheSize).toBe(2);
    await auth.authenticate('a');
    expect(endpoint.calls.map((c) => c.token)).toEqual(['a', 'b', 'c']);
    await auth.authenticate('b');
    expect(endpoint.calls.map((c) => c.token)).toEqual(['a', 'b', 'c', 'b']);
  });

  it('shares one introspection among concurrent requests with the same token', async () => {
    const { auth, endpoint, active } = setup();
    active('t');
    await Promise.all([auth.authenticate('t'), auth.authenticate('t'), auth.authenticate('t')]);
    expect(endpoint.calls).toHaveLength(1);
  });

  it('does not cache inactive answers or refused tokens', async () => {
    const { auth, endpoint } = setup();
    await expect(auth.authenticate('nope')).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    await expect(auth.authenticate('nope')).rejects.toMatchObject({ status: 401 });
    expect(endpoint.calls).toHaveLength(2);
    expect(auth.cacheSize).toBe(0);
  });

  it.each([
    ['not yet valid', { nbf: NOW / 1000 + 60 }],
    ['from another issuer', { iss: 'https://evil.example' }],
    ['for another audience', { aud: ['https://other.example'] }],
  ])('401 for an active token %s', async (_name, extra) => {
    const { auth, active } = setup({ issuer: 'https://as.example', audience: 'https://gw.example' });
    active('t', { iss: 'https://as.example', aud: 'https://gw.example', ...extra });
    await expect(auth.authenticate('t')).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('accepts the expected issuer and one of several audiences', async () => {
    const { auth, active } = setup({ issuer: 'https://as.example', audience: 'https://gw.example' });
    active('t', { iss: 'https://as.example', aud: ['https://x.example', 'https://gw.example'] });
    await expect(auth.authenticate('t')).resolves.toMatchObject({ phoneNumber: ALICE });
  });

  it('403 INVALID_TOKEN_CONTEXT when the token names no valid number', async () => {
    const { auth, active } = setup();
    active('t', { phone_number: '0800-123' });
    await expect(auth.authenticate('t')).rejects.toMatchObject({
      status: 403,
      code: 'INVALID_TOKEN_CONTEXT',
    });
  });

  it('503 for a failing or malformed endpoint, 401 without asking for an oversized token', async () => {
    const failures: (() => Promise<Response>)[] = [
      async () => new Response('oops', { status: 500 }),
      async () => new Response('not json', { status: 200 }),
      async () => Response.json({ scope: 'a' }),
      async () => {
        throw new TypeError('fetch failed');
      },
    ];
    for (const failure of failures) {
      const warnings: Record<string, unknown>[] = [];
      const auth = new IntrospectionAuth({
        url: 'https://as.example/introspect',
        fetch: failure as typeof fetch,
        logger: { debug() {}, info() {}, warn: (details) => warnings.push(details), error() {} },
      });
      await expect(auth.authenticate('secret-token')).rejects.toMatchObject({
        status: 503,
        code: 'UNAVAILABLE',
      });
      expect(JSON.stringify(warnings)).not.toContain('secret-token');
      expect(warnings).toHaveLength(1);
    }
    const { auth, endpoint } = setup();
    await expect(auth.authenticate('x'.repeat(9000))).rejects.toMatchObject({ status: 401 });
    expect(endpoint.calls).toHaveLength(0);
  });

  it('refuses half the client credentials', () => {
    expect(() => new IntrospectionAuth({ url: 'https://as.example/i', clientId: 'id' })).toThrow(/both/);
  });
});
