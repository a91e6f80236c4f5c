/**
 * The gateway as an attacker meets it: the real HTTP server on loopback, raw sockets
 * where `fetch` would refuse to send the request. Every case asserts the status, a
 * CAMARA `ErrorInfo` body, the `x-correlator`, that nothing stored changed, and that
 * the process still serves. Bounded loops only; traffic goes to 127.0.0.1 alone.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../conformance/support/context.js';
import { call, register, sessionBody, subscribe } from '../conformance/support/fixtures.js';
import {
  ALICE,
  API_BASE,
  type Exchange,
  type GatewayUnderTest,
  RINGS_FOREVER,
  specViolations,
} from '../conformance/support/gateway.js';

const CORRELATOR = /^[a-zA-Z0-9-_:;./<>{}]{1,256}$/;

let fx: Fixture;
let gw: GatewayUnderTest;

beforeAll(async () => {
  fx = await startFixture({ logLevel: 'silent' });
  gw = fx.gw;
});

afterAll(async () => {
  await fx?.close();
});

/** What the store holds for the suite's subscriber: compared before and after each case. */
async function stored(phoneNumber = ALICE): Promise<unknown> {
  const store = gw.gateway.store;
  const [registrations, sessions, subscriptions] = await Promise.all([
    store.findRegistrations({ phoneNumber }),
    store.findSessions({ phoneNumber }),
    store.findSubscriptions({ phoneNumber }),
  ]);
  // A call's progress (Initial → Ringing → …) changes its record by itself: compare which sessions exist and live.
  const live = sessions.map((session) => ({
    id: session.mediaSessionId,
    ended: session.endedAt !== undefined,
  }));
  return { registrations, sessions: live, subscriptions };
}

async function stillServes(): Promise<void> {
  const response = await fetch(`${gw.origin}/healthz`);
  expect(response.status).toBe(200);
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  text: string;
}

/** Sends `request` as bytes (latin-1) on a new connection; reads until the server closes it or 3 s pass. */
function sendRaw(request: string): Promise<RawAnswer> {
  const { port } = new URL(gw.origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      if (status === 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      const text = rest.join('\r\n\r\n');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: the assertion below says so
      }
      resolve({ status, headers, body, text });
    });
    socket.write(request, 'latin1');
  });
}

function expectErrorInfo(answer: RawAnswer, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.body, answer.text).toEqual({ status, code, message: expect.any(String) });
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.headers['x-correlator']).toMatch(CORRELATOR);
  expect(answer.text).not.toMatch(/\n\s+at |node_modules|"stack"/);
}

describe('requests the HTTP parser refuses get a CAMARA ErrorInfo with an x-correlator', () => {
  const REG = `${API_BASE.registration}/sessions`;
  const CASES: [string, string][] = [
    ['bare CR in a header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n`],
    ['bare LF in a header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n`],
    ['NUL in a header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n`],
    [
      'Content-Length with Transfer-Encoding',
      `POST ${REG} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    ['Transfer-Encoding: xchunked', `POST ${REG} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n`],
    ['headers over the limit', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['a URL over the limit', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a path without a leading /', `GET healthz HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a \\xFF byte in the path', `GET ${REG}/\xff HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a broken percent-escape', `GET ${REG}/%zz HTTP/1.1\r\nHost: x\r\n\r\n`],
  ];

  it.each(CASES)('%s → 400 INVALID_ARGUMENT', async (_, request) => {
    const before = await stored();
    expectErrorInfo(await sendRaw(request), 400, 'INVALID_ARGUMENT');
    expect(await stored()).toEqual(before);
    await stillServes();
  });

  it('a client that hangs up mid-body is no error: the next request is served', async () => {
    const { port } = new URL(gw.origin);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            `POST ${REG} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"de`,
          );
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 50);
        });
        socket.on('error', () => {});
      });
    }
    await stillServes();
  });
});

/** A documented ErrorInfo answer of `operationId`, echoing the correlator sent. */
function expectRefused(
  operationId: string,
  exchange: Exchange,
  status: number,
  code: string,
  correlator: string,
) {
  const summary = `${operationId} → ${exchange.status} ${exchange.text.slice(0, 200)}`;
  expect(exchange.status, summary).toBe(status);
  expect(exchange.body, summary).toEqual({ status, code, message: expect.any(String) });
  expect(exchange.headers['x-correlator'], summary).toBe(correlator);
  expect(specViolations(operationId, exchange), summary).toBeNull();
}

describe('a token bound to one device acts on that device only', () => {
  it('every operation on another device’s registration, session or subscription is refused, nothing changes', async () => {
    const mine = await register(gw, ALICE);
    const other = await register(gw, ALICE);
    const subscriptionId = await subscribe(gw, fx.receiver, other.deviceId, ALICE);
    const mediaSessionId = await call(gw, other.registrationId, RINGS_FOREVER, ALICE);
    const bound = await gw.issueToken(ALICE, { deviceId: mine.deviceId });
    const before = await stored();
    const REG = API_BASE.registration;
    const CALLS = API_BASE.callHandling;
    const EVENTS = API_BASE.events;
    const cases: [string, string, string, unknown, number, string, Record<string, string>?][] = [
      ['getRegistrationById', 'GET', `${REG}/sessions/${other.registrationId}`, undefined, 404, 'NOT_FOUND'],
      ['updateRegistrationById', 'PUT', `${REG}/sessions/${other.registrationId}`, {}, 404, 'NOT_FOUND'],
      [
        'deleteRegistrationById',
        'DELETE',
        `${REG}/sessions/${other.registrationId}`,
        undefined,
        404,
        'NOT_FOUND',
      ],
      [
        'getRegistrationsByDeviceId',
        'GET',
        `${REG}/sessions?deviceId=${other.deviceId}`,
        undefined,
        403,
        'INVALID_TOKEN_CONTEXT',
      ],
      [
        'createRegistration',
        'POST',
        `${REG}/sessions`,
        { deviceId: other.deviceId },
        403,
        'INVALID_TOKEN_CONTEXT',
      ],
      [
        'createSession',
        'POST',
        `${CALLS}/sessions`,
        sessionBody(RINGS_FOREVER),
        403,
        'INVALID_TOKEN_CONTEXT',
        { registrationId: other.registrationId },
      ],
      ['getSessionDetailsById', 'GET', `${CALLS}/sessions/${mediaSessionId}`, undefined, 404, 'NOT_FOUND'],
      [
        'updateSessionStatus',
        'PUT',
        `${CALLS}/sessions/${mediaSessionId}/status`,
        { status: 'Hold' },
        404,
        'NOT_FOUND',
      ],
      ['deleteSessionById', 'DELETE', `${CALLS}/sessions/${mediaSessionId}`, undefined, 404, 'NOT_FOUND'],
      [
        'retrieveNotificationChannelSubscription',
        'GET',
        `${EVENTS}/subscriptions/${subscriptionId}`,
        undefined,
        404,
        'NOT_FOUND',
      ],
      [
        'updateNotificationChannelSubscription',
        'PUT',
        `${EVENTS}/subscriptions/${subscriptionId}`,
        { config: { subscriptionExpireTime: new Date(Date.now() + 3_600_000).toISOString() } },
        404,
        'NOT_FOUND',
      ],
      [
        'deleteNotificationChannelSubscription',
        'DELETE',
        `${EVENTS}/subscriptions/${subscriptionId}`,
        undefined,
        404,
        'NOT_FOUND',
      ],
    ];
    for (const [operationId, method, path, json, status, code, headers] of cases) {
      const exchange = await gw.raw(method, path, {
        token: bound,
        headers: { 'x-correlator': `device-${operationId}`, ...headers },
        ...(json === undefined ? {} : { json }),
      });
      expectRefused(operationId, exchange, status, code, `device-${operationId}`);
    }
    const list = await gw.raw('GET', `${EVENTS}/subscriptions`, { token: bound });
    expect(list.status).toBe(200);
    expect((list.body as { id: string }[]).map((s) => s.id)).not.toContain(subscriptionId);
    // The device's own registration is still its to read.
    const own = await gw.raw('GET', `${REG}/sessions/${mine.registrationId}`, { token: bound });
    expect(own.status, own.text).toBe(200);
    expect(await stored()).toEqual(before);
    await stillServes();
    await gw.raw('DELETE', `${CALLS}/sessions/${mediaSessionId}`, { token: await gw.token(ALICE) });
  });
});

describe('sinks in refused ranges, in any textual form, are refused at subscription time', () => {
  const SINKS = [
    'https://[64:ff9b::a9fe:a9fe]/s',
    'https://[64:ff9b::7f00:1]/s',
    'https://[2002:7f00:1::1]/s',
    'https://[2002:a9fe:a9fe::1]/s',
    'https://[2001::1]/s',
    'https://[::ffff:0:7f00:1]/s',
    'https://[fec0::1]/s',
    'https://[::ffff:a9fe:a9fe]/s',
    'https://[::127.0.0.2]/s',
    'https://0xa9.0xfe.0xa9.0xfe/s',
    'https://2852039166/s',
    'https://[fd00:ec2::254]/s',
    'https://100.100.100.200/s',
    'https://192.0.0.170/s',
    'https://198.18.0.1/s',
  ];

  it.each(SINKS)('%s → 400 INVALID_SINK, nothing stored, no address in the message', async (sink) => {
    const { deviceId } = await register(gw, ALICE);
    const before = await stored();
    const exchange = await gw.raw('POST', `${API_BASE.events}/subscriptions`, {
      token: await gw.token(ALICE),
      headers: { 'x-correlator': 'ssrf' },
      json: {
        protocol: 'HTTP',
        sink,
        types: ['org.camaraproject.webrtc-events.v0.session-status'],
        config: { subscriptionDetail: { deviceId } },
      },
    });
    expectRefused('createNotificationChannelSubscription', exchange, 400, 'INVALID_SINK', 'ssrf');
    expect(await stored()).toEqual(before);
    await stillServes();
  });
});
