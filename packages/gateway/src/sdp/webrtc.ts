import { invalidArgument } from '../errors.js';
import {
  type AudioCodec,
  audioMedia,
  codecsOf,
  type DtlsSetup,
  directionOf,
  type MediaDirection,
  relayedCodecs,
} from './media-info.js';
import { DEFAULT_SDP_LIMITS, type ParsedSdp, parseSdp, type SdpLimits } from './parse.js';

/** What the gateway needs from a WebRTC SDP (offer or answer) for its audio stream. */
export interface WebRtcAudio {
  mid?: string;
  port: number;
  protocol: string;
  codecs: AudioCodec[];
  direction: MediaDirection;
  setup: DtlsSetup;
  iceUfrag: string;
  icePwd: string;
  fingerprint: { type: string; hash: string };
  rtcpMux: boolean;
}

export interface CheckedWebRtcSdp extends ParsedSdp {
  audio: WebRtcAudio;
}

/** Secure RTP profiles a WebRTC endpoint uses (RFC 8829 §5.1.2). */
const WEBRTC_PROTOCOL = /^(?:UDP\/TLS\/RTP\/SAVPF|UDP\/TLS\/RTP\/SAVP|TCP\/DTLS\/RTP\/SAVPF|RTP\/SAVPF)$/;
/** ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4). */
const ICE_UFRAG = /^[A-Za-z0-9+/]{4,256}$/;
const ICE_PWD = /^[A-Za-z0-9+/]{22,256}$/;
const HASH_BYTES: Record<string, number> = {
  'sha-1': 20,
  'sha-224': 28,
  'sha-256': 32,
  'sha-384': 48,
  'sha-512': 64,
};
/** The fingerprint's form for each hash (hex byte pairs joined by colons), compiled once. */
const FINGERPRINT: Record<string, RegExp> = Object.fromEntries(
  Object.entries(HASH_BYTES).map(([type, bytes]) => [
    type,
    new RegExp(`^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){${bytes - 1}}$`),
  ]),
);

/**
 * Checks that a parsed SDP is usable as a WebRTC `offer` or `answer`: an audio
 * m-line on a DTLS-SRTP profile, ICE credentials, a DTLS fingerprint, a valid
 * `a=setup` (RFC 8842: `actpass` only in offers) and a codec the gateway relays.
 */
export function checkWebRtcSdp(sdp: ParsedSdp, field: string, role: 'offer' | 'answer'): CheckedWebRtcSdp {
  const session = sdp.description;
  const media = audioMedia(sdp, field);
  if (!WEBRTC_PROTOCOL.test(media.protocol)) {
    throw invalidArgument(
      `${field} audio m-line must use UDP/TLS/RTP/SAVPF (DTLS-SRTP), not "${media.protocol}"`,
    );
  }
  if (media.port === 0 && role === 'offer')
    throw invalidArgument(`${field} audio m-line is disabled (port 0)`);
  const iceUfrag = media.iceUfrag ?? session.iceUfrag;
  const icePwd = media.icePwd ?? session.icePwd;
  if (iceUfrag === undefined || icePwd === undefined) {
    throw invalidArgument(`${field} has no ICE credentials (a=ice-ufrag and a=ice-pwd)`);
  }
  if (!ICE_UFRAG.test(iceUfrag) || !ICE_PWD.test(icePwd)) {
    throw invalidArgument(
      `${field} has malformed ICE credentials (a=ice-ufrag 4+ / a=ice-pwd 22+ ice-chars)`,
    );
  }
  const fingerprint = media.fingerprint ?? session.fingerprint;
  if (fingerprint === undefined) throw invalidArgument(`${field} has no DTLS fingerprint (a=fingerprint)`);
  const type = fingerprint.type.toLowerCase();
  const form = Object.hasOwn(FINGERPRINT, type) ? FINGERPRINT[type] : undefined;
  if (form === undefined)
    throw invalidArgument(`${field} has an unsupported fingerprint hash "${fingerprint.type}"`);
  if (!form.test(fingerprint.hash)) {
    throw invalidArgument(`${field} has a malformed ${type} fingerprint`);
  }
  const setup = (media.setup ?? session.setup) as string | undefined;
  const allowed: readonly string[] =
    role === 'offer' ? ['actpass', 'active', 'passive'] : ['active', 'passive'];
  if (setup === undefined || !allowed.includes(setup)) {
    throw invalidArgument(`${field} needs a=setup:${allowed.join('|')} (RFC 8842)`);
  }
  const codecs = relayedCodecs(codecsOf(media, field));
  if (codecs.length === 0)
    throw invalidArgument(`${field} offers no audio codec the gateway supports (opus, PCMU, PCMA)`);
  return {
    ...sdp,
    audio: {
      ...(media.mid === undefined ? {} : { mid: String(media.mid) }),
      port: media.port,
      protocol: media.protocol,
      codecs,
      direction: directionOf(media, session),
      setup: setup as DtlsSetup,
      iceUfrag,
      icePwd,
      fingerprint: { type, hash: fingerprint.hash.toUpperCase() },
      rtcpMux: media.rtcpMux !== undefined,
    },
  };
}

/**
 * Reads a `WrtcSdpDescriptor` (`{ "sdp": "..." }`) from a request: present,
 * an object with a string `sdp`, syntactically valid, fit for WebRTC.
 */
export function readWebRtcDescriptor(
  value: unknown,
  field: string,
  role: 'offer' | 'answer',
  limits: SdpLimits = DEFAULT_SDP_LIMITS,
): CheckedWebRtcSdp {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`${field} must be an object with an "sdp" string`);
  }
  const sdp = (value as { sdp?: unknown }).sdp;
  if (sdp === undefined) throw invalidArgument(`${field}.sdp is required`);
  return checkWebRtcSdp(parseSdp(sdp, `${field}.sdp`, limits), `${field}.sdp`, role);
}
