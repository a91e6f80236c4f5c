import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { expect } from 'vitest';
import {
  checkRtpSdp,
  checkWebRtcSdp,
  type MediaBackend,
  type MediaEndpoint,
  parseSdp,
} from '../../src/index.js';
import {
  analyseTone,
  type G711Law,
  RtpPeer,
  WeriftDevice,
  type WeriftDeviceOptions,
} from '../../src/testing/index.js';

/*
 * Calls through a MediaBackend in tests, with real peers on 127.0.0.1: a werift WebRTC device and
 * a plain RTP peer for the SIP side. Audio is checked by content: the device sends 440 Hz, the SIP
 * side 1000 Hz, and each side must hear the other's tone (Goertzel), not silence.
 */

export const DEVICE_TONE = 440;
export const SIP_TONE = 1000;
const RATE = 8000;
/** How long a check waits for a tone before failing. */
const TONE_TIMEOUT_MS = 4_000;

export const webRtcSdp = (sdp: string, role: 'offer' | 'answer') =>
  checkWebRtcSdp(parseSdp(sdp, role), role, role);
export const rtpSdp = (sdp: string) => checkRtpSdp(parseSdp(sdp, 'rtp'), 'rtp');

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One call: its two peers, its endpoint, and the SDP the gateway wrote for each leg. */
export interface MediaCall {
  device: WeriftDevice;
  sip: RtpPeer;
  endpoint: MediaEndpoint;
  /** The gateway's WebRTC answer (outgoing) or offer (incoming). */
  webrtcSdp: string;
  /** The gateway's RTP offer (outgoing) or answer (incoming). */
  rtpSdp: string;
}

/** Closers of what a test opened, run in reverse order after it. */
export type Cleanups = (() => Promise<void>)[];

/** The `a=rtpmap` encoding names of the audio m-line, in order, lower case. */
export function codecNames(sdp: string): string[] {
  return [...sdp.matchAll(/^a=rtpmap:\d+ ([^/\s]+)\//gm)].map((match) => match[1]!.toLowerCase());
}

/** The payload type of `name` (at `rate`, when given) in an SDP's `a=rtpmap` lines. */
export function payloadTypeOf(sdp: string, name: string, rate?: number): number | undefined {
  for (const match of sdp.matchAll(/^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/gm)) {
    if (match[2]!.toLowerCase() === name && (rate === undefined || Number(match[3]) === rate)) {
      return Number(match[1]);
    }
  }
  return undefined;
}

export const portOf = (sdp: string): number => Number(/^m=audio (\d+)/m.exec(sdp)?.[1]);
/** The RTCP port an RTP description names (RFC 3605 `a=rtcp`), else the RTP port + 1 (RFC 3550 §11). */
export const rtcpPortOf = (sdp: string): number => Number(/^a=rtcp:(\d+)/m.exec(sdp)?.[1] ?? portOf(sdp) + 1);
export const candidatePorts = (sdp: string): number[] =>
  [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ/gm)].map((m) => Number(m[2]));
export const candidateAddresses = (sdp: string): string[] =>
  [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ/gm)].map((m) => m[1]!);

/**
 * Outgoing call: the device offers, the SIP side answers with `laws` (default both G.711 laws)
 * and, like an RFC 3264 §6.1 answerer, telephone-event on the payload type it was offered.
 */
export async function openOutboundCall(
  backend: MediaBackend,
  cleanups: Cleanups,
  options: WeriftDeviceOptions = {},
  laws?: G711Law[],
): Promise<MediaCall> {
  const device = new WeriftDevice(options);
  cleanups.push(() => device.close());
  const sip = await RtpPeer.open();
  cleanups.push(() => sip.close());
  const offer = await device.createOffer();
  const { endpoint, webrtcAnswer, rtpOffer } = await backend.createFromWebRtcOffer(webRtcSdp(offer, 'offer'));
  cleanups.push(() => endpoint.close());
  await device.acceptAnswer(webrtcAnswer);
  sip.setRemoteFromSdp(rtpOffer);
  const events = payloadTypeOf(rtpOffer, 'telephone-event', 8000);
  await endpoint.setRtpAnswer(
    rtpSdp(
      sip.sdp({
        ...(laws === undefined ? {} : { laws }),
        telephoneEvent: events ?? false,
      }),
    ),
  );
  await device.connected();
  return { device, sip, endpoint, webrtcSdp: webrtcAnswer, rtpSdp: rtpOffer };
}

/** Incoming call: the SIP side offers (`sipOffer`), the device answers the gateway's WebRTC offer. */
export async function openInboundCall(
  backend: MediaBackend,
  cleanups: Cleanups,
  options: WeriftDeviceOptions = {},
  sipOffer: Parameters<RtpPeer['sdp']>[0] = {},
): Promise<MediaCall> {
  const device = new WeriftDevice(options);
  cleanups.push(() => device.close());
  const sip = await RtpPeer.open();
  cleanups.push(() => sip.close());
  const { endpoint, rtpAnswer, webrtcOffer } = await backend.createFromRtpOffer(rtpSdp(sip.sdp(sipOffer)));
  cleanups.push(() => endpoint.close());
  sip.setRemoteFromSdp(rtpAnswer);
  const answer = await device.answer(webrtcOffer);
  await endpoint.setWebRtcAnswer(webRtcSdp(answer, 'answer'));
  await device.connected();
  return { device, sip, endpoint, webrtcSdp: webrtcOffer, rtpSdp: rtpAnswer };
}

/**
 * Incoming late-offer call (INVITE without SDP): the backend offers both legs;
 * the device answers its WebRTC offer, the SIP side answers the RTP offer with `laws` (as in an ACK).
 */
export async function openLateOfferCall(
  backend: MediaBackend,
  cleanups: Cleanups,
  laws?: G711Law[],
): Promise<MediaCall> {
  if (backend.createOffers === undefined) throw new Error('the backend makes no offers');
  const device = new WeriftDevice();
  cleanups.push(() => device.close());
  const sip = await RtpPeer.open();
  cleanups.push(() => sip.close());
  const { endpoint, rtpOffer, webrtcOffer } = await backend.createOffers();
  cleanups.push(() => endpoint.close());
  const answer = await device.answer(webrtcOffer);
  await endpoint.setWebRtcAnswer(webRtcSdp(answer, 'answer'));
  sip.setRemoteFromSdp(rtpOffer);
  const events = payloadTypeOf(rtpOffer, 'telephone-event', 8000);
  await endpoint.setRtpAnswer(
    rtpSdp(sip.sdp({ ...(laws === undefined ? {} : { laws }), telephoneEvent: events ?? false })),
  );
  await device.connected();
  return { device, sip, endpoint, webrtcSdp: webrtcOffer, rtpSdp: rtpOffer };
}

/** Polls until `samples()` holds at least half a second in which `frequency` dominates. */
export async function expectTone(samples: () => number[], frequency: number, what: string): Promise<void> {
  const deadline = Date.now() + TONE_TIMEOUT_MS;
  let report = analyseTone([], frequency, RATE);
  for (;;) {
    report = analyseTone(samples(), frequency, RATE);
    if (report.samples >= RATE / 2 && report.share > 0.8 && report.rms > 1000) return;
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  expect.fail(
    `${what}: no ${frequency} Hz tone (share ${report.share.toFixed(2)}, rms ${report.rms.toFixed(0)}, ${report.samples} samples)`,
  );
}

export async function expectSilence(samples: () => number[], what: string, forMs = 400): Promise<void> {
  await sleep(forMs);
  expect(samples().length, `${what} should receive nothing`).toBe(0);
}

/** Both sides send their tone; each must hear the other's. */
export async function expectTonesBothWays(call: MediaCall, what: string, sipLaw: G711Law = 'pcmu') {
  call.device.startTone(DEVICE_TONE);
  call.sip.startTone(SIP_TONE, sipLaw);
  await expectTone(() => call.sip.received, DEVICE_TONE, `${what}: SIP side hears the device`);
  await expectTone(() => call.device.received, SIP_TONE, `${what}: device hears the SIP side`);
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = TONE_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) expect.fail(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

/** Whether a UDP socket can take 127.0.0.1:`port` exclusively right now. */
export function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** Whether this process may put a thread under SCHED_RR (root or CAP_SYS_NICE): tried on a child. */
export const mayRunRealtime = (() => {
  try {
    execFileSync('chrt', ['-r', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
