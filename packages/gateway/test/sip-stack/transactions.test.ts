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
import { BYE, INVITE } from './messages.js';

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
  async send(message: SipMessage | Buffer) {
    // A finished transaction's record resends the bytes it kept: read them back as a message.
    this.sent.push({
      at: this.clock.now(),
      message: Buffer.isBuffer(message) ? parseDatagram(message) : message,
    });
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
const bye = () => parseDatagram(Buffer.from(BYE)) as Extract<SipMessage, { kind: 'request' }>;
/** The ACK of a failure, or of a 2xx from a UA that reuses the INVITE's branch. */
const ackOf = () => {
  const ack = invite();
  ack.method = 'ACK';
  ack.headers.set('cseq', '1 ACK');
  return ack;
};
/** A TU that answers every request with `status`, noting the requests and the ACKs it is given. */
function answerEvery(layer: TransactionLayer, status: number, reason: string) {
  const seen: string[] = [];
  const acks: string[] = [];
  layer.setUser({
    request: (request, transaction) => {
      seen.push(request.method);
      transaction.respond(responseTo(request, status, reason, 'tag1'));
    },
    ack: (request) => acks.push(request.method),
    stray2xx() {},
  });
  return { seen, acks };
}
const statuses = (transport: RecordingTransport) =>
  transport.sent.map((s) => (s.message.kind === 'response' ? s.message.status : s.message.method));
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

  it('ends on a 2xx, which goes to the TU; later 2xx reach the TU as stray 2xx; it ACKs none itself', async () => {
    const { transport, layer } = setup();
    const statuses: number[] = [];
    const strays: number[] = [];
    layer.setUser({ request() {}, ack() {}, stray2xx: (r) => strays.push(r.status) });
    layer.request(invite(), PEER, {
      response: (r) => statuses.push(r.status),
      timeout() {},
      transportError() {},
    });
    transport.deliver(reply(200));
    expect(layer.counts).toEqual({ clients: 0, servers: 0, finished: 0 });
    transport.deliver(reply(200));
    await flush();
    expect(statuses).toEqual([200]);
    expect(strays).toEqual([200]);
    expect(
      transport.sent.filter((s) => s.message.kind === 'request' && s.message.method === 'ACK'),
    ).toHaveLength(0);
  });

  it('keeps only a record after a failure: the ACK is resent from it until Timer D, then forgotten', async () => {
    const { clock, transport, layer } = setup();
    const strays: number[] = [];
    layer.setUser({ request() {}, ack() {}, stray2xx: (r) => strays.push(r.status) });
    layer.request(invite(), PEER, { response() {}, timeout() {}, transportError() {} });
    transport.deliver(reply(486));
    expect(layer.counts).toEqual({ clients: 0, servers: 0, finished: 1 });
    await clock.advance(31_000);
    transport.deliver(reply(486));
    transport.deliver(reply(200)); // absorbed: the transaction is "Completed"
    await flush();
    const acks = () =>
      transport.sent.filter((s) => s.message.kind === 'request' && s.message.method === 'ACK');
    expect(acks()).toHaveLength(2);
    expect(acks()[1]!.message).toEqual(acks()[0]!.message);
    expect(strays).toEqual([]);
    await clock.advance(1_000 + 100);
    expect(layer.counts.finished).toBe(0);
    transport.deliver(reply(486));
    await flush();
    expect(acks()).toHaveLength(2);
  });

  it('over a reliable transport, keeps nothing after a failure (Timer D is 0)', async () => {
    const { transport, layer } = setup('tcp');
    layer.request(
      invite(),
      { ...PEER, protocol: 'tcp' },
      { response() {}, timeout() {}, transportError() {} },
    );
    transport.deliver(reply(486));
    expect(layer.counts).toEqual({ clients: 0, servers: 0, finished: 0 });
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

  it('answers a retransmitted request after its final response from the record, with the same bytes, until Timer J', async () => {
    const { clock, transport, layer } = setup();
    const { seen } = answerEvery(layer, 200, 'OK');
    transport.deliver(bye());
    await flush();
    // Only the record is left: no transaction, no request, no TU callback.
    expect(layer.counts).toEqual({ clients: 0, servers: 0, finished: 1 });
    await clock.advance(31_000);
    transport.deliver(bye());
    await flush();
    expect(seen).toEqual(['BYE']);
    expect(statuses(transport)).toEqual([200, 200]);
    expect(transport.sent[1]!.message).toEqual(transport.sent[0]!.message);
    // Timer J (64*T1) has run out: the record is gone, and the same request is a new one for the TU.
    await clock.advance(1_000 + 100);
    expect(layer.counts.finished).toBe(0);
    transport.deliver(bye());
    await flush();
    expect(seen).toEqual(['BYE', 'BYE']);
  });

  it('keeps no record over a reliable transport (Timer J is 0)', async () => {
    const { transport, layer } = setup('tcp');
    answerEvery(layer, 200, 'OK');
    transport.deliver(bye(), { protocol: 'tcp', address: '127.0.0.1', port: 5099 });
    await flush();
    expect(layer.counts).toEqual({ clients: 0, servers: 0, finished: 0 });
  });

  it('after a 2xx to INVITE ("Accepted", RFC 6026): absorbs the INVITE again, passes an ACK to the TU, knows it for a CANCEL, for 64*T1', async () => {
    const { clock, transport, layer } = setup();
    const { seen, acks } = answerEvery(layer, 200, 'OK');
    transport.deliver(invite());
    await flush();
    expect(layer.counts).toEqual({ clients: 0, servers: 0, finished: 1 });
    transport.deliver(invite());
    transport.deliver(ackOf());
    await flush();
    expect(seen).toEqual(['INVITE']);
    expect(acks).toEqual(['ACK']);
    expect(statuses(transport)).toEqual([200]);
    const cancel = invite();
    cancel.method = 'CANCEL';
    cancel.headers.set('cseq', '1 CANCEL');
    expect(layer.inviteTransactionFor(cancel, PEER)).toBe('finished');
    await clock.advance(32_000 + 100);
    expect(layer.counts.finished).toBe(0);
    expect(layer.inviteTransactionFor(cancel, PEER)).toBeUndefined();
  });

  it('after the ACK of a failure ("Confirmed"): absorbs ACK and INVITE retransmissions for T4, then forgets them', async () => {
    const { clock, transport, layer } = setup();
    const { seen, acks } = answerEvery(layer, 486, 'Busy Here');
    transport.deliver(invite());
    await flush();
    expect(layer.counts.servers).toBe(1); // "Completed": Timer G resends the 486 until the ACK
    transport.deliver(ackOf());
    expect(layer.counts).toEqual({ clients: 0, servers: 0, finished: 1 });
    transport.deliver(ackOf());
    transport.deliver(invite());
    await clock.advance(5_000 + 100);
    await flush();
    expect(statuses(transport)).toEqual([486]);
    expect(seen).toEqual(['INVITE']);
    expect(acks).toEqual([]);
    expect(layer.counts.finished).toBe(0);
    transport.deliver(ackOf());
    expect(acks).toEqual(['ACK']);
  });
});
