import { createSocket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkRtpSdp,
  checkWebRtcSdp,
  InvalidArgumentError,
  type MediaBackend,
  type MediaBackendStats,
  type MediaEndpoint,
  parseSdp,
} from '../../src/index.js';
import { analyseTone, RtpPeer, WeriftDevice, type WeriftDeviceOptions } from '../../src/testing/index.js';

/*
 * The MediaBackend contract: real peers on 127.0.0.1 (a werift WebRTC device,
 * a plain RTP peer for the SIP side), audio checked by content: the device
 * sends 440 Hz, the SIP side 1000 Hz, and each side must hear the other's
 * tone (Goertzel), not its own and not silence.
 */

/** A backend under test; `stats` is required here so leaks show. */
export type ContractMediaBackend = MediaBackend & { stats(): MediaBackendStats };

export interface MediaContractConfig {
  /** Every media socket on loopback. */
  address: '127.0.0.1';
  rtpPortMin: number;
  rtpPortMax: number;
}

const DEVICE_TONE = 440;
const SIP_TONE = 1000;
const RATE = 8000;
/** How long a case waits for a tone before failing. */
const TONE_TIMEOUT_MS = 4_000;

const webRtcSdp = (sdp: string, role: 'offer' | 'answer') => checkWebRtcSdp(parseSdp(sdp, role), role, role);
const rtpSdp = (sdp: string) => checkRtpSdp(parseSdp(sdp, 'rtp'), 'rtp');

interface Call {
  device: WeriftDevice;
  sip: RtpPeer;
  endpoint: MediaEndpoint;
  webrtcSdp: string;
  rtpSdp: string;
}

/** Polls until `samples()` holds at least half a second in which `frequency` dominates. */
async function expectTone(samples: () => number[], frequency: number, what: string): Promise<void> {
  const deadline = Date.now() + TONE_TIMEOUT_MS;
  let report = analyseTone([], frequency, RATE);
  for (;;) {
    const all = samples();
    report = analyseTone(all, frequency, RATE);
    if (report.samples >= RATE / 2 && report.share > 0.8 && report.rms > 1000) return;
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  expect.fail(
    `${what}: no ${frequency} Hz tone (share ${report.share.toFixed(2)}, rms ${report.rms.toFixed(0)}, ${report.samples} samples)`,
  );
}

async function expectSilence(samples: () => number[], what: string, forMs = 400): Promise<void> {
  await sleep(forMs);
  expect(samples().length, `${what} should receive nothing`).toBe(0);
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = TONE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) expect.fail(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const portOf = (sdp: string): number => Number(/^m=audio (\d+)/m.exec(sdp)?.[1]);
const candidatePorts = (sdp: string): number[] =>
  [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ/gm)].map((m) => Number(m[2]));
const candidateAddresses = (sdp: string): string[] =>
  [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ/gm)].map((m) => m[1]!);

export function describeMediaBackendContract(
  name: string,
  create: (config: MediaContractConfig) => Promise<ContractMediaBackend>,
  ports: { rtpPortMin: number; rtpPortMax: number },
): void {
  describe(`MediaBackend contract: ${name}`, () => {
    const config: MediaContractConfig = { address: '127.0.0.1', ...ports };
    let backend: ContractMediaBackend;
    const cleanups: (() => Promise<void>)[] = [];

    beforeEach(async () => {
      backend = await create(config);
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
      await backend.close();
    });

    async function outbound(options: WeriftDeviceOptions = {}, laws?: ('pcmu' | 'pcma')[]): Promise<Call> {
      const device = new WeriftDevice(options);
      cleanups.push(() => device.close());
      const sip = await RtpPeer.open();
      cleanups.push(() => sip.close());
      const offer = await device.createOffer();
      const { endpoint, webrtcAnswer, rtpOffer } = await backend.createFromWebRtcOffer(
        webRtcSdp(offer, 'offer'),
      );
      await device.acceptAnswer(webrtcAnswer);
      sip.setRemoteFromSdp(rtpOffer);
      await endpoint.setRtpAnswer(rtpSdp(sip.sdp(laws === undefined ? {} : { laws })));
      await device.connected();
      return { device, sip, endpoint, webrtcSdp: webrtcAnswer, rtpSdp: rtpOffer };
    }

    async function inbound(
      options: WeriftDeviceOptions = {},
      sipOffer: Parameters<RtpPeer['sdp']>[0] = {},
    ): Promise<Call> {
      const device = new WeriftDevice(options);
      cleanups.push(() => device.close());
      const sip = await RtpPeer.open();
      cleanups.push(() => sip.close());
      const { endpoint, rtpAnswer, webrtcOffer } = await backend.createFromRtpOffer(
        rtpSdp(sip.sdp(sipOffer)),
      );
      sip.setRemoteFromSdp(rtpAnswer);
      const answer = await device.answer(webrtcOffer);
      await endpoint.setWebRtcAnswer(webRtcSdp(answer, 'answer'));
      await device.connected();
      return { device, sip, endpoint, webrtcSdp: webrtcOffer, rtpSdp: rtpAnswer };
    }

    async function expectBothWays(call: Call, what: string, sipLaw: 'pcmu' | 'pcma' = 'pcmu'): Promise<void> {
      call.device.startTone(DEVICE_TONE);
      call.sip.startTone(SIP_TONE, sipLaw);
      await expectTone(() => call.sip.received, DEVICE_TONE, `${what}: SIP side hears the device`);
      await expectTone(() => call.device.received, SIP_TONE, `${what}: device hears the SIP side`);
    }

    it('outgoing call: answers the device with G.711, offers G.711 + telephone-event, relays both ways', async () => {
      const call = await outbound();
      expect(call.webrtcSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 126\r$/m);
      expect(call.rtpSdp).toMatch(/^m=audio \d+ RTP\/AVP 0 8 101\r$/m);
      expect(call.rtpSdp).toMatch(/^c=IN IP4 127\.0\.0\.1\r$/m);
      expect(call.rtpSdp).toMatch(/^a=ptime:20\r$/m);
      expect(call.rtpSdp).toMatch(/^a=sendrecv\r$/m);
      // RFC 8842 §5.3: an answer to `actpass` is `active` or `passive`.
      expect(call.webrtcSdp).toMatch(/^a=setup:(active|passive)\r$/m);
      expect(portOf(call.rtpSdp) % 2).toBe(0);
      await expectBothWays(call, 'outgoing');
    });

    it('outgoing call: the answer carries complete host candidates on 127.0.0.1 only, no mDNS, no STUN', async () => {
      const call = await outbound();
      const addresses = candidateAddresses(call.webrtcSdp);
      expect(addresses.length).toBeGreaterThan(0);
      expect(new Set(addresses)).toEqual(new Set(['127.0.0.1']));
      expect(call.webrtcSdp).not.toMatch(/typ (srflx|relay)/);
      expect(call.webrtcSdp).not.toMatch(/\.local /);
    });

    it('incoming call: offers the device the SIP codec, relays both ways after its answer', async () => {
      const call = await inbound();
      expect(call.rtpSdp).toMatch(/^m=audio \d+ RTP\/AVP 0 101\r$/m);
      expect(call.webrtcSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 8 /m);
      expect(candidateAddresses(call.webrtcSdp).length).toBeGreaterThan(0);
      await expectBothWays(call, 'incoming');
    });

    it('PCMA-only SIP side: the device keeps PCMU and the relay converts between the laws', async () => {
      const call = await outbound({}, ['pcma']);
      await expectBothWays(call, 'PCMA far end', 'pcma');
      expect([...call.sip.payloadTypes]).toEqual([8]);
    });

    it("telephone-event (RFC 4733) passes both ways, on each leg's payload type", async () => {
      const call = await outbound();
      const devicePayloadType = call.device.payloadTypeOf('telephone-event');
      expect(devicePayloadType).toBe(126);
      for (let i = 0; i < 5; i++) {
        call.sip.sendEvent(101, 5, i === 4);
        call.device.sendRaw(devicePayloadType!, Buffer.from([7, i === 4 ? 0x8a : 0x0a, 0x00, 0xa0]), i === 0);
        await sleep(20);
      }
      await waitFor(() => call.device.events.length >= 5 && call.sip.events.length >= 5, 'events relayed');
      expect(new Set(call.device.events)).toEqual(new Set([5]));
      expect(call.sip.events.map((e) => [e.payloadType, e.event])).toContainEqual([101, 7]);
      expect(call.sip.events.at(-1)?.end).toBe(true);
    });

    it('incoming Opus offer: the device is offered Opus and frames pass byte for byte both ways', async () => {
      const call = await inbound({}, { opus: true, laws: [] });
      expect(call.rtpSdp).toMatch(/^m=audio \d+ RTP\/AVP 111 101\r$/m);
      expect(call.webrtcSdp).toMatch(/^a=rtpmap:\d+ opus\/48000\/2\r$/m);
      const opus = call.device.payloadTypeOf('opus')!;
      const frames = Array.from({ length: 10 }, (_, i) => Buffer.alloc(40 + i, i + 1));
      for (const frame of frames) {
        call.sip.sendRtp(111, frame);
        call.device.sendRaw(opus, frame);
        await sleep(20);
      }
      await waitFor(
        () => call.device.payloads.length >= frames.length && call.sip.payloads.length >= frames.length,
        'Opus frames relayed',
      );
      expect(call.device.payloads.map((p) => p.payload)).toEqual(frames);
      expect(call.sip.payloads.map((p) => [p.payloadType, p.payload])).toEqual(frames.map((f) => [111, f]));
    });

    it('device hold by re-offer (sendonly): the device gets no media, the SIP side still hears it', async () => {
      const call = await outbound();
      await expectBothWays(call, 'before device hold');
      const answer = await call.endpoint.renegotiateWebRtc(
        webRtcSdp(await call.device.reoffer({ direction: 'sendonly' }), 'offer'),
      );
      expect(answer).toMatch(/^a=recvonly\r$/m);
      await call.device.acceptAnswer(answer);
      await sleep(100);
      call.device.clear();
      call.sip.clear();
      await expectSilence(() => call.device.received, 'device while it holds');
      await expectTone(() => call.sip.received, DEVICE_TONE, 'SIP side hears the holding device');
    });

    it('local hold stops media both ways, resume restarts it', async () => {
      const call = await outbound();
      await expectBothWays(call, 'before hold');
      const holdOffer = await call.endpoint.hold(true);
      expect(holdOffer).toMatch(/^a=sendonly\r$/m);
      await call.endpoint.setRtpAnswer(rtpSdp(call.sip.sdp({ direction: 'recvonly' })));
      await sleep(100); // packets already in flight
      call.sip.clear();
      call.device.clear();
      await expectSilence(() => call.sip.received, 'SIP side while held');
      expect(call.device.received.length, 'device while held').toBe(0);
      const resumeOffer = await call.endpoint.hold(false);
      expect(resumeOffer).toMatch(/^a=sendrecv\r$/m);
      await call.endpoint.setRtpAnswer(rtpSdp(call.sip.sdp()));
      await expectTone(() => call.sip.received, DEVICE_TONE, 'SIP side after resume');
      await expectTone(() => call.device.received, SIP_TONE, 'device after resume');
    });

    it('remote hold (re-INVITE sendonly) relays only the far end, resume both ways', async () => {
      const call = await outbound();
      await expectBothWays(call, 'before remote hold');
      const answer = await call.endpoint.updateRtp(rtpSdp(call.sip.sdp({ direction: 'sendonly' })));
      expect(answer).toMatch(/^a=recvonly\r$/m);
      await sleep(100);
      call.sip.clear();
      call.device.clear();
      await expectSilence(() => call.sip.received, 'SIP side while it holds');
      await expectTone(() => call.device.received, SIP_TONE, 'device hears the far end on hold');
      const resumed = await call.endpoint.updateRtp(rtpSdp(call.sip.sdp()));
      expect(resumed).toMatch(/^a=sendrecv\r$/m);
      await expectTone(() => call.sip.received, DEVICE_TONE, 'SIP side after remote resume');
    });

    it('ICE restart re-offer: new credentials in the answer, media flows on', async () => {
      const call = await outbound();
      await expectBothWays(call, 'before restart');
      const before = /a=ice-ufrag:(\S+)/.exec(call.webrtcSdp)?.[1];
      const reoffer = await call.device.reoffer({ iceRestart: true });
      const answer = await call.endpoint.renegotiateWebRtc(webRtcSdp(reoffer, 'offer'));
      expect(/a=ice-ufrag:(\S+)/.exec(answer)?.[1]).not.toBe(before);
      expect(candidateAddresses(answer).length).toBeGreaterThan(0);
      await call.device.acceptAnswer(answer);
      call.sip.clear();
      call.device.clear();
      await expectTone(() => call.sip.received, DEVICE_TONE, 'SIP side after ICE restart');
      await expectTone(() => call.device.received, SIP_TONE, 'device after ICE restart');
    });

    it('a device offer without a=ssrc (and a device changing SSRC) is still heard', async () => {
      const call = await outbound({ withoutSsrc: true });
      expect(call.webrtcSdp).toBeTruthy();
      await expectBothWays(call, 'no a=ssrc');
      call.device.changeSsrc();
      call.sip.clear();
      await expectTone(() => call.sip.received, DEVICE_TONE, 'after an SSRC change');
    });

    it('a device SDP with "a=rtcp:PORT" and no address is accepted', async () => {
      const call = await outbound({ rtcpWithoutAddress: true });
      await expectBothWays(call, 'a=rtcp without address');
    });

    it('no common codec: a clean INVALID_ARGUMENT, nothing left open', async () => {
      const device = new WeriftDevice({
        codecs: [{ payload: 111, name: 'opus', rate: 48000, channels: 2 }],
      });
      cleanups.push(() => device.close());
      const sip = await RtpPeer.open();
      cleanups.push(() => sip.close());
      // The device offers Opus only; the far end answers G.711 only.
      const { endpoint, rtpOffer } = await backend.createFromWebRtcOffer(
        webRtcSdp(await device.createOffer(), 'offer'),
      );
      expect(rtpOffer).toMatch(/opus\/48000/);
      await expect(endpoint.setRtpAnswer(rtpSdp(sip.sdp()))).rejects.toBeInstanceOf(InvalidArgumentError);
      await endpoint.close();
      // A SIP offer of Opus on an incoming call, to a device that has only G.711, fails at its answer.
      expect(backend.stats().endpoints).toBe(0);
    });

    it('RTP and ICE ports stay in the configured range; closing frees them', async () => {
      const call = await outbound();
      const ports = [portOf(call.rtpSdp), ...candidatePorts(call.webrtcSdp)];
      for (const port of ports) {
        expect(port).toBeGreaterThanOrEqual(config.rtpPortMin);
        expect(port).toBeLessThanOrEqual(config.rtpPortMax);
      }
      expect(backend.stats()).toMatchObject({ endpoints: 1 });
      expect(backend.stats().udpSockets).toBeGreaterThanOrEqual(3);
      await call.endpoint.close();
      expect(backend.stats()).toMatchObject({ endpoints: 0, udpSockets: 0 });
      for (const port of [...ports, portOf(call.rtpSdp) + 1]) {
        await expect(bindable(port), `port ${port} is free again`).resolves.toBe(true);
      }
    });

    it('close() closes every endpoint', async () => {
      await outbound();
      await inbound();
      expect(backend.stats().endpoints).toBe(2);
      await backend.close();
      expect(backend.stats()).toMatchObject({ endpoints: 0, udpSockets: 0 });
    });
  });
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}
