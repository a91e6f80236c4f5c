/**
 * The call flows of CAMARA WebRTC (call-flows/*.md) over real SIP: the
 * gateway's embedded SIP stack against sipp peers on 127.0.0.1, driven through
 * the HTTP API, with the events a real HTTPS webhook receiver got.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_WEBRTC_ANSWER } from '../../packages/gateway/src/testing/index.js';
import { register, sessionBody, subscribe, TYPES } from '../conformance/support/fixtures.js';
import type { ReceivedEvent } from '../conformance/support/receiver.js';
import { ALICE, type SipTestbed, sequenceOf, startSipTestbed, statusesOf, until } from './support/harness.js';
import { freeUdpPort, haveSipp, startSipp } from './support/sipp.js';

const BOB = '+818000000002';
/** The device's answer to a G.711-only offer (the SIP phone offers PCMU/PCMA, so the gateway offers those to the device). */
const G711_ANSWER = FLOW_WEBRTC_ANSWER.replace('UDP/TLS/RTP/SAVPF 111', 'UDP/TLS/RTP/SAVPF 0').replace(
  'a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n',
  'a=rtpmap:0 PCMU/8000\r\n',
);

describe.skipIf(!haveSipp())('SIP call flows against sipp', () => {
  let bed: SipTestbed;
  let sippPort: number;

  beforeAll(async () => {
    sippPort = await freeUdpPort();
    bed = await startSipTestbed(sippPort);
  });
  afterAll(async () => {
    await bed?.close();
  });

  /** A registered device of ALICE with a subscription to every event type. */
  async function device() {
    const reg = await register(bed.gw, ALICE);
    const subscriptionId = await subscribe(bed.gw, bed.receiver, reg.deviceId, ALICE, {
      types: [TYPES.invitation, TYPES.status],
    });
    const client = bed.gw.callHandling({ token: await bed.gw.token(ALICE) });
    return { ...reg, subscriptionId, client };
  }

  async function placeCall(user: Awaited<ReturnType<typeof device>>, to = BOB) {
    const { data, error, response } = await user.client.createSession({
      params: { header: { registrationId: user.registrationId } },
      body: sessionBody(to) as never,
    });
    expect(error, `createSession ${response.status} ${JSON.stringify(error)}`).toBeUndefined();
    const session = await bed.gw.gateway.store.getSession(data!.mediaSessionId);
    return { mediaSessionId: data!.mediaSessionId, callId: session!.callId };
  }

  const untilStatus = (status: string) => (events: ReceivedEvent[]) => statusesOf(events).includes(status);

  /** A sipp caller running `scenario` toward ALICE's new device, up to the invitation the device got. */
  async function incomingCall(scenario: string) {
    const user = await device();
    const peer = await startSipp({
      scenario,
      port: await freeUdpPort(),
      target: bed.sipAddress,
      service: ALICE,
    });
    const [invitation] = await bed.receiver.waitFor(user.subscriptionId, (events) =>
      events.some((e) => e.type === TYPES.invitation),
    );
    const { mediaSessionId, offer } = invitation!.data as { mediaSessionId: string; offer: { sdp: string } };
    const callId = (await bed.gw.gateway.store.getSession(mediaSessionId))!.callId;
    return { user, peer, mediaSessionId, offer, callId };
  }

  it('answered call: INVITE with user=phone URIs, reliable 180 and 183 with SDP (PRACKed), 200 → ACK; DELETE sends BYE', async () => {
    const peer = await startSipp({ scenario: 'uas-answer-reliable.xml', port: sippPort });
    const user = await device();
    const { mediaSessionId, callId } = await placeCall(user);
    await bed.receiver.waitFor(user.subscriptionId, untilStatus('Connected'));
    const deleted = await user.client.deleteSessionById({ params: { path: { mediaSessionId } } });
    expect(deleted.response.status).toBe(204);
    const events = await bed.receiver.waitFor(user.subscriptionId, untilStatus('Terminated'));
    expect(await peer.done).toMatchObject({ code: 0 });

    expect(bed.flow(callId)).toEqual([
      '>INVITE',
      '<100',
      '<180',
      '>PRACK',
      '<200/PRACK',
      '<183',
      '>PRACK',
      '<200/PRACK',
      '<200',
      '>ACK',
      '>BYE',
      '<200/BYE',
    ]);
    const [invite] = bed.messages(callId);
    const request = invite!.message;
    expect(request.kind === 'request' && request.uri).toBe(`sip:${BOB}@tn.operator.com;user=phone`);
    expect(request.headers.get('from')).toMatch(
      new RegExp(`^"Alice" <sip:\\${ALICE}@operator.com;user=phone>;tag=\\w+$`),
    );
    // As in call flow 3.3.1 [10]: the To carries no display name.
    expect(request.headers.get('to')).toBe(`<sip:${BOB}@tn.operator.com;user=phone>`);
    expect(request.headers.getAll('supported')).toEqual(['100rel', 'timer']);
    expect(request.headers.get('content-type')).toBe('application/sdp');
    expect(request.body.toString()).toMatch(/^m=audio \d+ RTP\/AVP [0-9 ]+\r$/m);
    const pracks = bed.messages(callId).filter((t) => t.method === 'PRACK' && t.direction === 'out');
    expect(pracks.map((t) => t.message.headers.get('rack'))).toEqual(['1 1 INVITE', '2 1 INVITE']);
    // The gateway's WebRTC answer reaches the device with the first SDP of the far end (the 183).
    const statuses = statusesOf(bed.receiver.eventsFor(user.subscriptionId));
    expect(statuses).toEqual(['Ringing', 'InProgress', 'Connected', 'Terminated']);
    const seq = sequenceOf(events.filter((e) => e.type === TYPES.status));
    expect(seq).toEqual([...seq].sort((a, b) => (a ?? 0) - (b ?? 0)));
  });

  it('busy: 486 is acknowledged and the session ends Busy', async () => {
    const peer = await startSipp({ scenario: 'uas-busy.xml', port: sippPort });
    const user = await device();
    const { callId } = await placeCall(user);
    await bed.receiver.waitFor(user.subscriptionId, untilStatus('Busy'));
    expect(await peer.done).toMatchObject({ code: 0 });
    expect(bed.flow(callId)).toEqual(['>INVITE', '<100', '<486', '>ACK']);
  });

  it('no answer: DELETE while ringing sends CANCEL; the 487 is acknowledged and the session ends SessionCancelled', async () => {
    const peer = await startSipp({ scenario: 'uas-ring-cancel.xml', port: sippPort });
    const user = await device();
    const { mediaSessionId, callId } = await placeCall(user);
    await bed.receiver.waitFor(user.subscriptionId, untilStatus('Ringing'));
    const deleted = await user.client.deleteSessionById({ params: { path: { mediaSessionId } } });
    expect(deleted.response.status).toBe(204);
    await bed.receiver.waitFor(user.subscriptionId, untilStatus('SessionCancelled'));
    expect(await peer.done).toMatchObject({ code: 0 });
    expect(bed.flow(callId)).toEqual(['>INVITE', '<180', '>CANCEL', '<200/CANCEL', '<487', '>ACK']);
    const cancel = bed.messages(callId).find((t) => t.method === 'CANCEL')!.message;
    const invite = bed.messages(callId)[0]!.message;
    // RFC 3261 §9.1: the CANCEL shares the INVITE's branch, Call-ID, From, To and CSeq number.
    expect(cancel.headers.getAll('via')[0]).toBe(invite.headers.getAll('via')[0]);
    expect(cancel.headers.get('cseq')).toBe('1 CANCEL');
  });

  it('remote BYE: the far end hangs up and the session ends Terminated, by the receiver', async () => {
    const peer = await startSipp({ scenario: 'uas-remote-bye.xml', port: sippPort });
    const user = await device();
    const { callId } = await placeCall(user);
    const events = await bed.receiver.waitFor(user.subscriptionId, untilStatus('Terminated'));
    expect(await peer.done).toMatchObject({ code: 0 });
    expect(bed.flow(callId)).toEqual(['>INVITE', '<200', '>ACK', '<BYE', '>200/BYE']);
    const ended = events.filter((e) => e.type === TYPES.status).at(-1)!;
    expect(ended.data).toMatchObject({ status: 'Terminated', reason: 'Call terminated by receiver' });
  });

  it('hold and resume both ways: re-INVITEs with sendonly/sendrecv, and the far end’s reported as events', async () => {
    const peer = await startSipp({ scenario: 'uas-hold-resume.xml', port: sippPort });
    const user = await device();
    const { mediaSessionId, callId } = await placeCall(user);
    await bed.receiver.waitFor(user.subscriptionId, untilStatus('Connected'));
    for (const status of ['Hold', 'Resume'] as const) {
      const changed = await user.client.updateSessionStatus({
        params: { path: { mediaSessionId } },
        body: { status },
      });
      expect(changed.response.status, JSON.stringify(changed.error)).toBe(200);
      expect(changed.data?.status).toBe(status);
    }
    await bed.receiver.waitFor(
      user.subscriptionId,
      (events) =>
        statusesOf(events).filter((s) => s === 'Hold').length === 1 &&
        statusesOf(events).includes('Terminated'),
    );
    expect(await peer.done).toMatchObject({ code: 0 });
    const reinvites = bed
      .messages(callId)
      .filter((t) => t.direction === 'out' && t.method === 'INVITE' && t.status === undefined)
      .slice(1);
    expect(
      reinvites.map((t) => /a=(sendonly|sendrecv|inactive)/.exec(t.message.body.toString())?.[1]),
    ).toEqual(['sendonly', 'sendrecv']);
    // The far end's own hold and resume (its re-INVITEs) are what the device hears of: Hold, Resume.
    expect(statusesOf(bed.receiver.eventsFor(user.subscriptionId))).toEqual([
      'Connected',
      'Hold',
      'Resume',
      'Terminated',
    ]);
    const answers = bed
      .messages(callId)
      .filter((t) => t.direction === 'out' && t.status === 200 && t.method === 'INVITE');
    expect(
      answers.map((t) => /a=(sendonly|sendrecv|recvonly|inactive)/.exec(t.message.body.toString())?.[1]),
    ).toEqual(['recvonly', 'sendrecv']);
  });

  it('incoming call answered through the API: 100, reliable 183 with the answer, PRACK, 200 → ACK; the caller hangs up', async () => {
    const { user, peer, mediaSessionId, callId } = await incomingCall('uac-inbound-answer.xml');
    const progress = await user.client.updateSessionStatus({
      params: { path: { mediaSessionId } },
      body: { status: 'InProgress', answer: { sdp: G711_ANSWER } },
    });
    expect(progress.response.status, JSON.stringify(progress.error)).toBe(200);
    await until(() => bed.flow(callId).includes('>200/PRACK'), 'the PRACK of the 183');
    const accepted = await user.client.updateSessionStatus({
      params: { path: { mediaSessionId } },
      body: { status: 'Connected' },
    });
    expect(accepted.response.status, JSON.stringify(accepted.error)).toBe(200);
    await bed.receiver.waitFor(user.subscriptionId, untilStatus('Terminated'));
    expect(await peer.done).toMatchObject({ code: 0 });
    expect(bed.flow(callId)).toEqual([
      '<INVITE',
      '>100',
      '>183',
      '<PRACK',
      '>200/PRACK',
      '>200',
      '<ACK',
      '<BYE',
      '>200/BYE',
    ]);
    const provisional = bed.messages(callId).find((t) => t.status === 183)!.message;
    expect(provisional.headers.get('require')).toBe('100rel');
    expect(provisional.body.toString()).toMatch(/^m=audio \d+ RTP\/AVP/m);
  });

  it('incoming late-offer call (INVITE without SDP): unreliable 183 without SDP, the gateway offers in its 200, the answer comes in the ACK', async () => {
    const { user, peer, mediaSessionId, offer, callId } = await incomingCall('uac-inbound-late-offer.xml');
    // The device is offered what the SIP side will surely take, and the relay needs no transcoder for: G.711.
    expect(offer.sdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 8 /m);
    const progress = await user.client.updateSessionStatus({
      params: { path: { mediaSessionId } },
      body: { status: 'InProgress', answer: { sdp: G711_ANSWER } },
    });
    expect(progress.response.status, JSON.stringify(progress.error)).toBe(200);
    await until(() => bed.flow(callId).includes('>183'), 'the 183');
    const accepted = await user.client.updateSessionStatus({
      params: { path: { mediaSessionId } },
      body: { status: 'Connected' },
    });
    expect(accepted.response.status, JSON.stringify(accepted.error)).toBe(200);
    const events = await bed.receiver.waitFor(user.subscriptionId, untilStatus('Terminated'));
    expect(await peer.done).toMatchObject({ code: 0 });
    expect(bed.flow(callId)).toEqual(['<INVITE', '>100', '>183', '>200', '<ACK', '<BYE', '>200/BYE']);
    const provisional = bed.messages(callId).find((t) => t.status === 183)!.message;
    expect(provisional.headers.get('require')).toBeUndefined();
    expect(provisional.body.length).toBe(0);
    const ok = bed.messages(callId).find((t) => t.status === 200 && t.method === 'INVITE')!.message;
    expect(ok.headers.get('content-type')).toBe('application/sdp');
    expect(ok.body.toString()).toMatch(/^m=audio \d+ RTP\/AVP 0 8 101\r$/m);
    const ack = bed.messages(callId).find((t) => t.method === 'ACK')!.message;
    expect(ack.body.toString()).toMatch(/^m=audio \d+ RTP\/AVP 8\r$/m);
    // The caller hung up a connected call: the ACK's answer was taken, no BYE from the gateway.
    expect(statusesOf(events)).toEqual(['Terminated']);
    expect(sequenceOf(events)).toEqual([1, 2]);
  });

  it('incoming late-offer call whose ACK has no answer: the gateway ends it with BYE, session Failed', async () => {
    const { user, peer, mediaSessionId, callId } = await incomingCall('uac-inbound-late-offer-no-answer.xml');
    const accepted = await user.client.updateSessionStatus({
      params: { path: { mediaSessionId } },
      body: { status: 'Connected', answer: { sdp: G711_ANSWER } },
    });
    expect(accepted.response.status, JSON.stringify(accepted.error)).toBe(200);
    const events = await bed.receiver.waitFor(user.subscriptionId, untilStatus('Failed'));
    expect(await peer.done).toMatchObject({ code: 0 });
    expect(bed.flow(callId)).toEqual(['<INVITE', '>100', '>200', '<ACK', '>BYE', '<200/BYE']);
    const failed = events.at(-1)!.data as { reason: string };
    expect(failed.reason).toBe('The caller acknowledged the offer without an SDP answer');
  });

  it('incoming call cancelled by the caller: 200 to the CANCEL, 487 to the INVITE, session ends SessionCancelled', async () => {
    const user = await device();
    const peer = await startSipp({
      scenario: 'uac-inbound-cancel.xml',
      port: await freeUdpPort(),
      target: bed.sipAddress,
      service: ALICE,
    });
    const events = await bed.receiver.waitFor(user.subscriptionId, untilStatus('SessionCancelled'));
    expect(await peer.done).toMatchObject({ code: 0 });
    expect(events.map((e) => e.type)).toEqual([TYPES.invitation, TYPES.status]);
    expect(sequenceOf(events)).toEqual([1, 2]);
  });

  it('incoming call declined through the API: 603 is sent and acknowledged', async () => {
    const { user, peer, mediaSessionId, callId } = await incomingCall('uac-inbound-decline.xml');
    const declined = await user.client.deleteSessionById({ params: { path: { mediaSessionId } } });
    expect(declined.response.status).toBe(204);
    expect(await peer.done).toMatchObject({ code: 0 });
    expect(bed.flow(callId)).toEqual(['<INVITE', '>100', '>603', '<ACK']);
  });

  it.each([
    ['receiverAddress', { receiverAddress: 'tel:+818000000002>;x=<sip:evil@example.com' }],
    ['receiverAddress', { receiverAddress: 'sip:bob@example.com\r\nX-Injected: 1' }],
    ['receiverAddress', { receiverAddress: 'sip:bob@example.com;maddr=127.0.0.9' }],
    ['originatorName', { originatorName: 'Alice\r\nX-Injected: 1' }],
    ['receiverName', { receiverName: 'Bob\u0000' }],
  ])('refuses an injection in %s with 400 before any SIP is sent', async (_field, overrides) => {
    const user = await device();
    const before = bed.trace.length;
    const { error, response } = await user.client.createSession({
      params: { header: { registrationId: user.registrationId } },
      body: sessionBody(BOB, ALICE, overrides) as never,
    });
    expect(response.status).toBe(400);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });
    expect(bed.trace.slice(before).filter((t) => t.method === 'INVITE')).toEqual([]);
  });

  it('quotes and escapes a display name in From', async () => {
    const peer = await startSipp({ scenario: 'uas-busy.xml', port: sippPort });
    const user = await device();
    const { data, response } = await user.client.createSession({
      params: { header: { registrationId: user.registrationId } },
      body: sessionBody(BOB, ALICE, { originatorName: 'Al "the" \\ice' }) as never,
    });
    expect(response.status).toBe(201);
    await peer.done;
    const callId = (await bed.gw.gateway.store.getSession(data!.mediaSessionId))!.callId;
    const invite = bed.messages(callId)[0]!.message;
    expect(invite.headers.get('from')).toMatch(/^"Al \\"the\\" \\\\ice" <sip:/);
  });
});
