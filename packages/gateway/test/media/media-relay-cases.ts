import { expect } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { MediaBackend, MediaEndpoint } from '../../src/network/media-backend.js';
import { parseSdp } from '../../src/sdp/parse.js';
import { parseRtpSdp } from '../../src/sdp/rtp.js';
import { type CheckedWebRtcSdp, checkWebRtcSdp } from '../../src/sdp/webrtc.js';
import { audioTarget, type RtpPeer, startRtpPeer } from './rtp-peer.js';
import { type G711, hearsTone, SAMPLES_PER_PACKET, tonePayload } from './tone.js';
import { createWebRtcDevice, type DeviceCodec, type WebRtcDevice } from './werift-device.js';

/*
 * Media relay cases any MediaBackend must pass, as plain functions of a backend: a werift
 * RTCPeerConnection is the device, a Node UDP socket on 127.0.0.1 the SIP side, and audio is
 * checked by content (a known tone each way, found by Goertzel), never by packet counts alone.
 */

/** The tone the device sends and the one the SIP side sends back. */
export const DEVICE_TONE_HZ = 440;
export const SIP_TONE_HZ = 1000;
const PACKETS = 50;

export interface MediaRelayCase {
  name: string;
  run(backend: MediaBackend): Promise<void>;
}

const webRtcSdp = (text: string, field: string, role: 'offer' | 'answer'): CheckedWebRtcSdp =>
  checkWebRtcSdp(parseSdp(text, field), field, role);

/** The `a=rtpmap` encoding names of the audio m-line, in order. */
export function codecNames(sdp: string): string[] {
  return [...sdp.matchAll(/^a=rtpmap:\d+ ([^/\s]+)\//gm)].map((match) => match[1]!.toLowerCase());
}

const iceUfragOf = (sdp: string): string | undefined => /^a=ice-ufrag:(\S+)$/m.exec(sdp)?.[1];

export const directionOf = (sdp: string): string | undefined =>
  /^a=(sendrecv|sendonly|recvonly|inactive)$/m.exec(sdp)?.[1];

/** Polls `condition` every 20 ms for at most `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

interface ConnectedCall {
  endpoint: MediaEndpoint;
  device: WebRtcDevice;
  sip: RtpPeer;
  codec: G711;
  payloadType: number;
  rtpSdp: string;
  webrtcOffer: string;
  webrtcAnswer: string;
}

/** Outgoing call: the device offers, the SIP side answers with `sipCodecs`. */
export async function connectOutgoingCall(
  backend: MediaBackend,
  cleanup: Array<() => Promise<void>>,
  deviceCodecs: readonly DeviceCodec[] = ['opus', 'pcmu', 'pcma'],
): Promise<ConnectedCall> {
  const device = createWebRtcDevice(deviceCodecs);
  cleanup.push(() => device.close());
  const sip = await startRtpPeer();
  cleanup.push(() => sip.close());
  const offer = await device.createOffer();
  const { endpoint, webrtcAnswer, rtpOffer } = await backend.createFromWebRtcOffer(
    webRtcSdp(offer, 'offer.sdp', 'offer'),
  );
  cleanup.push(() => endpoint.close());
  const codec = codecNames(webrtcAnswer)[0] as G711;
  expect(['pcmu', 'pcma']).toContain(codec);
  expect(codecNames(rtpOffer)[0]).toBe(codec);
  await device.acceptAnswer(webrtcAnswer);
  const target = audioTarget(rtpOffer);
  sip.setRemote(target.address, target.port);
  const payloadType = codec === 'pcmu' ? 0 : 8;
  const rtpAnswer = sip.sdp({
    codecs: [`${payloadType} ${codec.toUpperCase()}/8000`, '101 telephone-event/8000'],
  });
  await endpoint.setRtpAnswer(parseRtpSdp(rtpAnswer, 'rtpAnswer'));
  await device.connected();
  return { endpoint, device, sip, codec, payloadType, rtpSdp: rtpOffer, webrtcOffer: offer, webrtcAnswer };
}

/** Incoming call: the SIP side offers `sipCodecs`, the device answers. */
async function connectIncomingCall(
  backend: MediaBackend,
  cleanup: Array<() => Promise<void>>,
  sipCodecs: readonly string[],
  deviceCodecs: readonly DeviceCodec[] = ['opus', 'pcmu', 'pcma'],
): Promise<{
  endpoint: MediaEndpoint;
  device: WebRtcDevice;
  sip: RtpPeer;
  rtpAnswer: string;
  webrtcOffer: string;
}> {
  const sip = await startRtpPeer();
  cleanup.push(() => sip.close());
  const { endpoint, rtpAnswer, webrtcOffer } = await backend.createFromRtpOffer(
    parseRtpSdp(sip.sdp({ codecs: sipCodecs }), 'rtpOffer'),
  );
  cleanup.push(() => endpoint.close());
  const target = audioTarget(rtpAnswer);
  sip.setRemote(target.address, target.port);
  const device = createWebRtcDevice(deviceCodecs);
  cleanup.push(() => device.close());
  const answer = await device.answer(webrtcOffer);
  await endpoint.setWebRtcAnswer(webRtcSdp(answer, 'answer.sdp', 'answer'));
  await device.connected();
  return { endpoint, device, sip, rtpAnswer, webrtcOffer };
}

/** Both sides send their tone for a second; each must hear the other's. */
export async function expectTonesBothWays(
  call: { device: WebRtcDevice; sip: RtpPeer },
  codec: G711,
  payloadType: number,
): Promise<void> {
  call.device.clear();
  call.sip.clear();
  await Promise.all([
    call.device.send(PACKETS, (index) => tonePayload(codec, DEVICE_TONE_HZ, index * SAMPLES_PER_PACKET)),
    call.sip.send(payloadType, PACKETS, (index) =>
      tonePayload(codec, SIP_TONE_HZ, index * SAMPLES_PER_PACKET),
    ),
  ]);
  await waitFor(
    () =>
      call.sip.payloads(payloadType).length >= PACKETS - 5 &&
      call.device.payloads(payloadType).length >= PACKETS - 5,
    2_000,
  );
  const atSip = hearsTone(codec, call.sip.payloads(payloadType), DEVICE_TONE_HZ, SIP_TONE_HZ);
  const atDevice = hearsTone(codec, call.device.payloads(payloadType), SIP_TONE_HZ, DEVICE_TONE_HZ);
  expect(atSip, `the SIP side hears the device's ${DEVICE_TONE_HZ} Hz`).toMatchObject({ heard: true });
  expect(atDevice, `the device hears the SIP side's ${SIP_TONE_HZ} Hz`).toMatchObject({ heard: true });
}

/** Both sides send for a while; neither may receive anything. */
async function expectSilenceBothWays(
  call: { device: WebRtcDevice; sip: RtpPeer },
  codec: G711,
  payloadType: number,
) {
  call.device.clear();
  call.sip.clear();
  await Promise.all([
    call.device.send(15, (index) => tonePayload(codec, DEVICE_TONE_HZ, index * SAMPLES_PER_PACKET)),
    call.sip.send(payloadType, 15, (index) => tonePayload(codec, SIP_TONE_HZ, index * SAMPLES_PER_PACKET)),
  ]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(call.sip.payloads(payloadType).length, 'packets reaching the SIP side').toBe(0);
  expect(call.device.payloads(payloadType).length, 'packets reaching the device').toBe(0);
}

async function runWithCleanup(body: (cleanup: Array<() => Promise<void>>) => Promise<void>): Promise<void> {
  const cleanup: Array<() => Promise<void>> = [];
  try {
    await body(cleanup);
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  }
}

export const mediaRelayCases: MediaRelayCase[] = [
  {
    name: 'outgoing call: G.711 towards a SIP side, a tone relayed each way',
    run: (backend) =>
      runWithCleanup(async (cleanup) => {
        const call = await connectOutgoingCall(backend, cleanup);
        // The device offered no telephone-event, so the SIP side is offered the voice codec alone.
        expect(call.rtpSdp).toMatch(new RegExp(`^m=audio \\d+ RTP/AVP ${call.payloadType}\r?$`, 'm'));
        await expectTonesBothWays(call, call.codec, call.payloadType);
      }),
  },
  {
    name: 'incoming call: the SIP side offers only PCMA, the device gets PCMA, a tone relayed each way',
    run: (backend) =>
      runWithCleanup(async (cleanup) => {
        const call = await connectIncomingCall(backend, cleanup, ['8 PCMA/8000', '101 telephone-event/8000']);
        expect(codecNames(call.webrtcOffer)).toEqual(['pcma', 'telephone-event']);
        expect(call.rtpAnswer).toMatch(/^m=audio \d+ RTP\/AVP 8 101\r?$/m);
        await expectTonesBothWays(call, 'pcma', 8);
      }),
  },
  {
    name: 'incoming call: Opus both ways when the SIP side offers it first, payloads relayed intact',
    run: (backend) =>
      runWithCleanup(async (cleanup) => {
        const call = await connectIncomingCall(backend, cleanup, ['111 opus/48000/2', '0 PCMU/8000']);
        expect(codecNames(call.webrtcOffer)).toEqual(['opus']);
        expect(codecNames(call.rtpAnswer)).toEqual(['opus']);
        // Opus frames as opaque bytes (a TOC byte, then a marker): the relay must not touch them.
        const frame = (side: number) => (index: number) =>
          Buffer.concat([Buffer.from([0x78, side, index]), Buffer.alloc(60, index)]);
        await Promise.all([call.device.send(20, frame(1)), call.sip.send(111, 20, frame(2))]);
        await waitFor(
          () => call.sip.payloads(111).length >= 18 && call.device.payloads(111).length >= 18,
          2_000,
        );
        const expected = (side: number) =>
          Array.from({ length: 20 }, (_, index) => frame(side)(index).toString('hex'));
        expect(call.sip.payloads(111).length).toBeGreaterThanOrEqual(18);
        expect(call.device.payloads(111).length).toBeGreaterThanOrEqual(18);
        for (const payload of call.sip.payloads(111)) expect(expected(1)).toContain(payload.toString('hex'));
        for (const payload of call.device.payloads(111))
          expect(expected(2)).toContain(payload.toString('hex'));
      }),
  },
  {
    name: 'local hold silences both ways, resume brings the tones back',
    run: (backend) =>
      runWithCleanup(async (cleanup) => {
        const call = await connectOutgoingCall(backend, cleanup);
        const held = await call.endpoint.hold(true);
        expect(directionOf(held)).toBe('sendonly');
        await expectSilenceBothWays(call, call.codec, call.payloadType);
        const resumed = await call.endpoint.hold(false);
        expect(directionOf(resumed)).toBe('sendrecv');
        await expectTonesBothWays(call, call.codec, call.payloadType);
      }),
  },
  {
    name: 'remote hold (re-INVITE sendonly) stops audio towards the SIP side only; resume restores it',
    run: (backend) =>
      runWithCleanup(async (cleanup) => {
        const call = await connectOutgoingCall(backend, cleanup);
        const codecs = [`${call.payloadType} ${call.codec.toUpperCase()}/8000`];
        const holdAnswer = await call.endpoint.updateRtp(
          parseRtpSdp(call.sip.sdp({ codecs, direction: 'sendonly', version: 2 }), 'rtpOffer'),
        );
        expect(directionOf(holdAnswer)).toBe('recvonly');
        call.device.clear();
        call.sip.clear();
        await Promise.all([
          call.device.send(15, (index) =>
            tonePayload(call.codec, DEVICE_TONE_HZ, index * SAMPLES_PER_PACKET),
          ),
          call.sip.send(call.payloadType, 25, (index) =>
            tonePayload(call.codec, SIP_TONE_HZ, index * SAMPLES_PER_PACKET),
          ),
        ]);
        await waitFor(() => call.device.payloads(call.payloadType).length >= 20, 1_000);
        expect(call.sip.payloads(call.payloadType).length, 'packets reaching the held SIP side').toBe(0);
        // Music on hold still reaches the device.
        expect(
          hearsTone(call.codec, call.device.payloads(call.payloadType), SIP_TONE_HZ, DEVICE_TONE_HZ).heard,
        ).toBe(true);
        const resumeAnswer = await call.endpoint.updateRtp(
          parseRtpSdp(call.sip.sdp({ codecs, direction: 'sendrecv', version: 3 }), 'rtpOffer'),
        );
        expect(directionOf(resumeAnswer)).toBe('sendrecv');
        await expectTonesBothWays(call, call.codec, call.payloadType);
      }),
  },
  {
    name: 'an ICE restart offered by the device gets new ICE credentials and keeps the DTLS role',
    run: (backend) =>
      runWithCleanup(async (cleanup) => {
        const call = await connectOutgoingCall(backend, cleanup);
        call.device.pc.restartIce();
        const offer = await call.device.createOffer();
        const answer = await call.endpoint.renegotiateWebRtc(webRtcSdp(offer, 'offer.sdp', 'offer'));
        expect(iceUfragOf(offer)).not.toBe(iceUfragOf(call.webrtcOffer));
        expect(iceUfragOf(answer)).not.toBe(iceUfragOf(call.webrtcAnswer));
        expect(answer).toMatch(/^a=setup:passive\r?$/m);
        // werift 0.24.4 sends no connectivity check after its own ICE restart, so media after
        // the restart is left to the browser end-to-end tests.
      }),
  },
  {
    name: 'a SIP answer without the offered codec is refused with INVALID_ARGUMENT',
    run: (backend) =>
      runWithCleanup(async (cleanup) => {
        const device = createWebRtcDevice(['pcmu']);
        cleanup.push(() => device.close());
        const sip = await startRtpPeer();
        cleanup.push(() => sip.close());
        const { endpoint, rtpOffer } = await backend.createFromWebRtcOffer(
          webRtcSdp(await device.createOffer(), 'offer.sdp', 'offer'),
        );
        cleanup.push(() => endpoint.close());
        expect(codecNames(rtpOffer)[0]).toBe('pcmu');
        const answer = parseRtpSdp(sip.sdp({ codecs: ['8 PCMA/8000'] }), 'rtpAnswer');
        await expect(endpoint.setRtpAnswer(answer)).rejects.toBeInstanceOf(InvalidArgumentError);
      }),
  },
];
