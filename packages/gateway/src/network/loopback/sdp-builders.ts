import { customAlphabet } from 'nanoid';
import { randomHex, randomUpperHex } from '../../core/ids.js';
import type { AudioCodec, MediaDirection } from '../../sdp/media-info.js';

/** Random ice-chars (RFC 8839 §5.4). */
const iceChars = customAlphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 24);

/** 56 random bits as a decimal `sess-id` (RFC 4566 §5.2). */
const sessionId = (): string => BigInt(`0x${randomHex(14)}`).toString();

/** A fake certificate fingerprint (sha-256): syntactically what a DTLS stack publishes. */
export function fakeFingerprint(): string {
  return randomUpperHex(64).replace(/(..)(?!$)/g, '$1:');
}

export interface LocalIce {
  ufrag: string;
  pwd: string;
  fingerprint: string;
}

export const newLocalIce = (): LocalIce => ({
  ufrag: iceChars(8),
  pwd: iceChars(24),
  fingerprint: fakeFingerprint(),
});

export const mirrorDirection = (direction: MediaDirection): MediaDirection =>
  direction === 'sendonly' ? 'recvonly' : direction === 'recvonly' ? 'sendonly' : direction;

function rtpmapLines(codecs: readonly AudioCodec[]): string[] {
  const lines: string[] = [];
  for (const c of codecs) {
    const name = c.name === 'pcmu' ? 'PCMU' : c.name === 'pcma' ? 'PCMA' : c.name;
    lines.push(`a=rtpmap:${c.payload} ${name}/${c.rate}${c.channels ? `/${c.channels}` : ''}`);
    if (c.fmtp !== undefined) lines.push(`a=fmtp:${c.payload} ${c.fmtp}`);
  }
  return lines;
}

export const OPUS: AudioCodec = {
  payload: 111,
  name: 'opus',
  rate: 48000,
  channels: 2,
  fmtp: 'minptime=10;useinbandfec=1',
};
export const PCMU: AudioCodec = { payload: 0, name: 'pcmu', rate: 8000 };
export const PCMA: AudioCodec = { payload: 8, name: 'pcma', rate: 8000 };
const DTMF_PT = 101;

export interface WebRtcSdpParams {
  address: string;
  port: number;
  ice: LocalIce;
  setup: 'actpass' | 'active' | 'passive';
  mid: string;
  codecs: readonly AudioCodec[];
  direction: MediaDirection;
  version: number;
  id: string;
}

/** A WebRTC SDP (offer or answer) for one audio stream: ICE, DTLS fingerprint, rtcp-mux, BUNDLE. */
export function webRtcSdp(p: WebRtcSdpParams): string {
  return `${[
    'v=0',
    `o=- ${p.id} ${p.version} IN IP4 ${p.address}`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${p.mid}`,
    `m=audio ${p.port} UDP/TLS/RTP/SAVPF ${p.codecs.map((c) => c.payload).join(' ')}`,
    `c=IN IP4 ${p.address}`,
    `a=candidate:1 1 udp 2122262783 ${p.address} ${p.port} typ host generation 0`,
    `a=ice-ufrag:${p.ice.ufrag}`,
    `a=ice-pwd:${p.ice.pwd}`,
    `a=fingerprint:sha-256 ${p.ice.fingerprint}`,
    `a=setup:${p.setup}`,
    `a=mid:${p.mid}`,
    `a=${p.direction}`,
    'a=rtcp-mux',
    ...rtpmapLines(p.codecs),
  ].join('\r\n')}\r\n`;
}

export interface RtpSdpParams {
  address: string;
  port: number;
  codecs: readonly AudioCodec[];
  direction: MediaDirection;
  version: number;
  id: string;
  name: string;
}

/** A plain RTP SDP as the call flows show it (G.711 + telephone-event, ptime 20). */
export function rtpSdp(p: RtpSdpParams): string {
  return `${[
    'v=0',
    `o=- ${p.id} ${p.version} IN IP4 ${p.address}`,
    `s=${p.name}`,
    `c=IN IP4 ${p.address}`,
    't=0 0',
    `m=audio ${p.port} RTP/AVP ${[...p.codecs.map((c) => c.payload), DTMF_PT].join(' ')}`,
    ...rtpmapLines(p.codecs),
    `a=rtpmap:${DTMF_PT} telephone-event/8000`,
    `a=fmtp:${DTMF_PT} 0-16`,
    `a=${p.direction}`,
    'a=ptime:20',
  ].join('\r\n')}\r\n`;
}

export const newSessionId = sessionId;
