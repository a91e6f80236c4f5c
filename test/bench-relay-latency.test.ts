import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoopbackCapture, tcpdumpMissing } from './bench/loopback-capture.js';
import { type CapturedDatagram, LINKTYPE, readUdpDatagrams } from './bench/pcap.js';
import { longestSilenceMs, relayLatencies, rtpHeaderOf } from './bench/relay-latency.js';
import { ethernet, type Frame, pcapFile, udpIpv4, udpIpv6 } from './support/pcap-writer.js';

function rtp(sequence: number, timestamp: number, ssrc: number, payloadBytes = 160): Buffer {
  const packet = Buffer.alloc(12 + payloadBytes, 0xd5);
  packet[0] = 0x80;
  packet[1] = 0;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(ssrc >>> 0, 8);
  return packet;
}

const T0 = 1_765_000_000_123_456_000n;
const ms = (value: number): bigint => BigInt(Math.round(value * 1e6));

// ------------------------------------------------------------------ the reader

describe('readUdpDatagrams (pcap files as tcpdump writes them)', () => {
  const payload = Buffer.from('hello');
  const frames = [
    { at: T0, bytes: ethernet(udpIpv4(5000, 6000, payload)) },
    { at: T0 + 1_500n, bytes: ethernet(udpIpv6(5001, 6001, payload), 0x86dd) },
    { at: T0 + 2_000_000_000n, bytes: ethernet(udpIpv4(5002, 6002, payload, 6)) }, // TCP: skipped
  ];

  it('reads UDP over IPv4 and IPv6 with nanosecond times from the first whole second', () => {
    const datagrams = readUdpDatagrams(pcapFile(frames));
    expect(datagrams.map(({ timeNs, srcPort, dstPort }) => ({ timeNs, srcPort, dstPort }))).toEqual([
      { timeNs: 123_456_000, srcPort: 5000, dstPort: 6000 },
      { timeNs: 123_457_500, srcPort: 5001, dstPort: 6001 },
    ]);
    expect(datagrams.every((d) => d.payload.equals(payload) && d.length === payload.length)).toBe(true);
  });

  it.each([
    { name: 'microsecond, little-endian', options: { nanos: false } },
    { name: 'nanosecond, big-endian', options: { bigEndian: true } },
    { name: 'microsecond, big-endian', options: { nanos: false, bigEndian: true } },
  ])('reads $name files', ({ options }) => {
    const [first, second] = readUdpDatagrams(pcapFile(frames, options));
    expect(first?.srcPort).toBe(5000);
    // Microsecond files lose the 500 ns.
    expect(second!.timeNs - first!.timeNs).toBe(options.nanos === false ? 1_000 : 1_500);
  });

  it.each([
    { name: 'raw IP', linkType: LINKTYPE.RAW, frame: (ip: Buffer) => ip },
    {
      name: 'Linux cooked (any interface)',
      linkType: LINKTYPE.LINUX_SLL,
      frame: (ip: Buffer) => {
        const header = Buffer.alloc(16);
        header.writeUInt16BE(0x0800, 14);
        return Buffer.concat([header, ip]);
      },
    },
    {
      name: 'BSD loopback',
      linkType: LINKTYPE.NULL,
      frame: (ip: Buffer) => {
        const header = Buffer.alloc(4);
        header.writeUInt32LE(2, 0);
        return Buffer.concat([header, ip]);
      },
    },
  ])('reads the $name link type', ({ linkType, frame }) => {
    const file = pcapFile([{ at: T0, bytes: frame(udpIpv4(7000, 7001, payload)) }], { linkType });
    expect(readUdpDatagrams(file).map((d) => [d.srcPort, d.dstPort])).toEqual([[7000, 7001]]);
  });

  it('keeps a payload cut at the snapshot length, drops a record cut at the end of the file', () => {
    const whole = ethernet(udpIpv4(5000, 6000, Buffer.alloc(200, 1)));
    const file = pcapFile([
      { at: T0, bytes: whole.subarray(0, 60) },
      { at: T0, bytes: whole },
    ]);
    const datagrams = readUdpDatagrams(file.subarray(0, file.length - 10));
    expect(datagrams).toHaveLength(1);
    expect(datagrams[0]?.payload.length).toBe(60 - 14 - 28);
    expect(datagrams[0]?.length).toBe(200);
  });

  it('refuses what is not a pcap file', () => {
    expect(() => readUdpDatagrams(Buffer.alloc(10))).toThrow(/shorter than its header/);
    expect(() => readUdpDatagrams(Buffer.alloc(24, 7))).toThrow(/magic/);
  });
});

// ------------------------------------------------------------------ the matching

describe('rtpHeaderOf', () => {
  it('reads RTP, and leaves STUN, DTLS and RTCP on the same ports out', () => {
    expect(rtpHeaderOf(rtp(7, 160, 42))).toEqual({ sequence: 7, timestamp: 160, ssrc: 42 });
    const rtcp = rtp(0, 0, 42);
    rtcp[1] = 200; // sender report
    expect(rtpHeaderOf(rtcp)).toBeUndefined();
    expect(rtpHeaderOf(Buffer.from([0x00, 0x01, ...Buffer.alloc(18)]))).toBeUndefined(); // STUN binding request
    expect(rtpHeaderOf(Buffer.from([22, 0xfe, 0xfd, ...Buffer.alloc(10)]))).toBeUndefined(); // DTLS handshake
    expect(rtpHeaderOf(rtp(1, 1, 1).subarray(0, 11))).toBeUndefined();
  });
});

describe('relayLatencies (packet in → relayed packet out, per direction)', () => {
  const device = 40_001;
  const sip = 40_002;
  const relayWebRtc = 46_000;
  const relayRtp = 46_002;

  /**
   * A call through a relay that rewrites SSRC, sequence numbers and timestamps towards the
   * device (as mediasoup's consumers do) and keeps them towards SIP, with RTCP and STUN on the
   * same ports, `count` packets every 20 ms each way and the latency `delay(i)` in ms.
   */
  function relayedCall(
    count: number,
    delay: (i: number) => number,
    length: (i: number) => number = (i) => 152 + ((i * 7) % 16),
  ): CapturedDatagram[] {
    const frames: Frame[] = [];
    for (let i = 0; i < count; i++) {
      const sent = T0 + ms(20 * i);
      // device → relay → SIP: the device's timestamp stays constant (as the benchmark's does);
      // the relay takes the SRTP tag off.
      frames.push({
        at: sent,
        bytes: ethernet(udpIpv4(device, relayWebRtc, rtp(65_530 + i, 5, 1111, length(i) + 10))),
      });
      frames.push({
        at: sent + ms(delay(i)),
        bytes: ethernet(udpIpv4(relayRtp, sip, rtp(65_530 + i, 5, 1111, length(i)))),
      });
      // SIP → relay → device, rewritten: sequence + 1000 (wrapping), timestamp − 160, another SSRC, a tag.
      const at = sent + ms(3);
      frames.push({ at, bytes: ethernet(udpIpv4(sip, relayRtp, rtp(100 + i, 160 * i, 2222, length(i)))) });
      frames.push({
        at: at + ms(delay(i) * 2),
        bytes: ethernet(
          udpIpv4(relayWebRtc, device, rtp(100 + i + 1000, 160 * i - 160, 3333, length(i) + 10)),
        ),
      });
    }
    const sr = rtp(0, 0, 1111);
    sr[1] = 200;
    frames.push({ at: T0 + ms(1), bytes: ethernet(udpIpv4(device, relayWebRtc, sr)) });
    frames.push({ at: T0 + ms(2), bytes: ethernet(udpIpv4(relayWebRtc, device, Buffer.alloc(20))) });
    // Not in time order in the file: the matching must not rely on it.
    return readUdpDatagrams(pcapFile(frames.reverse()));
  }

  const flows = [
    { direction: 'toSip', from: device, to: sip },
    { direction: 'toDevice', from: sip, to: device },
  ] as const;

  it('matches every packet both ways through rewritten sequence numbers, timestamps and SSRC', () => {
    const byWay = relayLatencies(
      relayedCall(50, (i) => 0.1 + (i % 5) * 0.05),
      flows,
    );
    const toSip = byWay.get('toSip')!;
    const toDevice = byWay.get('toDevice')!;
    expect(toSip.entered).toBe(50);
    expect(toSip.matched).toBe(50);
    expect(toDevice.matched).toBe(50);
    expect(toSip.latenciesMs[0]).toBeCloseTo(0.1, 6);
    expect(Math.max(...toSip.latenciesMs)).toBeCloseTo(0.3, 6);
    expect(Math.max(...toDevice.latenciesMs)).toBeCloseTo(0.6, 6);
  });

  it('keeps the right pairs when a few packets wait longer than the packet interval', () => {
    // Packets 10 and 30 wait 45 ms (two intervals and more): they still pair with their own sources.
    const byWay = relayLatencies(
      relayedCall(50, (i) => (i === 10 || i === 30 ? 45 : 0.2)),
      flows,
    );
    const toSip = byWay.get('toSip')!;
    expect(toSip.matched).toBe(50);
    expect(toSip.latenciesMs.filter((latency) => latency > 40)).toHaveLength(2);
    expect(toSip.latenciesMs.every((latency) => latency > 0)).toBe(true);
  });

  it('pairs every packet with its own source when the relay is late by several packet intervals', () => {
    // Every packet waits 45 ms (90 ms towards the device): more than two intervals, so the last
    // packet to have entered before each one leaving is never its source; the lengths tell.
    const byWay = relayLatencies(
      relayedCall(60, () => 45),
      flows,
    );
    const toSip = byWay.get('toSip')!;
    const toDevice = byWay.get('toDevice')!;
    expect(toSip.matched).toBe(60);
    expect(toDevice.matched).toBe(60);
    expect(toSip.latenciesMs.every((latency) => Math.abs(latency - 45) < 1e-6)).toBe(true);
    expect(toDevice.latenciesMs.every((latency) => Math.abs(latency - 90) < 1e-6)).toBe(true);
  });

  it('with packets all of one length, takes the shortest delay among equally good pairings', () => {
    const byWay = relayLatencies(
      relayedCall(
        50,
        () => 0.5,
        () => 160,
      ),
      flows,
    );
    expect(byWay.get('toSip')!.latenciesMs.every((latency) => Math.abs(latency - 0.5) < 1e-6)).toBe(true);
  });

  it('counts a packet the relay dropped as entered and not matched', () => {
    const datagrams = relayedCall(20, () => 0.2).filter(
      // The relay's copy of the device's fifth packet never left.
      (d) => !(d.srcPort === relayRtp && rtpHeaderOf(d.payload)?.sequence === (65_530 + 4) % 65_536),
    );
    const toSip = relayLatencies(datagrams, flows).get('toSip')!;
    expect(toSip).toMatchObject({ entered: 20, matched: 19 });
  });

  it('counts a packet sent again (a retransmission) once, relayed once or twice', () => {
    const datagrams = relayedCall(20, () => 0.2);
    // The device sends its sixth packet again 30 ms later, as after a NACK; the relay does not pass it on.
    const [sixth] = datagrams.filter(
      (d) => d.srcPort === device && rtpHeaderOf(d.payload)?.sequence === (65_530 + 5) % 65_536,
    );
    const again = { ...sixth!, timeNs: sixth!.timeNs + 30e6 };
    const toSip = relayLatencies([...datagrams, again], flows).get('toSip')!;
    expect(toSip).toMatchObject({ entered: 20, repeated: 1, matched: 20 });
    // Timed from the first copy.
    expect(Math.max(...toSip.latenciesMs)).toBeCloseTo(0.2, 6);
  });

  it('leaves out the packets that entered in the last moments of the capture', () => {
    // 20 packets 20 ms apart each way, the last one leaving at 383.4 ms (toDevice).
    const datagrams = relayedCall(20, () => 0.2);
    const byWay = relayLatencies(datagrams, flows, { tailMs: 50 });
    // Entered by 333.4 ms: toSip packets 0–16 (sent at 20 i ms), toDevice 0–16 (at 3 + 20 i ms).
    expect(byWay.get('toSip')).toMatchObject({ entered: 17, matched: 17 });
    expect(byWay.get('toDevice')).toMatchObject({ entered: 17, matched: 17 });
  });

  it('leaves out the packets that entered in the first moments of the capture, relayed or not', () => {
    // The relay's copy of the device's first packet is missing, as when tcpdump missed it.
    const datagrams = relayedCall(20, () => 0.2).filter(
      (d) => !(d.srcPort === relayRtp && rtpHeaderOf(d.payload)?.sequence === 65_530),
    );
    expect(relayLatencies(datagrams, flows).get('toSip')).toMatchObject({ entered: 20, matched: 19 });
    // The capture's first packet is the device's at 0 ms: 30 ms leave out the first two packets each way.
    const byWay = relayLatencies(datagrams, flows, { headMs: 30 });
    expect(byWay.get('toSip')).toMatchObject({ entered: 18, matched: 18 });
    expect(byWay.get('toDevice')).toMatchObject({ entered: 18, matched: 18 });
  });

  it('sums the flows of many calls per direction', () => {
    const one = relayedCall(10, () => 1);
    const other = one.map((d) => ({
      ...d,
      srcPort: d.srcPort === device ? 41_001 : d.srcPort === sip ? 41_002 : d.srcPort,
      dstPort: d.dstPort === device ? 41_001 : d.dstPort === sip ? 41_002 : d.dstPort,
    }));
    const byWay = relayLatencies(
      [...one, ...other],
      [...flows, { direction: 'toSip', from: 41_001, to: 41_002 }],
    );
    expect(byWay.get('toSip')).toMatchObject({ entered: 20, matched: 20 });
    expect(byWay.get('toDevice')).toMatchObject({ entered: 10, matched: 10 });
  });
});

describe('longestSilenceMs (the senders stalling together)', () => {
  it('finds the longest gap between RTP packets of the given senders, ignoring the others', () => {
    const frames = [0, 20, 40, 95, 100].map((at) => ({
      at: T0 + ms(at),
      bytes: ethernet(udpIpv4(at === 95 ? 40_001 : 40_002, 46_000, rtp(at, 0, 1))),
    }));
    frames.push({ at: T0 + ms(70), bytes: ethernet(udpIpv4(40_003, 46_000, rtp(0, 0, 2))) });
    const datagrams = readUdpDatagrams(pcapFile(frames));
    expect(longestSilenceMs(datagrams, new Set([40_001, 40_002]))).toBeCloseTo(55, 6);
    expect(longestSilenceMs(datagrams, new Set([40_002]))).toBeCloseTo(60, 6);
    expect(longestSilenceMs(datagrams, new Set([40_009]))).toBe(0);
  });
});

// ------------------------------------------------------------------ a real capture

describe('tcpdumpMissing', () => {
  it('says in a few words that tcpdump is not there', () => {
    expect(tcpdumpMissing(join(tmpdir(), 'no-such-tcpdump'))).toBe(
      'tcpdump is not installed (Debian package `tcpdump`)',
    );
  });
});

// Needs tcpdump (a test peer, checked before the run) and the right to capture (root or CAP_NET_RAW).
const captureAbsent = tcpdumpMissing() ?? (process.getuid?.() === 0 ? undefined : 'not root');
if (captureAbsent !== undefined) console.warn(`loopback capture tests skipped: ${captureAbsent}`);

describe.skipIf(captureAbsent !== undefined)('LoopbackCapture (tcpdump on lo)', () => {
  it('captures a UDP forwarder on 127.0.0.1 and times each relayed packet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-capture-'));
    const sockets = Array.from({ length: 3 }, () => createSocket('udp4'));
    try {
      await Promise.all(
        sockets.map(
          (s) => new Promise<void>((resolve) => s.bind({ address: '127.0.0.1', port: 0 }, resolve)),
        ),
      );
      const [sender, relay, receiver] = sockets as [
        (typeof sockets)[0],
        (typeof sockets)[0],
        (typeof sockets)[0],
      ];
      const port = (socket: typeof sender) => (socket.address() as AddressInfo).port;
      relay.on('message', (packet) => relay.send(packet, port(receiver), '127.0.0.1'));
      const arrived = new Promise<void>((resolve) => {
        let count = 0;
        receiver.on('message', () => {
          if (++count === 20) resolve();
        });
      });
      const file = join(dir, 'lo.pcap');
      const capture = await LoopbackCapture.start({
        file,
        filter: `udp and port ${port(relay)}`,
        maxPackets: 1_000,
      });
      for (let i = 0; i < 20; i++) {
        sender.send(rtp(i, i * 160, 9), port(relay), '127.0.0.1');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await arrived;
      const { dropped } = await capture.stop();
      expect(dropped).toBe(0);
      const datagrams = readUdpDatagrams(await readFile(file));
      expect(datagrams).toHaveLength(40);
      const toReceiver = relayLatencies(datagrams, [
        { direction: 'forward', from: port(sender), to: port(receiver) },
      ]).get('forward')!;
      expect(toReceiver).toMatchObject({ entered: 20, matched: 20 });
      expect(toReceiver.latenciesMs.every((latency) => latency >= 0 && latency < 1_000)).toBe(true);
    } finally {
      for (const socket of sockets) socket.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails to start with tcpdump’s own reason when the filter is not valid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-capture-'));
    try {
      await expect(
        LoopbackCapture.start({ file: join(dir, 'lo.pcap'), filter: 'udp and port', maxPackets: 10 }),
      ).rejects.toThrow(/tcpdump did not start: .*syntax error/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
