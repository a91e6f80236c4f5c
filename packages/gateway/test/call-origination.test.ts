/**
 * Call flow 3.3 (call_origination_and_disconnection.md): the WebRTC side calls
 * a number in the telco network, through the domain services and the
 * loopback SIP network.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkWebRtcSdp, parseSdp } from '../src/index.js';
import { ALICE, auth, BOB, createBody, type Harness, harness, onboard, settle, summary } from './helpers.js';

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

async function call(overrides: Record<string, unknown> = {}) {
  const created = await h.gw.calls.create(auth(ALICE), ids.registrationId, createBody(overrides));
  const callId = h.net.outgoingCallId(0)!;
  return { created, callId };
}

describe('3.3.1 call origination, answered', () => {
  it('returns 201 Initial after 100 Trying, then reports 183/180/200 as InProgress, Ringing, Connected (1, 2, 3)', async () => {
    const { created, callId } = await call();
    // [14] 201 Created: Initial, the offer, no answer yet.
    expect(created).toMatchObject({
      originatorAddress: `tel:${ALICE}`,
      originatorName: 'Alice',
      receiverAddress: `tel:${BOB}`,
      receiverName: 'Bob',
      status: 'Initial',
      offer: { sdp: (createBody().offer as { sdp: string }).sdp },
    });
    expect(created.answer).toBeUndefined();
    expect(created.mediaSessionId).toMatch(/^[0-9A-F]{48}$/);
    expect(h.net.flow(callId)).toEqual(['>INVITE', '<100']);

    // [10] SIP INVITE: From the token's number with the display name, To/R-URI in the network domain.
    const invite = h.net.messages(callId)[0]!;
    expect(invite.headers).toMatchObject({
      'Request-URI': `sip:${BOB}@tn.operator.com;user=phone`,
      From: `"Alice" <sip:${ALICE}@operator.com;user=phone>`,
      To: `<sip:${BOB}@tn.operator.com;user=phone>`,
      Supported: '100rel, timer',
    });
    expect(invite.body).toContain('m=audio 50002 RTP/AVP 0 8 101');

    await settle(h.gw, 1000);
    expect(h.net.flow(callId)).toEqual([
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
    expect(summary(h.sink, ids.subscriptionId)).toEqual([
      {
        type: 'session-status',
        status: 'InProgress',
        seq: 1,
        offer: true,
        answer: true,
        reason: '183 Session Progress received from remote endpoint',
      },
      {
        type: 'session-status',
        status: 'Ringing',
        seq: 2,
        reason: '180 Ringing received from remote endpoint',
      },
      {
        type: 'session-status',
        status: 'Connected',
        seq: 3,
        offer: true,
        answer: true,
        reason: '200 OK received - call connected',
      },
    ]);

    // [18] the event envelope and data as the flow shows them.
    const [first] = h.sink.eventsFor(ids.subscriptionId);
    expect(first).toMatchObject({
      source: 'urn:telegate:gateway',
      type: 'org.camaraproject.webrtc-events.v0.session-status',
      specversion: '1.0',
      datacontenttype: 'application/json',
      time: '2025-02-05T10:30:00.100Z',
      data: {
        subscriptionId: ids.subscriptionId,
        mediaSessionId: created.mediaSessionId,
        originatorAddress: `tel:${ALICE}`,
        originatorName: 'Alice',
        receiverAddress: `tel:${BOB}`,
        receiverName: 'Bob',
        status: 'InProgress',
      },
    });
    // The answer is the gateway's WebRTC answer (DTLS active to the device's actpass), a valid SDP.
    const answer = (first!.data as { answer: { sdp: string } }).answer.sdp;
    const checked = checkWebRtcSdp(parseSdp(answer, 'answer'), 'answer', 'answer');
    expect(checked.audio.setup).toBe('active');
    expect(checked.audio.codecs[0]?.name).toBe('opus');

    const read = await h.gw.calls.get(auth(ALICE), created.mediaSessionId);
    expect(read).toMatchObject({ status: 'Connected', answer: { sdp: answer } });
  });
});

describe('3.3.1 call origination, not answered', () => {
  it.each([
    ['busy (486)', { kind: 'busy' } as const, 'Busy', '486 Busy Here received from remote endpoint'],
    [
      'declined (603)',
      { kind: 'decline', atMs: 300, progress: [{ status: 180, atMs: 100 }] } as const,
      'Declined',
      '603 Decline received from remote endpoint',
    ],
    [
      'not reachable (404)',
      { kind: 'reject', status: 404 } as const,
      'NotReachable',
      '404 Not Found received from remote endpoint',
    ],
    [
      'not reachable (480 before alerting)',
      { kind: 'reject', status: 480 } as const,
      'NotReachable',
      '480 Temporarily Unavailable received from remote endpoint',
    ],
    [
      'no answer (480 after ringing)',
      { kind: 'no-answer', atMs: 5000 } as const,
      'NoAnswer',
      '480 Temporarily Unavailable received from remote endpoint',
    ],
    [
      'failed (500)',
      { kind: 'reject', status: 500 } as const,
      'Failed',
      '500 Server Internal Error received from remote endpoint',
    ],
  ])(
    'reports %s as a final status and frees the media endpoint',
    async (_name, behaviour, status, reason) => {
      h.net.setBehaviour(BOB, behaviour);
      const { created, callId } = await call();
      await settle(h.gw, 10_000);
      const events = summary(h.sink, ids.subscriptionId);
      expect(events.at(-1)).toEqual({ type: 'session-status', status, seq: events.length, reason });
      expect(h.net.flow(callId).slice(-2)).toEqual([expect.stringMatching(/^<[4-6]\d\d$/), '>ACK']);
      expect((await h.gw.calls.get(auth(ALICE), created.mediaSessionId)).status).toBe(status);
      expect(h.net.media.endpoints.size).toBe(0);
      expect(h.gw.calls.live).toHaveLength(0);
    },
  );

  it('cancels a call ringing forever when the no-answer timer fires (CANCEL, 487, NoAnswer)', async () => {
    await h.gw.close();
    h = harness({ calls: { noAnswerTimeoutMs: 30_000 } });
    ids = await onboard(h.gw);
    h.net.setBehaviour(BOB, { kind: 'ring-forever' });
    const { callId } = await call();
    await settle(h.gw, 29_999);
    expect(summary(h.sink, ids.subscriptionId).map((e) => e.status)).toEqual(['InProgress', 'Ringing']);
    await settle(h.gw, 1);
    expect(h.net.flow(callId).slice(-4)).toEqual(['>CANCEL', '<200/CANCEL', '<487', '>ACK']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'NoAnswer',
      seq: 3,
      reason: 'No answer within 30 s',
    });
  });

  it('uses prefix behaviours (longest prefix wins) and 181/182 as Proceeding/Waiting', async () => {
    h.net.setBehaviour('+8180*', { kind: 'busy' });
    h.net.setBehaviour('+81800000000*', {
      kind: 'answer',
      progress: [
        { status: 181, atMs: 10 },
        { status: 182, atMs: 20 },
        { status: 183, atMs: 30 },
      ],
      answerAtMs: 40,
    });
    await call();
    await settle(h.gw, 100);
    expect(summary(h.sink, ids.subscriptionId).map((e) => [e.status, e.seq])).toEqual([
      ['Proceeding', 1],
      ['Waiting', 2],
      ['InProgress', 3],
      ['Connected', 4],
    ]);
  });
});

describe('3.3.1 call origination, cancelled by the originator', () => {
  it('DELETE before the answer sends CANCEL; the 487 ends the session as SessionCancelled', async () => {
    h.net.setBehaviour(BOB, { kind: 'ring-forever' });
    const { created, callId } = await call();
    await settle(h.gw, 500);
    await h.gw.calls.delete(auth(ALICE), created.mediaSessionId);
    await settle(h.gw);
    expect(h.net.flow(callId).slice(-4)).toEqual(['>CANCEL', '<200/CANCEL', '<487', '>ACK']);
    expect(summary(h.sink, ids.subscriptionId)).toEqual([
      expect.objectContaining({ status: 'InProgress', seq: 1 }),
      expect.objectContaining({ status: 'Ringing', seq: 2 }),
      { type: 'session-status', status: 'SessionCancelled', seq: 3, reason: 'Call cancelled by originator' },
    ]);
    // A second DELETE finds the session ended.
    await expect(h.gw.calls.delete(auth(ALICE), created.mediaSessionId)).rejects.toMatchObject({
      status: 404,
    });
  });

  it('a 200 OK crossing the CANCEL is ACKed and ended with BYE (RFC 3261 §9.1)', async () => {
    h.net.setBehaviour(BOB, { kind: 'ring-forever' });
    const { created, callId } = await call();
    await settle(h.gw, 500);
    // The far end answers while our CANCEL is on its way.
    const sip = h.net.sip;
    const original = sip.cancel.bind(sip);
    sip.cancel = async (id: string) => {
      sip.dialogs.get(id)!.state = 'confirmed';
      sip.log(id, 'in', 'INVITE', 200);
      sip.log(id, 'out', 'ACK');
      sip.fire('answered', { callId: id, sdp: sip.farEndSdp() });
      return original(id);
    };
    await h.gw.calls.delete(auth(ALICE), created.mediaSessionId);
    await settle(h.gw);
    expect(h.net.flow(callId).slice(-4)).toEqual(['<200/INVITE', '>ACK', '>BYE', '<200/BYE']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toMatchObject({ status: 'SessionCancelled' });
  });
});

describe('3.3.2 / 3.3.3 disconnection', () => {
  it('3.3.2 by the originator: DELETE returns, BYE follows, Terminated (4) after its 200 OK', async () => {
    const { created, callId } = await call();
    await settle(h.gw, 1000);
    await h.gw.calls.delete(auth(ALICE), created.mediaSessionId);
    await settle(h.gw);
    expect(h.net.flow(callId).slice(-2)).toEqual(['>BYE', '<200/BYE']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'Terminated',
      seq: 4,
      reason: 'Call terminated by originator',
    });
    expect(h.net.media.endpoints.size).toBe(0);
  });

  it('3.3.3 by the receiver: a BYE from the network ends the session, Terminated (4)', async () => {
    const { created, callId } = await call();
    await settle(h.gw, 1000);
    h.net.hangUp(callId);
    await settle(h.gw);
    expect(h.net.flow(callId).slice(-2)).toEqual(['<BYE', '>200/BYE']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'Terminated',
      seq: 4,
      reason: 'Call terminated by receiver',
    });
    expect((await h.gw.calls.get(auth(ALICE), created.mediaSessionId)).status).toBe('Terminated');
  });

  it("the device's media failing (page closed, ICE/DTLS failed) ends an answered call: BYE, Failed (4)", async () => {
    const { created, callId } = await call();
    await settle(h.gw, 1000);
    const [endpoint] = [...h.net.media.endpoints.values()];
    endpoint!.fail();
    await settle(h.gw);
    expect(h.net.flow(callId).slice(-2)).toEqual(['>BYE', '<200/BYE']);
    expect(summary(h.sink, ids.subscriptionId).at(-1)).toEqual({
      type: 'session-status',
      status: 'Failed',
      seq: 4,
      reason: 'Media with the device failed: the device closed its media connection',
    });
    expect((await h.gw.calls.get(auth(ALICE), created.mediaSessionId)).status).toBe('Failed');
    expect(h.net.media.endpoints.size).toBe(0);
  });

  it('an ended session stays readable for the retention time, then is 404', async () => {
    const { created, callId } = await call();
    await settle(h.gw, 1000);
    h.net.hangUp(callId);
    await settle(h.gw, 59_000);
    expect((await h.gw.calls.get(auth(ALICE), created.mediaSessionId)).status).toBe('Terminated');
    await settle(h.gw, 1_000);
    await expect(h.gw.calls.get(auth(ALICE), created.mediaSessionId)).rejects.toMatchObject({ status: 404 });
    expect(h.store.counts().sessions).toBe(0);
  });
});

describe('hold and resume', () => {
  it('PUT Hold / Resume send re-INVITEs (sendonly / sendrecv); the PUT answers, no event', async () => {
    const { created, callId } = await call();
    await settle(h.gw, 1000);
    const before = h.sink.deliveries.length;
    const held = await h.gw.calls.updateStatus(auth(ALICE), created.mediaSessionId, { status: 'Hold' });
    expect(held.status).toBe('Hold');
    const reinvite = h.net
      .messages(callId)
      .filter((m) => m.method === 'INVITE' && m.direction === 'out')
      .at(-1);
    expect(reinvite?.body).toContain('a=sendonly');
    const resumed = await h.gw.calls.updateStatus(auth(ALICE), created.mediaSessionId, { status: 'Resume' });
    expect(resumed.status).toBe('Resume');
    expect(
      h.net
        .messages(callId)
        .filter((m) => m.method === 'INVITE' && m.direction === 'out')
        .at(-1)?.body,
    ).toContain('a=sendrecv');
    // Hold again from Resume.
    expect(
      (await h.gw.calls.updateStatus(auth(ALICE), created.mediaSessionId, { status: 'Hold' })).status,
    ).toBe('Hold');
    await settle(h.gw);
    expect(h.sink.deliveries.length).toBe(before);
  });

  it('hold from the far end (re-INVITE sendonly) is answered and reported as Hold, then Resume', async () => {
    const { callId } = await call();
    await settle(h.gw, 1000);
    h.net.farEndHold(callId, true);
    await settle(h.gw);
    h.net.farEndHold(callId, false);
    await settle(h.gw);
    expect(h.net.flow(callId).slice(-6)).toEqual([
      '<INVITE',
      '>200/INVITE',
      '<ACK',
      '<INVITE',
      '>200/INVITE',
      '<ACK',
    ]);
    const answer = h.net.messages(callId).filter((m) => m.status === 200 && m.direction === 'out')[0];
    expect(answer?.body).toContain('a=recvonly');
    expect(summary(h.sink, ids.subscriptionId).slice(-2)).toEqual([
      { type: 'session-status', status: 'Hold', seq: 4, reason: 'Call put on hold by remote endpoint' },
      { type: 'session-status', status: 'Resume', seq: 5, reason: 'Call resumed by remote endpoint' },
    ]);
  });

  it('a new device offer with the current status renegotiates the WebRTC side only', async () => {
    const { created, callId } = await call();
    await settle(h.gw, 1000);
    const sipBefore = h.net.messages(callId).length;
    const reoffer = (createBody().offer as { sdp: string }).sdp.replace(
      'a=ice-ufrag:4eKp',
      'a=ice-ufrag:9xYz',
    );
    const updated = await h.gw.calls.updateStatus(auth(ALICE), created.mediaSessionId, {
      status: 'Connected',
      offer: { sdp: reoffer },
    });
    expect(updated.offer.sdp).toContain('a=ice-ufrag:9xYz');
    expect(updated.answer?.sdp).not.toBe(created.answer?.sdp);
    expect(h.net.messages(callId).length).toBe(sipBefore);
  });
});

describe('ended calls during the session retention', () => {
  it('only the stored record stays: the call session and its media endpoint can be collected at once', async () => {
    // The retention timer used to hold the whole session (dialog, endpoint, listeners) for 60 s.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { created } = await call();
    const session = new WeakRef(h.gw.calls.session(created.mediaSessionId)!);
    expect(session.deref()).toBeDefined();
    await settle(h.gw, 1000);
    await h.gw.calls.delete(auth(ALICE), created.mediaSessionId);
    await settle(h.gw);
    expect(h.gw.calls.session(created.mediaSessionId)).toBeUndefined();
    for (let round = 0; round < 3 && session.deref() !== undefined; round++) {
      await vi.advanceTimersByTimeAsync(0);
      gc();
    }
    expect(session.deref()).toBeUndefined();
    // The record is still served for the retention.
    expect((await h.gw.calls.get(auth(ALICE), created.mediaSessionId)).status).toBe('Terminated');
  });
});
