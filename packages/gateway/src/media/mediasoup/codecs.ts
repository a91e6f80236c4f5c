import type { types } from 'mediasoup';
import { invalidArgument } from '../../errors.js';
import { type AudioCodec, audioMedia, codecsOf } from '../../sdp/media-info.js';
import type { ParsedSdp } from '../../sdp/parse.js';

/** A codec the gateway relays without transcoding, in the SDP's lower-case naming. */
export type RelayedCodecName = 'opus' | 'pcmu' | 'pcma';

/**
 * What one call relays: a single audio codec and RFC 4733 telephone-events at its clock rate.
 * mediasoup never transcodes, so both legs carry the same codec.
 *
 * The payload type numbers are the router's and are used on both legs: mediasoup's consumers
 * send with the router's numbers, so the router takes the numbers of the first offer and the
 * gateway's own offer to the other leg repeats them (RFC 3264 §6.1: an answerer SHOULD keep them).
 */
export interface CallCodecs {
  audio: AudioCodec;
  /** RFC 4733 payload type at the audio codec's clock rate; absent when the offerer listed none. */
  telephoneEvent?: number;
}

const MIME_TYPES: Record<RelayedCodecName, string> = {
  opus: 'audio/opus',
  pcmu: 'audio/PCMU',
  pcma: 'audio/PCMA',
};

/** The default order in which the gateway picks a codec from a device's offer for an outgoing call. */
export const DEFAULT_OUTBOUND_CODECS: readonly RelayedCodecName[] = ['pcmu', 'pcma', 'opus'];

/** The RFC 4733 telephone-event formats an SDP lists, at every clock rate. */
export function telephoneEventsOf(sdp: ParsedSdp, field: string): AudioCodec[] {
  return codecsOf(audioMedia(sdp, field), field).filter((c) => c.name === 'telephone-event');
}

/**
 * Picks the codec of a call from an offer: the first name of `preference` the offer lists, with
 * the offer's payload type, and the offer's telephone-event at the codec's clock rate (RFC 4733
 * §2.1: the events are clocked like the voice): 8 kHz with G.711, 48 kHz with Opus.
 * Throws `400 INVALID_ARGUMENT` when the offer shares no codec.
 */
export function chooseCallCodecs(
  offered: readonly AudioCodec[],
  telephoneEvents: readonly AudioCodec[],
  preference: readonly RelayedCodecName[],
  field: string,
): CallCodecs {
  for (const name of preference) {
    const audio = offered.find((c) => c.name === name && isSupportedRate(c));
    if (audio === undefined) continue;
    const event = telephoneEvents.find((c) => c.rate === audio.rate);
    return { audio, ...(event === undefined ? {} : { telephoneEvent: event.payload }) };
  }
  throw invalidArgument(
    `${field} shares no audio codec with the other side of the call (offered: ${describe(offered)}; relayed: ${preference.join(', ')})`,
  );
}

/** The codec a far end answered, which must be the one the gateway offered. */
export function checkAnsweredCodec(answered: readonly AudioCodec[], call: CallCodecs, field: string): void {
  if (!answered.some((c) => c.name === call.audio.name && c.rate === call.audio.rate)) {
    throw invalidArgument(
      `${field} does not accept the offered codec ${call.audio.name}/${call.audio.rate} (answered: ${describe(answered)})`,
    );
  }
}

function isSupportedRate(codec: AudioCodec): boolean {
  return codec.name === 'opus' ? codec.rate === 48000 : codec.rate === 8000;
}

function describe(codecs: readonly AudioCodec[]): string {
  return codecs.length === 0 ? 'none' : codecs.map((c) => `${c.name}/${c.rate}`).join(', ');
}

/** `minptime=10;useinbandfec=1` → `{ minptime: 10, useinbandfec: 1 }`, as mediasoup keeps codec parameters. */
function fmtpParameters(fmtp: string | undefined): Record<string, string | number> {
  const parameters: Record<string, string | number> = {};
  for (const pair of (fmtp ?? '').split(';')) {
    const [key, value] = pair.split('=').map((part) => part.trim());
    if (!key || value === undefined) continue;
    parameters[key] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return parameters;
}

function audioCodecParameters(call: CallCodecs): types.RtpCodecParameters {
  const name = call.audio.name as RelayedCodecName;
  return {
    mimeType: MIME_TYPES[name],
    payloadType: call.audio.payload,
    clockRate: call.audio.rate,
    ...(name === 'opus' ? { channels: 2 } : {}),
    parameters: fmtpParameters(call.audio.fmtp),
    rtcpFeedback: [],
  };
}

/**
 * The name the router knows RFC 4733 events by. A stock worker's consumers forward media codecs
 * only (src/RTC/Consumer.cpp keeps `IsMediaCodec()` payload types, which leaves out CN and
 * telephone-event); the worker `npm run build:mediasoup-worker` builds forwards telephone-event
 * too (scripts/mediasoup-worker/0006-relay-telephone-event.patch), at any clock rate, on the
 * voice's SSRC and clock as RFC 4733 §2.1 wants.
 */
export const RELAYED_EVENTS_MIME_TYPE = 'audio/telephone-event';

function telephoneEventParameters(payloadType: number, clockRate: number): types.RtpCodecParameters {
  return {
    mimeType: RELAYED_EVENTS_MIME_TYPE,
    payloadType,
    clockRate,
    parameters: {},
    rtcpFeedback: [],
  };
}

/** The router's codecs: exactly the call's, at the call's payload type numbers. */
export function routerMediaCodecs(call: CallCodecs): types.RouterRtpCodecCapability[] {
  const { payloadType, ...audio } = audioCodecParameters(call);
  const codecs: types.RouterRtpCodecCapability[] = [
    { kind: 'audio', ...audio, preferredPayloadType: payloadType },
  ];
  if (call.telephoneEvent !== undefined) {
    const { payloadType: eventPayload, ...events } = telephoneEventParameters(
      call.telephoneEvent,
      call.audio.rate,
    );
    codecs.push({ kind: 'audio', ...events, preferredPayloadType: eventPayload });
  }
  return codecs;
}

/**
 * A producer's RTP parameters: what one leg sends into the router. Without a signalled SSRC the
 * producer is known by MID only and the worker latches the first SSRC it receives.
 */
export function producerRtpParameters(
  call: CallCodecs,
  stream: { mid: string; ssrc?: number; cname?: string },
): types.RtpParameters {
  return {
    mid: stream.mid,
    codecs: [
      audioCodecParameters(call),
      ...(call.telephoneEvent === undefined
        ? []
        : [telephoneEventParameters(call.telephoneEvent, call.audio.rate)]),
    ],
    headerExtensions: [],
    encodings: [stream.ssrc === undefined ? {} : { ssrc: stream.ssrc }],
    rtcp: { ...(stream.cname === undefined ? {} : { cname: stream.cname }), reducedSize: false },
  };
}

/** What a leg can receive, for its consumer: the call's codecs and no header extension. */
export function legRtpCapabilities(call: CallCodecs): types.RtpCapabilities {
  return {
    codecs: routerMediaCodecs(call).map((codec) => ({
      ...codec,
      preferredPayloadType: codec.preferredPayloadType ?? 0,
    })),
    headerExtensions: [],
  };
}
