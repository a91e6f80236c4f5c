/**
 * The demo telco network of `npm start`, reached over real SIP: its numbers
 * answer, are busy, echo RTP, and call the device back.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, sessionBody, subscribe, TYPES } from '../conformance/support/fixtures.js';
import type { ServedGateway } from '../conformance/support/gateway.js';
import { serveGateway } from '../conformance/support/gateway.js';
import { createTestPki, type TestPki } from '../conformance/support/pki.js';
import { startWebhookReceiver, type WebhookReceiver } from '../conformance/support/receiver.js';
import { ALICE, SINK_TOKEN, statusesOf } from './support/harness.js';

describe('the demo telco network', () => {
  let pki: TestPki;
  let receiver: WebhookReceiver;
  let gw: ServedGateway;

  beforeAll(async () => {
    pki = await createTestPki();
    receiver = await startWebhookReceiver(pki, SINK_TOKEN);
    gw = await serveGateway({
      sinkAllowlist: ['127.0.0.1'],
      sinkCaFile: pki.caFile,
      logLevel: 'error',
      sipNetwork: 'demo',
    });
  });
  afterAll(async () => {
    await gw?.close();
    await receiver?.close();
    await pki?.cleanup();
  });

  async function device() {
    const reg = await register(gw, ALICE);
    const subscriptionId = await subscribe(gw, receiver, reg.deviceId, ALICE, {
      accessToken: SINK_TOKEN,
      types: [TYPES.invitation, TYPES.status],
    });
    return { ...reg, subscriptionId, client: gw.callHandling({ token: await gw.token(ALICE) }) };
  }

  async function call(user: Awaited<ReturnType<typeof device>>, to: string) {
    const created = await user.client.createSession({
      params: { header: { registrationId: user.registrationId } },
      body: sessionBody(to) as never,
    });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    return created.data!.mediaSessionId;
  }

  it('runs on its own loopback address, over SIP', () => {
    expect(gw.built.demo?.uri).toMatch(/^sip:127\.0\.0\.2:\d+$/);
    expect(gw.built.sipListening[0]).toMatch(/^udp:127\.0\.0\.1:\d+$/);
    expect(gw.built.network).toBeUndefined();
  });

  it('an ordinary number brings early media, rings and answers; a busy one is busy', async () => {
    const user = await device();
    await call(user, '+818000000002');
    await receiver.waitFor(user.subscriptionId, (events) => statusesOf(events).includes('Connected'), 5_000);
    expect(statusesOf(receiver.eventsFor(user.subscriptionId))).toEqual([
      'InProgress',
      'Ringing',
      'Connected',
    ]);
    const other = await device();
    await call(other, '+990000000486');
    await receiver.waitFor(other.subscriptionId, (events) => statusesOf(events).includes('Busy'));
  });

  it('the echo number sends RTP back to where it came from', async () => {
    const user = await device();
    // The echo endpoint's port, from the network's 200 OK.
    let port = 0;
    const stop = gw.built.demo!.ua.onTrace((direction, message) => {
      const media = /m=audio (\d+)/.exec(message.body.toString());
      if (direction === 'out' && message.kind === 'response' && message.status === 200 && media)
        port = Number(media[1]);
    });
    await call(user, '+990000000200');
    await receiver.waitFor(user.subscriptionId, (events) => statusesOf(events).includes('Connected'));
    stop();
    expect(port).toBeGreaterThan(0);
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const echoed = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    const packet = Buffer.concat([
      Buffer.from([0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78]),
      Buffer.alloc(160, 0xff),
    ]);
    socket.send(packet, port, '127.0.0.2');
    expect((await echoed).equals(packet)).toBe(true);
    socket.close();
  });

  it('the call-back number hangs up and calls the device: a session-invitation', async () => {
    const user = await device();
    await call(user, '+990000000201');
    const events = await receiver.waitFor(
      user.subscriptionId,
      (list) => list.some((e) => e.type === TYPES.invitation),
      8_000,
    );
    expect(statusesOf(events)).toEqual(expect.arrayContaining(['Connected', 'Terminated']));
    const invitation = events.find((e) => e.type === TYPES.invitation)!;
    expect(invitation.data).toMatchObject({
      originatorAddress: 'tel:+990000000201',
      receiverAddress: `tel:${ALICE}`,
    });
    // The device declines the call back; the demo network hears 603.
    const { mediaSessionId } = invitation.data as { mediaSessionId: string };
    expect(
      (await user.client.deleteSessionById({ params: { path: { mediaSessionId } } })).response.status,
    ).toBe(204);
  });
});
