/**
 * The embedded user agent's timers against a real peer on 127.0.0.1: session
 * timers (RFC 4028) and REGISTER refreshes, on a manual clock (the packets
 * are real, only time is driven by the test).
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { parseDatagram } from '../../src/sip/message/parser.js';
import { EmbeddedSipBackend } from '../../src/sip/ua/embedded-sip-backend.js';
import type { SipUri } from '../../src/sip/uri.js';
import { ManualClock } from './manual-clock.js';

const SDP = (direction = 'sendrecv') =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=${direction}\r\n`;
const until = async (predicate: () => boolean, what: string) => {
  const deadline = Date.now() + 3_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

const closers: (() => Promise<void>)[] = [];

/** A UDP socket on 127.0.0.1 (an ephemeral port), closed after the test. */
async function plainSocket() {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  closers.push(async () => {
    socket.close();
  });
  return socket;
}
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function pair(clock: Clock, sessionExpiresSeconds: number) {
  const far = await EmbeddedSipBackend.start({ listen: ['udp:127.0.0.1:0'], clock });
  const farPort = far.listening[0]!.port;
  const gateway = await EmbeddedSipBackend.start({
    listen: ['udp:127.0.0.1:0'],
    outboundProxy: `sip:127.0.0.1:${farPort}`,
    sessionExpiresSeconds,
    clock,
  });
  closers.push(
    () => gateway.close(),
    () => far.close(),
  );
  // The far end answers every call at once, and every re-INVITE (a refresh) with the same SDP.
  far.on('invite', ({ callId }) => void far.answer(callId, { status: 200, sdp: SDP() }));
  far.on('reinvite', ({ callId }) => void far.answer(callId, { status: 200, sdp: SDP() }));
  const answered: string[] = [];
  gateway.on('answered', ({ callId }) => answered.push(callId));
  const byes: string[] = [];
  gateway.on('bye', ({ callId }) => byes.push(callId));
  far.on('bye', ({ callId }) => byes.push(`far:${callId}`));
  const call = async (callId: string) => {
    await gateway.invite({
      callId,
      requestUri: 'sip:+818000000002@tn.operator.com;user=phone' as SipUri,
      from: { uri: 'sip:+818000000001@operator.com;user=phone' as SipUri },
      to: { uri: 'sip:+818000000002@tn.operator.com;user=phone' as SipUri },
      sdp: SDP(),
    });
    await until(() => answered.includes(callId), 'the 200 OK');
  };
  return { far, gateway, call, byes };
}

describe('session timers (RFC 4028)', () => {
  it('the caller refreshes at half the interval with a re-INVITE; the callee keeps the call', async () => {
    const clock = new ManualClock(Date.now());
    const { far, gateway, call, byes } = await pair(clock, 90);
    let refreshes = 0;
    far.onTrace((direction, message) => {
      if (direction === 'in' && message.kind === 'request' && message.method === 'INVITE') refreshes++;
    });
    await call('timer-1');
    const ok = gateway.dialogs.get('timer-1')!;
    expect(ok.sessionExpires).toEqual({ seconds: 90, refresher: 'local' });
    expect(far.dialogs.get('timer-1')!.sessionExpires).toEqual({ seconds: 90, refresher: 'remote' });
    await clock.advance(45_000, 20);
    await until(() => refreshes === 2, 'the refreshing re-INVITE');
    await clock.advance(45_000, 20);
    await until(() => refreshes === 3, 'a second refresh');
    // The callee's guard (interval − min(32 s, interval/3)) never fired: the call lives on.
    expect(byes).toEqual([]);
    expect(gateway.dialogs.get('timer-1')!.state).toBe('confirmed');
  });

  it('the callee ends a call whose caller stopped refreshing, with BYE', async () => {
    const clock = new ManualClock(Date.now());
    const { far, gateway, call, byes } = await pair(clock, 90);
    await call('timer-2');
    // The caller goes silent: its refresh timer is gone with it.
    await gateway.close();
    await clock.advance(60_000, 20);
    await until(() => byes.includes('far:timer-2'), "the callee's BYE");
    expect(far.dialogs.get('timer-2')?.state ?? 'terminated').toBe('terminated');
  });
});

describe('REGISTER', () => {
  it('refreshes at 80% of what the registrar grants, and reports a refused refresh as a lost binding', async () => {
    // A registrar on a plain socket: 200 with `expires=10` first, 403 from the third REGISTER on.
    const registrar = await plainSocket();
    const seen: { expires: string | undefined; at: number }[] = [];
    const clock = new ManualClock(Date.now());
    registrar.on('message', (data, from) => {
      const request = parseDatagram(data);
      if (request.kind !== 'request') return;
      seen.push({ expires: request.headers.get('expires'), at: clock.now() });
      const status = seen.length >= 3 ? '403 Forbidden' : '200 OK';
      const headers = ['via', 'from', 'to', 'call-id', 'cseq'].map((n) => `${n}: ${request.headers.get(n)}`);
      const contact = `Contact: ${request.headers.get('contact')!.replace(/;expires=\d+/, '')};expires=10`;
      const text = [`SIP/2.0 ${status}`, ...headers, contact, 'Content-Length: 0', '', ''].join('\r\n');
      registrar.send(text, from.port, from.address);
    });
    const gateway = await EmbeddedSipBackend.start({
      listen: ['udp:127.0.0.1:0'],
      registrar: `sip:127.0.0.1:${registrar.address().port}`,
      clock,
    });
    closers.push(() => gateway.close());
    const lost: string[] = [];
    gateway.on('registrationLost', ({ aor }) => lost.push(aor));
    const start = clock.now();
    await gateway.register({
      aor: 'sip:+818000000001@operator.com;user=phone' as SipUri,
      expiresSeconds: 3600,
    });
    expect(seen).toEqual([{ expires: '3600', at: start }]);
    await clock.advance(8_000, 20);
    await until(() => seen.length === 2, 'the first refresh');
    expect(seen[1]!.at - start).toBe(8_000);
    await clock.advance(8_000, 20);
    await until(() => lost.length === 1, 'the lost binding');
    expect(lost).toEqual(['sip:+818000000001@operator.com;user=phone']);
  });
});

describe('dialog limits', () => {
  it('486 beyond the dialogs per number, 503 beyond all dialogs; an ended dialog frees its place', async () => {
    const clock = new ManualClock(Date.now());
    const far = await EmbeddedSipBackend.start({
      listen: ['udp:127.0.0.1:0'],
      clock,
      limits: { maxDialogs: 2, maxDialogsPerNumber: 1 },
    });
    const gateway = await EmbeddedSipBackend.start({
      listen: ['udp:127.0.0.1:0'],
      outboundProxy: `sip:127.0.0.1:${far.listening[0]!.port}`,
      clock,
    });
    closers.push(
      () => gateway.close(),
      () => far.close(),
    );
    const invited: string[] = [];
    far.on('invite', ({ callId }) => invited.push(callId));
    const failed = new Map<string, number>();
    gateway.on('failed', ({ callId, status }) => failed.set(callId, status));
    const call = (callId: string, number: string) =>
      gateway.invite({
        callId,
        requestUri: `sip:${number}@tn.operator.com;user=phone` as SipUri,
        from: { uri: 'sip:+818000000001@operator.com;user=phone' as SipUri },
        to: { uri: `sip:${number}@tn.operator.com;user=phone` as SipUri },
        sdp: SDP(),
      });
    await call('limit-1', '+818000000002');
    await until(() => invited.includes('limit-1'), 'the first INVITE');
    await call('limit-2', '+818000000002');
    await until(() => failed.has('limit-2'), 'the answer to a second call to the same number');
    await call('limit-3', '+818000000003');
    await until(() => invited.includes('limit-3'), 'a call to another number');
    await call('limit-4', '+818000000004');
    await until(() => failed.has('limit-4'), 'the answer beyond all dialogs');
    expect(Object.fromEntries(failed)).toEqual({ 'limit-2': 486, 'limit-4': 503 });
    // The far end declines the first call: the number has room again.
    await far.reject('limit-1', { status: 603 });
    await until(() => failed.has('limit-1'), 'the 603');
    await call('limit-5', '+818000000002');
    await until(() => invited.includes('limit-5'), 'a new call to the freed number');
    expect(invited).toEqual(['limit-1', 'limit-3', 'limit-5']);
  });
});

describe('2xx retransmissions (RFC 3261 §13.2.2.4)', () => {
  it('ACKs every retransmitted 2xx again with the CSeq of the INVITE it answers, the re-INVITE’s included', async () => {
    // A UAS on a plain socket: answers each INVITE with 200 and can send that 200 again.
    const uas = await plainSocket();
    const acks: string[] = [];
    const oks = new Map<string, string>();
    let to: { port: number; address: string } | undefined;
    uas.on('message', (data, from) => {
      const request = parseDatagram(data);
      if (request.kind !== 'request') return;
      to = { port: from.port, address: from.address };
      if (request.method === 'ACK') {
        acks.push(request.headers.get('cseq')!);
        return;
      }
      if (request.method !== 'INVITE') return;
      const toTag = request.headers.get('to')!.includes('tag=') ? '' : ';tag=uas1';
      const headers = ['via', 'from', 'call-id', 'cseq'].map((n) => `${n}: ${request.headers.get(n)}`);
      const text = [
        'SIP/2.0 200 OK',
        ...headers,
        `To: ${request.headers.get('to')}${toTag}`,
        `Contact: <sip:uas@127.0.0.1:${uas.address().port}>`,
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(SDP())}`,
        '',
        SDP(),
      ].join('\r\n');
      oks.set(request.headers.get('cseq')!, text);
      uas.send(text, from.port, from.address);
    });
    const clock = new ManualClock(Date.now());
    const gateway = await EmbeddedSipBackend.start({
      listen: ['udp:127.0.0.1:0'],
      outboundProxy: `sip:127.0.0.1:${uas.address().port}`,
      sessionExpiresSeconds: 0,
      clock,
    });
    closers.push(() => gateway.close());
    const answered: string[] = [];
    gateway.on('answered', ({ callId }) => answered.push(callId));
    await gateway.invite({
      callId: 'reack-1',
      requestUri: 'sip:+818000000002@tn.operator.com;user=phone' as SipUri,
      from: { uri: 'sip:+818000000001@operator.com;user=phone' as SipUri },
      to: { uri: 'sip:+818000000002@tn.operator.com;user=phone' as SipUri },
      sdp: SDP(),
    });
    await until(() => acks.length === 1, 'the ACK of the 200');
    await gateway.reinvite('reack-1', { sdp: SDP('sendonly') });
    await until(() => acks.length === 2, 'the ACK of the re-INVITE’s 200');
    expect(acks).toEqual(['1 ACK', '2 ACK']);
    // Both 200s again, as if their ACKs were lost: each is ACKed again with its own CSeq.
    uas.send(oks.get('2 INVITE')!, to!.port, to!.address);
    await until(() => acks.length === 3, 'the ACK of the retransmitted re-INVITE 200');
    uas.send(oks.get('1 INVITE')!, to!.port, to!.address);
    await until(() => acks.length === 4, 'the ACK of the retransmitted first 200');
    expect(acks).toEqual(['1 ACK', '2 ACK', '2 ACK', '1 ACK']);
    expect(answered).toEqual(['reack-1']);
  });
});
