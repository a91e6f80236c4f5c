import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkRtpSdp,
  checkWebRtcSdp,
  createMediasoupMediaBackend,
  createWeriftMediaBackend,
  type MediaBackend,
  type MediaEndpoint,
  parseSdp,
} from '../../packages/gateway/src/index.js';
import { analyseTone, RtpPeer } from '../../packages/gateway/src/testing/index.js';
import { locateWorkerBin } from '../../packages/gateway/test/media/mediasoup-worker.js';
import { BROWSER_PAGE } from './browser-page.ts';
import { HAVE_CHROMIUM, launchChromium } from './chromium.js';

/*
 * A real browser on the WebRTC leg: Debian's Chromium, headless, offers a
 * WebAudio 440 Hz tone to each media backend; a plain RTP peer on the
 * SIP side must hear 440 Hz and send 1000 Hz, which the page must hear.
 * Everything on 127.0.0.1. Skipped where /usr/bin/chromium is missing.
 */

const BROWSER_TONE = 440;
const SIP_TONE = 1000;

const workerBin = locateWorkerBin();
if (HAVE_CHROMIUM && workerBin === undefined) {
  console.warn(
    'browser media through mediasoup skipped: no worker binary; build it with `npm run build:mediasoup-worker` (or set MEDIASOUP_WORKER_BIN)',
  );
}
const backends: [string, (() => Promise<MediaBackend>) | undefined][] = [
  [
    'werift',
    async () =>
      createWeriftMediaBackend({ bindAddress: '127.0.0.1', rtpPortMin: 47_300, rtpPortMax: 47_399 }),
  ],
  [
    'mediasoup',
    workerBin === undefined
      ? undefined
      : () => createMediasoupMediaBackend({ workerBin, workers: 1, rtcMinPort: 45_200, rtcMaxPort: 45_299 }),
  ],
];

for (const [name, createBackend] of backends) {
  describe.skipIf(!HAVE_CHROMIUM || createBackend === undefined)(
    `browser media (Chromium ↔ ${name} ↔ RTP)`,
    () => {
      let browser: Browser;
      let server: Server;
      let backend: MediaBackend;
      let sip: RtpPeer;
      let endpoint: MediaEndpoint | undefined;
      let origin: string;

      beforeAll(async () => {
        backend = await createBackend!();
        sip = await RtpPeer.open();
        server = createServer(async (request, response) => {
          try {
            if (request.method === 'GET' && request.url === '/') {
              response.writeHead(200, { 'content-type': 'text/html' }).end(BROWSER_PAGE);
              return;
            }
            if (request.method === 'POST' && request.url === '/offer') {
              let body = '';
              for await (const chunk of request) body += chunk;
              const created = await backend.createFromWebRtcOffer(
                checkWebRtcSdp(parseSdp(body, 'offer'), 'offer', 'offer'),
              );
              endpoint = created.endpoint;
              sip.setRemoteFromSdp(created.rtpOffer);
              await endpoint.setRtpAnswer(checkRtpSdp(parseSdp(sip.sdp(), 'answer'), 'answer'));
              response.writeHead(200, { 'content-type': 'application/sdp' }).end(created.webrtcAnswer);
              return;
            }
            response.writeHead(404).end();
          } catch (error) {
            response.writeHead(400).end(error instanceof Error ? error.message : String(error));
          }
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        browser = await launchChromium();
      });

      afterAll(async () => {
        await browser?.close();
        await endpoint?.close();
        await backend?.close();
        await sip?.close();
        await new Promise((resolve) => server?.close(resolve));
      });

      it("the SIP side hears the page's tone and the page hears the SIP side's", async () => {
        const page: Page = await browser.newPage();
        await page.goto(origin);
        const offer = await page.evaluate(
          (frequency) =>
            (window as unknown as { startCall(f: number): Promise<string> }).startCall(frequency),
          BROWSER_TONE,
        );
        expect(offer).toMatch(/a=rtpmap:0 PCMU\/8000/);
        sip.startTone(SIP_TONE);

        const deadline = Date.now() + 10_000;
        let heard = analyseTone([], BROWSER_TONE, 8000);
        while (Date.now() < deadline) {
          heard = analyseTone(sip.received, BROWSER_TONE, 8000);
          if (heard.samples >= 4000 && heard.share > 0.8) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(
          heard.share,
          `SIP side hears ${BROWSER_TONE} Hz (rms ${heard.rms.toFixed(0)})`,
        ).toBeGreaterThan(0.8);

        let loudest = { frequency: 0, level: Number.NEGATIVE_INFINITY };
        while (Date.now() < deadline) {
          loudest = await page.evaluate(() =>
            (window as unknown as { loudest(): { frequency: number; level: number } }).loudest(),
          );
          if (Math.abs(loudest.frequency - SIP_TONE) < 20 && loudest.level > -60) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(
          loudest.frequency,
          `page hears ${SIP_TONE} Hz (level ${loudest.level.toFixed(1)} dB)`,
        ).toBeGreaterThan(SIP_TONE - 20);
        expect(loudest.frequency).toBeLessThan(SIP_TONE + 20);
        sip.stopTone();
      }, 30_000);
    },
  );
}
