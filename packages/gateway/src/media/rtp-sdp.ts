import { isIPv6 } from 'node:net';
import type { AudioCodec, MediaDirection } from '../sdp/media-info.js';

export interface RtpSdpParams {
  address: string;
  port: number;
  codecs: readonly AudioCodec[];
  telephoneEvent?: AudioCodec | undefined;
  direction: MediaDirection;
  sessionId: string;
  version: number;
  /** Answer `a=rtcp-mux` to an offer that has it (RFC 5761 §5.1.1); never offered. */
  rtcpMux?: boolean;
}

const encodingName = (name: string): string => (name === 'pcmu' ? 'PCMU' : name === 'pcma' ? 'PCMA' : name);

/**
 * The plain RTP SDP of the SIP leg, shaped like the CAMARA call flows' (RTP/AVP,
 * one `c=`, G.711 with telephone-event, `a=ptime:20`, a direction attribute).
 */
export function buildRtpSdp(p: RtpSdpParams): string {
  const family = isIPv6(p.address) ? 'IP6' : 'IP4';
  const codecs = p.telephoneEvent === undefined ? [...p.codecs] : [...p.codecs, p.telephoneEvent];
  const lines = [
    'v=0',
    `o=- ${p.sessionId} ${p.version} IN ${family} ${p.address}`,
    's=-',
    `c=IN ${family} ${p.address}`,
    't=0 0',
    `m=audio ${p.port} RTP/AVP ${codecs.map((c) => c.payload).join(' ')}`,
  ];
  for (const c of codecs) {
    lines.push(
      `a=rtpmap:${c.payload} ${encodingName(c.name)}/${c.rate}${c.channels ? `/${c.channels}` : ''}`,
    );
    if (c.fmtp !== undefined) lines.push(`a=fmtp:${c.payload} ${c.fmtp}`);
  }
  if (p.rtcpMux) lines.push('a=rtcp-mux');
  lines.push('a=ptime:20', `a=${p.direction}`);
  return `${lines.join('\r\n')}\r\n`;
}
