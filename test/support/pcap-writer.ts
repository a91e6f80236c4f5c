/** Writes pcap files (as `tcpdump -w` does) from hand-made frames, for the capture readers' tests. */
import { LINKTYPE } from '../bench/pcap.js';

export interface Frame {
  /** Nanoseconds since the epoch, as a bigint (a pcap record's seconds and fraction). */
  at: bigint;
  bytes: Buffer;
}

export function pcapFile(
  frames: Frame[],
  options: { linkType?: number; nanos?: boolean; bigEndian?: boolean } = {},
): Buffer {
  const { linkType = LINKTYPE.ETHERNET, nanos = true, bigEndian = false } = options;
  const u32 = (buffer: Buffer, value: number, offset: number) =>
    bigEndian ? buffer.writeUInt32BE(value, offset) : buffer.writeUInt32LE(value, offset);
  const u16 = (buffer: Buffer, value: number, offset: number) =>
    bigEndian ? buffer.writeUInt16BE(value, offset) : buffer.writeUInt16LE(value, offset);
  const header = Buffer.alloc(24);
  u32(header, nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(header, 2, 4);
  u16(header, 4, 6);
  u32(header, 262_144, 16);
  u32(header, linkType, 20);
  const records = frames.map(({ at, bytes }) => {
    const record = Buffer.alloc(16);
    u32(record, Number(at / 1_000_000_000n), 0);
    const fraction = at % 1_000_000_000n;
    u32(record, Number(nanos ? fraction : fraction / 1000n), 4);
    u32(record, bytes.length, 8);
    u32(record, bytes.length, 12);
    return Buffer.concat([record, bytes]);
  });
  return Buffer.concat([header, ...records]);
}

export function udpIpv4(srcPort: number, dstPort: number, payload: Buffer, protocol = 17): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = protocol;
  ip.set([127, 0, 0, 1], 12);
  ip.set([127, 0, 0, 1], 16);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(srcPort, 0);
  udp.writeUInt16BE(dstPort, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([ip, udp, payload]);
}

export function udpIpv6(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(8 + payload.length, 4);
  ip[6] = 17;
  ip[7] = 64;
  ip[23] = 1;
  ip[39] = 1;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(srcPort, 0);
  udp.writeUInt16BE(dstPort, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([ip, udp, payload]);
}

export function ethernet(ip: Buffer, etherType = 0x0800): Buffer {
  const header = Buffer.alloc(14);
  header.writeUInt16BE(etherType, 12);
  return Buffer.concat([header, ip]);
}

export function tcpIpv4(
  srcPort: number,
  dstPort: number,
  payload: Buffer,
  options: { dataOffsetWords?: number } = {},
): Buffer {
  const ip = Buffer.alloc(20);
  const words = options.dataOffsetWords ?? 5;
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + words * 4 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 6;
  ip.set([127, 0, 0, 1], 12);
  ip.set([127, 0, 0, 1], 16);
  const tcp = Buffer.alloc(words * 4);
  tcp.writeUInt16BE(srcPort, 0);
  tcp.writeUInt16BE(dstPort, 2);
  tcp[12] = words << 4;
  tcp[13] = 0x18; // PSH, ACK
  return Buffer.concat([ip, tcp, payload]);
}
