import { isIPv6 } from 'node:net';
import { type RTCPeerConnectionConfig, RTCRtpCodecParameters } from 'werift';
import type { AudioCodec } from '../../sdp/media-info.js';

/** Where a werift peer may listen and what it may announce. */
export interface WeriftNetwork {
  /** Local address the ICE socket binds to. */
  bindAddress: string;
  /** Address of the one host candidate the SDP announces (the bind address, or a 1:1 NAT's public one). */
  announcedAddress: string;
  /** Two ports reserved for the ICE socket (werift needs min < max). */
  icePortRange?: [number, number];
}

const MIME: Record<string, string> = {
  pcmu: 'audio/PCMU',
  pcma: 'audio/PCMA',
  opus: 'audio/opus',
  'telephone-event': 'audio/telephone-event',
};

export function weriftCodec(codec: AudioCodec): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: MIME[codec.name] ?? `audio/${codec.name}`,
    clockRate: codec.rate,
    channels: codec.channels ?? 1,
    payloadType: codec.payload,
    ...(codec.fmtp === undefined ? {} : { parameters: codec.fmtp }),
    rtcpFeedback: [],
  });
}

/**
 * werift's defaults are unsafe for a gateway and are all overridden here:
 * it asks Google's public STUN server (`iceServers`), announces every
 * interface of the host (`iceUseIpv4`/`iceUseIpv6` enumerate them), and
 * resolves mDNS candidates. The peer gets exactly one host candidate, on the
 * configured address, in the reserved ports, and no STUN/TURN server.
 */
export function weriftPeerConfig(
  network: WeriftNetwork,
  codecs: readonly AudioCodec[],
): RTCPeerConnectionConfig {
  const family = isIPv6(network.bindAddress) ? 'udp6' : 'udp4';
  return {
    iceServers: [],
    iceTransportPolicy: 'all',
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceUseTcp: false,
    iceUseLinkLocalAddress: false,
    iceAdditionalHostAddresses: [network.announcedAddress],
    iceInterfaceAddresses: { [family]: network.bindAddress },
    ...(network.icePortRange === undefined ? {} : { icePortRange: network.icePortRange }),
    bundlePolicy: 'max-bundle',
    codecs: { audio: codecs.map(weriftCodec), video: [] },
    headerExtensions: { audio: [], video: [] },
  };
}
