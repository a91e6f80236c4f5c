/**
 * The RFC 3261 §17 state machines, on a manual clock and a transport that
 * records what would go on the wire.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { SipMessage, SipResponse } from '../../src/sip/message/message.js';
import { parseDatagram } from '../../src/sip/message/parser.js';
import { responseTo, TransactionLayer } from '../../src/sip/transaction/transaction-layer.js';
import type { SipPeer, SipTransport, SipTransportEvents } from '../../src/sip/transport/transport.js';
import { ManualClock } from './manual-clock.js';
import { INVITE } from './messages.js';

class RecordingTransport implements SipTransport {
  readonly protocol: 'udp' | 'tcp';
  readonly reliable: boolean;
  readonly local = { address: '127.0.0.1', port: 5060 };
  readonly sent: { at: number; message: SipMessage }[] = [];
  handlers: SipTransportEvents | undefined;
  constructor(
    readonly clock: ManualClock,
    protocol: 'udp' | 'tcp' = 'udp',
  ) {
    this.protocol = protocol;
    this.reliable = protocol !== 'udp';
  }
  async listen() {}
  async send(message: SipMessage) {
    this.sent.push({ at: this.clock.now(), message });
  }
  setHandlers(handlers: SipTransportEvents) {
    this.handlers = handlers;
  }
  async close() {}
  deliver(
    message: SipMessage,
    from: SipPeer = { protocol: this.protocol, address: '127.0.0.1', port: 5099 },
  ) {
    this.handlers?.message(message, from);
  }
}

const PEER: SipPeer = { protocol: 'udp', address: '127.0.0.1', port: 5099 };
const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(protocol: 'udp' | 'tcp' = 'udp') {
  const clock = new ManualClock();
  const transport = new RecordingTransport(clock, protocol);
  const layer = new TransactionLayer([transport], { clock, logger: silentLogger });
  return { clock, transport, layer };
}

const invite = () => parseDatagram(Buffer.from(INVITE)) as Extract<SipMessage, { kind: 'request' }>;
const reply = (status: number, toTag = 'abc'): SipResponse => responseTo(invite(), status, 'X', toTag);

describe('INVITE client transaction (§17.1.1)', () => {
  it('retransmits on Timer A (T1 doubling) over UDP and times out on Timer B (64*T1)', async () => {
    const { clock, transport, layer } = setup();
    const events: string[] = [];
    layer.request(invite(), PEER, {
      response: () => events.push('response'),
      timeout: () => events.push('timeout'),
      transportError: () => events.push('error'),
    });
    await flush();
    await clock.advance(31_999);
    await flush();
    expect(transport.sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(events).toEqual([]);
    await clock.advance(1);
    expect(events).toEqual(['timeout']);
    expect(layer.counts.clients).toBe(0);
  });

  it('a Timer A that fires late does not resend an INVITE whose provisional was received in the same turn', async () => {
    const { clock, transport, layer } = setup();
    const statuses: number[] = [];
    layer.request(invite(), PEER, {
      response: (r) => statuses.push(r.status),
      timeout() {},
      transportError() {},
    });
    await flush();
    // The timer fires, then (as when a busy event loop reads its sockets after its timers) the 180 arrives.
    const fired = clock.advance(500);
    transport.deliver(reply(180));
    await fired;
    await clock.advance(5_000);
    expect(statuses).toEqual([180]);
    expect(transport.sent).toHaveLength(1);
  });

  it('sends no retransmission over a reliable transport', async () => {
    const { clock, transport, layer } = setup('tcp');
    layer.request(
      invite(),
      { ...PEER, protocol: 'tcp' },
      { response() {}, timeout() {}, transportError() {} },
    );
    await clock.advance(10_000);
    await flush();
    expect(transport.sent).toHaveLength(1);
  });

  it('stops retransmitting on a provisional; ACKs a failure with the INVITE branch and re-ACKs its retransmissions', async () => {
    const { clock, transport, layer } = setup();
    const statuses: number[] = [];
    layer.request(invite(), PEER, {
      response: (r) => statuses.push(r.status),
      timeout() {},
      transportError() {},
    });
    transport.deliver(reply(180));
    await clock.advance(5_000);
    expect(transport.sent).toHaveLength(1);
    transport.deliver(reply(486));
    transport.deliver(reply(486));
    await flush();
    const acks = transport.sent.filter((s) => s.message.kind === 'request' && s.message.method === 'ACK');
    expect(acks).toHaveLength(2);
    const ack = acks[0]!.message;
    expect(ack.headers.getAll('via')).toEqual([invite().headers.getAll('via')[0]]);
    expect(ack.headers.get('cseq')).toBe('1 ACK');
    expect(ack.headers.get('to')).toMatch(/;tag=abc$/);
    // The retransmitted 486 is absorbed: the TU heard of it once (Timer D keeps the transaction 32 s).
    expect(statuses).toEqual([180, 486]);
    await clock.advance(32_000);
    expect(layer.counts.clients).toBe(0);
  });

  it('passes every 2xx to the TU in "Accepted" (RFC 6026), and ACKs none itself', async () => {
    const { clock, transport, layer } = setup();
    const statuses: number[] = [];
    layer.request(invite(), PEER, {
      response: (r) => statuses.push(r.status),
      timeout() {},
      transportError() {},
    });
    transport.deliver(reply(200));
    transport.deliver(reply(200));
    await flush();
    expect(statuses).toEqual([200, 200]);
    expect(
      transport.sent.filter((s) => s.message.kind === 'request' && s.message.method === 'ACK'),
    ).toHaveLength(0);
    await clock.advance(32_000);
    expect(layer.counts.clients).toBe(0);
  });
});

describe('non-INVITE client transaction (§17.1.2)', () => {
  it('retransmits on Timer E, doubling up to T2, and times out on Timer F', async () => {
    const { clock, transport, layer } = setup();
    const bye = invite();
    bye.method = 'BYE';
    bye.headers.set('cseq', '2 BYE');
    let timedOut = false;
    layer.request(bye, PEER, { response() {}, timeout: () => (timedOut = true), transportError() {} });
    await clock.advance(31_999);
    await flush();
    const gaps = transport.sent.map((s, i, all) => (i === 0 ? 0 : s.at - all[i - 1]!.at));
    expect(gaps.slice(0, 6)).toEqual([0, 500, 1000, 2000, 4000, 4000]);
    await clock.advance(1);
    expect(timedOut).toBe(true);
  });
});

describe('non-INVITE client transaction, late timer', () => {
  it('a Timer E that fires late does not resend a BYE whose 200 was received in the same turn', async () => {
    const { clock, transport, layer } = setup();
    const bye = invite();
    bye.method = 'BYE';
    bye.headers.set('cseq', '2 BYE');
    const statuses: number[] = [];
    layer.request(bye, PEER, { response: (r) => statuses.push(r.status), timeout() {}, transportError() {} });
    await flush();
    const ok = responseTo(bye, 200, 'OK', 'abc');
    const fired = clock.advance(500);
    transport.deliver(ok);
    await fired;
    await clock.advance(5_000);
    expect(statuses).toEqual([200]);
    expect(transport.sent).toHaveLength(1);
  });
});

describe('server transactions (§17.2)', () => {
  it('answers a retransmitted INVITE with the last provisional, retransmits a failure on Timer G until the ACK', async () => {
    const { clock, transport, layer } = setup();
    const received: string[] = [];
    layer.setUser({
      request: (request, transaction) => {
        received.push(request.method);
        transaction.respond(responseTo(request, 180, 'Ringing', 'tag1') as never);
        transaction.respond(responseTo(request, 486, 'Busy Here', 'tag1') as never);
      },
      ack() {},
      stray2xx() {},
    });
    transport.deliver(invite());
    await flush();
    await clock.advance(1_600);
    await flush();
    const busy = transport.sent.filter((s) => s.message.kind === 'response' && s.message.status === 486);
    expect(busy.map((s) => s.at)).toEqual([0, 500, 1500]);
    // The ACK (same branch) stops Timer G; the INVITE was given to the TU once.
    const ack = invite();
    ack.method = 'ACK';
    ack.headers.set('cseq', '1 ACK');
    transport.deliver(ack);
    transport.deliver(invite());
    await clock.advance(10_000);
    await flush();
    expect(
      transport.sent.filter((s) => s.message.kind === 'response' && s.message.status === 486),
    ).toHaveLength(3);
    expect(received).toEqual(['INVITE']);
  });

  it('answers malformed or incomplete requests with 400 and never hands them to the TU', async () => {
    const { transport, layer } = setup();
    const seen: string[] = [];
    layer.setUser({ request: (r) => seen.push(r.method), ack() {}, stray2xx() {} });
    const noCallId = invite();
    noCallId.headers.delete('call-id');
    const wrongCSeq = invite();
    wrongCSeq.headers.set('cseq', '1 BYE');
    transport.deliver(noCallId);
    transport.deliver(wrongCSeq);
    await flush();
    expect(transport.sent.map((s) => (s.message.kind === 'response' ? s.message.status : 0))).toEqual([
      400, 400,
    ]);
    expect(seen).toEqual([]);
  });

  it('refuses requests from untrusted peers with 403, and Max-Forwards: 0 with 483', async () => {
    const clock = new ManualClock();
    const transport = new RecordingTransport(clock);
    const layer = new TransactionLayer([transport], {
      clock,
      logger: silentLogger,
      trusted: (peer) => peer.address === '127.0.0.1',
    });
    layer.setUser({ request() {}, ack() {}, stray2xx() {} });
    transport.deliver(invite(), { protocol: 'udp', address: '127.0.0.9', port: 5099 });
    const looped = invite();
    looped.headers.set('max-forwards', '0');
    transport.deliver(looped);
    await flush();
    expect(transport.sent.map((s) => (s.message.kind === 'response' ? s.message.status : 0))).toEqual([
      403, 483,
    ]);
  });
});
