import { describe, expect, it } from 'vitest';
import { type ClusterMessaging, NodeChannel, NodeUnreachableError } from '../../src/cluster/node-channel.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';

/** Pub/sub in one process; `sent` keeps every message, for replaying and tampering. */
function localMessaging() {
  const listeners = new Map<string, (message: string) => void>();
  const sent: { channel: string; message: string }[] = [];
  const messaging: ClusterMessaging = {
    async publish(channel, message) {
      sent.push({ channel, message });
      setImmediate(() => listeners.get(channel)?.(message));
    },
    async subscribe(channel, listener) {
      listeners.set(channel, listener);
    },
    async close() {},
  };
  return {
    messaging,
    sent,
    deliver: (channel: string, message: string) => listeners.get(channel)?.(message),
  };
}

const SECRET = 'a-cluster-secret-of-32-characters!!';
const channel = (nodeId: string, messaging: ClusterMessaging, secret = SECRET) =>
  new NodeChannel(
    { nodeId, messaging, clock: systemClock, logger: silentLogger },
    { secret, prefix: 't:', timeoutMs: 300 },
  );

describe('NodeChannel: signed requests between gateway nodes', () => {
  it('a request reaches the addressed node and its reply comes back', async () => {
    const { messaging } = localMessaging();
    const a = channel('a', messaging);
    const b = channel('b', messaging);
    const seen: unknown[] = [];
    await a.listen(async () => ({ ok: true }));
    await b.listen(async (request, from) => {
      seen.push({ request, from });
      return { ok: false, error: { status: 404, code: 'NOT_FOUND', message: 'gone' } };
    });
    const request = { op: 'delete-session', phoneNumber: '+818000000001', mediaSessionId: 'm1' } as const;
    expect(await a.request('b', request)).toEqual({
      ok: false,
      error: { status: 404, code: 'NOT_FOUND', message: 'gone' },
    });
    expect(seen).toEqual([{ request, from: 'a' }]);
  });

  it('drops messages signed with another secret, replayed or tampered with; the sender times out', async () => {
    const { messaging, sent, deliver } = localMessaging();
    const a = channel('a', messaging);
    const intruder = channel('a', messaging, 'another-secret-of-32-characters!!!!');
    const handled: string[] = [];
    const b = channel('b', messaging);
    await b.listen(async (request) => {
      handled.push(request.op);
      return { ok: true };
    });
    await a.listen(async () => ({ ok: true }));
    await expect(
      intruder.request('b', { op: 'registration-ended', registrationId: 'r', reason: 'x' }),
    ).rejects.toBeInstanceOf(NodeUnreachableError);
    expect(handled).toEqual([]);

    await a.request('b', { op: 'registration-ended', registrationId: 'r', reason: 'x' });
    expect(handled).toEqual(['registration-ended']);
    const genuine = sent.filter((m) => m.channel === 't:node:b').at(-1);
    // The same message again: dropped as a replay.
    deliver('t:node:b', genuine!.message);
    // Its text changed (another registration), signature kept: dropped.
    deliver(
      't:node:b',
      genuine!.message.replace('\\"registrationId\\":\\"r\\"', '\\"registrationId\\":\\"s\\"'),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handled).toEqual(['registration-ended']);
  });
});
