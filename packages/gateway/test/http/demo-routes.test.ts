/**
 * The device page's routes: `POST /demo/token` (dev tokens, loopback only)
 * and `GET /demo/events` (the subscriber's own events as server-sent events).
 */
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type GatewayServer } from '../../src/index.js';
import { ALICE, BOB, DEVICE, REGISTRATION, startIssuer } from './support.js';

describe('POST /demo/token', () => {
  it('gives a dev gateway on loopback a token for the number, which the APIs accept', async () => {
    const server = await buildGateway({ logLevel: 'silent' });
    try {
      const issued = await server.app.inject({
        method: 'POST',
        url: '/demo/token',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ phoneNumber: ALICE }),
      });
      expect(issued.statusCode).toBe(200);
      const { accessToken } = issued.json() as { accessToken: string };
      const registered = await server.app.inject({
        method: 'POST',
        url: REGISTRATION,
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ deviceId: DEVICE }),
      });
      expect(registered.statusCode).toBe(201);
      expect(registered.json()).toMatchObject({ regInfo: { phoneNumber: ALICE } });
    } finally {
      await server.close();
    }
  });

  it.each([
    ['not a number', { phoneNumber: '0800 CALL ME' }],
    ['CRLF in it', { phoneNumber: '+818000000001\r\nVia: x' }],
    ['missing', {}],
  ])('400 INVALID_ARGUMENT for a phone number %s', async (_name, body) => {
    const server = await buildGateway({ logLevel: 'silent' });
    try {
      const response = await server.app.inject({
        method: 'POST',
        url: '/demo/token',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });
    } finally {
      await server.close();
    }
  });

  it('403 on a gateway listening beyond loopback, and without dev auth', async () => {
    const issuer = await startIssuer();
    const open = await buildGateway({ logLevel: 'silent', host: '0.0.0.0' });
    const jwt = await buildGateway({
      logLevel: 'silent',
      authMode: 'jwt',
      jwksUrl: issuer.jwksUrl,
      issuer: issuer.issuer,
    });
    try {
      for (const [server, why] of [
        [open, /listening on loopback/],
        [jwt, /AUTH_MODE is dev/],
      ] as const) {
        const response = await server.app.inject({
          method: 'POST',
          url: '/demo/token',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ phoneNumber: ALICE }),
        });
        expect(response.statusCode).toBe(403);
        expect(response.json()).toMatchObject({
          code: 'PERMISSION_DENIED',
          message: expect.stringMatching(why),
        });
      }
    } finally {
      await open.close();
      await jwt.close();
      await issuer.close();
    }
  });
});

describe('GET /demo/events', () => {
  let server: GatewayServer;
  let origin: string;

  beforeAll(async () => {
    server = await buildGateway({ logLevel: 'silent' });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Opens an event stream with node:http (one socket per stream, closed by `close()`). */
  async function openStream(token: string) {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      get(
        `${origin}/demo/events`,
        { headers: { authorization: `Bearer ${token}` }, agent: false },
        resolve,
      ).on('error', reject);
    });
    response.setEncoding('utf8');
    let text = '';
    response.on('data', (chunk: string) => {
      text += chunk;
    });
    return {
      status: response.statusCode,
      contentType: response.headers['content-type'],
      /** Waits until `pattern` has been received (bounded by `ms`). */
      async until(pattern: RegExp, ms = 3_000): Promise<string> {
        const deadline = Date.now() + ms;
        while (!pattern.test(text)) {
          if (Date.now() > deadline) throw new Error(`no ${pattern} in ${JSON.stringify(text)}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return text;
      },
      close: () => response.destroy(),
    };
  }

  it('401 without a token, as a CAMARA ErrorInfo', async () => {
    const response = await fetch(`${origin}/demo/events`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it("streams the token's subscriber's session-invitation, and rings a number only a stream watches", async () => {
    const [aliceToken, bobToken] = [await server.issueToken(ALICE), await server.issueToken(BOB)];
    for (const token of [aliceToken, bobToken]) {
      const created = await server.app.inject({
        method: 'POST',
        url: REGISTRATION,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ deviceId: DEVICE }),
      });
      expect(created.statusCode).toBe(201);
    }
    const alice = await openStream(aliceToken);
    expect(alice.contentType).toMatch(/^text\/event-stream/);
    await alice.until(/: events of \+818000000001/);
    // Nobody subscribed or watches for Bob: refused, as before. Alice's open stream is enough to ring her.
    server.network!.callIn({ from: ALICE, to: BOB });
    server.network!.callIn({ from: BOB, to: ALICE });
    const text = await alice.until(/\ndata: .*\n\n/);
    expect(text).toMatch(/^event: org\.camaraproject\.webrtc-events\.v\d+\.session-invitation$/m);
    const event = JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as { data: Record<string, unknown> };
    expect(event.data).toMatchObject({
      originatorAddress: `tel:${BOB}`,
      receiverAddress: `tel:${ALICE}`,
      status: 'Initial',
      offer: { sdp: expect.stringMatching(/^v=0/) },
    });
    expect(text.match(/^event: /gm)).toHaveLength(1);
    alice.close();
    await expect
      .poll(() => server.gateway.subscriberWatchers(ALICE), { timeout: 3_000, interval: 50 })
      .toBe(0);
  });

  it('429 beyond 4 open streams per subscriber; a closed one frees its place', async () => {
    const token = await server.issueToken(ALICE);
    const open = await Promise.all([1, 2, 3, 4].map(() => openStream(token)));
    for (const stream of open) expect(stream.status).toBe(200);
    const fifth = await fetch(`${origin}/demo/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(fifth.status).toBe(429);
    expect(await fifth.json()).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    open[0]!.close();
    await expect
      .poll(() => server.gateway.subscriberWatchers(ALICE), { timeout: 3_000, interval: 50 })
      .toBe(3);
    const again = await openStream(token);
    expect(again.status).toBe(200);
    for (const stream of [...open.slice(1), again]) stream.close();
    await expect
      .poll(() => server.gateway.subscriberWatchers(ALICE), { timeout: 3_000, interval: 50 })
      .toBe(0);
  });
});
