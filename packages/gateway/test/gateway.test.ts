/** The Gateway as a whole: authentication, ownership and shutdown. */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DevAuth,
  EVENT_TYPES,
  Gateway,
  JwtAuth,
  MemoryStore,
  OPERATION_SCOPES,
  type RegistrationRecord,
  silentLogger,
} from '../src/index.js';
import { createRecordingSink } from '../src/testing/index.js';
import {
  ALICE,
  auth,
  BOB,
  createBody,
  DEVICE,
  expectError,
  harness,
  onboard,
  settle,
  summary,
} from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-02-05T10:30:00.000Z') });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('authenticate', () => {
  it('dev mode: issues local tokens; the phone number and scopes come from the token', async () => {
    const dev = new DevAuth();
    const gw = new Gateway({ auth: dev });
    const token = await dev.issue({ phoneNumber: ALICE, clientId: 'asp-webrtc-app-001' });
    const context = await gw.authenticate(`Bearer ${token}`, [OPERATION_SCOPES.createRegistration]);
    expect(context).toMatchObject({
      phoneNumber: ALICE,
      clientId: 'asp-webrtc-app-001',
      subject: `tel:${ALICE}`,
    });
    expect(context.scopes).toContain(
      'webrtc-events:org.camaraproject.webrtc-events.v0.session-invitation:create',
    );
    await gw.close();
  });

  it('401 without, with a malformed or an expired token; 403 PERMISSION_DENIED without the scope', async () => {
    const dev = new DevAuth();
    const gw = new Gateway({ auth: dev });
    await expectError(gw.authenticate(undefined, []), 401, 'UNAUTHENTICATED');
    await expectError(gw.authenticate('Basic abc', []), 401, 'UNAUTHENTICATED');
    await expectError(gw.authenticate('Bearer not.a.jwt', []), 401, 'UNAUTHENTICATED');
    await expectError(gw.authenticate('Bearer a\r\nb', []), 401, 'UNAUTHENTICATED');
    const short = await dev.issue({ phoneNumber: ALICE, ttlSeconds: 60 });
    const narrow = await dev.issue({ phoneNumber: ALICE, scopes: [OPERATION_SCOPES.getRegistrationById] });
    await expectError(
      gw.authenticate(`Bearer ${narrow}`, [OPERATION_SCOPES.createRegistration]),
      403,
      'PERMISSION_DENIED',
    );
    await vi.advanceTimersByTimeAsync(120_000);
    await expectError(gw.authenticate(`Bearer ${short}`, []), 401, 'UNAUTHENTICATED');
    await gw.close();
  });

  it('a verified JWT is served from a cache until its exp, and refused after it', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    let now = Date.parse('2026-11-26T10:00:00Z');
    const jwt = new JwtAuth({
      key: await exportJWK(publicKey),
      algorithms: ['ES256'],
      now: () => now,
      clockToleranceSeconds: 0,
    });
    const token = await new SignJWT({ phone_number: ALICE, scope: 's' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuedAt(now / 1000)
      .setExpirationTime(now / 1000 + 60)
      .sign(privateKey);
    const first = await jwt.authenticate(token);
    expect(await jwt.authenticate(token)).toBe(first); // the cached context, no second verification
    now += 61_000;
    await expect(jwt.authenticate(token)).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    await expect(jwt.authenticate(`${token.slice(0, -2)}xx`)).rejects.toMatchObject({ status: 401 });
  });

  it('JWT access tokens from an identity provider (jose): issuer, audience, phone_number claim', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwt = new JwtAuth({
      key: await exportJWK(publicKey),
      issuer: 'https://auth.operator.com',
      audience: 'webrtc-gw',
      algorithms: ['ES256'],
    });
    const sign = (claims: Record<string, unknown>, audience = 'webrtc-gw') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('https://auth.operator.com')
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
    const context = await jwt.authenticate(
      await sign({ phone_number: ALICE, scope: 'openid webrtc-registration:sessions:create', azp: 'app' }),
    );
    expect(context).toEqual({
      phoneNumber: ALICE,
      scopes: ['openid', 'webrtc-registration:sessions:create'],
      clientId: 'app',
    });
    await expectError(
      jwt.authenticate(await sign({ phone_number: ALICE }, 'someone-else')),
      401,
      'UNAUTHENTICATED',
    );
    // A two-legged token (no subscriber) cannot use these APIs.
    await expectError(jwt.authenticate(await sign({ scope: 'x' })), 403, 'INVALID_TOKEN_CONTEXT');
    await expectError(
      jwt.authenticate(await sign({ phone_number: '0800 123' })),
      403,
      'INVALID_TOKEN_CONTEXT',
    );
  });
});

describe('ownership and shutdown', () => {
  it('close() ends every call with BYE/CANCEL/480, delivers the resulting events, then refuses requests', async () => {
    const h = harness();
    const alice = await onboard(h.gw, ALICE);
    await onboard(h.gw, BOB);
    h.net.setBehaviour('+818000000009', { kind: 'ring-forever' });
    await h.gw.calls.create(auth(ALICE), alice.registrationId, createBody());
    await settle(h.gw, 1000);
    await h.gw.calls.create(
      auth(ALICE),
      alice.registrationId,
      createBody({ receiverAddress: 'tel:+818000000009' }),
    );
    const inbound = h.net.callIn({ from: '+818000000005', to: BOB });
    await settle(h.gw, 500);
    expect(h.gw.calls.live).toHaveLength(3);

    await h.gw.close();
    const answered = h.net.outgoingCallId(0)!;
    const ringing = h.net.outgoingCallId(1)!;
    expect(h.net.flow(answered).slice(-2)).toEqual(['>BYE', '<200/BYE']);
    expect(h.net.flow(ringing)).toEqual(expect.arrayContaining(['>CANCEL', '<487']));
    expect(inbound.flow().slice(-2)).toEqual(['>480', '<ACK']);
    expect(summary(h.sink, alice.subscriptionId).slice(-2)).toEqual([
      expect.objectContaining({
        status: expect.stringMatching(/^(Terminated|SessionCancelled)$/),
        reason: 'Gateway shutting down',
      }),
      expect.objectContaining({
        status: expect.stringMatching(/^(Terminated|SessionCancelled)$/),
        reason: 'Gateway shutting down',
      }),
    ]);
    expect(h.gw.calls.live).toHaveLength(0);
    expect(h.net.media.endpoints.size).toBe(0);
    await expectError(h.gw.calls.create(auth(ALICE), alice.registrationId, createBody()), 503, 'UNAVAILABLE');
    await expectError(h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE }), 503, 'UNAVAILABLE');
    await expectError(h.gw.authenticate('Bearer x', []), 503, 'UNAVAILABLE');
    // Registrations and subscriptions stay in the store for another node or a restart.
    expect(h.store.counts()).toMatchObject({ registrations: 2, subscriptions: 2 });
    await h.gw.close();
  });

  it('resume() re-arms expiry timers from a shared store', async () => {
    const store = new MemoryStore();
    const first = harness({ store });
    const { subscriptionId } = await onboard(first.gw);
    await first.gw.close();

    const sink = createRecordingSink();
    const second = new Gateway({ store, deliver: sink.deliver });
    await second.resume();
    await settle(second, 3_600_000);
    expect(summary(sink, subscriptionId)).toEqual([
      { type: 'registration-ends', terminationReason: 'REGISTRATION_EXPIRED' },
    ]);
    await second.close();
  });

  describe('two nodes on one store', () => {
    const HOUR = 3_600_000;
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    /** Two gateways sharing `store`, each on its own loopback network, and what ended on either. */
    function twoNodes() {
      const store = new MemoryStore();
      // Registrations outlive the subscriptions under test unless a test says otherwise.
      const options = { store, registrations: { defaultLifetimeMs: 10 * HOUR } };
      const nodes = [harness(options).gw, harness(options).gw] as const;
      const ended: string[] = [];
      for (const [i, node] of nodes.entries()) {
        node.registrations.on('ended', ({ reason }) => ended.push(`node ${i}: registration ${reason}`));
        node.subscriptions.on('ended', ({ reason }) => ended.push(`node ${i}: subscription ${reason}`));
      }
      const settleBoth = async (ms = 0) => {
        await settle(nodes[0], ms);
        await settle(nodes[1]);
        await settle(nodes[0]);
      };
      const close = () => Promise.all(nodes.map((node) => node.close()));
      return { store, nodes, ended, settleBoth, close };
    }

    it('a stale expiry timer does not end a registration another node refreshed', async () => {
      const { store, nodes, ended, settleBoth, close } = twoNodes();
      const [a, b] = nodes;
      const { registrationId } = await a.registrations.create(auth(ALICE), {
        deviceId: DEVICE,
        registrationExpireTime: at(HOUR),
      });
      await b.resume(); // b has a timer for the first expiry too
      await settleBoth(HOUR / 2);
      const refreshed = await b.registrations.refresh(auth(ALICE), registrationId, {
        registrationExpireTime: at(HOUR),
      });

      // The first expiry passes: a's timer fires, reads the refreshed registration and re-arms.
      await settleBoth(HOUR / 2 + 1000);
      expect(ended).toEqual([]);
      expect(await a.registrations.get(auth(ALICE), registrationId)).toEqual(refreshed);

      // The refreshed expiry passes: ended once, by whichever node took it.
      await settleBoth(HOUR / 2);
      expect(ended).toEqual([expect.stringMatching(/^node [01]: registration REGISTRATION_EXPIRED$/)]);
      expect(await store.getRegistration(registrationId)).toBeUndefined();
      await close();
    });

    it('a stale expiry timer does not end a subscription another node extended', async () => {
      const { store, nodes, ended, settleBoth, close } = twoNodes();
      const [a, b] = nodes;
      const { subscriptionId } = await onboard(a, ALICE, [EVENT_TYPES.sessionStatus]);
      await a.subscriptions.update(auth(ALICE), subscriptionId, {
        config: { subscriptionExpireTime: at(HOUR) },
      });
      await b.resume();
      await settleBoth(HOUR / 2);
      await b.subscriptions.update(auth(ALICE), subscriptionId, {
        config: { subscriptionExpireTime: at(HOUR) },
      });

      await settleBoth(HOUR / 2 + 1000);
      expect(ended).toEqual([]);
      expect((await store.getSubscription(subscriptionId))?.expiresAt).toBe(Date.now() + HOUR / 2 - 1000);

      await settleBoth(HOUR / 2);
      expect(ended).toEqual([expect.stringMatching(/^node [01]: subscription SUBSCRIPTION_EXPIRED$/)]);
      expect(await store.getSubscription(subscriptionId)).toBeUndefined();
      await close();
    });

    it('a store that refuses to take a lapsed registration it still holds is logged, not retried in a loop', async () => {
      class StuckStore extends MemoryStore {
        override async takeRegistration(id: string, expected?: RegistrationRecord) {
          return expected === undefined ? super.takeRegistration(id) : undefined;
        }
      }
      const errors: string[] = [];
      const logger = { ...silentLogger, error: (_details: object, message: string) => errors.push(message) };
      const { gw } = harness({ store: new StuckStore(), logger });
      await gw.registrations.create(auth(ALICE), { deviceId: DEVICE, registrationExpireTime: at(HOUR) });
      await settle(gw, HOUR + 1000);
      expect(errors).toEqual(['a lapsed registration could not be taken from the store']);
      await settle(gw, HOUR);
      expect(errors).toHaveLength(1);
      await gw.close();
    });

    it('resume(everyMs) ends, within everyMs of their expiry, what a stopped node created meanwhile', async () => {
      const { store, nodes, ended } = twoNodes();
      const [a, b] = nodes;
      await b.resume(60_000); // started first: it knows nothing yet
      const { registrationId, subscriptionId } = await onboard(a, ALICE, [EVENT_TYPES.sessionStatus]);
      await a.registrations.refresh(auth(ALICE), registrationId, { registrationExpireTime: at(HOUR) });
      await a.subscriptions.update(auth(ALICE), subscriptionId, {
        config: { subscriptionExpireTime: at(HOUR / 2) },
      });
      await a.close(); // its timers go with it
      // b looks every minute: each ends within a minute of its expiry.
      await settle(b, HOUR / 2 - 1000);
      expect(ended).toEqual([]);
      await settle(b, 61_000);
      expect(ended).toEqual(['node 1: subscription SUBSCRIPTION_EXPIRED']);
      await settle(b, HOUR / 2 - 62_000);
      expect(ended).toHaveLength(1);
      await settle(b, 61_000);
      expect(ended).toEqual([
        'node 1: subscription SUBSCRIPTION_EXPIRED',
        'node 1: registration REGISTRATION_EXPIRED',
      ]);
      expect(await store.getRegistration(registrationId)).toBeUndefined();
      expect(await store.getSubscription(subscriptionId)).toBeUndefined();
      await b.close();
      // Closed: no more looks at the store.
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  it('services and sessions emit typed events for observers', async () => {
    const h = harness();
    const seen: string[] = [];
    h.gw.registrations.on('created', ({ registration }) =>
      seen.push(`registration ${registration.phoneNumber}`),
    );
    h.gw.subscriptions.on('created', ({ subscription }) =>
      seen.push(`subscription ${subscription.types.length}`),
    );
    h.gw.calls.on('status', ({ session, previous, cause }) =>
      seen.push(`${previous}->${session.status} (${cause})`),
    );
    h.gw.events.on('queued', ({ event }) =>
      seen.push(event.type.replace('org.camaraproject.webrtc-events.v0.', 'queued ')),
    );
    h.gw.calls.on('status', () => {
      throw new Error('a broken observer must not break the call');
    });
    const { registrationId } = await onboard(h.gw, ALICE, [EVENT_TYPES.sessionStatus]);
    await h.gw.calls.create(auth(ALICE), registrationId, createBody());
    await settle(h.gw, 1000);
    expect(seen).toEqual([
      `registration ${ALICE}`,
      'subscription 1',
      'Initial->InProgress (network)',
      'queued session-status',
      'InProgress->Ringing (network)',
      'queued session-status',
      'Ringing->Connected (network)',
      'queued session-status',
    ]);
    await h.gw.close();
  });
});
