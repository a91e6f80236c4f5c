import { isIP } from 'node:net';
import { invalidArgument } from '../errors.js';
import {
  type AudioCodec,
  audioMedia,
  codecsOf,
  directionOf,
  type MediaDirection,
  relayedCodecs,
} from './media-info.js';
import { DEFAULT_SDP_LIMITS, type ParsedSdp, parseSdp, type SdpLimits } from './parse.js';

/** What the gateway needs from a plain-RTP SDP of the SIP side. */
export interface RtpAudio {
  address: string;
  port: number;
  protocol: string;
  codecs: AudioCodec[];
  /** RFC 4733 telephone-event payload type, when offered. */
  telephoneEvent?: number;
  direction: MediaDirection;
}

export interface CheckedRtpSdp extends ParsedSdp {
  audio: RtpAudio;
}

const RTP_PROTOCOL = /^RTP\/(?:AVP|AVPF|SAVP|SAVPF)$/;

/**
 * Checks an SDP from the SIP side (INVITE, 18x, 200, re-INVITE): an audio
 * m-line on an RTP profile with a connection address and a codec the gateway
 * relays. Throws `400 INVALID_ARGUMENT`; SIP adapters map it to 488.
 */
export function checkRtpSdp(sdp: ParsedSdp, field: string): CheckedRtpSdp {
  const media = audioMedia(sdp, field);
  if (!RTP_PROTOCOL.test(media.protocol)) throw invalidArgument(`${field} audio m-line must use RTP/AVP`);
  const address = media.connection?.ip ?? sdp.description.connection?.ip;
  if (address === undefined || isIP(address) === 0)
    throw invalidArgument(`${field} has no valid "c=" address`);
  const all = codecsOf(media, field);
  const codecs = relayedCodecs(all);
  if (codecs.length === 0 && media.port !== 0)
    throw invalidArgument(`${field} offers no codec the gateway relays`);
  const dtmf = all.find((c) => c.name === 'telephone-event');
  return {
    ...sdp,
    audio: {
      address,
      port: media.port,
      protocol: media.protocol,
      codecs,
      ...(dtmf === undefined ? {} : { telephoneEvent: dtmf.payload }),
      direction: directionOf(media, sdp.description),
    },
  };
}

export function parseRtpSdp(
  value: unknown,
  field: string,
  limits: SdpLimits = DEFAULT_SDP_LIMITS,
): CheckedRtpSdp {
  return checkRtpSdp(parseSdp(value, field, limits), field);
}
