/**
 * A gateway on a real SIP network of sipp peers: the gateway listens for SIP
 * on 127.0.0.1, sends every call to a sipp UAS as its outbound proxy, and
 * delivers its events to a real HTTPS webhook receiver. Every SIP message the
 * gateway sends or receives is recorded.
 */
import type { EmbeddedSipBackend, GatewayConfig } from '../../../packages/gateway/src/index.js';
import type { SipMessage } from '../../../packages/gateway/src/sip/message/message.js';
import { TYPES } from '../../conformance/support/fixtures.js';
import { ALICE, type ServedGateway, serveGateway } from '../../conformance/support/gateway.js';
import { createTestPki, type TestPki } from '../../conformance/support/pki.js';
import {
  type ReceivedEvent,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../conformance/support/receiver.js';

export interface TracedMessage {
  direction: 'in' | 'out';
  /** Request method, or the CSeq method of a response. */
  method: string;
  status?: number;
  message: SipMessage;
}

/** `>INVITE`, `<100`, `<200/PRACK`, `>ACK`: the call flow notation of the tests. */
export function describeTraced(t: TracedMessage): string {
  const arrow = t.direction === 'out' ? '>' : '<';
  if (t.status === undefined) return `${arrow}${t.method}`;
  return t.method === 'INVITE' ? `${arrow}${t.status}` : `${arrow}${t.status}/${t.method}`;
}

export interface SipTestbed {
  pki: TestPki;
  receiver: WebhookReceiver;
  gw: ServedGateway;
  sip: EmbeddedSipBackend;
  /** `127.0.0.1:<port>`: where the gateway's SIP listens. */
  sipAddress: string;
  trace: TracedMessage[];
  /** The compact flow of one Call-ID. */
  flow(callId: string): string[];
  /** The traced messages of one Call-ID. */
  messages(callId: string): TracedMessage[];
  close(): Promise<void>;
}

export const SINK_TOKEN = 'sip-tests-sink-token';

export async function startSipTestbed(
  proxyPort: number,
  overrides: Partial<GatewayConfig> = {},
): Promise<SipTestbed> {
  const pki = await createTestPki();
  const receiver = await startWebhookReceiver(pki, SINK_TOKEN);
  const gw = await serveGateway({
    sinkAllowlist: ['127.0.0.1'],
    sinkCaFile: pki.caFile,
    logLevel: 'error',
    sipNetwork: 'external',
    sipListen: ['udp:127.0.0.1:0'],
    sipOutboundProxy: `sip:127.0.0.1:${proxyPort}`,
    sipTrustedPeers: ['127.0.0.1'],
    ...overrides,
  });
  const sip = gw.gateway.sip as EmbeddedSipBackend;
  const trace: TracedMessage[] = [];
  sip.onTrace((direction, message) => {
    const cseq = /^\s*\d+\s+(\S+)/.exec(message.headers.get('cseq') ?? '')?.[1] ?? '';
    trace.push({
      direction,
      method: message.kind === 'request' ? message.method : cseq,
      ...(message.kind === 'response' ? { status: message.status } : {}),
      message,
    });
  });
  const messages = (callId: string) => trace.filter((t) => t.message.headers.get('call-id') === callId);
  return {
    pki,
    receiver,
    gw,
    sip,
    sipAddress: gw.built.sipListening[0]!.replace(/^udp:/, ''),
    trace,
    messages,
    flow: (callId) => messages(callId).map(describeTraced),
    async close() {
      await gw.close();
      await receiver.close();
      await pki.cleanup();
    },
  };
}

export const statusesOf = (events: ReceivedEvent[]) =>
  events.filter((e) => e.type === TYPES.status).map((e) => (e.data as { status?: string }).status);

export const sequenceOf = (events: ReceivedEvent[]) =>
  events.map((e) => (e.data as { sequenceNumber?: number }).sequenceNumber);

/** Waits until `predicate` holds (polling every 10 ms), failing after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export { ALICE };
