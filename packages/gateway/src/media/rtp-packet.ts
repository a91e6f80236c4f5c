/**
 * RTP fixed header (RFC 3550 §5.1) read and written with Buffer reads: the
 * relay's per-packet path, so no object per field and no bit-level parser.
 *
 *   0                   1                   2                   3
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   |                           timestamp                           |
 *   |           synchronization source (SSRC) identifier            |
 */

export const RTP_HEADER_BYTES = 12;

/** Where the payload of an RTP packet starts and ends (after CSRCs, extension, before padding); -1 when malformed. */
export interface RtpBounds {
  payloadStart: number;
  payloadEnd: number;
}

/**
 * The payload bounds of `packet`, or `undefined` when it is not a valid RTP
 * packet (version 2, lengths consistent). Reuses `into` to avoid allocating.
 */
export function rtpPayloadBounds(packet: Buffer, into: RtpBounds): RtpBounds | undefined {
  const length = packet.length;
  if (length < RTP_HEADER_BYTES) return undefined;
  const first = packet[0]!;
  if (first >> 6 !== 2) return undefined;
  let start = RTP_HEADER_BYTES + (first & 0x0f) * 4;
  if (first & 0x10) {
    // Header extension (RFC 3550 §5.3.1): 4 bytes, then `length` 32-bit words.
    if (length < start + 4) return undefined;
    start += 4 + packet.readUInt16BE(start + 2) * 4;
  }
  let end = length;
  if (first & 0x20) {
    // Padding (RFC 3550 §5.1): the last byte counts the padding bytes, itself included.
    const padding = packet[length - 1]!;
    if (padding === 0) return undefined;
    end -= padding;
  }
  if (start > end) return undefined;
  into.payloadStart = start;
  into.payloadEnd = end;
  return into;
}

export const rtpPayloadType = (packet: Buffer): number => packet[1]! & 0x7f;
export const rtpMarker = (packet: Buffer): boolean => (packet[1]! & 0x80) !== 0;
export const rtpSequence = (packet: Buffer): number => packet.readUInt16BE(2);
export const rtpTimestamp = (packet: Buffer): number => packet.readUInt32BE(4);
export const rtpSsrc = (packet: Buffer): number => packet.readUInt32BE(8);

/** RTCP packet types 200..206 (RFC 3550 §12.1, RFC 4585) share the demultiplexing range of RFC 5761 §4. */
export function isRtcp(packet: Buffer): boolean {
  if (packet.length < 2) return false;
  const type = packet[1]!;
  return type >= 192 && type <= 223;
}

export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

/** Writes a 12-byte header (no CSRC, no extension, no padding) and copies `payload` after it. */
export function writeRtpPacket(header: RtpHeaderFields, payload: Uint8Array): Buffer {
  const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
  writeRtpHeader(packet, header.marker, header.payloadType, header.sequence, header.timestamp, header.ssrc);
  packet.set(payload, RTP_HEADER_BYTES);
  return packet;
}

/** Writes a 12-byte header (version 2, no padding, extension or CSRC) at the start of `packet`. */
export function writeRtpHeader(
  packet: Buffer,
  marker: boolean,
  payloadType: number,
  sequence: number,
  timestamp: number,
  ssrc: number,
): void {
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(ssrc >>> 0, 8);
}
