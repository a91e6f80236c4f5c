import { describe, expect, it } from 'vitest';
import { readTcpSegments, readUdpDatagrams } from './bench/pcap.js';
import { postDialDelays } from './bench/post-dial.js';
import { ethernet, type Frame, pcapFile, tcpIpv4, udpIpv4 } from './support/pcap-writer.js';

const T0 = 1_765_000_000_000_000_000n;
const ms = (value: number): bigint => BigInt(Math.round(value * 1e6));
const API = 8080;
const CLIENT = 50_001;
const GATEWAY_SIP = 5060;
const PEER_SIP = 5070;

const post = (correlator: string) =>
  Buffer.from(
    `POST /webrtc-call-handling/vwip/sessions HTTP/1.1\r\nhost: 127.0.0.1:${API}\r\nX-Correlator: ${correlator}\r\ncontent-type: application/json\r\n\r\n{}`,
  );
const invite = (callId: string, compact = false) =>
  Buffer.from(
    `INVITE tel:+819000000002 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${GATEWAY_SIP};branch=z9hG4bK1\r\n${compact ? 'i' : 'Call-ID'}: ${callId}\r\nCSeq: 1 INVITE\r\n\r\n`,
  );

describe('readTcpSegments', () => {
  it('reads ports, payload and time of TCP segments, past TCP options, and leaves UDP out', () => {
    const frames: Frame[] = [
      { at: T0, bytes: ethernet(tcpIpv4(CLIENT, API, Buffer.from('POST / HTTP/1.1\r\n'))) },
      { at: T0 + ms(1), bytes: ethernet(udpIpv4(GATEWAY_SIP, PEER_SIP, Buffer.from('INVITE x'))) },
      // 12 bytes of options (timestamps), as Linux sends on loopback.
      {
        at: T0 + ms(2.5),
        bytes: ethernet(tcpIpv4(API, CLIENT, Buffer.from('HTTP/1.1 201'), { dataOffsetWords: 8 })),
      },
      { at: T0 + ms(3), bytes: ethernet(tcpIpv4(CLIENT, API, Buffer.alloc(0))) },
    ];
    const segments = readTcpSegments(pcapFile(frames));
    expect(
      segments.map(({ timeNs, srcPort, dstPort, payload }) => [timeNs, srcPort, dstPort, payload.toString()]),
    ).toEqual([
      [0, CLIENT, API, 'POST / HTTP/1.1\r\n'],
      [2_500_000, API, CLIENT, 'HTTP/1.1 201'],
      [3_000_000, CLIENT, API, ''],
    ]);
    expect(readUdpDatagrams(pcapFile(frames)).map((d) => d.payload.toString())).toEqual(['INVITE x']);
  });
});

describe('postDialDelays (request on the wire → its INVITE on the wire)', () => {
  const frames: Frame[] = [
    { at: T0 + ms(10), bytes: ethernet(tcpIpv4(CLIENT, API, post('corr-a'))) },
    { at: T0 + ms(11), bytes: ethernet(tcpIpv4(CLIENT + 1, API, post('corr-b'))) },
    // A TCP retransmission of the first request: its first time counts.
    { at: T0 + ms(12), bytes: ethernet(tcpIpv4(CLIENT, API, post('corr-a'))) },
    { at: T0 + ms(12.5), bytes: ethernet(udpIpv4(GATEWAY_SIP, PEER_SIP, invite('call-b', true))) },
    { at: T0 + ms(13.25), bytes: ethernet(udpIpv4(GATEWAY_SIP, PEER_SIP, invite('call-a'))) },
    // Timer A's retransmission of the INVITE: its first time counts.
    { at: T0 + ms(513.25), bytes: ethernet(udpIpv4(GATEWAY_SIP, PEER_SIP, invite('call-a'))) },
    // A request that created no call, and an INVITE to another peer (not this run's).
    { at: T0 + ms(20), bytes: ethernet(tcpIpv4(CLIENT, API, post('corr-c'))) },
    { at: T0 + ms(21), bytes: ethernet(udpIpv4(GATEWAY_SIP, PEER_SIP + 1, invite('call-c'))) },
    // Not a createSession request, and a response: neither is read.
    { at: T0 + ms(22), bytes: ethernet(tcpIpv4(CLIENT, API, Buffer.from('DELETE /x HTTP/1.1\r\n\r\n'))) },
    { at: T0 + ms(23), bytes: ethernet(tcpIpv4(API, CLIENT, Buffer.from('HTTP/1.1 201 Created\r\n'))) },
  ];
  const file = pcapFile(frames);
  const calls: Record<string, string> = { 'corr-a': 'call-a', 'corr-b': 'call-b', 'corr-c': 'call-c' };
  const delaysWith = (callIdOf: (correlator: string) => string | undefined) =>
    postDialDelays({
      segments: readTcpSegments(file),
      datagrams: readUdpDatagrams(file),
      apiPort: API,
      sipPeerPort: PEER_SIP,
      callIdOf,
    });

  it('pairs each request with its call’s first INVITE through the x-correlator and the Call-ID', () => {
    const result = delaysWith((correlator) => calls[correlator]);
    expect(result.requests).toBe(3);
    expect(result.delaysMs).toEqual([3.25, 1.5]);
    expect(result.callIds).toEqual(['call-a', 'call-b']);
    // corr-c: its INVITE went to another port, so it is not this peer's.
    expect(result.unmatched).toBe(1);
  });

  it('counts a request whose call the run does not know as unmatched', () => {
    const result = delaysWith(() => undefined);
    expect(result).toEqual({ delaysMs: [], callIds: [], requests: 3, unmatched: 3 });
  });
});
