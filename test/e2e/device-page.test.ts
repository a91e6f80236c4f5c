import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedGateway, serveGateway } from '../conformance/support/gateway.js';
import { HAVE_CHROMIUM, launchChromium } from './chromium.js';
import { gatewayMediaBackends } from './media-backends.js';

/*
 * The device page at /demo in a real browser (Debian's Chromium, headless)
 * against a gateway on the demo telco network, reached over real SIP, with
 * each media backend. The page's microphone is a WebAudio oscillator
 * (`?microphone=tone&tone=…`); what it hears is read from its AnalyserNode,
 * so audio is checked by its frequency, not by packet counts. `?ice=loopback`
 * keeps only 127.0.0.1 candidates: nothing leaves the machine.
 */

const ECHO = '+990000000200';
const PAGE_BUILD = new URL('../../packages/gateway/dist/demo/device-page.js', import.meta.url);

const backends = gatewayMediaBackends('device page', {
  werift: { rtpPortMin: 47_400, rtpPortMax: 47_599 },
  mediasoup: { rtpPortMin: 45_000, rtpPortMax: 45_199 },
});

interface PageHooks {
  devicePage: {
    loudest(): { frequency: number; level: number };
    call(): { status: string; mediaSessionId: string | undefined };
    connectionState(): string;
  };
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, ms = 8_000) {
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

for (const [backend, media] of backends) {
  describe.skipIf(!HAVE_CHROMIUM || media === undefined)(
    `the device page (/demo) in Chromium, on the demo network, through ${backend}`,
    () => {
      let browser: Browser;
      let gw: ServedGateway;
      let nextNumber = 0;

      beforeAll(async () => {
        // `npm run build` makes the page; a test run straight after `tsc -b` makes it here.
        if (!existsSync(PAGE_BUILD)) {
          execFileSync(process.execPath, [
            new URL('../../packages/gateway/scripts/build-device-page.mjs', import.meta.url).pathname,
          ]);
        }
        gw = await serveGateway({ sipNetwork: 'demo', logLevel: 'error', ...media });
        browser = await launchChromium();
      });

      afterAll(async () => {
        await browser?.close();
        await gw?.close();
      });

      /** Opens the page with a `tone` Hz microphone, registers a fresh number from it. */
      async function registeredPage(tone: number): Promise<{ page: Page; phoneNumber: string }> {
        const phoneNumber = `+1555020${String(nextNumber++).padStart(4, '0')}`;
        const page = await browser.newPage();
        await page.goto(`${gw.origin}/demo?ice=loopback&microphone=tone&tone=${tone}`);
        await page.fill('#phone', phoneNumber);
        await page.click('#register');
        await page.waitForSelector('#registration-status:has-text("registered (")', { timeout: 5_000 });
        await page.waitForSelector('#events-status:has-text("open")', { timeout: 5_000 });
        return { page, phoneNumber };
      }

      const callOf = (page: Page) => page.evaluate(() => (window as unknown as PageHooks).devicePage.call());
      const loudest = (page: Page) =>
        page.evaluate(() => (window as unknown as PageHooks).devicePage.loudest());
      const hears = (frequency: number) => (heard: { frequency: number; level: number }) =>
        Math.abs(heard.frequency - frequency) < 20 && heard.level > -60;
      const mediaEndpoints = () => gw.gateway.media.stats?.().endpoints ?? 0;

      it('calls the echo number and hears its own tone back', async () => {
        const { page } = await registeredPage(440);
        await page.fill('#callee', ECHO);
        await page.click('#call');
        await until(
          'Connected',
          () => callOf(page),
          (call) => call.status === 'Connected',
        );
        const heard = await until('the page to hear 440 Hz', () => loudest(page), hears(440));
        expect(heard.frequency).toBeGreaterThan(420);
        await page.click('#hangup');
        await until(
          'the media endpoint to close',
          async () => mediaEndpoints(),
          (count) => count === 0,
        );
        expect((await callOf(page)).status).toBe('Terminated');
        await page.close();
      }, 20_000);

      it('answers an incoming call that arrives over the events bridge and hears the far end', async () => {
        const { page, phoneNumber } = await registeredPage(660);
        // The demo network's incoming calls echo what they receive: the far end sends the page's tone back.
        await gw.built.demo!.callIn({ from: '+990000000777', to: phoneNumber });
        await page.waitForSelector('#incoming:not([hidden])', { timeout: 5_000 });
        expect(await page.textContent('#incoming-from')).toContain('+990000000777');
        await page.click('#answer');
        await until(
          'Connected',
          () => callOf(page),
          (call) => call.status === 'Connected',
        );
        await until('the page to hear 660 Hz', () => loudest(page), hears(660));
        await page.click('#hangup');
        await until(
          'the media endpoint to close',
          async () => mediaEndpoints(),
          (count) => count === 0,
        );
        await page.close();
      }, 20_000);

      it('hears nothing while the call is held and the tone again after resuming', async () => {
        const { page } = await registeredPage(520);
        await page.fill('#callee', ECHO);
        await page.click('#call');
        await until('the page to hear 520 Hz', () => loudest(page), hears(520));
        await page.click('#hold');
        await until(
          'Hold',
          () => callOf(page),
          (call) => call.status === 'Hold',
        );
        await until(
          'silence while held',
          () => loudest(page),
          (heard) => heard.level < -90,
        );
        await page.click('#resume');
        await until('the page to hear 520 Hz again', () => loudest(page), hears(520));
        await page.click('#hangup');
        await until(
          'the media endpoint to close',
          async () => mediaEndpoints(),
          (count) => count === 0,
        );
        await page.close();
      }, 25_000);

      it('a page left mid-call ends the session as Failed with a BYE, and frees its media', async () => {
        const { page, phoneNumber } = await registeredPage(440);
        const statuses: string[] = [];
        const unwatch = gw.gateway.watchSubscriber(phoneNumber, (event) => {
          if (event.type === 'session-status') statuses.push(event.session.status);
        });
        const byes: string[] = [];
        const untrace = gw.built.demo!.ua.onTrace((direction, message) => {
          if (direction === 'in' && message.kind === 'request' && message.method === 'BYE') byes.push('BYE');
        });
        try {
          await page.fill('#callee', ECHO);
          await page.click('#call');
          await until('the page to hear 440 Hz', () => loudest(page), hears(440));
          // Leaving (or reloading) the page closes its peer connection: Chromium sends a DTLS close_notify,
          // so the gateway sees the device leave at once. (A killed tab sends nothing: ICE consent, RFC 7675,
          // expires after werift's 30 s and ends the call the same way.)
          await page.goto('about:blank');
          await page.close();
          await until(
            'the session to fail',
            async () => statuses,
            (seen) => seen.includes('Failed'),
            8_000,
          );
          await until(
            'a BYE to the far end',
            async () => byes.length,
            (count) => count === 1,
          );
          await until(
            'the media endpoint to close',
            async () => mediaEndpoints(),
            (count) => count === 0,
          );
          expect(gw.gateway.media.stats?.()).toMatchObject({
            endpoints: 0,
            udpSockets: 0,
            webRtcTransports: 0,
          });
        } finally {
          unwatch();
          untrace();
        }
      }, 20_000);
    },
  );
}
