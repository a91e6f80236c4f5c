import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type MediaBackend, type MediaBackendStats } from '../../src/index.js';
import { type G711Law, RtpPeer, WeriftDevice, type WeriftDeviceOptions } from '../../src/testing/index.js';
import {
  bindable,
  type Cleanups,
  candidateAddresses,
  candidatePorts,
  codecNames,
  DEVICE_TONE,
  expectSilence,
  expectTone,
  expectTonesBothWays,
  type MediaCall,
  openInboundCall,
  openLateOfferCall,
  openOutboundCall,
  payloadTypeOf,
  portOf,
  rtcpPortOf,
  rtpSdp,
  SIP_TONE,
  sleep,
  waitFor,
  webRtcSdp,
} from './media-calls.js';

/*
 * The MediaBackend contract: what every media backend does, whatever it is built on. Real peers
 * on 127.0.0.1 (a werift WebRTC device, a plain RTP peer for the SIP side), audio checked by
 * content. What one backend does beyond it (werift converts between the G.711 laws, mediasoup
 * relays one codec end to end) is tested with that backend.
 */

/** A backend under test; `stats` is required here so leaks show. */
export type ContractMediaBackend = MediaBackend & { stats(): MediaBackendStats };

export interface MediaContractConfig {
  /** Every media socket on loopback. */
  address: '127.0.0.1';
  rtpPortMin: number;
  rtpPortMax: number;
}

export function describeMediaBackendContract(
  name: string,
  create: (config: MediaContractConfig) => Promise<ContractMediaBackend>,
  ports: { rtpPortMin: number; rtpPortMax: number },
): void {
  describe(`MediaBackend contract: ${name}`, () => {
    const config: MediaContractConfig = { address: '127.0.0.1', ...ports };
    let backend: ContractMediaBackend;
    const cleanups: Cleanups = [];

    beforeEach(async () => {
      backend = await create(config);
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
      // Every endpoint a case opened is closed: none may be left open, nor its sockets.
      expect(backend.stats()).toMatchObject({ endpoints: 0, udpSockets: 0, webRtcTransports: 0 });
      await backend.close();
    });

    const outbound = (options?: WeriftDeviceOptions, laws?: G711Law[]) =>
      openOutboundCall(backend, cleanups, options, laws);
    const inbound = (options?: WeriftDeviceOptions, sipOffer?: Parameters<RtpPeer['sdp']>[0]) =>
      openInboundCall(backend, cleanups, options, sipOffer);

    /**
     * Presses `sipKey` on the SIP side and `deviceKey` on the device, `count` RFC 4733 packets
     * each 20 ms apart (the last one ends the event), each leg on the payload type it negotiated.
     */
    const pressKeys = async (call: MediaCall, sipKey: number, deviceKey: number, count = 5) => {
      const devicePayloadType = call.device.payloadTypeOf('telephone-event')!;
      const sipPayloadType = payloadTypeOf(call.rtpSdp, 'telephone-event', 8000)!;
      for (let i = 0; i < count; i++) {
        const last = i === count - 1;
        call.sip.sendEvent(sipPayloadType, sipKey, last);
        call.device.sendRaw(
          devicePayloadType,
          Buffer.from([deviceKey, last ? 0x8a : 0x0a, 0x00, 0xa0]),
          i === 0,
        );
        await sleep(20);
      }
      return { sipPayloadType };
    };

    /** Presses a key each way (5 packets) and expects each to arrive, on the other leg's payload type. */
    const expectKeysRelayed = async (call: MediaCall, sipKey: number, deviceKey: number) => {
      const { sipPayloadType } = await pressKeys(call, sipKey, deviceKey);
      await waitFor(() => call.device.events.length >= 5 && call.sip.events.length >= 5, 'events relayed');
      expect(new Set(call.device.events)).toEqual(new Set([sipKey]));
      expect(call.sip.events.map((e) => [e.payloadType, e.event])).toContainEqual([
        sipPayloadType,
        deviceKey,
      ]);
    };

    it('outgoing call: answers the device with a G.711 codec it offered, offers the SIP side that codec with telephone-event, relays both ways', async () => {
      const call = await outbound();
      // The device (Chromium's codec list) offers Opus first; the gateway picks G.711, which a SIP
      // network almost always takes, and keeps the device's telephone-event payload type.
      expect(codecNames(call.webrtcSdp)).toEqual(['pcmu', 'telephone-event']);
      expect(payloadTypeOf(call.webrtcSdp, 'telephone-event')).toBe(126);
      // RFC 8842 §5.3: an answer to `actpass` is `active` or `passive`.
      expect(call.webrtcSdp).toMatch(/^a=setup:(active|passive)\r$/m);
      expect(codecNames(call.rtpSdp)[0]).toBe('pcmu');
      expect(payloadTypeOf(call.rtpSdp, 'pcmu', 8000)).toBe(0);
      expect(payloadTypeOf(call.rtpSdp, 'telephone-event', 8000)).toBeDefined();
      expect(call.rtpSdp).toMatch(/^c=IN IP4 127\.0\.0\.1\r$/m);
      expect(call.rtpSdp).toMatch(/^a=ptime:20\r$/m);
      expect(call.rtpSdp).toMatch(/^a=sendrecv\r$/m);
      await expectTonesBothWays(call, 'outgoing');
    });

    it('outgoing call: the answer carries complete host candidates on 127.0.0.1 only, no mDNS, no STUN', async () => {
      const call = await outbound();
      const addresses = candidateAddresses(call.webrtcSdp);
      expect(addresses.length).toBeGreaterThan(0);
      expect(new Set(addresses)).toEqual(new Set(['127.0.0.1']));
      expect(call.webrtcSdp).not.toMatch(/typ (srflx|relay)/);
      expect(call.webrtcSdp).not.toMatch(/\.local /);
    });

    it('incoming call: answers the SIP side with its first codec and telephone-event, offers the device that codec first, relays both ways', async () => {
      const call = await inbound();
      expect(call.rtpSdp).toMatch(/^m=audio \d+ RTP\/AVP 0 101\r$/m);
      expect(codecNames(call.webrtcSdp)[0]).toBe('pcmu');
      expect(payloadTypeOf(call.webrtcSdp, 'telephone-event', 8000)).toBeDefined();
      expect(candidateAddresses(call.webrtcSdp).length).toBeGreaterThan(0);
      await expectTonesBothWays(call, 'incoming');
    });

    it('incoming call offering PCMA only: the device is offered PCMA first, a tone relayed each way', async () => {
      const call = await inbound({}, { laws: ['pcma'] });
      expect(call.rtpSdp).toMatch(/^m=audio \d+ RTP\/AVP 8 101\r$/m);
      expect(codecNames(call.webrtcSdp)[0]).toBe('pcma');
      expect(call.device.codec.name).toBe('pcma');
      await expectTonesBothWays(call, 'PCMA', 'pcma');
      expect([...call.sip.payloadTypes]).toEqual([8]);
    });

    it('telephone-event (RFC 4733) passes both ways, each leg on the payload type it negotiated', async () => {
      const call = await outbound();
      expect(call.device.payloadTypeOf('telephone-event')).toBe(126);
      // Keys pressed during a call: its audio is flowing.
      await expectTonesBothWays(call, 'before the events');
      call.device.stopTone();
      call.sip.stopTone();
      await expectKeysRelayed(call, 5, 7);
      expect(call.sip.events.at(-1)?.end).toBe(true);
    });

    it('late-offer call (INVITE without SDP): offers both legs PCMU with telephone-event; both answers relayed, voice and keys both ways', async () => {
      const call = await openLateOfferCall(backend, cleanups);
      expect(codecNames(call.rtpSdp)[0]).toBe('pcmu');
      expect(codecNames(call.webrtcSdp)[0]).toBe('pcmu');
      expect(call.webrtcSdp).toMatch(/^a=setup:actpass\r$/m);
      expect(call.device.codec.name).toBe('pcmu');
      await expectTonesBothWays(call, 'late offer');
      expect([...call.sip.payloadTypes]).toEqual([0]);
      call.device.stopTone();
      call.sip.stopTone();
      await expectKeysRelayed(call, 3, 9);
    });

    it('telephone-event sent before any audio passes both ways (a key pressed as the call starts)', async () => {
      const call = await outbound();
      // No voice packet has gone either way yet: the events are each leg's first RTP, the stream
      // must start on them (mediasoup learns an unsignalled stream from its first packet).
      expect(call.device.events.length + call.sip.packets).toBe(0);
      const { sipPayloadType } = await pressKeys(call, 3, 9, 8);
      await waitFor(() => call.device.events.length >= 4 && call.sip.events.length >= 4, 'events relayed');
      expect(new Set(call.device.events)).toEqual(new Set([3]));
      expect(new Set(call.sip.events.map((e) => [e.payloadType, e.event].join('/')))).toEqual(
        new Set([`${sipPayloadType}/9`]),
      );
    });

    it('incoming Opus offer: the device is offered Opus, frames pass byte for byte both ways', async () => {
      const call = await inbound({}, { opus: true, laws: [] });
      expect(codecNames(call.rtpSdp)[0]).toBe('opus');
      expect(payloadTypeOf(call.rtpSdp, 'opus', 48000)).toBe(111);
      expect(codecNames(call.webrtcSdp)[0]).toBe('opus');
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
      await expectTonesBothWays(call, 'before device hold');
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
      await expectTonesBothWays(call, 'before hold');
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
      await expectTonesBothWays(call, 'before remote hold');
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

    it('ICE restart re-offer: new credentials in the answer, the same DTLS role, media flows on', async () => {
      const call = await outbound();
      await expectTonesBothWays(call, 'before restart');
      const before = /a=ice-ufrag:(\S+)/.exec(call.webrtcSdp)?.[1];
      const setup = /^a=setup:(\S+)\r$/m.exec(call.webrtcSdp)?.[1];
      const reoffer = await call.device.reoffer({ iceRestart: true });
      const answer = await call.endpoint.renegotiateWebRtc(webRtcSdp(reoffer, 'offer'));
      expect(/a=ice-ufrag:(\S+)/.exec(answer)?.[1]).not.toBe(before);
      // RFC 8842 §5.5: the DTLS association goes on, so the roles stay.
      expect(/^a=setup:(\S+)\r$/m.exec(answer)?.[1]).toBe(setup);
      expect(candidateAddresses(answer).length).toBeGreaterThan(0);
      await call.device.acceptAnswer(answer);
      call.sip.clear();
      call.device.clear();
      await expectTone(() => call.sip.received, DEVICE_TONE, 'SIP side after ICE restart');
      await expectTone(() => call.device.received, SIP_TONE, 'device after ICE restart');
    });

    it('a device whose offer signals no a=ssrc is heard', async () => {
      const call = await outbound({ withoutSsrc: true });
      expect(call.webrtcSdp).toBeTruthy();
      await expectTonesBothWays(call, 'no a=ssrc');
    });

    it('a device SDP with "a=rtcp:PORT" and no address is accepted', async () => {
      const call = await outbound({ rtcpWithoutAddress: true });
      await expectTonesBothWays(call, 'a=rtcp without address');
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
      expect(backend.stats().endpoints).toBe(0);
    });

    it('RTP and ICE ports stay in the configured range; closing frees them', async () => {
      const call = await outbound();
      const ports = [portOf(call.rtpSdp), rtcpPortOf(call.rtpSdp), ...candidatePorts(call.webrtcSdp)];
      for (const port of ports) {
        expect(port).toBeGreaterThanOrEqual(config.rtpPortMin);
        expect(port).toBeLessThanOrEqual(config.rtpPortMax);
      }
      expect(backend.stats()).toMatchObject({ endpoints: 1, webRtcTransports: 1 });
      expect(backend.stats().udpSockets).toBeGreaterThanOrEqual(3);
      await call.endpoint.close();
      expect(backend.stats()).toMatchObject({ endpoints: 0, udpSockets: 0, webRtcTransports: 0 });
      for (const port of ports) {
        await expect(bindable(port), `port ${port} is free again`).resolves.toBe(true);
      }
    });

    it('close() closes every endpoint', async () => {
      await outbound();
      await inbound();
      expect(backend.stats().endpoints).toBe(2);
      await backend.close();
      expect(backend.stats()).toMatchObject({ endpoints: 0, udpSockets: 0, webRtcTransports: 0 });
    });
  });
}
