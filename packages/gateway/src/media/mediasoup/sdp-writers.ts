import { isIPv6 } from 'node:net';
import type { types } from 'mediasoup';
import type { AudioCodec, DtlsSetup, MediaDirection } from '../../sdp/media-info.js';
import type { CallCodecs } from './codecs.js';

/** The `o=` line's identity of one leg: a session id and a version bumped by every new description. */
export interface SdpOrigin {
  sessionId: string;
  version: number;
}

const addressType = (address: string): string => (isIPv6(address) ? 'IP6' : 'IP4');

function rtpmapLines(codec: AudioCodec): string[] {
  const name = codec.name === 'pcmu' ? 'PCMU' : codec.name === 'pcma' ? 'PCMA' : codec.name;
  const channels = codec.name === 'opus' ? '/2' : '';
  return [
    `a=rtpmap:${codec.payload} ${name}/${codec.rate}${channels}`,
    ...(codec.fmtp === undefined ? [] : [`a=fmtp:${codec.payload} ${codec.fmtp}`]),
  ];
}

function callCodecLines(call: CallCodecs): { payloads: string; lines: string[] } {
  const events = call.telephoneEvent;
  return {
    payloads: [call.audio.payload, ...(events === undefined ? [] : [events])].join(' '),
    lines: [
      ...rtpmapLines(call.audio),
      ...(events === undefined
        ? []
        : [`a=rtpmap:${events} telephone-event/${call.audio.rate}`, `a=fmtp:${events} 0-16`]),
    ],
  };
}

export interface WebRtcDescriptionParams {
  origin: SdpOrigin;
  /** The address the candidates announce, also written in `o=` and `c=`. */
  address: string;
  mid: string;
  setup: DtlsSetup;
  direction: MediaDirection;
  call: CallCodecs;
  ice: types.IceParameters;
  candidates: readonly types.IceCandidate[];
  fingerprint: types.DtlsFingerprint;
  /** The stream the gateway sends the device (its consumer), so a receiver that matches by SSRC finds it. */
  sending: { ssrc: number; cname: string; streamId: string; trackId: string };
}

/**
 * The gateway's WebRTC description (offer or answer) for one audio stream, from a mediasoup
 * WebRtcTransport: ICE-lite with every host candidate (no trickle), a DTLS fingerprint, rtcp-mux,
 * BUNDLE, and the `a=ssrc` of the stream it sends.
 */
export function webRtcDescription(p: WebRtcDescriptionParams): string {
  const first = p.candidates[0];
  const port = first?.port ?? 9;
  const codecs = callCodecLines(p.call);
  const { ssrc, cname, streamId, trackId } = p.sending;
  return `${[
    'v=0',
    `o=- ${p.origin.sessionId} ${p.origin.version} IN ${addressType(p.address)} ${p.address}`,
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${p.mid}`,
    'a=msid-semantic: WMS *',
    `m=audio ${port} UDP/TLS/RTP/SAVPF ${codecs.payloads}`,
    `c=IN ${addressType(p.address)} ${p.address}`,
    ...p.candidates.map(
      (c) =>
        `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}${c.tcpType ? ` tcptype ${c.tcpType}` : ''}`,
    ),
    'a=end-of-candidates',
    `a=ice-ufrag:${p.ice.usernameFragment}`,
    `a=ice-pwd:${p.ice.password}`,
    `a=fingerprint:${p.fingerprint.algorithm} ${p.fingerprint.value.toUpperCase()}`,
    `a=setup:${p.setup}`,
    `a=mid:${p.mid}`,
    `a=${p.direction}`,
    'a=rtcp-mux',
    ...codecs.lines,
    `a=msid:${streamId} ${trackId}`,
    `a=ssrc:${ssrc} cname:${cname}`,
    `a=ssrc:${ssrc} msid:${streamId} ${trackId}`,
  ].join('\r\n')}\r\n`;
}

export interface PlainRtpDescriptionParams {
  origin: SdpOrigin;
  address: string;
  port: number;
  /** The RTCP port when RTCP has its own (RFC 3605 `a=rtcp`); absent with rtcp-mux. */
  rtcpPort?: number;
  call: CallCodecs;
  direction: MediaDirection;
  sessionName: string;
}

/** The gateway's plain RTP description for the SIP side, as the call flows show it (ptime 20). */
export function plainRtpDescription(p: PlainRtpDescriptionParams): string {
  const codecs = callCodecLines(p.call);
  const type = addressType(p.address);
  return `${[
    'v=0',
    `o=- ${p.origin.sessionId} ${p.origin.version} IN ${type} ${p.address}`,
    `s=${p.sessionName}`,
    `c=IN ${type} ${p.address}`,
    't=0 0',
    `m=audio ${p.port} RTP/AVP ${codecs.payloads}`,
    ...codecs.lines,
    p.rtcpPort === undefined ? 'a=rtcp-mux' : `a=rtcp:${p.rtcpPort} IN ${type} ${p.address}`,
    'a=ptime:20',
    `a=${p.direction}`,
  ].join('\r\n')}\r\n`;
}
