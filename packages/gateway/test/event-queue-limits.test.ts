import { describe, expect, it, vi } from 'vitest';
import {
  type DeliverFunction,
  type DeliveryTarget,
  EVENT_TYPES,
  Gateway,
  type Logger,
  MemoryStore,
  type WebRtcCloudEvent,
} from '../src/index.js';
import { ALICE, auth, BOB, DEVICE } from './helpers.js';

/** A deliver function that holds every delivery until `release()`, recording them in arrival order. */
function heldSink() {
  const received: { target: DeliveryTarget; event: WebRtcCloudEvent }[] = [];
  const waiting: (() => void)[] = [];
  let holding = true;
  const deliver: DeliverFunction = async (target, event) => {
    if (holding) await new Promise<void>((resolve) => waiting.push(resolve));
    received.push({ target, event });
    return { ok: true };
  };
  return {
    deliver,
    received,
    held: () => waiting.length,
    release() {
      holding = false;
      for (const go of waiting.splice(0)) go();
    },
  };
}

function spyLogger() {
  const log = () => vi.fn<Logger['warn']>();
  return { debug: log(), info: log(), warn: log(), error: log() };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
};

async function subscribe(gw: Gateway, n: number): Promise<string> {
  const subscription = await gw.subscriptions.create(auth(ALICE), {
    protocol: 'HTTP',
    sink: `https://asp.example.com/webhooks/${n}`,
    types: [EVENT_TYPES.sessionInvitation],
    config: { subscriptionDetail: { deviceId: DEVICE } },
  });
  return subscription.id;
}

describe('the event queue bound (maxQueued)', () => {
  it('refuses admission at 90%, drops the newest event beyond the bound (logged once), never a queued one', async () => {
    const sink = heldSink();
    const logger = spyLogger();
    const gw = new Gateway({
      store: new MemoryStore(),
      deliver: sink.deliver,
      logger,
      events: { maxQueued: 5 },
    });
    const refused: string[] = [];
    const dropped: string[] = [];
    gw.events.on('refused', ({ operation }) => refused.push(operation));
    gw.events.on('dropped', ({ type }) => dropped.push(type));
    await gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await subscribe(gw, i));

    // Four subscription-ended events fill the admission share (90% of 5 is 4).
    for (const id of ids.slice(0, 4)) {
      await gw.events.admit('deleteNotificationChannelSubscription');
      await gw.subscriptions.delete(auth(ALICE), id);
    }
    await until(() => sink.held() === 4);
    expect(gw.events.waiting).toBe(4);
    await expect(gw.events.admit('createSession')).rejects.toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
      headers: { 'retry-after': '1' },
    });
    expect(refused).toEqual(['createSession']);

    // A call from the network: three session-invitation events, room for one.
    gw.network!.callIn({ from: BOB, to: ALICE });
    await until(() => dropped.length === 2);
    expect(gw.events.waiting).toBe(5);
    expect(dropped).toEqual([EVENT_TYPES.sessionInvitation, EVENT_TYPES.sessionInvitation]);
    const full = logger.warn.mock.calls.filter(([, message]) =>
      String(message).startsWith('event queue full'),
    );
    expect(full).toHaveLength(1);

    sink.release();
    await gw.idle();
    expect(sink.received.map((d) => d.event.type)).toEqual([
      ...Array(4).fill(EVENT_TYPES.subscriptionEnded),
      EVENT_TYPES.sessionInvitation,
    ]);
    expect(sink.received.slice(0, 4).map((d) => d.target.subscriptionId)).toEqual(ids.slice(0, 4));
    expect(logger.warn).toHaveBeenCalledWith({ dropped: 2 }, 'event queue has room again');
    await gw.events.admit('createSession');
    await gw.close();
  });

  it('with no bound (the default for the domain core), nothing is refused or dropped', async () => {
    const sink = heldSink();
    const gw = new Gateway({ store: new MemoryStore(), deliver: sink.deliver });
    await gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await subscribe(gw, i));
    for (const id of ids) await gw.subscriptions.delete(auth(ALICE), id);
    await until(() => sink.held() === 6);
    await gw.events.admit('createSession');
    sink.release();
    await gw.idle();
    expect(sink.received).toHaveLength(6);
    await gw.close();
  });
});
