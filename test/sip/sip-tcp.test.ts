/**
 * The same SIP stack over TCP (RFC 3261 §18: one connection per peer, used
 * both ways, Content-Length framing): a call through a sipp phone on TCP.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, sessionBody, subscribe, TYPES } from '../conformance/support/fixtures.js';
import { ALICE, type SipTestbed, startSipTestbed, statusesOf } from './support/harness.js';
import { haveSipp, startSipp } from './support/sipp.js';

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(!haveSipp())('SIP over TCP against sipp', () => {
  let bed: SipTestbed;
  let sippPort: number;

  beforeAll(async () => {
    sippPort = await freeTcpPort();
    bed = await startSipTestbed(sippPort, {
      sipListen: ['tcp:127.0.0.1:0'],
      sipOutboundProxy: `sip:127.0.0.1:${sippPort};transport=tcp`,
    });
  });
  afterAll(async () => {
    await bed?.close();
  });

  it('places a call over TCP; the far end answers and hangs up on the same connection', async () => {
    const peer = await startSipp({ scenario: 'uas-remote-bye.xml', port: sippPort, transport: 't1' });
    const reg = await register(bed.gw, ALICE);
    const subscriptionId = await subscribe(bed.gw, bed.receiver, reg.deviceId, ALICE, {
      types: [TYPES.status],
    });
    const client = bed.gw.callHandling({ token: await bed.gw.token(ALICE) });
    const created = await client.createSession({
      params: { header: { registrationId: reg.registrationId } },
      body: sessionBody('+818000000002') as never,
    });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    await bed.receiver.waitFor(subscriptionId, (events) => statusesOf(events).includes('Terminated'));
    expect(await peer.done).toMatchObject({ code: 0 });
    const callId = (await bed.gw.gateway.store.getSession(created.data!.mediaSessionId))!.callId;
    expect(bed.flow(callId)).toEqual(['>INVITE', '<200', '>ACK', '<BYE', '>200/BYE']);
    const invite = bed.messages(callId)[0]!.message;
    expect(invite.headers.getAll('via')[0]).toMatch(/^SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;branch=z9hG4bK/);
    expect(invite.headers.get('contact')).toMatch(/;transport=tcp>$/);
  });
});
