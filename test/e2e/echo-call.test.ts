/**
 * The user story end to end, without a browser: a WebRTC device (a werift
 * peer on 127.0.0.1) calls the demo network's echo number through the
 * gateway's API, over real SIP, and hears its own tone come back, through
 * each media backend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildGateway } from '../../packages/gateway/src/index.js';
import { analyseTone, WeriftDevice } from '../../packages/gateway/src/testing/index.js';
import { gatewayMediaBackends } from './media-backends.js';

const ALICE = '+818000000001';
const ECHO = '+990000000200';
const backends = gatewayMediaBackends('echo call', {
  werift: { rtpPortMin: 46_000, rtpPortMax: 46_199 },
  mediasoup: { rtpPortMin: 46_200, rtpPortMax: 46_399 },
});

describe('a device calls the echo number and hears itself', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  for (const [name, media] of backends) {
    it.skipIf(media === undefined)(`through the ${name} media backend`, async () => {
      const server = await buildGateway({ logLevel: 'error', sipNetwork: 'demo', ...media });
      closers.push(() => server.close());
      const token = await server.issueToken(ALICE);
      const inject = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers = {}) => {
        const response = await server.app.inject({
          method,
          url,
          headers: { authorization: `Bearer ${token}`, ...headers },
          ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
        });
        return { status: response.statusCode, body: response.body === '' ? undefined : response.json() };
      };
      const reg = await inject('POST', '/webrtc-registration/vwip/sessions', {
        deviceId: '7d444840-9dc0-11d1-b245-5ffdce74fad2',
      });
      expect(reg.status).toBe(201);

      const device = new WeriftDevice();
      closers.push(() => device.close());
      const offer = await device.createOffer();
      const created = await inject(
        'POST',
        '/webrtc-call-handling/vwip/sessions',
        { originatorAddress: `tel:${ALICE}`, receiverAddress: `tel:${ECHO}`, offer: { sdp: offer } },
        { registrationId: reg.body.registrationId },
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body.mediaSessionId as string;
      let session = created.body;
      const deadline = Date.now() + 5_000;
      while (session.status !== 'Connected' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        session = (await inject('GET', `/webrtc-call-handling/vwip/sessions/${id}`)).body;
      }
      expect(session.status).toBe('Connected');
      await device.acceptAnswer(session.answer.sdp);
      await device.connected();
      device.startTone(440);
      const heard = Date.now() + 5_000;
      let report = analyseTone(device.received, 440, 8000);
      while ((report.samples < 4000 || report.share < 0.8) && Date.now() < heard) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        report = analyseTone(device.received, 440, 8000);
      }
      // Its own 440 Hz tone, back from the far end of the SIP call: content, not packet counts.
      expect(report.share).toBeGreaterThan(0.8);
      expect(report.rms).toBeGreaterThan(1000);
      device.stopTone();
      expect((await inject('DELETE', `/webrtc-call-handling/vwip/sessions/${id}`)).status).toBe(204);
      const ended = Date.now() + 5_000;
      while ((server.gateway.media.stats?.().endpoints ?? 0) > 0 && Date.now() < ended) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(server.gateway.media.stats?.()).toMatchObject({
        endpoints: 0,
        udpSockets: 0,
        webRtcTransports: 0,
      });
    });
  }
});
