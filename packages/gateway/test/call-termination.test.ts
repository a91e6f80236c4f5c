/**
 * Call flow 3.4 (call_termination_and_disconnection.md): the network calls a
 * registered, subscribed WebRTC subscriber.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkWebRtcSdp, EVENT_TYPES, parseSdp } from '../src/index.js';
import {
  ALICE,
  auth,
  BOB,
  CAROL,
  FLOW_WEBRTC_ANSWER,
  type Harness,
  harness,
  onboard,
  settle,
  summary,
} from './helpers.js';

let h: Harness;
let ids: { registrationId: string; subscriptionId: string };

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2025-02-05T10:30:00.000Z') });
  h = harness();
  ids = await onboard(h.gw);
});

afterEach(async () => {
  await h.gw.close();
  vi.useRealTimers();
});

/** Bob calls Alice; returns the handle and the mediaSessionId from the session-invitation. */
async function incoming() {
  const inbound = h.net.callIn({ from: BOB, fromName: 'Bob', to: ALICE, toName: 'Alice' });
  await settle(h.gw);
  const invitation = h.sink.eventsFor(ids.subscriptionId).at(-1)!;
  const data = invitation.data as { mediaSessionId: string };
  return { inbound, mediaSessionId: data.mediaSessionId, invitation };
}

describe('3.4.1 call termination, answered', () => {
  it('INVITE → session-invitation (1); GET; PUT InProgress/Ringing/Connected → 183/180/200; no events for the PUTs', async () => {
    const { inbound, mediaSessionId, invitation } = await incoming();
    expect(inbound.flow()).toEqual(['<INVITE', '>100']);
    // [5] session-invitation: Initial, the gateway's WebRTC offer, sequence 1.
    expect(invitation).toMatchObject({
      type: EVENT_TYPES.sessionInvitation,
      specversion: '1.0',
      datacontenttype: 'application/json',
      time: '2025-02-05T10:30:00.000Z',
      data: {
        subscriptionId: ids.subscriptionId,
        mediaSessionId,
        originatorAddress: `tel:${BOB}`,
        originatorName: 'Bob',
        receiverAddress: `tel:${ALICE}`,
        receiverName: 'Alice',
        status: 'Initial',
        sequenceNumber: 1,
      },
    });
    const offer = (invitation.data as { offer: { sdp: string } }).offer.sdp;
    expect(checkWebRtcSdp(parseSdp(offer, 'offer'), 'offer', 'offer').audio.setup).toBe('actpass');

    // [7]-[10] GET returns the same.
    expect(await h.gw.calls.get(auth(ALICE), mediaSessionId)).toMatchObject({
      mediaSessionId,
      status: 'Initial',
      offer: { sdp: offer },
      originatorAddress: `tel:${BOB}`,
      receiverAddress: `tel:${ALICE}`,
    });

    // [13]-[17] PUT InProgress with the device's answer → 183 with the RTP answer (early media).
    const full = { originatorAddress: `tel:${BOB}`, receiverAddress: `tel:${ALICE}`, offer: { sdp: offer } };
    const inProgress = await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
      ...full,
      status: 'InProgress',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });
    expect(inProgress).toMatchObject({ status: 'InProgress', answer: { sdp: FLOW_WEBRTC_ANSWER } });
    const progress = h.net.messages(inbound.callId).find((m) => m.status === 183);
    expect(progress?.headers.Require).toBe('100rel');
    expect(progress?.body).toContain('m=audio 50002 RTP/AVP 0 101');

    // [27]-[31] PUT Ringing → 180; [38]-[42] PUT Connected → 200 OK with SDP, ACK.
    expect(
      (
        await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
          ...full,
          status: 'Ringing',
          answer: { sdp: FLOW_WEBRTC_ANSWER },
        })
      ).status,
    ).toBe('Ringing');
    const connected = await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
      ...full,
      status: 'Connected',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });
    expect(connected.status).toBe('Connected');
    await settle(h.gw);
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
    // Only the invitation was notified: the client made the other changes itself.
    expect(summary(h.sink, ids.subscriptionId)).toEqual([
      { type: 'session-invitation', status: 'Initial', seq: 1, offer: true },
    ]);
  });

  it('accepts directly from Initial with Connected + answer (200 OK with SDP)', async () => {
    const { inbound, mediaSessionId } = await incoming();
    await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
      status: 'Connected',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });
    expect(inbound.flow().slice(-2)).toEqual(['>200/INVITE', '<ACK']);
  });

  it('3.4.2 the caller (SIP side) hangs up: BYE → Terminated (2), "Call terminated by originator"', async () => {
    const { inbound, mediaSessionId } = await incoming();
    await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
      status: 'Connected',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });
    inbound.hangUp();
    await settle(h.gw);
    expect(inbound.flow().slice(-2)).toEqual(['<BYE', '>200/BYE']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'Terminated',
      seq: 2,
      reason: 'Call terminated by originator',
    });
  });

  it('3.4.3 the receiver (WebRTC side) hangs up: DELETE → BYE → Terminated (2), "Call terminated by receiver"', async () => {
    const { inbound, mediaSessionId } = await incoming();
    await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
      status: 'Connected',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });
    await h.gw.calls.delete(auth(ALICE), mediaSessionId);
    await settle(h.gw);
    expect(inbound.flow().slice(-2)).toEqual(['>BYE', '<200/BYE']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'Terminated',
      seq: 2,
      reason: 'Call terminated by receiver',
    });
    expect(h.net.media.endpoints.size).toBe(0);
  });

  it('the far end holds and resumes an answered incoming call', async () => {
    const { inbound, mediaSessionId } = await incoming();
    await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
      status: 'Connected',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });
    inbound.hold();
    await settle(h.gw);
    inbound.resume();
    await settle(h.gw);
    expect(
      summary(h.sink, ids.subscriptionId)
        .slice(1)
        .map((e) => [e.status, e.seq]),
    ).toEqual([
      ['Hold', 2],
      ['Resume', 3],
    ]);
  });
});

describe('3.4.1 call termination, not answered', () => {
  it('PUT Declined rejects with 603 (the PUT answers, no event)', async () => {
    const { inbound, mediaSessionId } = await incoming();
    const declined = await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, { status: 'Declined' });
    expect(declined.status).toBe('Declined');
    await settle(h.gw);
    expect(inbound.flow().slice(-2)).toEqual(['>603', '<ACK']);
    expect(summary(h.sink, ids.subscriptionId)).toHaveLength(1);
  });

  it('PUT Busy rejects with 486', async () => {
    const { inbound, mediaSessionId } = await incoming();
    expect((await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, { status: 'Busy' })).status).toBe(
      'Busy',
    );
    expect(inbound.flow().slice(-2)).toEqual(['>486', '<ACK']);
  });

  it('DELETE before answering declines with 603 and reports Declined (2)', async () => {
    const { inbound, mediaSessionId } = await incoming();
    await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, { status: 'Ringing' });
    await h.gw.calls.delete(auth(ALICE), mediaSessionId);
    await settle(h.gw);
    expect(inbound.flow().slice(-2)).toEqual(['>603', '<ACK']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'Declined',
      seq: 2,
      reason: 'Call declined by receiver',
    });
  });

  it('the caller gives up (CANCEL): 487, SessionCancelled (2)', async () => {
    const { inbound, mediaSessionId } = await incoming();
    await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, { status: 'Ringing' });
    inbound.cancel();
    await settle(h.gw);
    expect(inbound.flow().slice(-4)).toEqual(['<CANCEL', '>200/CANCEL', '>487', '<ACK']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'SessionCancelled',
      seq: 2,
      reason: 'Call cancelled by originator',
    });
    await expect(
      h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
        status: 'Connected',
        answer: { sdp: FLOW_WEBRTC_ANSWER },
      }),
    ).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_ARGUMENT',
    });
  });

  it('nobody answers in time: 480 to the network, NoAnswer (2)', async () => {
    const { inbound } = await incoming();
    await settle(h.gw, 120_000);
    expect(inbound.flow().slice(-2)).toEqual(['>480', '<ACK']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'NoAnswer',
      seq: 2,
      reason: 'Not answered within 120 s',
    });
  });
});

describe('incoming calls that cannot be offered', () => {
  it('480 for a number without an active registration, and no session is stored', async () => {
    const inbound = h.net.callIn({ from: BOB, to: CAROL });
    await settle(h.gw);
    expect(inbound.flow()).toEqual(['<INVITE', '>100', '>480', '<ACK']);
    expect(h.store.counts().sessions).toBe(0);
  });

  it('480 when no subscription asked for session-invitation (the device would never know)', async () => {
    await h.gw.registrations.create(auth(CAROL), { deviceId: '11111111-2222-4333-8444-555555555555' });
    const inbound = h.net.callIn({ from: BOB, to: CAROL });
    await settle(h.gw);
    expect(inbound.flow().slice(-2)).toEqual(['>480', '<ACK']);
  });

  it('404 for a Request-URI without a subscriber number; 488 for unusable SDP', async () => {
    const noNumber = h.net.callIn({ from: BOB, toUri: 'sip:alice@operator.com' });
    const badSdp = h.net.callIn({ from: BOB, to: ALICE, sdp: 'v=0\r\ngarbage' });
    await settle(h.gw);
    expect(noNumber.flow().slice(-2)).toEqual(['>404', '<ACK']);
    expect(badSdp.flow().slice(-2)).toEqual(['>488', '<ACK']);
    expect(h.store.counts().sessions).toBe(0);
  });

  it('488 for a late-offer INVITE when the media backend cannot make offers', async () => {
    const media = h.net.media as { createOffers?: unknown };
    media.createOffers = undefined;
    const lateOffer = h.net.callIn({ from: BOB, to: ALICE, sdp: null });
    await settle(h.gw);
    expect(lateOffer.flow().slice(-2)).toEqual(['>488', '<ACK']);
    expect(h.store.counts().sessions).toBe(0);
  });
});

describe('late-offer INVITE (no SDP, RFC 3261 §13.2.1)', () => {
  it('the gateway offers G.711 to the device and in its 200; the answer in the ACK reaches the media endpoint', async () => {
    const inbound = h.net.callIn({ from: BOB, to: ALICE, sdp: null });
    await settle(h.gw);
    const invitation = h.sink.eventsFor(ids.subscriptionId).at(-1)!;
    const data = invitation.data as { mediaSessionId: string; offer: { sdp: string } };
    expect(invitation.type).toBe(EVENT_TYPES.sessionInvitation);
    const offer = checkWebRtcSdp(parseSdp(data.offer.sdp, 'offer'), 'offer', 'offer');
    expect(offer.audio.codecs.map((c) => c.name)).toEqual(['pcmu', 'pcma']);
    await h.gw.calls.updateStatus(auth(ALICE), data.mediaSessionId, {
      originatorAddress: `tel:${BOB}`,
      receiverAddress: `tel:${ALICE}`,
      status: 'Connected',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });
    await settle(h.gw);
    expect(inbound.flow()).toEqual(['<INVITE', '>100', '>200/INVITE', '<ACK']);
    const ok = h.net.messages(inbound.callId).find((m) => m.status === 200)!;
    expect(ok.body).toMatch(/^m=audio \d+ RTP\/AVP 0 8 101\r?$/m);
    const [endpoint] = h.net.media.endpoints.values();
    expect(endpoint!.rtpRemote?.audio.port).toBe(49_170);
    expect((await h.gw.calls.get(auth(ALICE), data.mediaSessionId)).status).toBe('Connected');
  });

  it('reports a caller without a usable identity as anonymous and strips control characters from names', async () => {
    h.net.callIn({ fromUri: 'sip:"evil"<x>@bad host', fromName: 'Mal\r\nlory\u202e', to: ALICE });
    await settle(h.gw);
    const data = h.sink.eventsFor(ids.subscriptionId).at(-1)!.data as Record<string, unknown>;
    expect(data).toMatchObject({
      originatorAddress: 'sip:anonymous@anonymous.invalid',
      originatorName: 'Mallory',
    });
  });
});
