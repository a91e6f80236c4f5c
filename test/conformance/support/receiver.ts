/**
 * A real HTTPS webhook receiver on 127.0.0.1, built with the generated
 * `createEventsCallbackReceiver` (its `.node` adapter), that records every
 * event it accepts, in arrival order, and lets tests wait for events.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CallbackRejection } from '@telegate/runtime/callbacks';
import { createEventsCallbackReceiver, type Events } from '../../../packages/webrtc-client/src/index.js';
import type { TestPki } from './pki.js';

export type ReceivedEvent =
  | Events.EventSessionInvitation
  | Events.EventSessionStatus
  | Events.EventSubscriptionEnded
  | Events.EventRegistrationEnds;

export interface ReceivedDelivery {
  event: ReceivedEvent;
  /** `Authorization` header of the delivery. */
  authorization: string | null;
  /** `x-correlator` the receiver answered with. */
  correlator: string;
  /** `content-type` of the delivery. */
  contentType: string | null;
}

export interface WebhookReceiver {
  /** `https://127.0.0.1:<port>` */
  origin: string;
  /** A sink URL on this receiver (each subscription may get its own path). */
  sink(path?: string): string;
  /** The bearer token the receiver accepts (give it as `sinkCredential.accessToken`). */
  token: string;
  readonly deliveries: ReceivedDelivery[];
  /** Requests the receiver refused (bad token, invalid payload, ...), with the status it answered. */
  readonly refused: { status: number; body: string }[];
  /** Events whose `data.subscriptionId` is `subscriptionId`, in arrival order. */
  eventsFor(subscriptionId: string): ReceivedEvent[];
  /** Resolves once `predicate` holds for the events of `subscriptionId` (polling; rejects after `timeoutMs`). */
  waitFor(
    subscriptionId: string,
    predicate: (events: ReceivedEvent[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedEvent[]>;
  /** Make deliveries to `subscriptionId` fail with this status from now on (e.g. 410). */
  reject(subscriptionId: string, status: number): void;
  close(): Promise<void>;
}

const subscriptionOf = (event: ReceivedEvent): string | undefined =>
  (event.data as { subscriptionId?: string } | undefined)?.subscriptionId;

export async function startWebhookReceiver(pki: TestPki, token: string): Promise<WebhookReceiver> {
  const deliveries: ReceivedDelivery[] = [];
  const refused: { status: number; body: string }[] = [];
  const rejections = new Map<string, number>();
  const record = (
    event: ReceivedEvent,
    context: { correlator: string; headers: { get(n: string): string | null } },
  ) => {
    const id = subscriptionOf(event);
    const status = id === undefined ? undefined : rejections.get(id);
    if (status !== undefined)
      throw new CallbackRejection(status, status === 410 ? 'GONE' : 'INTERNAL', 'refused by the test');
    deliveries.push({
      event,
      authorization: context.headers.get('authorization'),
      correlator: context.correlator,
      contentType: context.headers.get('content-type'),
    });
  };
  const receiver = createEventsCallbackReceiver(
    {
      onSessionInvitation: record,
      onSessionStatus: record,
      onSubscriptionEnded: record,
      onRegistrationEnds: record,
    },
    { auth: { bearer: token } },
  );
  const server: Server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    // Record refusals (the receiver answers them itself) so tests can show why an event is missing.
    const end = res.end.bind(res);
    const chunks: string[] = [];
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string') chunks.push(chunk);
      if (res.statusCode >= 300) refused.push({ status: res.statusCode, body: chunks.join('') });
      return (end as (...args: unknown[]) => typeof res)(chunk, ...rest);
    }) as typeof res.end;
    receiver.node(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `https://127.0.0.1:${port}`;
  const eventsFor = (id: string) =>
    deliveries.filter((d) => subscriptionOf(d.event) === id).map((d) => d.event);
  return {
    origin,
    token,
    sink: (path = '/webhooks/webrtc') => `${origin}${path}`,
    deliveries,
    refused,
    eventsFor,
    async waitFor(id, predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const events = eventsFor(id);
        if (predicate(events)) return events;
        if (Date.now() > deadline) {
          const seen = events.map(
            (e) => `${e.type.split('.').at(-1)}:${(e.data as { status?: string }).status ?? ''}`,
          );
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for events of ${id}; got [${seen.join(', ')}]` +
              (refused.length > 0 ? `; receiver refused ${JSON.stringify(refused.slice(-3))}` : ''),
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    reject: (id, status) => rejections.set(id, status),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
