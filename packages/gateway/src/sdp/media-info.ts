import type { MediaAttributes, SessionDescription } from 'sdp-transform';
import { invalidArgument } from '../errors.js';
import type { ParsedSdp } from './parse.js';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type DtlsSetup = 'actpass' | 'active' | 'passive';

/** An audio codec offered or answered on an m-line. */
export interface AudioCodec {
  payload: number;
  /** Lower-case encoding name: `opus`, `pcmu`, `pcma`, `telephone-event`, ... */
  name: string;
  rate: number;
  channels?: number;
  fmtp?: string;
}

/** Codecs the gateway can relay between WebRTC and the SIP side. */
export const RELAYED_CODECS = ['opus', 'pcmu', 'pcma'] as const;

/** Static payload types of RFC 3551 that need no `a=rtpmap`. */
const STATIC_PAYLOADS: Record<number, { name: string; rate: number }> = {
  0: { name: 'pcmu', rate: 8000 },
  8: { name: 'pcma', rate: 8000 },
  9: { name: 'g722', rate: 8000 },
};

export type SdpMedia = SessionDescription['media'][number];

export function audioMedia(sdp: ParsedSdp, field: string): SdpMedia {
  const audio = sdp.description.media.find((m) => m.type === 'audio');
  if (audio === undefined) throw invalidArgument(`${field} has no audio m-line ("m=audio ...")`);
  if (!Number.isInteger(audio.port) || audio.port < 0 || audio.port > 65_535) {
    throw invalidArgument(`${field} audio m-line has an invalid port`);
  }
  return audio;
}

export function codecsOf(media: SdpMedia, field: string): AudioCodec[] {
  const payloads = String(media.payloads ?? '')
    .trim()
    .split(/\s+/)
    .filter((p) => p !== '');
  if (payloads.length === 0) throw invalidArgument(`${field} audio m-line lists no payload type`);
  const codecs: AudioCodec[] = [];
  for (const raw of payloads) {
    if (!/^\d{1,3}$/.test(raw) || Number(raw) > 127)
      throw invalidArgument(`${field} has an invalid payload type "${raw}"`);
    const payload = Number(raw);
    const rtp = media.rtp.find((r) => r.payload === payload);
    const fmtp = media.fmtp.find((f) => f.payload === payload)?.config;
    const known = rtp
      ? {
          name: rtp.codec.toLowerCase(),
          rate: rtp.rate ?? 0,
          ...(rtp.encoding ? { channels: Number(rtp.encoding) } : {}),
        }
      : STATIC_PAYLOADS[payload];
    if (known === undefined) continue;
    codecs.push({ payload, ...known, ...(fmtp === undefined ? {} : { fmtp }) });
  }
  return codecs;
}

export function directionOf(media: MediaAttributes, session: SessionDescription): MediaDirection {
  return (media.direction ?? session.direction ?? 'sendrecv') as MediaDirection;
}

/** The codecs of `codecs` the gateway can relay, in the offerer's order of preference. */
export function relayedCodecs(codecs: readonly AudioCodec[]): AudioCodec[] {
  return codecs.filter((c) => (RELAYED_CODECS as readonly string[]).includes(c.name));
}
