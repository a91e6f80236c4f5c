export { type AudioCodec, type DtlsSetup, type MediaDirection, RELAYED_CODECS } from './media-info.js';
export { DEFAULT_SDP_LIMITS, type ParsedSdp, parseSdp, type SdpLimits } from './parse.js';
export { type CheckedRtpSdp, checkRtpSdp, parseRtpSdp, type RtpAudio } from './rtp.js';
export { type CheckedWebRtcSdp, checkWebRtcSdp, readWebRtcDescriptor, type WebRtcAudio } from './webrtc.js';
