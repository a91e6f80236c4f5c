/**
 * The application side of the SIP benchmark, in its own process (forked by
 * sip.ts): the HTTP driver that places calls with createSession at the target
 * rate, and the HTTPS webhook receiver that takes the gateway's events and
 * reacts to them (`Connected` → DELETE, `session-invitation` → DELETE). Apart
 * from the gateway, so the gateway's CPU and post-dial delay are its own.
 * Requests come over IPC, one at a time.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { TestPki } from '../conformance/support/pki.ts';
import { startWebhookReceiver } from '../conformance/support/receiver.ts';
import { answerRequests } from './ipc-child.ts';

export interface BenchCaller {
  phone: string;
  token: string;
  registrationId: string;
  subscriptionId: string;
}

export type AppRequest =
  | { kind: 'receiver'; key: string; cert: string; sinkToken: string }
  | { kind: 'callers'; origin: string; callers: BenchCaller[] }
  | { kind: 'outbound'; rate: number; seconds: number; receiverAddress: string; offer: string }
  | { kind: 'invitations' }
  | { kind: 'settle' }
  | { kind: 'exit' };

/** The outcome of an outbound run, as the application saw it. */
export interface OutboundReport {
  offered: number;
  /** createSession answers by HTTP status (`error` when the request failed). */
  answers: Record<string, number>;
  /** Sessions whose `Connected` event arrived. */
  connected: number;
  /** For the created sessions that never connected: their last `session-status` (or `none`). */
  notConnected: Record<string, number>;
  /**
   * [mediaSessionId, epoch ms when the createSession request was handed to the HTTP client, the
   * request's `x-correlator`].
   */
  requestAt: [string, number, string][];
  /** First request to last `Connected`, seconds. */
  elapsed: number;
  /** DELETE answers by HTTP status. */
  deletes: Record<string, number>;
  /** CPU of this process over the run, µs. */
  cpuMicros: number;
}

const STATUS = 'org.camaraproject.webrtc-events.v0.session-status';
const INVITATION = 'org.camaraproject.webrtc-events.v0.session-invitation';

/** Wall clock in ms with sub-ms precision, comparable across processes of one machine. */
const epochNow = () => performance.timeOrigin + performance.now();

// A few keep-alive connections, as an application server talking to the gateway would use.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
let origin = '';
let callers: BenchCaller[] = [];
let bySubscription = new Map<string, BenchCaller>();
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;

const count = (map: Record<string, number>, key: string) => {
  map[key] = (map[key] ?? 0) + 1;
};

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, {
      method,
      agent,
      headers:
        body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.end(body);
  });
}

// Reacts to events as they arrive: Connected → DELETE (BYE); invitation → DELETE (603).
let seen = 0;
const connected = new Set<string>();
const lastStatus = new Map<string, string>();
const invitations = new Set<string>();
const deletes: Record<string, number> = {};
let ending: Promise<unknown>[] = [];
let lastConnectedAt = 0;
const del = (caller: BenchCaller, mediaSessionId: string) =>
  send('DELETE', `/webrtc-call-handling/vwip/sessions/${mediaSessionId}`, {
    authorization: `Bearer ${caller.token}`,
  }).then(
    (r) => count(deletes, String(r.status)),
    () => count(deletes, 'error'),
  );
const pump = setInterval(() => {
  const deliveries = receiver?.deliveries ?? [];
  for (; seen < deliveries.length; seen++) {
    const event = deliveries[seen]!.event;
    const data = event.data as { subscriptionId: string; mediaSessionId: string; status?: string };
    const caller = bySubscription.get(data.subscriptionId);
    if (caller === undefined) continue;
    if (event.type === STATUS && data.status !== undefined) lastStatus.set(data.mediaSessionId, data.status);
    if (event.type === STATUS && data.status === 'Connected' && !connected.has(data.mediaSessionId)) {
      connected.add(data.mediaSessionId);
      lastConnectedAt = performance.now();
      ending.push(del(caller, data.mediaSessionId));
    } else if (event.type === INVITATION && !invitations.has(data.mediaSessionId)) {
      invitations.add(data.mediaSessionId);
      ending.push(del(caller, data.mediaSessionId));
    }
  }
}, 2);

/**
 * At most this many calls leave per tick of about 2 ms: after a stall of this process, the overdue
 * calls catch up at about 800/s, spaced, rather than all at once (independent callers do not arrive
 * together; a burst would time the gateway working through this process's backlog).
 */
const CATCH_UP_PER_TICK = 2;

/** Calls `fire` `rate` times a second for `seconds`, catching up (spaced) after a slow tick. */
async function atRate(rate: number, seconds: number, fire: (i: number) => void): Promise<number> {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (let now = 0; issued < due && now < CATCH_UP_PER_TICK; now++) fire(issued++);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return total;
}

async function outbound(run: Extract<AppRequest, { kind: 'outbound' }>): Promise<OutboundReport> {
  const answers: Record<string, number> = {};
  const created: string[] = [];
  const requestAt: [string, number, string][] = [];
  const pending: Promise<void>[] = [];
  connected.clear();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const offered = await atRate(run.rate, run.seconds, (i) => {
    const caller = callers[i % callers.length]!;
    // Names the request in a capture of the wire, where the gateway's post-dial delay is timed.
    const correlator = randomUUID();
    const t0 = epochNow();
    pending.push(
      send(
        'POST',
        '/webrtc-call-handling/vwip/sessions',
        {
          authorization: `Bearer ${caller.token}`,
          'content-type': 'application/json',
          registrationId: caller.registrationId,
          'x-correlator': correlator,
        },
        JSON.stringify({
          originatorAddress: `tel:${caller.phone}`,
          receiverAddress: run.receiverAddress,
          offer: { sdp: run.offer },
        }),
      ).then(
        ({ status, text }) => {
          count(answers, String(status));
          if (status !== 201) return;
          const { mediaSessionId } = JSON.parse(text) as { mediaSessionId: string };
          created.push(mediaSessionId);
          requestAt.push([mediaSessionId, t0, correlator]);
        },
        () => count(answers, 'error'),
      ),
    );
  });
  await Promise.allSettled(pending);
  // A call not connected 20 s after the last request counts as failed.
  const deadline = performance.now() + 20_000;
  while (connected.size < created.length && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const elapsed =
    ((connected.size === created.length ? lastConnectedAt : performance.now()) - started) / 1000;
  await Promise.allSettled(ending);
  ending = [];
  const cpu = process.cpuUsage(cpuBefore);
  const notConnected: Record<string, number> = {};
  for (const id of created) if (!connected.has(id)) count(notConnected, lastStatus.get(id) ?? 'none');
  return {
    offered,
    answers,
    connected: connected.size,
    notConnected,
    requestAt,
    elapsed,
    deletes: { ...deletes },
    cpuMicros: cpu.user + cpu.system,
  };
}

async function handle(message: AppRequest): Promise<unknown> {
  switch (message.kind) {
    case 'receiver':
      receiver = await startWebhookReceiver(
        { key: message.key, cert: message.cert } as TestPki,
        message.sinkToken,
      );
      return { sink: receiver.sink() };
    case 'callers':
      origin = message.origin;
      callers = message.callers;
      bySubscription = new Map(callers.map((c) => [c.subscriptionId, c]));
      return {};
    case 'outbound':
      return outbound(message);
    case 'invitations':
      return { count: invitations.size };
    case 'settle': {
      await Promise.allSettled(ending);
      ending = [];
      return { deletes: { ...deletes }, refused: receiver?.refused.length ?? 0 };
    }
    case 'exit':
      clearInterval(pump);
      agent.destroy();
      await receiver?.close();
      return {};
  }
}

answerRequests(handle, 'exit');
