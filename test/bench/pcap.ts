/**
 * A reader of the classic pcap file format (what `tcpdump -w` writes), just
 * enough to take UDP datagrams and TCP segments and their kernel time stamps
 * out of a capture on the loopback interface. No npm parser fits: `pcap` is a libpcap binding
 * that needs a native build, `pcap-parser` an unmaintained stream reader with
 * no nanosecond time stamps. Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html
 */

/** A UDP datagram of a capture, its time in nanoseconds from the capture's first whole second. */
export interface CapturedDatagram {
  timeNs: number;
  srcPort: number;
  dstPort: number;
  /** The UDP payload as captured (cut at the snapshot length). */
  payload: Buffer;
  /** The UDP payload's length on the wire (from the UDP header), whatever the capture kept. */
  length: number;
}

const MAGIC_MICROS = 0xa1b2c3d4;
const MAGIC_NANOS = 0xa1b23c4d;
const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

/** Link-layer header types (https://www.tcpdump.org/linktypes.html) this reader understands. */
export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;

/** A TCP segment of a capture, its time in nanoseconds from the capture's first whole second. */
export interface CapturedSegment {
  timeNs: number;
  srcPort: number;
  dstPort: number;
  /** The segment's payload as captured (cut at the snapshot length); empty for a bare ACK, SYN or FIN. */
  payload: Buffer;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** The UDP datagrams of a pcap file, in file order; anything else (TCP, fragments, unknown links) is skipped. */
export function readUdpDatagrams(file: Buffer): CapturedDatagram[] {
  return readTransport(file, IPPROTO_UDP, udpOf);
}

/** The TCP segments of a pcap file, in file order; anything else (UDP, fragments, unknown links) is skipped. */
export function readTcpSegments(file: Buffer): CapturedSegment[] {
  return readTransport(file, IPPROTO_TCP, tcpOf);
}

/** The packets of one transport protocol that `parse` can read, each with its time. */
function readTransport<T>(
  file: Buffer,
  protocol: number,
  parse: (bytes: Buffer) => T | undefined,
): (T & { timeNs: number })[] {
  const packets: (T & { timeNs: number })[] = [];
  forEachPacket(file, (timeNs, ip) => {
    const packet = ip.protocol === protocol ? parse(ip.bytes) : undefined;
    if (packet !== undefined) packets.push({ timeNs, ...packet });
  });
  return packets;
}

/** An IP packet's transport protocol and what follows its IP header (as captured). */
interface IpPayload {
  protocol: number;
  bytes: Buffer;
}

function forEachPacket(file: Buffer, visit: (timeNs: number, ip: IpPayload) => void): void {
  if (file.length < FILE_HEADER_BYTES) throw new Error('not a pcap file: shorter than its header');
  const magicLe = file.readUInt32LE(0);
  const magicBe = file.readUInt32BE(0);
  const littleEndian = magicLe === MAGIC_MICROS || magicLe === MAGIC_NANOS;
  if (!littleEndian && magicBe !== MAGIC_MICROS && magicBe !== MAGIC_NANOS)
    throw new Error(`not a pcap file: magic 0x${magicBe.toString(16)}`);
  const u32 = (offset: number): number =>
    littleEndian ? file.readUInt32LE(offset) : file.readUInt32BE(offset);
  const nanos = u32(0) === MAGIC_NANOS;
  // The low 16 bits are the link type; the upper ones may carry FCS flags.
  const linkType = u32(20) & 0xffff;
  let firstSecond: number | undefined;
  for (let at = FILE_HEADER_BYTES; at + RECORD_HEADER_BYTES <= file.length; ) {
    const seconds = u32(at);
    const fraction = u32(at + 4);
    const captured = u32(at + 8);
    const start = at + RECORD_HEADER_BYTES;
    at = start + captured;
    if (at > file.length) break; // a record cut short by a capture stopped mid-write
    firstSecond ??= seconds;
    const timeNs = (seconds - firstSecond) * 1e9 + (nanos ? fraction : fraction * 1000);
    const ip = ipPayloadOf(file.subarray(start, at), linkType, littleEndian);
    if (ip !== undefined) visit(timeNs, ip);
  }
}

function ipPayloadOf(frame: Buffer, linkType: number, littleEndianFile: boolean): IpPayload | undefined {
  let ipAt: number;
  let etherType: number | undefined;
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      if (frame.length < 14) return undefined;
      ipAt = 14;
      etherType = frame.readUInt16BE(12);
      if (etherType === 0x8100 && frame.length >= 18) {
        // One 802.1Q VLAN tag.
        ipAt = 18;
        etherType = frame.readUInt16BE(16);
      }
      break;
    case LINKTYPE.LINUX_SLL:
      if (frame.length < 16) return undefined;
      ipAt = 16;
      etherType = frame.readUInt16BE(14);
      break;
    case LINKTYPE.LINUX_SLL2:
      if (frame.length < 20) return undefined;
      ipAt = 20;
      etherType = frame.readUInt16BE(0);
      break;
    case LINKTYPE.NULL: {
      // The address family, in the byte order of the machine that wrote the file.
      if (frame.length < 4) return undefined;
      const family = littleEndianFile ? frame.readUInt32LE(0) : frame.readUInt32BE(0);
      ipAt = 4;
      etherType = family === 2 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
      break;
    }
    case LINKTYPE.RAW:
      ipAt = 0;
      break;
    default:
      return undefined;
  }
  const version = (frame[ipAt] ?? 0) >> 4;
  if (version === 4 && (etherType === undefined || etherType === ETHERTYPE_IPV4)) {
    if (frame.length < ipAt + 20) return undefined;
    // A later fragment has no transport header; a first one has a cut payload: neither is whole.
    if ((frame.readUInt16BE(ipAt + 6) & 0x3fff) !== 0) return undefined;
    return { protocol: frame[ipAt + 9]!, bytes: frame.subarray(ipAt + (frame[ipAt]! & 0x0f) * 4) };
  }
  if (version === 6 && (etherType === undefined || etherType === ETHERTYPE_IPV6)) {
    // No extension headers: loopback UDP and TCP carry none.
    if (frame.length < ipAt + 40) return undefined;
    return { protocol: frame[ipAt + 6]!, bytes: frame.subarray(ipAt + 40) };
  }
  return undefined;
}

function udpOf(datagram: Buffer): Omit<CapturedDatagram, 'timeNs'> | undefined {
  if (datagram.length < 8) return undefined;
  const udpLength = datagram.readUInt16BE(4);
  return {
    srcPort: datagram.readUInt16BE(0),
    dstPort: datagram.readUInt16BE(2),
    payload: datagram.subarray(8, Math.min(datagram.length, Math.max(8, udpLength))),
    length: Math.max(0, udpLength - 8),
  };
}

function tcpOf(segment: Buffer): Omit<CapturedSegment, 'timeNs'> | undefined {
  if (segment.length < 20) return undefined;
  const headerBytes = (segment[12]! >> 4) * 4;
  if (headerBytes < 20 || segment.length < headerBytes) return undefined;
  return {
    srcPort: segment.readUInt16BE(0),
    dstPort: segment.readUInt16BE(2),
    payload: segment.subarray(headerBytes),
  };
}
