import { afterEach, describe, expect, it } from 'vitest';
import {
  checkWebRtcSdp,
  createWeriftMediaBackend,
  parseSdp,
  type WeriftMediaBackend,
} from '../../src/index.js';
import { WeriftDevice } from '../../src/testing/index.js';
import { describeMediaBackendContract } from './media-contract.js';

describeMediaBackendContract(
  'werift',
  async (config) =>
    createWeriftMediaBackend({
      bindAddress: config.address,
      rtpPortMin: config.rtpPortMin,
      rtpPortMax: config.rtpPortMax,
    }),
  { rtpPortMin: 47_100, rtpPortMax: 47_299 },
);

describe('werift media backend specifics', () => {
  let backend: WeriftMediaBackend | undefined;
  let device: WeriftDevice | undefined;
  afterEach(async () => {
    await device?.close();
    await backend?.close();
  });

  it('answers an actpass offer as the DTLS server (a=setup:passive), and names its candidate in m=/c=', async () => {
    backend = createWeriftMediaBackend({ rtpPortMin: 47_300, rtpPortMax: 47_319 });
    device = new WeriftDevice();
    const offer = await device.createOffer();
    const { webrtcAnswer } = await backend.createFromWebRtcOffer(
      checkWebRtcSdp(parseSdp(offer, 'offer'), 'offer', 'offer'),
    );
    expect(webrtcAnswer).toMatch(/^a=setup:passive\r$/m);
    const port = /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/m.exec(webrtcAnswer)?.[1];
    expect(webrtcAnswer).toMatch(new RegExp(`^m=audio ${port} UDP/TLS/RTP/SAVPF`, 'm'));
    expect(webrtcAnswer).toMatch(/^c=IN IP4 127\.0\.0\.1\r$/m);
    expect(webrtcAnswer).not.toMatch(/a=ice-options:trickle/);
  });

  it('refuses options that would announce nothing usable', () => {
    expect(() => createWeriftMediaBackend({ bindAddress: '0.0.0.0' })).toThrow(/announcedAddress/);
    expect(() => createWeriftMediaBackend({ bindAddress: 'localhost' })).toThrow(/not an IP address/);
    expect(() => createWeriftMediaBackend({ rtpPortMin: 50_000, rtpPortMax: 40_000 })).toThrow(/below/);
  });
});
