import { isIP } from 'node:net';
import { type SessionDescription, write } from 'sdp-transform';
import { invalidArgument } from '../../errors.js';
import type { ParsedSdp } from '../../sdp/parse.js';

/**
 * A device's WebRTC SDP made fit for werift 0.24.4 before it sees it:
 *
 * - `a=rtcp:PORT` with no address makes werift's parser throw a bare
 *   "exception"; the line is dropped (WebRTC requires rtcp-mux, RFC 8829
 *   §5.1.3, so the RTCP port it names is never used).
 * - ICE candidates whose address is a name (mDNS `*.local`, RFC 8445 / the
 *   mDNS ICE draft) are dropped: werift would resolve them by multicast DNS on
 *   the local network, which the gateway must not do.
 * - With `bindAddress` on loopback, candidates elsewhere are dropped: no
 *   connectivity check is ever sent off the machine from a loopback gateway.
 * - With `keepPayloads`, the audio m-line keeps only those payload types, so
 *   werift answers with exactly the codec chosen for the relay.
 *
 * Only one audio m-line is supported; anything else is refused with a clear
 * 400 (the SIP side maps it to 488).
 */
/** Whether `address` is on this host's loopback (127.0.0.0/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  return isIP(address) === 4
    ? address.startsWith('127.')
    : address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/**
 * Whether media bound to `bindAddress` may be sent to `remote`: a gateway
 * bound to loopback sends only to loopback (a packet from 127.0.0.1 has no
 * business elsewhere), one bound elsewhere anywhere.
 */
export function reachableFrom(bindAddress: string, remote: string): boolean {
  return !isLoopbackAddress(bindAddress) || isLoopbackAddress(remote);
}

export function remoteSdpForWerift(
  sdp: ParsedSdp,
  field: string,
  keepPayloads?: readonly number[],
  bindAddress?: string,
): string {
  const description: SessionDescription = structuredClone(sdp.description);
  if (description.media.length !== 1 || description.media[0]?.type !== 'audio') {
    throw invalidArgument(`${field} must have exactly one m-line, for audio (no video or data channel)`);
  }
  const media = description.media[0];
  if (media.rtcp !== undefined && (media.rtcp.address === undefined || media.rtcp.address === '')) {
    delete media.rtcp;
  }
  if (media.candidates !== undefined) {
    media.candidates = media.candidates.filter(
      (c) => isIP(c.ip) !== 0 && (bindAddress === undefined || reachableFrom(bindAddress, c.ip)),
    );
  }
  if (keepPayloads !== undefined) {
    const keep = new Set(keepPayloads);
    media.payloads = String(media.payloads ?? '')
      .trim()
      .split(/\s+/)
      .filter((p) => keep.has(Number(p)))
      .join(' ');
    media.rtp = media.rtp.filter((r) => keep.has(r.payload));
    media.fmtp = media.fmtp.filter((f) => keep.has(f.payload));
    if (media.rtcpFb !== undefined) media.rtcpFb = media.rtcpFb.filter((f) => keep.has(Number(f.payload)));
  }
  return write(description);
}
