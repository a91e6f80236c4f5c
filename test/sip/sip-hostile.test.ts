/**
 * Hostile SIP at the gateway: malformed, oversized, looping, untrusted and
 * injection-laden messages get their RFC 3261 answer or are dropped, the
 * gateway keeps serving, and nothing reaches the API that the spec forbids.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, subscribe, TYPES } from '../conformance/support/fixtures.js';
import { ALICE, type SipTestbed, startSipTestbed } from './support/harness.js';
import { freeUdpPort } from './support/sipp.js';

describe('hostile SIP input', () => {
  let bed: SipTestbed;
  let peer: Socket;
  let outsider: Socket;
  let gatewayPort: number;
  const replies: string[] = [];

  beforeAll(async () => {
    bed = await startSipTestbed(await freeUdpPort());
    gatewayPort = Number(bed.sipAddress.split(':')[1]);
    peer = createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    peer.on('message', (data) => replies.push(data.toString('utf8')));
    // 127.0.0.7 is loopback too, but not a trusted peer of this gateway (only 127.0.0.1 is).
    outsider = createSocket('udp4');
    await new Promise<void>((resolve) => outsider.bind(0, '127.0.0.7', resolve));
    outsider.on('message', (data) => replies.push(data.toString('utf8')));
  });
  afterAll(async () => {
    peer?.close();
    outsider?.close();
    await bed?.close();
  });

  const port = () => peer.address().port;
  const request = (method: string, callId: string, extra: string[] = [], body = '', branch = callId) =>
    [
      `${method} sip:${ALICE}@127.0.0.1:${gatewayPort};user=phone SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port()};branch=z9hG4bK${branch};rport`,
      'Max-Forwards: 70',
      `From: "Bob" <sip:+818000000002@tn.operator.com;user=phone>;tag=${callId}`,
      `To: <sip:${ALICE}@operator.com;user=phone>`,
      `Call-ID: ${callId}`,
      `CSeq: 1 ${method}`,
      `Contact: <sip:+818000000002@127.0.0.1:${port()}>`,
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  const send = (text: string | Buffer, from: Socket = peer) =>
    new Promise<void>((resolve) => from.send(text, gatewayPort, '127.0.0.1', () => resolve()));
  async function answerTo(callId: string, status?: number): Promise<string> {
    const deadline = Date.now() + 3_000;
    for (;;) {
      const found = replies.find(
        (r) =>
          r.includes(`Call-ID: ${callId}\r\n`) &&
          (status === undefined || r.startsWith(`SIP/2.0 ${status} `)),
      );
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no answer for ${callId}; got ${JSON.stringify(replies.slice(-3))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const stillServing = async (tag: string) => {
    await send(request('OPTIONS', `alive-${tag}`));
    expect((await answerTo(`alive-${tag}`)).split('\r\n')[0]).toBe('SIP/2.0 200 OK');
  };

  it.each([
    [
      'a request without Call-ID',
      (id: string) => request('OPTIONS', id).replace(/Call-ID: .*\r\n/, ''),
      undefined,
    ],
    [
      'a CSeq whose method differs',
      (id: string) => request('OPTIONS', id).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE'),
      400,
    ],
    [
      'Content-Length that is no number',
      (id: string) => request('OPTIONS', id).replace(/Content-Length: \d+/, 'Content-Length: abc'),
      400,
    ],
    [
      'Max-Forwards: 0',
      (id: string) => request('INVITE', id, [], '').replace('Max-Forwards: 70', 'Max-Forwards: 0'),
      483,
    ],
    ['an extension it does not support', (id: string) => request('INVITE', id, ['Require: foo'], ''), 420],
    [
      'a body that is not SDP',
      (id: string) => request('INVITE', id, ['Content-Type: text/plain'], 'hello'),
      415,
    ],
    ['an unknown method', (id: string) => request('FROBNICATE', id), 501],
    ['BYE for no dialog', (id: string) => request('BYE', id).replace(/To: (.*)/, 'To: $1;tag=nope'), 481],
    [
      'a __proto__ Via parameter',
      (id: string) => request('OPTIONS', id).replace(';rport', ';rport;__proto__=x;constructor'),
      200,
    ],
  ])('%s', async (_what, build, status) => {
    const id = `h${Math.random().toString(36).slice(2)}`;
    await send(build(id));
    if (status !== undefined)
      expect((await answerTo(id)).split('\r\n')[0]).toMatch(new RegExp(`^SIP/2\\.0 ${status} `));
    await stillServing(id);
  });

  it('drops an oversized datagram and a request from an untrusted address gets 403', async () => {
    await send(request('MESSAGE', 'big', ['Content-Type: text/plain'], 'A'.repeat(40_000)));
    await send(request('OPTIONS', 'outsider'), outsider);
    expect((await answerTo('outsider')).split('\r\n')[0]).toBe('SIP/2.0 403 Forbidden');
    await stillServing('after-big');
    expect(replies.some((r) => r.includes('Call-ID: big\r\n'))).toBe(false);
  });

  it('an INVITE whose display name hides a URI and a bidi override: the caller is the real From URI, the name is cleaned', async () => {
    const reg = await register(bed.gw, ALICE);
    const subscriptionId = await subscribe(bed.gw, bed.receiver, reg.deviceId, ALICE, {
      types: [TYPES.invitation],
    });
    const sdp =
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
    const invite = request('INVITE', 'evil-name', ['Content-Type: application/sdp'], sdp).replace(
      '"Bob" <sip:+818000000002',
      '"Bob\u202e\\" <sip:evil@example.com>" <sip:+818000000002',
    );
    await send(invite);
    const [event] = await bed.receiver.waitFor(subscriptionId, (events) => events.length > 0);
    expect(event!.data).toMatchObject({ originatorAddress: 'tel:+818000000002' });
    // The quoted name stays a name: the URI inside it did not become the caller, and the bidi override is gone.
    expect((event!.data as { originatorName?: string }).originatorName ?? '').not.toMatch(/[\u202e\r\n]/);
    await stillServing('after-invite');
  });
});
