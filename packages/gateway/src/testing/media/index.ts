/** Audio test tools: tones, a tone detector, a plain RTP peer and a werift WebRTC device, all on loopback. */
export { analyseTone, goertzelPower, type ToneReport, toneShare } from './goertzel.js';
export { type G711Law, type ReceivedEvent, RtpPeer } from './rtp-peer.js';
export { ToneGenerator } from './tone.js';
export { BROWSER_LIKE_CODECS, WeriftDevice, type WeriftDeviceOptions } from './werift-device.js';
