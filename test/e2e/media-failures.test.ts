import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SubscriberEvent } from '../../packages/gateway/src/events/subscriber-events.js';
import { analyseTone } from '../../packages/gateway/src/testing/index.js';
import { type ServedGateway, serveGateway } from '../conformance/support/gateway.js';
import { CALL_PAGE } from './call-page.js';
import { HAVE_CHROMIUM, launchChromium } from './chromium.js';
import { gatewayMediaBackends } from './media-backends.js';
import { SipFarEnd } from './sip-far-end.js';

/*
 * What happens to a call when its media cannot work, with a real browser (Debian's Chromium) on
 * the WebRTC leg, the gateway's SIP user agent as the far end over real SIP, and each media
 * backend: no codec in common, no reachable ICE candidate, a DTLS certificate that does not match
 * the offer's fingerprint. Each ends the session with a status and a reason, a BYE (or a 488) on
 * the SIP side, and leaves no endpoint, socket or WebRTC transport behind. Then the way back: an
 * ICE restart mid-call (a new offer with new ICE credentials), and hold and resume, after which
 * audio is checked by content both ways. Everything on 127.0.0.1.
 */

const ALICE = '+818000000001';
const BOB = '+818000000002';
const CALLS = '/webrtc-call-handling/vwip/sessions';
const BROWSER_TONE = 440;
const SIP_TONE = 1000;

const backends = gatewayMediaBackends('media failures', {
  werift: { rtpPortMin: 44_000, rtpPortMax: 44_199 },
  mediasoup: { rtpPortMin: 44_200, rtpPortMax: 44_399 },
});

interface CallPage {
  prepare(frequency: number, codecs?: string[]): Promise<void>;
  offer(iceRestart?: boolean): Promise<string>;
  accept(sdp: string): Promise<void>;
  tone(frequency: number): void;
  state(): { connection: string; ice: string } | undefined;
  hangUp(): void;
  loudest(): { frequency: number; level: number };
}
const on = (page: Page) => ({
  prepare: (frequency: number, codecs?: string[]) =>
    page.evaluate(([f, c]) => (window as unknown as CallPage).prepare(f, c), [frequency, codecs] as const),
  offer: (iceRestart = false) => page.evaluate((r) => (window as unknown as CallPage).offer(r), iceRestart),
  accept: (sdp: string) => page.evaluate((s) => (window as unknown as CallPage).accept(s), sdp),
  tone: (frequency: number) => page.evaluate((f) => (window as unknown as CallPage).tone(f), frequency),
  hangUp: () => page.evaluate(() => (window as unknown as CallPage).hangUp()),
  loudest: () => page.evaluate(() => (window as unknown as CallPage).loudest()),
});

async function until<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

/** Every `a=candidate` of `sdp` moved to `port` on 127.0.0.1: a port where nothing answers. */
const candidatesTo = (sdp: string, port: number) =>
  sdp.replace(/^(a=candidate:\S+ \d+ udp \d+ )\S+ \d+/gim, `$1127.0.0.1 ${port}`);

/** A well-formed SHA-256 fingerprint that no browser certificate has. */
const FOREIGN_FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 + 3).toString(16).padStart(2, '0'))
  .join(':')
  .toUpperCase();

let browser: Browser | undefined;
let page: Page;
/** A bound UDP socket that never answers: the ICE failure's only candidate. */
let blackHole: Socket;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  blackHole = createSocket('udp4');
  await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
  browser = await launchChromium();
  page = await browser.newPage();
  // The page needs an origin of its own (a secure one: 127.0.0.1) for WebAudio and WebRTC.
  await page.route('http://127.0.0.1:9/', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: CALL_PAGE }),
  );
  await page.goto('http://127.0.0.1:9/');
}, 30_000);

afterAll(async () => {
  await browser?.close();
  blackHole?.close();
});

for (const [backend, media] of backends) {
  describe.skipIf(!HAVE_CHROMIUM || media === undefined)(
    `media failures and ICE restart in Chromium, through ${backend}`,
    () => {
      let gw: ServedGateway;
      let far: SipFarEnd;
      let registrationId: string;
      let token: string;
      const events: SubscriberEvent[] = [];
      let unwatch: () => void;

      beforeAll(async () => {
        far = await SipFarEnd.start();
        gw = await serveGateway({
          logLevel: 'silent',
          sipNetwork: 'external',
          sipListen: ['udp:127.0.0.1:0'],
          sipOutboundProxy: far.uri,
          sipTrustedPeers: ['127.0.0.1'],
          ...media,
        });
        token = await gw.token(ALICE);
        const registered = await gw.raw('POST', '/webrtc-registration/vwip/sessions', {
          token,
          json: { deviceId: '7d444840-9dc0-11d1-b245-5ffdce74fad2' },
        });
        expect(registered.status).toBe(201);
        registrationId = (registered.body as { registrationId: string }).registrationId;
        unwatch = gw.gateway.watchSubscriber(ALICE, (event) => events.push(event));
      }, 30_000);

      afterAll(async () => {
        unwatch?.();
        await gw?.close();
        await far?.close();
      });

      afterEach(async () => {
        await on(page).hangUp();
        far.rtp.stopTone();
        far.answer = 'g711';
        // Nothing of any call is left: endpoints, their sockets, the WebRTC transports.
        await until(
          'the media to be freed',
          () => gw.gateway.media.stats?.(),
          (stats) => stats?.endpoints === 0 && stats.udpSockets === 0 && stats.webRtcTransports === 0,
        );
      });

      /** The browser's offer, through `change`, as an outgoing call to BOB; the created session's id. */
      async function call(change: (sdp: string) => string = (sdp) => sdp): Promise<string> {
        const offer = change(await on(page).offer());
        const created = await gw.raw('POST', CALLS, {
          token,
          headers: { registrationId },
          json: { originatorAddress: `tel:${ALICE}`, receiverAddress: `tel:${BOB}`, offer: { sdp: offer } },
        });
        expect(created.status, created.text).toBe(201);
        return (created.body as { mediaSessionId: string }).mediaSessionId;
      }

      async function session(id: string): Promise<{ status: string; answer?: { sdp: string } }> {
        const got = await gw.raw('GET', `${CALLS}/${id}`, { token });
        expect(got.status, got.text).toBe(200);
        return got.body as { status: string; answer?: { sdp: string } };
      }

      /** The session's `session-status` events (status and reason), as published. */
      const statuses = (id: string) =>
        events.flatMap((e) =>
          e.type === 'session-status' && e.session.mediaSessionId === id
            ? [{ status: e.session.status, reason: e.reason }]
            : [],
        );

      const callIdOf = async (id: string) => (await gw.gateway.store.getSession(id))!.callId;

      /** Waits for the far end to receive the BYE of session `id`'s call. */
      async function byeReached(id: string) {
        const callId = await callIdOf(id);
        await until(
          'the BYE',
          () => far.byes,
          (byes) => byes.includes(callId),
        );
      }

      async function connected(id: string, change: (sdp: string) => string = (sdp) => sdp) {
        const answered = await until(
          'Connected',
          () => session(id),
          (s) => s.status === 'Connected',
        );
        await on(page).accept(change(answered.answer!.sdp));
      }

      async function ended(id: string, status: string, reason: RegExp, ms = 10_000) {
        const last = await until(
          `the session to end ${status}`,
          () => statuses(id),
          (seen) => seen.some((s) => s.status === status),
          ms,
        );
        expect(last.find((s) => s.status === status)!.reason).toMatch(reason);
        // The API tells the same final status.
        expect((await session(id)).status).toBe(status);
      }

      /** The far end hears `browserTone` and the page hears `sipTone`, both fresh. */
      async function tonesBothWays(browserTone: number, sipTone: number) {
        await on(page).tone(browserTone);
        far.rtp.startTone(sipTone);
        // Drop what arrived before (an older tone, or silence).
        await new Promise((resolve) => setTimeout(resolve, 300));
        far.rtp.clear();
        const heard = await until(
          `the SIP side to hear ${browserTone} Hz`,
          () => analyseTone(far.rtp.received.slice(-4000), browserTone, 8000),
          (report) => report.samples >= 4000 && report.share > 0.8,
        );
        expect(heard.share).toBeGreaterThan(0.8);
        const loudest = await until(
          `the page to hear ${sipTone} Hz`,
          () => on(page).loudest(),
          (l) => Math.abs(l.frequency - sipTone) < 20 && l.level > -60,
        );
        expect(Math.abs(loudest.frequency - sipTone)).toBeLessThan(20);
      }

      it('a browser offering only Opus to a G.711-only network: 488, the session Failed with the reason', async () => {
        await on(page).prepare(BROWSER_TONE, ['opus']);
        const id = await call();
        await ended(id, 'Failed', /^488 Not Acceptable Here/);
        expect(far.rejected.map((r) => r.status)).toContain(488);
        expect(far.byes).not.toContain(await callIdOf(id));
      }, 30_000);

      it('a far end that answers with a codec the browser lacks (G.729): BYE at once, the session Failed', async () => {
        far.answer = 'g729';
        await on(page).prepare(BROWSER_TONE);
        const id = await call();
        await ended(id, 'Failed', /unusable SDP/);
        await byeReached(id);
      }, 30_000);

      it('a far end that answers a PCMU-only browser with Opus, which it was not offered: BYE at once, the session Failed', async () => {
        far.answer = 'opus';
        await on(page).prepare(BROWSER_TONE, ['pcmu']);
        const id = await call();
        await ended(id, 'Failed', /^The remote endpoint answered with unusable SDP: /);
        await byeReached(id);
      }, 30_000);

      it('a far end offering only G.729 gets 488 and no invitation reaches the device', async () => {
        const before = events.length;
        const callId = await far.callIn(
          `sip:${gw.built.sipListening[0]!.replace(/^udp:/, '')}`,
          ALICE,
          far.g729Offer(),
        );
        const outcome = await until(
          'the final answer',
          () => far.outcomes.find((o) => o.callId === callId),
          (o) => o !== undefined,
        );
        expect(outcome!.status).toBe(488);
        expect(events.slice(before).filter((e) => e.type === 'session-invitation')).toEqual([]);
      }, 30_000);

      it('no reachable ICE candidate: the session ends Failed after the ICE timeout, with a BYE', async () => {
        const unused = (blackHole.address() as AddressInfo).port;
        await on(page).prepare(BROWSER_TONE);
        // Neither side can reach the other: both sides' candidates point at a port where nothing answers.
        const id = await call((sdp) => candidatesTo(sdp, unused));
        await connected(id, (sdp) => candidatesTo(sdp, unused));
        await ended(id, 'Failed', /^Media with the device failed: (ICE|no ICE)/, 20_000);
        await byeReached(id);
      }, 40_000);

      it('a DTLS certificate that does not match the offer’s fingerprint: the session ends Failed, with a BYE', async () => {
        await on(page).prepare(BROWSER_TONE);
        const id = await call((sdp) =>
          sdp.replace(/^a=fingerprint:sha-256 \S+/m, `a=fingerprint:sha-256 ${FOREIGN_FINGERPRINT}`),
        );
        await connected(id);
        await ended(id, 'Failed', /^Media with the device failed: /, 20_000);
        await byeReached(id);
      }, 40_000);

      it('an ICE restart mid-call, then hold and resume: audio passes both ways after each', async () => {
        await on(page).prepare(BROWSER_TONE);
        const id = await call();
        await connected(id);
        await tonesBothWays(BROWSER_TONE, SIP_TONE);

        // A new offer with new ICE credentials, as the same status (the spec's renegotiation).
        const restart = await on(page).offer(true);
        const ufrag = (sdp: string) => /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
        const before = (await session(id)).answer!.sdp;
        const changed = await gw.raw('PUT', `${CALLS}/${id}/status`, {
          token,
          json: { status: 'Connected', offer: { sdp: restart } },
        });
        expect(changed.status, changed.text).toBe(200);
        const answer = (changed.body as { answer: { sdp: string } }).answer.sdp;
        expect(ufrag(answer), 'the gateway answers with new ICE credentials').not.toBe(ufrag(before));
        await on(page).accept(answer);
        await tonesBothWays(660, 1200);

        for (const status of ['Hold', 'Resume'] as const) {
          const held = await gw.raw('PUT', `${CALLS}/${id}/status`, { token, json: { status } });
          expect(held.status, held.text).toBe(200);
        }
        await tonesBothWays(550, 800);

        // The call's WebRTC transport shows in the gateway's metrics while it lasts, and not after.
        const metric = async () => (await gw.raw('GET', '/metrics')).text;
        expect(await metric()).toMatch(/^telegate_media_webrtc_transports 1$/m);
        const ended = await gw.raw('DELETE', `${CALLS}/${id}`, { token });
        expect(ended.status).toBe(204);
        await byeReached(id);
        expect(statuses(id).at(-1)?.status).toBe('Terminated');
        const after = await until('the metrics to show no media', metric, (text) =>
          /^telegate_media_endpoints 0$/m.test(text),
        );
        expect(after).toMatch(/^telegate_media_webrtc_transports 0$/m);
        expect(after).toMatch(/^telegate_media_udp_sockets 0$/m);
      }, 60_000);
    },
  );
}
