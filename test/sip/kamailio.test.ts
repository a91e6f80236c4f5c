/**
 * The gateway on an operator network of real SIP servers: kamailio as the
 * digest-authenticating registrar and as the proxy every call goes through,
 * with a sipp phone behind it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, sessionBody, subscribe, TYPES } from '../conformance/support/fixtures.js';
import { ALICE, type SipTestbed, startSipTestbed, statusesOf, until } from './support/harness.js';
import { haveKamailio, type Kamailio, startKamailio } from './support/kamailio.js';
import { freeUdpPort, haveSipp, startSipp } from './support/sipp.js';

const registers = (bed: SipTestbed) =>
  bed.trace
    .filter((t) => t.method === 'REGISTER')
    .map((t) => (t.status === undefined ? `>REGISTER` : `<${t.status}`));

describe.skipIf(!haveKamailio() || !haveSipp())('kamailio as registrar and proxy', () => {
  for (const algorithm of ['MD5', 'SHA-256'] as const) {
    describe(`digest ${algorithm}`, () => {
      let kamailio: Kamailio;
      let bed: SipTestbed;
      let phonePort: number;

      beforeAll(async () => {
        const port = await freeUdpPort();
        phonePort = await freeUdpPort();
        kamailio = await startKamailio({ port, phonePort, digestAlgorithm: algorithm, maxExpires: 3 });
        bed = await startSipTestbed(port, {
          sipRegistrar: `sip:127.0.0.1:${port}`,
          sipUsername: 'gateway',
          sipPassword: 'gateway-secret',
        });
      });
      afterAll(async () => {
        await bed?.close();
        await kamailio?.stop();
      });

      it('REGISTERs each registration with digest credentials, refreshes it before it lapses, and routes calls to it', async () => {
        const reg = await register(bed.gw, ALICE);
        const first = bed.trace.filter((t) => t.method === 'REGISTER');
        expect(registers(bed).slice(0, 4)).toEqual(['>REGISTER', '<401', '>REGISTER', '<200']);
        const authorized = first[2]!.message.headers.get('authorization')!;
        expect(authorized).toMatch(
          new RegExp(`^Digest username="gateway", realm="operator.com", .*algorithm=${algorithm}\\b`),
        );
        expect(first[0]!.message.headers.get('to')).toBe(`<sip:${ALICE}@operator.com;user=phone>`);
        // The registrar grants 3 s at most: the binding is refreshed at 80% of that.
        await until(
          () => registers(bed).filter((r) => r === '<200').length >= 2,
          'a refreshing REGISTER',
          6_000,
        );

        // A phone calls the subscriber through kamailio: the binding leads to the gateway.
        const subscriptionId = await subscribe(bed.gw, bed.receiver, reg.deviceId, ALICE, {
          types: [TYPES.invitation, TYPES.status],
        });
        const caller = await startSipp({
          scenario: 'uac-inbound-decline.xml',
          port: await freeUdpPort(),
          target: `127.0.0.1:${kamailio.port}`,
          service: ALICE,
        });
        const [invitation] = await bed.receiver.waitFor(subscriptionId, (events) =>
          events.some((e) => e.type === TYPES.invitation),
        );
        const { mediaSessionId } = invitation!.data as { mediaSessionId: string };
        const client = bed.gw.callHandling({ token: await bed.gw.token(ALICE) });
        expect(
          (await client.deleteSessionById({ params: { path: { mediaSessionId } } })).response.status,
        ).toBe(204);
        expect(await caller.done, kamailio.log().slice(-1500)).toMatchObject({ code: 0 });

        // Deleting the registration removes the binding (Expires: 0); the number is then unknown to the proxy.
        const registration = bed.gw.registration({ token: await bed.gw.token(ALICE) });
        const deleted = await registration.deleteRegistrationById({
          params: { path: { registrationId: reg.registrationId } },
        });
        expect(deleted.response.status).toBe(204);
        const last = bed.trace
          .filter((t) => t.method === 'REGISTER' && t.status === undefined)
          .at(-1)!.message;
        expect(last.headers.get('expires')).toBe('0');
        await until(() => registers(bed).at(-1) === '<200', 'the removal of the binding');
      });

      it('sends calls through the proxy (preloaded Route) and follows its Record-Route for ACK and BYE', async () => {
        const phone = await startSipp({ scenario: 'uas-answer-behind-proxy.xml', port: phonePort });
        const reg = await register(bed.gw, ALICE);
        const subscriptionId = await subscribe(bed.gw, bed.receiver, reg.deviceId, ALICE, {
          types: [TYPES.status],
        });
        const client = bed.gw.callHandling({ token: await bed.gw.token(ALICE) });
        const created = await client.createSession({
          params: { header: { registrationId: reg.registrationId } },
          body: sessionBody('+819000000002') as never,
        });
        expect(created.response.status, JSON.stringify(created.error)).toBe(201);
        await bed.receiver.waitFor(subscriptionId, (events) => statusesOf(events).includes('Terminated'));
        expect(await phone.done, kamailio.log().slice(-1500)).toMatchObject({ code: 0 });
        const callId = (await bed.gw.gateway.store.getSession(created.data!.mediaSessionId))!.callId;
        // The proxy answers 100 Trying itself (it is transaction stateful).
        expect(bed.flow(callId)).toEqual(['>INVITE', '<100', '<200', '>ACK', '<BYE', '>200/BYE']);
        const [invite] = bed.messages(callId);
        expect(invite!.message.headers.get('route')).toBe(`<sip:127.0.0.1:${kamailio.port};lr>`);
        const ack = bed.messages(callId).find((t) => t.method === 'ACK')!.message;
        expect(ack.headers.get('route')).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${kamailio.port};lr`));
      });
    });
  }
});
