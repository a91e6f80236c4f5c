import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

/**
 * The SIP side of a call in tests: a plain RTP endpoint on 127.0.0.1 (RTP and RTCP sockets) that
 * writes its own SDP, sends 20 ms packets and records the payloads it receives by payload type.
 */
export interface RtpPeer {
  readonly port: number;
  readonly rtcpPort: number;
  /** Payloads received on the RTP port, by payload type, in arrival order. */
  readonly received: Map<number, Buffer[]>;
  /** RTCP packets received on the RTCP port (or the RTP port, with rtcp-mux). */
  readonly rtcpPackets: () => number;
  sdp(options: RtpPeerSdpOptions): string;
  /** Where to send: from the gateway's SDP. */
  setRemote(address: string, port: number): void;
  /** Sends `count` packets 20 ms apart, `payloadFor(index)` each; resolves after the last. */
  send(payloadType: number, count: number, payloadFor: (index: number) => Buffer): Promise<void>;
  payloads(payloadType: number): Buffer[];
  clear(): void;
  close(): Promise<void>;
}

export interface RtpPeerSdpOptions {
  /** `a=rtpmap` entries in order of preference, e.g. `0 PCMU/8000`. */
  codecs: readonly string[];
  direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  rtcpMux?: boolean;
  version?: number;
}

async function bindLoopback(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

export async function startRtpPeer(): Promise<RtpPeer> {
  const rtp = await bindLoopback();
  const rtcp = await bindLoopback();
  const received = new Map<number, Buffer[]>();
  let rtcpCount = 0;
  let remote: { address: string; port: number } | undefined;
  const ssrc = randomInt(1, 0xffff_fffe);
  let sequence = randomInt(0, 0xffff);
  let timestamp = randomInt(0, 0xffff_ffff);

  rtp.on('message', (packet) => {
    if (packet.length < 12 || packet[0]! >> 6 !== 2) return;
    const payloadType = packet[1]! & 0x7f;
    // RTCP multiplexed on the RTP port (RFC 5761): payload types 64–95 are RTCP packet types.
    if (payloadType >= 64 && payloadType <= 95) {
      rtcpCount++;
      return;
    }
    const payload = rtpPayloadOf(packet);
    const list = received.get(payloadType) ?? [];
    list.push(Buffer.from(payload));
    received.set(payloadType, list);
  });
  rtcp.on('message', () => {
    rtcpCount++;
  });

  return {
    port: rtp.address().port,
    rtcpPort: rtcp.address().port,
    received,
    rtcpPackets: () => rtcpCount,
    sdp({ codecs, direction = 'sendrecv', rtcpMux = false, version = 1 }) {
      const payloadTypes = codecs.map((codec) => codec.split(' ')[0]);
      return `${[
        'v=0',
        `o=peer 4242 ${version} IN IP4 127.0.0.1`,
        's=rtp-peer',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        `m=audio ${rtp.address().port} RTP/AVP ${payloadTypes.join(' ')}`,
        ...codecs.map((codec) => `a=rtpmap:${codec}`),
        ...codecs.filter((c) => c.includes('telephone-event')).map((c) => `a=fmtp:${c.split(' ')[0]} 0-16`),
        rtcpMux ? 'a=rtcp-mux' : `a=rtcp:${rtcp.address().port}`,
        'a=ptime:20',
        `a=${direction}`,
      ].join('\r\n')}\r\n`;
    },
    setRemote(address, port) {
      remote = { address, port };
    },
    async send(payloadType, count, payloadFor) {
      const target = remote;
      if (target === undefined) throw new Error('the RTP peer has no remote yet');
      for (let index = 0; index < count; index++) {
        const payload = payloadFor(index);
        const header = Buffer.alloc(12);
        header[0] = 0x80;
        header[1] = payloadType & 0x7f;
        header.writeUInt16BE(sequence, 2);
        header.writeUInt32BE(timestamp >>> 0, 4);
        header.writeUInt32BE(ssrc, 8);
        sequence = (sequence + 1) & 0xffff;
        timestamp = (timestamp + 160) >>> 0;
        rtp.send(Buffer.concat([header, payload]), target.port, target.address);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    payloads(payloadType) {
      return received.get(payloadType) ?? [];
    },
    clear() {
      received.clear();
    },
    async close() {
      rtp.close();
      rtcp.close();
    },
  };
}

/** Where an RTP packet's header ends (RFC 3550 §5.1: CSRCs, then the optional extension). */
export function rtpHeaderLength(packet: Buffer): number {
  let length = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) length += 4 + 4 * packet.readUInt16BE(length + 2);
  return length;
}

/** An RTP packet's payload, without header, extension or padding. */
export function rtpPayloadOf(packet: Buffer): Buffer {
  const padding = packet[0]! & 0x20 ? packet[packet.length - 1]! : 0;
  return packet.subarray(rtpHeaderLength(packet), packet.length - padding);
}

/** The audio port of an SDP (`m=audio <port> ...`) and its connection address. */
export function audioTarget(sdp: string): { address: string; port: number } {
  const port = /^m=audio (\d+) /m.exec(sdp)?.[1];
  const address = /^c=IN IP[46] (\S+)/m.exec(sdp)?.[1];
  if (port === undefined || address === undefined) throw new Error(`no audio target in SDP:\n${sdp}`);
  return { address, port: Number(port) };
}
