/**
 * Hostile input over HTTP: oversized and malformed bodies, wrong JSON types,
 * control characters and odd Unicode in every string field of every request
 * body, huge SDPs, unknown paths and methods. The gateway must answer with a
 * CAMARA `ErrorInfo` of a documented status (never a 500, never a stack
 * trace), store nothing, and send nothing to the SIP network.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './support/context.js';
import {
  call,
  connectedCall,
  FLOW_WEBRTC_ANSWER,
  FLOW_WEBRTC_OFFER,
  inSeconds,
  register,
  sessionBody,
  subscribe,
  subscriptionBody,
} from './support/fixtures.js';
import {
  ALICE,
  ANSWERS,
  API_BASE,
  type Exchange,
  expectDocumented,
  type GatewayUnderTest,
  RINGS_FOREVER,
  specViolations,
} from './support/gateway.js';

/** Values that must never be accepted in any string field: controls, CRLF injection, broken UTF-16, oversize. */
const REFUSED_VALUES: Record<string, string> = {
  crlf: 'x\r\nVia: SIP/2.0/UDP evil.example',
  lf: 'x\nX-Injected: 1',
  cr: 'x\rCSeq: 1 BYE',
  nul: 'x\u0000y',
  'lone surrogate': 'a\ud800b',
  'oversize (70 000 chars)': 'a'.repeat(70_000),
};

/** Unicode that is text, not an attack: refused (400) or accepted and returned exactly, never mangled or 500. */
const UNICODE_VALUES: Record<string, string> = {
  'latin-1': 'Ålice Ørsted',
  'bidi override': 'Alice\u202Eecila',
  emoji: '😀📞',
  'zero-width': 'Al\u200Bice',
  'sip-ish': '"quoted" <sip:evil@example.com>;tag=x',
};

const SDP_10K_LINES = `${FLOW_WEBRTC_OFFER}${'a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n'.repeat(10_000)}`;

let fx: Fixture;
let gw: GatewayUnderTest;
let counter = 0;
const freshNumber = () =>
  `+8191${String(process.pid % 1000).padStart(3, '0')}${String(++counter).padStart(5, '0')}`;

beforeAll(async () => {
  fx = await startFixture();
  gw = fx.gw;
});

afterAll(async () => {
  await fx?.close();
});

/** Every string leaf of `value`, as a path of keys / indexes. */
function stringPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringPaths(item, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...path, k]));
  }
  return [];
}

/** Every leaf of `value` (strings, numbers, booleans) and every object/array node, as paths. */
function allPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  const here = path.length > 0 ? [path] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => allPaths(item, [...path, i]))];
  if (typeof value === 'object' && value !== null) {
    return [...here, ...Object.entries(value).flatMap(([k, v]) => allPaths(v, [...path, k]))];
  }
  return here;
}

function setAt<T>(value: T, path: (string | number)[], leaf: unknown): T {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = leaf;
  return copy as T;
}

const getAt = (value: unknown, path: (string | number)[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)?.[key], value);

/** A wrong-typed replacement for a value (a number for a string, a string for an object, ...). */
function wrongTypes(current: unknown): unknown[] {
  if (typeof current === 'string') return [42, true, null, ['x'], { x: 1 }];
  if (typeof current === 'number') return ['42', null, [1], { x: 1 }];
  if (typeof current === 'boolean') return ['true', 1, null];
  if (Array.isArray(current)) return ['x', 1, null, {}];
  return ['x', 1, null, []];
}

/** Why `exchange` is not a documented 400 `ErrorInfo` of `operationId`, or `undefined` when it is one. */
function refusalProblem(operationId: string, exchange: Exchange, label: string): string | undefined {
  const where = `${label} → ${exchange.status} ${exchange.text.slice(0, 160)}`;
  if (exchange.status !== 400) return `${where}: expected 400`;
  const body = exchange.body as { status?: unknown; code?: unknown; message?: unknown } | undefined;
  if (body?.status !== 400 || typeof body.code !== 'string' || typeof body.message !== 'string') {
    return `${where}: not an ErrorInfo`;
  }
  const violations = specViolations(operationId, exchange);
  if (violations) return `${where}: violates the spec: ${violations.join('; ')}`;
  return undefined;
}

function expectRefused(operationId: string, exchange: Exchange, label: string): void {
  expect(refusalProblem(operationId, exchange, label)).toBeUndefined();
}

/** Collects the problems of many exchanges, so one run lists them all. */
function problems() {
  const list: string[] = [];
  return {
    list,
    add(problem: string | undefined) {
      if (problem !== undefined) list.push(problem);
    },
  };
}

const label = (path: (string | number)[], name: string) => `${path.join('.')} = ${name}`;

interface BodyTarget {
  operationId: string;
  method: string;
  /** Sets up what the request needs; returns the path, headers, a valid body and a check that nothing changed. */
  prepare(): Promise<{
    path: string;
    token: string;
    headers?: Record<string, string>;
    body: Record<string, unknown>;
    /** Asserts that the refused requests stored nothing (a subsequent GET shows the state before). */
    unchanged(): Promise<void>;
    /** For accepted Unicode: reads back what was stored for `path`, and undoes it. */
    readBack?(response: Exchange, path: (string | number)[]): Promise<unknown>;
  }>;
}

const locationDetails = {
  shape: 'Circle',
  coordinates: { latitude: 47.6062, longitude: -122.3321, radius: 35 },
  method: 'GPS',
  confidence: { pdf: 'normal', value: 92 },
  timestamp: '2025-10-06T19:31:25Z',
};

const TARGETS: BodyTarget[] = [
  {
    operationId: 'createRegistration',
    method: 'POST',
    async prepare() {
      const phone = freshNumber();
      const token = await gw.token(phone);
      const deviceId = randomUUID();
      return {
        path: `${API_BASE.registration}/sessions`,
        token,
        body: { deviceId, registrationExpireTime: inSeconds(3600) },
        async unchanged() {
          const list = await gw.raw('GET', `${API_BASE.registration}/sessions?deviceId=${deviceId}`, {
            token,
          });
          expect(list.body).toEqual([]);
        },
        async readBack(response) {
          const id = (response.body as { registrationId: string }).registrationId;
          await gw.raw('DELETE', `${API_BASE.registration}/sessions/${id}`, { token });
          return undefined;
        },
      };
    },
  },
  {
    operationId: 'updateRegistrationById',
    method: 'PUT',
    async prepare() {
      const phone = freshNumber();
      const token = await gw.token(phone);
      const { registrationId, expiresAt } = await register(gw, phone);
      const path = `${API_BASE.registration}/sessions/${registrationId}`;
      return {
        path,
        token,
        body: { registrationExpireTime: inSeconds(7200) },
        async unchanged() {
          expect((await gw.raw('GET', path, { token })).body).toMatchObject({ registrationId, expiresAt });
        },
      };
    },
  },
  {
    operationId: 'createSession',
    method: 'POST',
    async prepare() {
      const phone = freshNumber();
      const token = await gw.token(phone);
      const { registrationId } = await register(gw, phone);
      const invitesOf = () =>
        gw.network
          .messages()
          .filter((m) => m.direction === 'out' && m.method === 'INVITE' && m.headers.From?.includes(phone))
          .length;
      return {
        path: `${API_BASE.callHandling}/sessions`,
        token,
        headers: { registrationId },
        body: sessionBody(ANSWERS, phone, { callType: 'REGULAR', locationDetails }),
        async unchanged() {
          expect(await gw.gateway.store.findSessions({ phoneNumber: phone })).toEqual([]);
          expect(invitesOf()).toBe(0);
        },
        async readBack(response, path) {
          const id = (response.body as { mediaSessionId: string }).mediaSessionId;
          const read = await gw.raw('GET', `${API_BASE.callHandling}/sessions/${id}`, { token });
          await gw.raw('DELETE', `${API_BASE.callHandling}/sessions/${id}`, { token });
          return getAt(read.body, path);
        },
      };
    },
  },
  {
    operationId: 'updateSessionStatus',
    method: 'PUT',
    async prepare() {
      const phone = freshNumber();
      const token = await gw.token(phone);
      const { registrationId } = await register(gw, phone);
      const mediaSessionId = await call(gw, registrationId, RINGS_FOREVER, phone);
      const read = () => gw.raw('GET', `${API_BASE.callHandling}/sessions/${mediaSessionId}`, { token });
      const before = (await read()).body;
      return {
        path: `${API_BASE.callHandling}/sessions/${mediaSessionId}/status`,
        token,
        body: {
          status: 'Ringing',
          offer: { sdp: FLOW_WEBRTC_OFFER },
          answer: { sdp: FLOW_WEBRTC_ANSWER },
          locationDetails,
        },
        async unchanged() {
          const now = (await read()).body as Record<string, unknown>;
          expect({ ...now, status: undefined }).toEqual({
            ...(before as Record<string, unknown>),
            status: undefined,
          });
        },
      };
    },
  },
  {
    operationId: 'createNotificationChannelSubscription',
    method: 'POST',
    async prepare() {
      const phone = freshNumber();
      const token = await gw.token(phone);
      const { deviceId } = await register(gw, phone);
      return {
        path: `${API_BASE.events}/subscriptions`,
        token,
        body: subscriptionBody(fx.receiver.sink(), deviceId, {
          accessToken: fx.receiver.token,
          subscriptionExpireTime: inSeconds(3600),
        }) as unknown as Record<string, unknown>,
        async unchanged() {
          expect((await gw.raw('GET', `${API_BASE.events}/subscriptions`, { token })).body).toEqual([]);
        },
        async readBack(response, path) {
          const id = (response.body as { id: string }).id;
          const read = await gw.raw('GET', `${API_BASE.events}/subscriptions/${id}`, { token });
          await gw.raw('DELETE', `${API_BASE.events}/subscriptions/${id}`, { token });
          return getAt(read.body, path);
        },
      };
    },
  },
  {
    operationId: 'updateNotificationChannelSubscription',
    method: 'PUT',
    async prepare() {
      const phone = freshNumber();
      const token = await gw.token(phone);
      const { deviceId } = await register(gw, phone);
      const id = await subscribe(gw, fx.receiver, deviceId, phone, {
        subscriptionExpireTime: inSeconds(3600),
      });
      const path = `${API_BASE.events}/subscriptions/${id}`;
      const before = (await gw.raw('GET', path, { token })).body;
      return {
        path,
        token,
        body: {
          sinkCredential: {
            credentialType: 'ACCESSTOKEN',
            accessToken: fx.receiver.token,
            accessTokenExpiresUtc: inSeconds(7200),
            accessTokenType: 'bearer',
          },
          config: { subscriptionExpireTime: inSeconds(7200) },
        },
        async unchanged() {
          expect((await gw.raw('GET', path, { token })).body).toEqual(before);
        },
      };
    },
  },
];

describe('every string field of every request body', () => {
  for (const target of TARGETS) {
    it.concurrent(`${target.operationId}: CR/LF, NUL, lone surrogates and oversize strings are 400, nothing stored`, async () => {
      const t = await target.prepare();
      const paths = stringPaths(t.body);
      expect(paths.length).toBeGreaterThan(0);
      const found = problems();
      for (const path of paths) {
        for (const [name, value] of Object.entries(REFUSED_VALUES)) {
          // SDP is CRLF-separated text: an injected line is still refused, as an invalid SDP.
          const exchange = await gw.raw(target.method, t.path, {
            token: t.token,
            ...(t.headers ? { headers: t.headers } : {}),
            json: setAt(t.body, path, value),
          });
          found.add(refusalProblem(target.operationId, exchange, label(path, name)));
        }
      }
      await t.unchanged();
      expect(found.list).toEqual([]);
    });

    it.concurrent(`${target.operationId}: Unicode text is refused (400) or stored exactly, never mangled or 500`, async () => {
      const t = await target.prepare();
      const found = problems();
      for (const path of stringPaths(t.body)) {
        for (const [name, value] of Object.entries(UNICODE_VALUES)) {
          const exchange = await gw.raw(target.method, t.path, {
            token: t.token,
            ...(t.headers ? { headers: t.headers } : {}),
            json: setAt(t.body, path, value),
          });
          if (exchange.status >= 400) {
            found.add(refusalProblem(target.operationId, exchange, label(path, name)));
          } else {
            const violations = specViolations(target.operationId, exchange);
            if (violations)
              found.add(`${label(path, name)}: accepted, but the answer violates the spec: ${violations}`);
            const stored = t.readBack ? await t.readBack(exchange, path) : undefined;
            if (stored !== undefined && stored !== value) {
              found.add(`${label(path, name)}: accepted but stored as ${JSON.stringify(stored)}`);
            }
          }
        }
      }
      expect(found.list).toEqual([]);
    });

    it.concurrent(`${target.operationId}: wrong JSON types anywhere in the body are 400, nothing stored`, async () => {
      const t = await target.prepare();
      const found = problems();
      for (const path of allPaths(t.body)) {
        for (const wrong of wrongTypes(getAt(t.body, path))) {
          const exchange = await gw.raw(target.method, t.path, {
            token: t.token,
            ...(t.headers ? { headers: t.headers } : {}),
            json: setAt(t.body, path, wrong),
          });
          found.add(
            refusalProblem(target.operationId, exchange, `${path.join('.')} = ${JSON.stringify(wrong)}`),
          );
        }
      }
      // The body itself of the wrong type.
      for (const wrong of ['"x"', '42', 'null', '[]', 'true']) {
        const exchange = await gw.raw(target.method, t.path, {
          token: t.token,
          headers: { ...t.headers, 'content-type': 'application/json' },
          body: wrong,
        });
        if (target.operationId === 'updateRegistrationById' && wrong === 'null') {
          // An optional body: JSON null is treated as no body (an empty refresh).
          expect(exchange.status).toBeLessThan(500);
          continue;
        }
        found.add(refusalProblem(target.operationId, exchange, `body = ${wrong}`));
      }
      if (target.operationId !== 'updateRegistrationById') await t.unchanged();
      expect(found.list).toEqual([]);
    });

    it.concurrent(`${target.operationId}: malformed JSON is 400, an oversized body 413, a non-JSON media type 415`, async () => {
      const t = await target.prepare();
      for (const text of ['{', '{"a":}', "{'a':1}", '{"a":1}}', '\u0000', '{"a":"\ud800"']) {
        const exchange = await gw.raw(target.method, t.path, {
          token: t.token,
          headers: { ...t.headers, 'content-type': 'application/json' },
          body: text,
        });
        expectRefused(target.operationId, exchange, `malformed ${JSON.stringify(text)}`);
      }
      // 1 MiB is the default body limit; 413 is not documented per operation, but must be an ErrorInfo.
      const big = JSON.stringify({ ...t.body, padding: 'x'.repeat(1024 * 1024 + 1) });
      const tooBig = await gw.raw(target.method, t.path, {
        token: t.token,
        headers: { ...t.headers, 'content-type': 'application/json', 'x-correlator': 'too-big' },
        body: big,
      });
      expect(tooBig.status, tooBig.text.slice(0, 200)).toBe(413);
      expect(tooBig.body).toMatchObject({
        status: 413,
        code: expect.any(String),
        message: expect.any(String),
      });
      expect(tooBig.headers['x-correlator']).toBe('too-big');
      const xml = await gw.raw(target.method, t.path, {
        token: t.token,
        headers: { ...t.headers, 'content-type': 'application/xml' },
        body: '<a/>',
      });
      expect(xml.status, xml.text.slice(0, 200)).toBe(415);
      expect(xml.body).toMatchObject({ status: 415, code: expect.any(String) });
      await t.unchanged();
    });
  }
});

describe('SDP', () => {
  it.concurrent('a 10 000-line offer in createSession is 400 INVALID_ARGUMENT; nothing stored or sent', async () => {
    const phone = freshNumber();
    const { registrationId } = await register(gw, phone);
    const exchange = await gw.raw('POST', `${API_BASE.callHandling}/sessions`, {
      token: await gw.token(phone),
      headers: { registrationId, 'x-correlator': 'sdp-10k' },
      json: sessionBody(ANSWERS, phone, { offer: { sdp: SDP_10K_LINES } }),
    });
    expectDocumented('createSession', exchange, {
      status: 400,
      code: 'INVALID_ARGUMENT',
      correlator: 'sdp-10k',
    });
    expect(await gw.gateway.store.findSessions({ phoneNumber: phone })).toEqual([]);
  });

  it.concurrent('a 10 000-line answer or re-offer in updateSessionStatus is 400; the call is untouched', async () => {
    const phone = freshNumber();
    const { mediaSessionId } = await connectedCall(gw, ANSWERS, phone);
    const token = await gw.token(phone);
    const before = await gw.raw('GET', `${API_BASE.callHandling}/sessions/${mediaSessionId}`, { token });
    for (const body of [
      { status: 'Connected', offer: { sdp: SDP_10K_LINES } },
      { status: 'Hold', offer: { sdp: SDP_10K_LINES } },
      { status: 'Connected', answer: { sdp: SDP_10K_LINES } },
    ]) {
      const exchange = await gw.raw('PUT', `${API_BASE.callHandling}/sessions/${mediaSessionId}/status`, {
        token,
        json: body,
      });
      expectRefused('updateSessionStatus', exchange, `${body.status} with a 10k-line SDP`);
    }
    const after = await gw.raw('GET', `${API_BASE.callHandling}/sessions/${mediaSessionId}`, { token });
    expect(after.body).toEqual(before.body);
  });
});

describe('paths and methods', () => {
  const UNKNOWN_PATHS = [
    '/',
    '/nope',
    '/webrtc-registration/v0.3/sessions',
    `${API_BASE.registration}`,
    `${API_BASE.registration}/sessionz`,
    `${API_BASE.registration}/sessions/a/b`,
    `${API_BASE.callHandling}/sessions/abc/state`,
    `${API_BASE.events}/subscriptions/a/b`,
  ];

  it.concurrent.each(UNKNOWN_PATHS)(
    'GET %s is 404 NOT_FOUND (an ErrorInfo with x-correlator)',
    async (path) => {
      const exchange = await gw.raw('GET', path, {
        token: await gw.token(ALICE),
        headers: { 'x-correlator': 'unknown-path' },
      });
      expect(exchange.status, exchange.text).toBe(404);
      expect(exchange.body).toMatchObject({ status: 404, code: 'NOT_FOUND', message: expect.any(String) });
      expect(exchange.headers['x-correlator']).toBe('unknown-path');
    },
  );

  const WRONG_METHODS: [string, string][] = [
    ['PATCH', `${API_BASE.registration}/sessions`],
    ['POST', `${API_BASE.registration}/sessions/abc`],
    ['POST', `${API_BASE.callHandling}/sessions/abc`],
    ['GET', `${API_BASE.callHandling}/sessions/abc/status`],
    ['DELETE', `${API_BASE.callHandling}/sessions/abc/status`],
    ['POST', `${API_BASE.events}/subscriptions/abc`],
  ];

  it.concurrent.each(WRONG_METHODS)('%s %s is 405 METHOD_NOT_ALLOWED with Allow', async (method, path) => {
    const exchange = await gw.raw(method, path, {
      token: await gw.token(ALICE),
      headers: { 'x-correlator': 'wrong-method' },
    });
    expect(exchange.status, exchange.text).toBe(405);
    expect(exchange.body).toMatchObject({
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      message: expect.any(String),
    });
    expect(exchange.headers.allow).toMatch(/^[A-Z]+(, [A-Z]+)*$/);
    expect(exchange.headers.allow?.split(', ')).not.toContain(method);
    expect(exchange.headers['x-correlator']).toBe('wrong-method');
  });
});

describe('missing or empty path parameters (as CAMARA’s test definitions send them)', () => {
  const MISSING: [method: string, path: string, parameter: string, json?: unknown][] = [
    ['GET', `${API_BASE.registration}/sessions/`, 'registrationId'],
    ['PUT', `${API_BASE.registration}/sessions`, 'registrationId', {}],
    ['PUT', `${API_BASE.registration}/sessions/`, 'registrationId', {}],
    ['DELETE', `${API_BASE.registration}/sessions`, 'registrationId'],
    ['DELETE', `${API_BASE.registration}/sessions/`, 'registrationId'],
    ['GET', `${API_BASE.callHandling}/sessions`, 'mediaSessionId'],
    ['GET', `${API_BASE.callHandling}/sessions/`, 'mediaSessionId'],
    ['DELETE', `${API_BASE.callHandling}/sessions`, 'mediaSessionId'],
    ['DELETE', `${API_BASE.callHandling}/sessions/`, 'mediaSessionId'],
    ['PUT', `${API_BASE.callHandling}/sessions//status`, 'mediaSessionId', { status: 'Connected' }],
    ['PUT', `${API_BASE.callHandling}/sessions/status`, 'mediaSessionId', { status: 'Connected' }],
    ['GET', `${API_BASE.events}/subscriptions/`, 'subscriptionId'],
    ['PUT', `${API_BASE.events}/subscriptions`, 'subscriptionId', {}],
    ['DELETE', `${API_BASE.events}/subscriptions`, 'subscriptionId'],
    ['DELETE', `${API_BASE.events}/subscriptions/`, 'subscriptionId'],
  ];

  it.concurrent.each(MISSING)(
    '%s %s is 400 INVALID_ARGUMENT naming %s',
    async (method, path, parameter, json) => {
      const exchange = await gw.raw(method, path, {
        token: await gw.token(ALICE),
        headers: { 'x-correlator': 'missing-param' },
        ...(json === undefined ? {} : { json }),
      });
      expect(exchange.status, exchange.text).toBe(400);
      expect(exchange.body).toEqual({
        status: 400,
        code: 'INVALID_ARGUMENT',
        message: `path/${parameter} is required`,
      });
      expect(exchange.headers['x-correlator']).toBe('missing-param');
    },
  );

  it.concurrent('GET /subscriptions stays the list', async () => {
    const exchange = await gw.raw('GET', `${API_BASE.events}/subscriptions`, {
      token: await gw.token(ALICE),
    });
    expect(exchange.status, exchange.text).toBe(200);
  });
});

describe('ids and headers', () => {
  const HOSTILE_IDS = ['%0d%0aX-Injected:%201', '%00', 'a%20b', '%ED%A0%80', '%C3%28', 'x'.repeat(257)];

  it.concurrent('hostile path ids are 400 or 404, documented, for every operation with a path id', async () => {
    const token = await gw.token(ALICE);
    const targets: [string, string, string, unknown?][] = [
      ['getRegistrationById', 'GET', `${API_BASE.registration}/sessions/`],
      ['updateRegistrationById', 'PUT', `${API_BASE.registration}/sessions/`, {}],
      ['deleteRegistrationById', 'DELETE', `${API_BASE.registration}/sessions/`],
      ['getSessionDetailsById', 'GET', `${API_BASE.callHandling}/sessions/`],
      ['deleteSessionById', 'DELETE', `${API_BASE.callHandling}/sessions/`],
      ['retrieveNotificationChannelSubscription', 'GET', `${API_BASE.events}/subscriptions/`],
      ['deleteNotificationChannelSubscription', 'DELETE', `${API_BASE.events}/subscriptions/`],
    ];
    const found = problems();
    for (const [operationId, method, prefix, json] of targets) {
      for (const id of HOSTILE_IDS) {
        const exchange = await gw.raw(method, `${prefix}${id}`, {
          token,
          headers: { 'x-correlator': 'hostile-id' },
          ...(json === undefined ? {} : { json }),
        });
        const where = `${operationId} ${id.slice(0, 40)} → ${exchange.status} ${exchange.text.slice(0, 160)}`;
        if (![400, 404].includes(exchange.status)) found.add(`${where}: expected 400 or 404`);
        const violations = specViolations(operationId, exchange);
        if (violations) found.add(`${where}: violates the spec: ${violations.join('; ')}`);
        if (exchange.headers['x-correlator'] !== 'hostile-id') found.add(`${where}: x-correlator not echoed`);
      }
    }
    expect(found.list).toEqual([]);
  });

  it.concurrent('a hostile registrationId header of createSession is 400 or 403, and no INVITE is sent', async () => {
    const phone = freshNumber();
    const token = await gw.token(phone);
    for (const id of ['', ' ', 'x'.repeat(257), 'a b', 'a;b=c', '<sip:evil>']) {
      const exchange = await gw.raw('POST', `${API_BASE.callHandling}/sessions`, {
        token,
        headers: { registrationId: id },
        json: sessionBody(ANSWERS, phone),
      });
      const where = `registrationId ${JSON.stringify(id.slice(0, 20))}: ${exchange.text.slice(0, 200)}`;
      expect([400, 403], where).toContain(exchange.status);
      expect(specViolations('createSession', exchange), where).toBeNull();
    }
    expect(gw.network.messages().filter((m) => m.headers.From?.includes(phone))).toEqual([]);
  });
});

describe('limits', () => {
  it.concurrent('calls beyond the per-number limit of unfinished sessions are refused with a 429 ErrorInfo, not a 500', async () => {
    // createSession documents no 429; the specs allow "other CAMARA common errors", and TOO_MANY_REQUESTS is one.
    const phone = freshNumber();
    const { registrationId } = await register(gw, phone);
    const token = await gw.token(phone);
    let refused: Exchange | undefined;
    for (let i = 0; i < 12 && refused === undefined; i++) {
      const exchange = await gw.raw('POST', `${API_BASE.callHandling}/sessions`, {
        token,
        headers: { registrationId, 'x-correlator': `limit-${i}` },
        json: sessionBody(RINGS_FOREVER, phone),
      });
      if (exchange.status !== 201) refused = exchange;
    }
    expect(refused, 'no call was refused').toBeDefined();
    expect(refused!.status, refused!.text).toBe(429);
    expect(refused!.body).toMatchObject({
      status: 429,
      code: 'TOO_MANY_REQUESTS',
      message: expect.any(String),
    });
    expect(refused!.headers['x-correlator']).toMatch(/^limit-\d+$/);
  });
});
