import { invalidArgument } from '../errors.js';
import { type AudioCodec, audioMedia, codecsOf, type MediaDirection } from '../sdp/media-info.js';
import type { ParsedSdp } from '../sdp/parse.js';

/**
 * Which codec each leg uses. The relay forwards frames without decoding, so
 * both legs must carry the same codec, except PCMU ↔ PCMA, which a byte table
 * converts (G.711 µ-law and A-law code the same 8 kHz samples).
 */
export interface LegFormat {
  /** `pcmu`, `pcma` or `opus`, with this leg's payload type. */
  audio: AudioCodec;
  /** RFC 4733 telephone-event at the audio codec's clock rate, when this leg has it. */
  telephoneEvent?: AudioCodec;
}

export const G711 = ['pcmu', 'pcma'] as const;
export const isG711 = (name: string): boolean => name === 'pcmu' || name === 'pcma';

/** Whether frames of codec `a` can be relayed to a leg using `b`. */
export const relayable = (a: string, b: string): boolean => a === b || (isG711(a) && isG711(b));

/** The RTP-side static payload types (RFC 3551) and the dynamic ones this gateway picks. */
export const RTP_PCMU: AudioCodec = { payload: 0, name: 'pcmu', rate: 8000 };
export const RTP_PCMA: AudioCodec = { payload: 8, name: 'pcma', rate: 8000 };
export const RTP_OPUS: AudioCodec = {
  payload: 111,
  name: 'opus',
  rate: 48000,
  channels: 2,
  fmtp: 'minptime=10;useinbandfec=1',
};
/** telephone-event on 101, as the CAMARA call flows show (events 0-16: DTMF, RFC 4733 §3.2). */
export const telephoneEventAt = (rate: number, payload = 101): AudioCodec => ({
  payload,
  name: 'telephone-event',
  rate,
  fmtp: '0-16',
});

/** Every codec of the SDP's audio m-line, telephone-event included. */
export function allCodecs(sdp: ParsedSdp, field: string): AudioCodec[] {
  return codecsOf(audioMedia(sdp, field), field);
}

function telephoneEventFor(codecs: readonly AudioCodec[], rate: number): AudioCodec | undefined {
  return codecs.find((c) => c.name === 'telephone-event' && c.rate === rate);
}

function format(audio: AudioCodec, codecs: readonly AudioCodec[]): LegFormat {
  const dtmf = telephoneEventFor(codecs, audio.rate);
  return dtmf === undefined ? { audio } : { audio, telephoneEvent: dtmf };
}

/**
 * A device's offer, answered before the SIP side is asked: G.711 when the
 * device offers it (a SIP network almost always accepts G.711, and no Opus ↔
 * G.711 transcoder runs here), else Opus (the SIP side must then take Opus).
 */
export function chooseForDeviceOffer(sdp: ParsedSdp, field: string): LegFormat {
  const codecs = allCodecs(sdp, field);
  const audio = codecs.find((c) => isG711(c.name)) ?? codecs.find((c) => c.name === 'opus');
  if (audio === undefined)
    throw invalidArgument(`${field} offers no audio codec the gateway relays (PCMU, PCMA, opus)`);
  return format(audio, codecs);
}

/** The codecs the gateway offers the SIP side for a device leg in `webrtc`: the same codec first, the other G.711 law too. */
export function rtpOfferFor(webrtc: LegFormat): LegFormat & { alternatives: AudioCodec[] } {
  if (webrtc.audio.name === 'opus') {
    return { audio: RTP_OPUS, telephoneEvent: telephoneEventAt(48000), alternatives: [] };
  }
  const [first, other] = webrtc.audio.name === 'pcma' ? [RTP_PCMA, RTP_PCMU] : [RTP_PCMU, RTP_PCMA];
  return { audio: first, telephoneEvent: telephoneEventAt(8000), alternatives: [other] };
}

/**
 * The codec a remote answer picked among `offered` (RFC 3264 §6.1: the
 * answer lists a subset of the offer; its first one is what will be sent).
 */
export function chooseFromAnswer(
  sdp: ParsedSdp,
  field: string,
  offered: readonly AudioCodec[],
  current?: LegFormat,
): LegFormat {
  const codecs = allCodecs(sdp, field);
  const audio = codecs.find((c) => offered.some((o) => o.name === c.name && o.rate === c.rate));
  if (audio === undefined) {
    throw invalidArgument(
      `${field} answers none of the offered codecs (${offered.map((c) => c.name).join(', ')})`,
    );
  }
  if (current !== undefined && !relayable(current.audio.name, audio.name)) {
    throw invalidArgument(`${field} changes the codec from ${current.audio.name} to ${audio.name}`);
  }
  return format(audio, codecs);
}

/**
 * The SIP side's offer (incoming call or re-INVITE): its first codec the
 * gateway relays, in the offerer's order (RFC 3264 §6.1). With `relayTo` (the
 * codec already used on the other leg), only a codec relayable to it.
 */
export function chooseForRtpOffer(sdp: ParsedSdp, field: string, relayTo?: string): LegFormat {
  const codecs = allCodecs(sdp, field);
  const audio = codecs.find(
    (c) => (c.name === 'opus' || isG711(c.name)) && (relayTo === undefined || relayable(c.name, relayTo)),
  );
  if (audio === undefined) {
    throw invalidArgument(
      relayTo === undefined
        ? `${field} offers no audio codec the gateway relays (PCMU, PCMA, opus)`
        : `${field} offers no codec that can be relayed to the device's ${relayTo}`,
    );
  }
  return format(audio, codecs);
}

/** The WebRTC offer's codecs for a SIP leg in `rtp`: the same codec (and for G.711 the other law), telephone-event. */
export function webRtcOfferFor(rtp: LegFormat): { codecs: AudioCodec[]; telephoneEvent: AudioCodec } {
  if (rtp.audio.name === 'opus') {
    return { codecs: [{ ...RTP_OPUS }], telephoneEvent: telephoneEventAt(48000, 110) };
  }
  const codecs = rtp.audio.name === 'pcma' ? [RTP_PCMA, RTP_PCMU] : [RTP_PCMU, RTP_PCMA];
  return { codecs, telephoneEvent: telephoneEventAt(8000, 126) };
}

/** The answer's direction to an offer's (RFC 3264 §6.1), for an answerer that wants `local`. */
export function answerDirection(offered: MediaDirection, local: MediaDirection): MediaDirection {
  const remoteSends = offered === 'sendrecv' || offered === 'sendonly';
  const remoteReceives = offered === 'sendrecv' || offered === 'recvonly';
  const send = remoteReceives && (local === 'sendrecv' || local === 'sendonly');
  const receive = remoteSends && (local === 'sendrecv' || local === 'recvonly');
  return send && receive ? 'sendrecv' : send ? 'sendonly' : receive ? 'recvonly' : 'inactive';
}

export const sends = (direction: MediaDirection): boolean =>
  direction === 'sendrecv' || direction === 'sendonly';
export const receives = (direction: MediaDirection): boolean =>
  direction === 'sendrecv' || direction === 'recvonly';
