/**
 * The four CAMARA call flows (shared/camara/call-flows) end to end over HTTP:
 * typed clients against `buildGateway()` on 127.0.0.1, the embedded loopback
 * SIP network as the telco side, and every webhook received by a real HTTPS
 * receiver (the generated `createEventsCallbackReceiver`) whose certificate
 * comes from a CA made for this run, trusted by the gateway through
 * `sinkCaFile`, with 127.0.0.1 allowlisted as a sink.
 *
 * Message numbers in the test names ([14], [18], ...) are those of the flows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Events } from '../../packages/webrtc-client/src/index.js';
import { type Fixture, SINK_TOKEN, startFixture } from './support/context.js';
import {
  FLOW_WEBRTC_ANSWER,
  FLOW_WEBRTC_OFFER,
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
  BOB,
  BUSY,
  DECLINES,
  expectDocumented,
  fromClient,
  type GatewayUnderTest,
  RINGS_FOREVER,
  startGateway,
} from './support/gateway.js';
import type { ReceivedEvent } from './support/receiver.js';

let fx: Fixture;
let gw: GatewayUnderTest;
/** Gateways being closed in the background (see "webhook transport"); awaited before the fixture closes. */
const closing: Promise<unknown>[] = [];
let counter = 0;
const freshNumber = () =>
  `+8193${String(process.pid % 1000).padStart(3, '0')}${String(++counter).padStart(5, '0')}`;

beforeAll(async () => {
  fx = await startFixture();
  gw = fx.gw;
});

afterAll(async () => {
  await Promise.allSettled(closing);
  // Whatever a flow left behind, the receiver must have accepted every delivery it got.
  expect(fx?.receiver.refused ?? []).toEqual([]);
  await fx?.close();
}, 60_000);

/** Step 1 and 2 of the user story: register the device, subscribe it to the three event types. */
async function onboard(phone = freshNumber()) {
  const reg = await register(gw, phone);
  const subscriptionId = await subscribe(gw, fx.receiver, reg.deviceId, phone);
  const token = await gw.token(phone);
  return {
    phone,
    ...reg,
    subscriptionId,
    token,
    callHandling: gw.callHandling({ token }),
    events: () => fx.receiver.eventsFor(subscriptionId),
  };
}

type Onboarded = Awaited<ReturnType<typeof onboard>>;

/** The Call-ID of the INVITE the gateway sent for a call from `phone`. */
function outgoingCallId(phone: string): string {
  const invite = gw.network
    .messages()
    .find(
      (m) =>
        m.direction === 'out' &&
        m.method === 'INVITE' &&
        m.status === undefined &&
        m.headers.From?.includes(phone),
    );
  if (!invite) throw new Error(`no INVITE from ${phone}`);
  return invite.callId;
}

const short = (type: string) => type.replace('org.camaraproject.webrtc-events.v0.', '');
const dataOf = (event: ReceivedEvent) => event.data as Record<string, unknown> & { sequenceNumber?: number };

/** What a flow asserts of each event: type, status, sequence number, reason, SDP presence. */
function summary(events: ReceivedEvent[]) {
  return events.map((event) => {
    const data = dataOf(event);
    return {
      type: short(event.type),
      ...(data.status === undefined ? {} : { status: data.status }),
      ...(data.sequenceNumber === undefined ? {} : { seq: data.sequenceNumber }),
      ...(data.reason === undefined ? {} : { reason: data.reason }),
      ...(data.terminationReason === undefined ? {} : { terminationReason: data.terminationReason }),
    };
  });
}

/** Until the subscription's last event has `status` (or is of `type`). */
const untilStatus = (status: string) => (events: ReceivedEvent[]) =>
  events.some((e) => dataOf(e).status === status);
const untilType = (type: string) => (events: ReceivedEvent[]) => events.some((e) => e.type === type);

/**
 * The delivery-level guarantees every flow checks: each event came over HTTPS
 * with the subscription's bearer token as CloudEvents structured JSON, ids are
 * unique, session events of the subscription carry sequence numbers 1, 2, 3, ...
 * in arrival order, and every event names the subscription.
 */
function expectWellDelivered(user: Onboarded): void {
  const deliveries = fx.receiver.deliveries.filter(
    (d) => dataOf(d.event).subscriptionId === user.subscriptionId,
  );
  expect(deliveries.length).toBeGreaterThan(0);
  for (const d of deliveries) {
    expect(d.authorization).toBe(`Bearer ${SINK_TOKEN}`);
    expect(d.contentType).toMatch(/^application\/cloudevents\+json/);
    expect(d.event).toMatchObject({
      specversion: '1.0',
      source: gw.config.eventSource,
      datacontenttype: 'application/json',
      id: expect.any(String),
      time: expect.any(String),
    });
  }
  const ids = deliveries.map((d) => d.event.id);
  expect(new Set(ids).size).toBe(ids.length);
  const sequence = deliveries
    .map((d) => dataOf(d.event).sequenceNumber)
    .filter((n): n is number => n !== undefined);
  expect(sequence).toEqual(sequence.map((_, i) => i + 1));
  // Events arrive in the order they happened: their times never go backwards.
  const times = deliveries.map((d) => Date.parse(d.event.time));
  expect(times).toEqual([...times].sort((a, b) => a - b));
}

// First, so that its gateway's background close overlaps the flows below.
describe('webhook transport', () => {
  it('a sink whose certificate the gateway does not trust gets nothing (TLS is verified); close() does not wait for the retries', async () => {
    // Same allowlist, but no sinkCaFile: the receiver's CA is unknown to this gateway.
    const untrusting = await startGateway({ sinkAllowlist: ['127.0.0.1'], logLevel: 'silent' });
    const phone = freshNumber();
    const { deviceId } = await register(untrusting, phone);
    const subscriptionId = await subscribe(untrusting, fx.receiver, deviceId, phone);
    untrusting.network.callIn({ from: BOB, to: phone });
    await new Promise((r) => setTimeout(r, 300));
    expect(fx.receiver.eventsFor(subscriptionId)).toEqual([]);
    // The invitation is now being retried (TLS failure); shutting down must not wait for the backoff.
    const started = Date.now();
    const closed = untrusting.close().then(() => Date.now() - started);
    closing.push(closed);
    const tookMs = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 3_000))]);
    expect(
      tookMs,
      'close() still waiting after 3 s (webhook retries with backoff block the shutdown)',
    ).toBeGreaterThanOrEqual(0);
  });
});

describe('3.1 subscription for WebRTC events', () => {
  it('[8]-[11] consolidated subscription → 201 ACTIVE; [18]-[21] refresh → 200; [29]-[32] delete → 202; [33] subscription-ended', async () => {
    const phone = freshNumber();
    const { deviceId } = await register(gw, phone);
    const token = await gw.token(phone);
    const client = gw.events({ token, correlator: 'b4333c46-49c0-4f62-80d7-f0ef930f1c46' });
    const expireTime = inSeconds(3600);
    const created = await client.createNotificationChannelSubscription({
      body: subscriptionBody(fx.receiver.sink(), deviceId, {
        accessToken: SINK_TOKEN,
        subscriptionExpireTime: expireTime,
      }),
    });
    expectDocumented('createNotificationChannelSubscription', fromClient(created), {
      status: 201,
      correlator: 'b4333c46-49c0-4f62-80d7-f0ef930f1c46',
    });
    const subscription = created.data as Events.Subscription;
    expect(subscription).toMatchObject({
      protocol: 'HTTP',
      sink: fx.receiver.sink(),
      types: [TYPES.invitation, TYPES.status, TYPES.registrationEnds],
      config: { subscriptionDetail: { deviceId }, subscriptionExpireTime: expireTime },
      id: expect.any(String),
      startsAt: expect.any(String),
      status: 'ACTIVE',
    });
    expect(Date.parse(subscription.expiresAt!)).toBe(Date.parse(expireTime));
    // The sink credential is never returned.
    expect(JSON.stringify(subscription)).not.toContain(SINK_TOKEN);
    // No event is sent on subscribing (no initialEvent for WebRTC).

    const read = await client.retrieveNotificationChannelSubscription({
      params: { path: { subscriptionId: subscription.id } },
    });
    expectDocumented('retrieveNotificationChannelSubscription', fromClient(read), { status: 200 });
    expect(read.data).toEqual(subscription);
    const list = await client.retrieveNotificationChannelSubscriptionList();
    expect(list.data).toEqual([subscription]);

    const newExpiry = inSeconds(7200);
    const refreshed = await client.updateNotificationChannelSubscription({
      params: { path: { subscriptionId: subscription.id } },
      body: {
        sinkCredential: {
          credentialType: 'ACCESSTOKEN',
          accessToken: SINK_TOKEN,
          accessTokenExpiresUtc: inSeconds(86_400),
          accessTokenType: 'bearer',
        } as Events.SinkCredential,
        config: { subscriptionExpireTime: newExpiry },
      },
    });
    expectDocumented('updateNotificationChannelSubscription', fromClient(refreshed), { status: 200 });
    expect(refreshed.data).toMatchObject({
      id: subscription.id,
      status: 'ACTIVE',
      types: subscription.types,
    });
    expect(Date.parse(refreshed.data!.expiresAt!)).toBe(Date.parse(newExpiry));

    const deleted = await client.deleteNotificationChannelSubscription({
      params: { path: { subscriptionId: subscription.id } },
    });
    expectDocumented('deleteNotificationChannelSubscription', fromClient(deleted), { status: 202 });
    expect(deleted.data).toEqual({ id: subscription.id });

    const events = await fx.receiver.waitFor(subscription.id, untilType(TYPES.subscriptionEnded));
    expect(summary(events)).toEqual([
      { type: 'subscription-ended', terminationReason: 'SUBSCRIPTION_DELETED' },
    ]);
    expect(events[0]!.data).toMatchObject({
      subscriptionId: subscription.id,
      terminationReason: 'SUBSCRIPTION_DELETED',
      terminationDescription: expect.any(String),
    });
    const gone = await client.retrieveNotificationChannelSubscription({
      params: { path: { subscriptionId: subscription.id } },
    });
    expectDocumented('retrieveNotificationChannelSubscription', fromClient(gone), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });
});

describe('3.2 WebRTC registration', () => {
  it('[6]-[9] register → 201; [15]-[18] refresh → 200 with the new expiry; [24]-[27] de-register → 204, then 404', async () => {
    const user = await onboard();
    const client = gw.registration({ token: user.token, correlator: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890' });
    const { registrationId, deviceId } = user;

    const read = await client.getRegistrationById({ params: { path: { registrationId } } });
    expectDocumented('getRegistrationById', fromClient(read), {
      status: 200,
      correlator: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
    });
    expect(read.data).toMatchObject({
      registrationId,
      regInfo: { phoneNumber: user.phone, regStatus: 'Registered' },
    });
    const list = await client.getRegistrationsByDeviceId({ params: { query: { deviceId } } });
    expect(list.data).toEqual([read.data]);

    const requested = inSeconds(2 * 3600);
    const refreshed = await client.updateRegistrationById({
      params: { path: { registrationId } },
      body: { registrationExpireTime: requested },
    });
    expectDocumented('updateRegistrationById', fromClient(refreshed), { status: 200 });
    expect(refreshed.data).toMatchObject({
      registrationId,
      regInfo: { phoneNumber: user.phone, regStatus: 'Registered' },
    });
    expect(Date.parse(refreshed.data!.expiresAt!)).toBe(Date.parse(requested));
    // An empty refresh counts the default lifetime (1 h) from now.
    const byDefault = await client.updateRegistrationById({ params: { path: { registrationId } }, body: {} });
    expect(Math.abs(Date.parse(byDefault.data!.expiresAt!) - (Date.now() + 3_600_000))).toBeLessThan(5_000);

    const deleted = await client.deleteRegistrationById({ params: { path: { registrationId } } });
    expectDocumented('deleteRegistrationById', fromClient(deleted), { status: 204 });
    const after = await client.getRegistrationById({ params: { path: { registrationId } } });
    expectDocumented('getRegistrationById', fromClient(after), { status: 404, code: 'NOT_FOUND' });
    expect((await client.getRegistrationsByDeviceId({ params: { query: { deviceId } } })).data).toEqual([]);
    // A client's own de-registration is not a registration-ends event (that is for expiry and the network).
    await new Promise((r) => setTimeout(r, 150));
    expect(user.events().filter((e) => e.type === TYPES.registrationEnds)).toEqual([]);
  });
});

describe('3.3 call origination and disconnection', () => {
  async function originate(user: Onboarded, callee: string) {
    const created = await user.callHandling.createSession({
      params: { header: { registrationId: user.registrationId } },
      body: sessionBody(callee, user.phone) as never,
    });
    expectDocumented('createSession', fromClient(created), { status: 201 });
    return { session: created.data!, callId: outgoingCallId(user.phone) };
  }

  it('[7]-[14] 201 Initial; [18] InProgress, [31] Ringing, [40] Connected; hold/resume both ways; [53]-[61] DELETE → BYE → Terminated', async () => {
    const user = await onboard();
    const { session, callId } = await originate(user, ANSWERS);
    // [14] 201 Created: Initial, the device's offer, no answer yet.
    expect(session).toMatchObject({
      originatorAddress: `tel:${user.phone}`,
      originatorName: 'Alice',
      receiverAddress: `tel:${ANSWERS}`,
      receiverName: 'Bob',
      status: 'Initial',
      offer: { sdp: FLOW_WEBRTC_OFFER },
      mediaSessionId: expect.any(String),
    });
    expect(session.answer).toBeUndefined();

    const progress = await fx.receiver.waitFor(user.subscriptionId, untilStatus('Connected'));
    expect(summary(progress)).toEqual([
      {
        type: 'session-status',
        status: 'InProgress',
        seq: 1,
        reason: '183 Session Progress received from remote endpoint',
      },
      {
        type: 'session-status',
        status: 'Ringing',
        seq: 2,
        reason: '180 Ringing received from remote endpoint',
      },
      { type: 'session-status', status: 'Connected', seq: 3, reason: '200 OK received - call connected' },
    ]);
    for (const event of progress) {
      expect(event.type).toBe(TYPES.status);
      expect(event.data).toMatchObject({
        subscriptionId: user.subscriptionId,
        mediaSessionId: session.mediaSessionId,
        originatorAddress: `tel:${user.phone}`,
        receiverAddress: `tel:${ANSWERS}`,
      });
    }
    // The gateway's WebRTC answer comes with early media (183) and the connect.
    const answer = (dataOf(progress[2]!).answer as { sdp: string }).sdp;
    expect(answer).toMatch(/^v=0\r\n/);
    expect((dataOf(progress[0]!).answer as { sdp: string }).sdp).toBe(answer);
    expect(gw.network.flow(callId)).toEqual([
      '>INVITE',
      '<100',
      '<183',
      '>PRACK',
      '<200/PRACK',
      '<180',
      '>PRACK',
      '<200/PRACK',
      '<200/INVITE',
      '>ACK',
    ]);
    const connected = await user.callHandling.getSessionDetailsById({
      params: { path: { mediaSessionId: session.mediaSessionId } },
    });
    expectDocumented('getSessionDetailsById', fromClient(connected), { status: 200 });
    expect(connected.data).toMatchObject({ status: 'Connected', answer: { sdp: answer } });

    // Hold / resume from the device: PUT answers, re-INVITEs go out, no events (the client made the change).
    for (const status of ['Hold', 'Resume'] as const) {
      const changed = await user.callHandling.updateSessionStatus({
        params: { path: { mediaSessionId: session.mediaSessionId } },
        body: { status },
      });
      expectDocumented('updateSessionStatus', fromClient(changed), { status: 200 });
      expect(changed.data?.status).toBe(status);
    }
    const reinvites = gw.network
      .messages(callId)
      .filter((m) => m.direction === 'out' && m.method === 'INVITE' && m.status === undefined);
    expect(reinvites.map((m) => /a=(sendonly|sendrecv)/.exec(m.body ?? '')?.[1])).toEqual([
      'sendrecv',
      'sendonly',
      'sendrecv',
    ]);

    // Hold / resume from the far end: re-INVITEs from the network, reported as events.
    gw.network.farEndHold(callId, true);
    await fx.receiver.waitFor(user.subscriptionId, untilStatus('Hold'));
    gw.network.farEndHold(callId, false);
    await fx.receiver.waitFor(user.subscriptionId, (e) => e.length >= 5);

    // [53]-[56] DELETE → 204; [57]-[60] BYE / 200; [61] Terminated.
    const deleted = await user.callHandling.deleteSessionById({
      params: { path: { mediaSessionId: session.mediaSessionId } },
    });
    expectDocumented('deleteSessionById', fromClient(deleted), { status: 204 });
    const all = await fx.receiver.waitFor(user.subscriptionId, untilStatus('Terminated'));
    expect(summary(all).slice(3)).toEqual([
      { type: 'session-status', status: 'Hold', seq: 4, reason: 'Call put on hold by remote endpoint' },
      { type: 'session-status', status: 'Resume', seq: 5, reason: 'Call resumed by remote endpoint' },
      { type: 'session-status', status: 'Terminated', seq: 6, reason: 'Call terminated by originator' },
    ]);
    expect(gw.network.flow(callId).slice(-2)).toEqual(['>BYE', '<200/BYE']);
    const ended = await user.callHandling.getSessionDetailsById({
      params: { path: { mediaSessionId: session.mediaSessionId } },
    });
    expect(ended.data?.status).toBe('Terminated');
    expectWellDelivered(user);
  });

  it('3.3.3 [48]-[51] the receiver hangs up: BYE from the network → Terminated', async () => {
    const user = await onboard();
    const { session, callId } = await originate(user, ANSWERS);
    await fx.receiver.waitFor(user.subscriptionId, untilStatus('Connected'));
    gw.network.hangUp(callId);
    const events = await fx.receiver.waitFor(user.subscriptionId, untilStatus('Terminated'));
    expect(summary(events).at(-1)).toEqual({
      type: 'session-status',
      status: 'Terminated',
      seq: 4,
      reason: 'Call terminated by receiver',
    });
    expect(gw.network.flow(callId).slice(-2)).toEqual(['<BYE', '>200/BYE']);
    await waitForStatus(gw, session.mediaSessionId, 'Terminated', user.phone);
    expectWellDelivered(user);
  });

  it('cancelled by the originator before an answer: DELETE → CANCEL/487 → SessionCancelled; a second DELETE is 404', async () => {
    const user = await onboard();
    const { session, callId } = await originate(user, RINGS_FOREVER);
    await fx.receiver.waitFor(user.subscriptionId, untilStatus('Ringing'));
    const deleted = await user.callHandling.deleteSessionById({
      params: { path: { mediaSessionId: session.mediaSessionId } },
    });
    expectDocumented('deleteSessionById', fromClient(deleted), { status: 204 });
    const events = await fx.receiver.waitFor(user.subscriptionId, untilStatus('SessionCancelled'));
    expect(summary(events)).toEqual([
      {
        type: 'session-status',
        status: 'Ringing',
        seq: 1,
        reason: '180 Ringing received from remote endpoint',
      },
      { type: 'session-status', status: 'SessionCancelled', seq: 2, reason: 'Call cancelled by originator' },
    ]);
    expect(gw.network.flow(callId).slice(-4)).toEqual(['>CANCEL', '<200/CANCEL', '<487', '>ACK']);
    const again = await user.callHandling.deleteSessionById({
      params: { path: { mediaSessionId: session.mediaSessionId } },
    });
    expectDocumented('deleteSessionById', fromClient(again), { status: 404, code: 'NOT_FOUND' });
    expectWellDelivered(user);
  });

  it.each([
    ['busy (486)', BUSY, [{ status: 'Busy', reason: '486 Busy Here received from remote endpoint' }]],
    [
      'declined after ringing (603)',
      DECLINES,
      [
        { status: 'Ringing', reason: '180 Ringing received from remote endpoint' },
        { status: 'Declined', reason: '603 Decline received from remote endpoint' },
      ],
    ],
  ])('not answered, %s: reported as a final status, readable with GET', async (_name, callee, expected) => {
    const user = await onboard();
    const { session, callId } = await originate(user, callee);
    const final = expected.at(-1)!.status;
    const events = await fx.receiver.waitFor(user.subscriptionId, untilStatus(final));
    expect(summary(events)).toEqual(
      expected.map((e, i) => ({ type: 'session-status', status: e.status, seq: i + 1, reason: e.reason })),
    );
    expect(gw.network.flow(callId).slice(-2)).toEqual([expect.stringMatching(/^<[4-6]\d\d$/), '>ACK']);
    const read = await user.callHandling.getSessionDetailsById({
      params: { path: { mediaSessionId: session.mediaSessionId } },
    });
    expectDocumented('getSessionDetailsById', fromClient(read), { status: 200 });
    expect(read.data?.status).toBe(final);
    expectWellDelivered(user);
  });
});

describe('3.4 call termination and disconnection', () => {
  async function incoming(user: Onboarded) {
    const inbound = gw.network.callIn({ from: BOB, fromName: 'Bob', to: user.phone, toName: 'Alice' });
    const [invitation] = await fx.receiver.waitFor(user.subscriptionId, untilType(TYPES.invitation));
    return { inbound, invitation: invitation!, mediaSessionId: dataOf(invitation!).mediaSessionId as string };
  }

  it('[2]-[5] INVITE → session-invitation; [7]-[10] GET; [13]-[41] PUT InProgress/Ringing/Connected with the answer → 183/180/200; 3.4.2 BYE from the caller → Terminated', async () => {
    const user = await onboard();
    const { inbound, invitation, mediaSessionId } = await incoming(user);
    expect(inbound.flow().slice(0, 2)).toEqual(['<INVITE', '>100']);
    // [5] session-invitation: Initial, the gateway's WebRTC offer, sequence 1.
    expect(invitation).toMatchObject({
      type: TYPES.invitation,
      data: {
        subscriptionId: user.subscriptionId,
        mediaSessionId,
        originatorAddress: `tel:${BOB}`,
        originatorName: 'Bob',
        receiverAddress: `tel:${user.phone}`,
        receiverName: 'Alice',
        status: 'Initial',
        sequenceNumber: 1,
      },
    });
    const offer = (dataOf(invitation).offer as { sdp: string }).sdp;
    expect(offer).toMatch(/^v=0\r\n[\s\S]*a=setup:actpass/);

    // [7]-[10] GET returns the same session.
    const read = await user.callHandling.getSessionDetailsById({ params: { path: { mediaSessionId } } });
    expectDocumented('getSessionDetailsById', fromClient(read), { status: 200 });
    expect(read.data).toMatchObject({
      mediaSessionId,
      status: 'Initial',
      offer: { sdp: offer },
      originatorAddress: `tel:${BOB}`,
      receiverAddress: `tel:${user.phone}`,
    });

    // [13]-[16] InProgress with the device's answer, [27]-[30] Ringing, [38]-[41] Connected.
    for (const status of ['InProgress', 'Ringing', 'Connected'] as const) {
      const changed = await user.callHandling.updateSessionStatus({
        params: { path: { mediaSessionId } },
        body: { status, answer: { sdp: FLOW_WEBRTC_ANSWER } },
      });
      expectDocumented('updateSessionStatus', fromClient(changed), { status: 200 });
      expect(changed.data).toMatchObject({
        status,
        answer: { sdp: FLOW_WEBRTC_ANSWER },
        offer: { sdp: offer },
      });
    }
    expect(inbound.flow()).toEqual([
      '<INVITE',
      '>100',
      '>183',
      '<PRACK',
      '>200/PRACK',
      '>180',
      '<PRACK',
      '>200/PRACK',
      '>200/INVITE',
      '<ACK',
    ]);

    // 3.4.2: the caller (SIP side) hangs up.
    inbound.hangUp();
    const events = await fx.receiver.waitFor(user.subscriptionId, untilStatus('Terminated'));
    // Only network-side changes are notified: the PUTs were the client's own.
    expect(summary(events)).toEqual([
      { type: 'session-invitation', status: 'Initial', seq: 1 },
      { type: 'session-status', status: 'Terminated', seq: 2, reason: 'Call terminated by originator' },
    ]);
    expect(inbound.flow().slice(-2)).toEqual(['<BYE', '>200/BYE']);
    expectWellDelivered(user);
  });

  it('3.4.3 the receiver (WebRTC side) answers at once, then hangs up: DELETE → BYE → Terminated', async () => {
    const user = await onboard();
    const { inbound, mediaSessionId } = await incoming(user);
    const accepted = await user.callHandling.updateSessionStatus({
      params: { path: { mediaSessionId } },
      body: { status: 'Connected', answer: { sdp: FLOW_WEBRTC_ANSWER } },
    });
    expectDocumented('updateSessionStatus', fromClient(accepted), { status: 200 });
    expect(inbound.flow().slice(-2)).toEqual(['>200/INVITE', '<ACK']);
    // The far end holds and resumes: reported.
    inbound.hold();
    await fx.receiver.waitFor(user.subscriptionId, untilStatus('Hold'));
    inbound.resume();
    await fx.receiver.waitFor(user.subscriptionId, untilStatus('Resume'));
    const deleted = await user.callHandling.deleteSessionById({ params: { path: { mediaSessionId } } });
    expectDocumented('deleteSessionById', fromClient(deleted), { status: 204 });
    const events = await fx.receiver.waitFor(user.subscriptionId, untilStatus('Terminated'));
    expect(summary(events).slice(1)).toEqual([
      { type: 'session-status', status: 'Hold', seq: 2, reason: expect.any(String) },
      { type: 'session-status', status: 'Resume', seq: 3, reason: expect.any(String) },
      { type: 'session-status', status: 'Terminated', seq: 4, reason: 'Call terminated by receiver' },
    ]);
    expect(inbound.flow().slice(-2)).toEqual(['>BYE', '<200/BYE']);
    expectWellDelivered(user);
  });

  it('declined by the receiver: DELETE before answering → 603 → Declined; the caller giving up → SessionCancelled', async () => {
    const user = await onboard();
    const first = await incoming(user);
    const ringing = await user.callHandling.updateSessionStatus({
      params: { path: { mediaSessionId: first.mediaSessionId } },
      body: { status: 'Ringing' },
    });
    expectDocumented('updateSessionStatus', fromClient(ringing), { status: 200 });
    const deleted = await user.callHandling.deleteSessionById({
      params: { path: { mediaSessionId: first.mediaSessionId } },
    });
    expectDocumented('deleteSessionById', fromClient(deleted), { status: 204 });
    await fx.receiver.waitFor(user.subscriptionId, untilStatus('Declined'));
    expect(first.inbound.flow().slice(-2)).toEqual(['>603', '<ACK']);

    const second = gw.network.callIn({ from: BOB, to: user.phone });
    await fx.receiver.waitFor(
      user.subscriptionId,
      (e) => e.filter((x) => x.type === TYPES.invitation).length === 2,
    );
    second.cancel();
    const events = await fx.receiver.waitFor(user.subscriptionId, untilStatus('SessionCancelled'));
    expect(summary(events).map((e) => [e.type, e.status, e.seq])).toEqual([
      ['session-invitation', 'Initial', 1],
      ['session-status', 'Declined', 2],
      ['session-invitation', 'Initial', 3],
      ['session-status', 'SessionCancelled', 4],
    ]);
    expect(second.flow().slice(-4)).toEqual(['<CANCEL', '>200/CANCEL', '>487', '<ACK']);
    expectWellDelivered(user);
  });

  it('an incoming call for a registered number nobody subscribed for is refused (480), with no event', async () => {
    const phone = freshNumber();
    await register(gw, phone);
    const inbound = gw.network.callIn({ from: BOB, to: phone });
    await new Promise((r) => setTimeout(r, 100));
    expect(inbound.flow()).toEqual(['<INVITE', '>100', '>480', '<ACK']);
  });
});
