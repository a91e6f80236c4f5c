import { randomBytes } from 'node:crypto';
import { TypedEmitter } from '../../core/emitter.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import {
  DEFAULT_PROGRESS,
  type FarEndBehaviour,
  type ProgressStep,
  reasonPhrase,
} from '../../network/loopback/behaviours.js';
import { parseSdp } from '../../sdp/parse.js';
import type { SipMessage } from '../message/message.js';
import type { SipPeer } from '../transport/transport.js';
import { EmbeddedSipBackend } from '../ua/embedded-sip-backend.js';
import type { SipUri } from '../uri.js';
import { EchoEndpoint } from './echo-endpoint.js';

export interface DemoTelcoNetworkOptions {
  /** Loopback address the network's SIP and RTP use (default 127.0.0.2). */
  address?: string;
  /** SIP port (default 0: any free one). */
  port?: number;
  /** Where the network sends calls for subscribers: the gateway's SIP address (`sip:127.0.0.1:5060`). */
  gateway?: string;
  /** What numbers do: exact numbers or prefixes ending in `*`; others answer. */
  behaviours?: Record<string, DemoBehaviour>;
  /** Host name of the network's numbers (default `tn.operator.com`). */
  domain?: string;
  logger?: Logger;
  trace?: (direction: 'in' | 'out', message: SipMessage, peer: SipPeer) => void;
}

/** A number's behaviour plus the demo-only ones: echo, and calling the caller back. */
export type DemoBehaviour = FarEndBehaviour | { kind: 'echo' } | { kind: 'call-back'; afterMs?: number };

export interface DemoNetworkEvents {
  /** A call from the gateway reached a number. */
  call: { callId: string; number: string; sdp?: string };
  /** A call ended (either side), with how. */
  ended: { callId: string; how: 'bye' | 'cancelled' | 'rejected' | 'failed' };
}

interface DemoCall {
  callId: string;
  number: string;
  caller: string | undefined;
  media: EchoEndpoint;
  timers: NodeJS.Timeout[];
}

/**
 * The built-in telco network of `npm start`: a SIP user agent on its own
 * loopback address that the gateway calls over real SIP (UDP), with demo
 * numbers that answer, echo, ring, are busy, decline, don't answer, or call
 * the caller back. Its media endpoints echo RTP (loopback peers only).
 */
export class DemoTelcoNetwork extends TypedEmitter<DemoNetworkEvents> {
  readonly ua: EmbeddedSipBackend;
  readonly address: string;
  readonly domain: string;
  readonly #calls = new Map<string, DemoCall>();
  readonly #exact = new Map<string, DemoBehaviour>();
  readonly #prefixes = new Map<string, DemoBehaviour>();
  readonly #logger: Logger;
  #default: DemoBehaviour = { kind: 'answer' };

  private constructor(ua: EmbeddedSipBackend, address: string, options: DemoTelcoNetworkOptions) {
    super(options.logger);
    this.ua = ua;
    this.address = address;
    this.domain = options.domain ?? 'tn.operator.com';
    this.#logger = options.logger ?? silentLogger;
    for (const [number, behaviour] of Object.entries(options.behaviours ?? {}))
      this.setBehaviour(number, behaviour);
    ua.on(
      'invite',
      (invite) => void this.#onInvite(invite.callId, invite.requestUri, invite.from.uri, invite.sdp),
    );
    ua.on('cancelled', ({ callId }) => this.#finish(callId, 'cancelled'));
    ua.on('bye', ({ callId }) => this.#finish(callId, 'bye'));
    ua.on('reinvite', ({ callId, sdp }) => {
      const call = this.#calls.get(callId);
      if (call === undefined) return;
      const direction =
        /^a=(sendonly|inactive|recvonly|sendrecv)/im.exec(sdp)?.[1]?.toLowerCase() ?? 'sendrecv';
      const mirror =
        direction === 'sendonly' ? 'recvonly' : direction === 'recvonly' ? 'sendonly' : direction;
      call.media.setEcho(mirror === 'sendrecv' || mirror === 'sendonly');
      void ua.answer(callId, { status: 200, sdp: this.#sdp(call, sdp, mirror) }).catch(() => {});
    });
    // Calls the network placed (call-back): the gateway's answers.
    ua.on('answered', ({ callId }) => this.#logger.debug({ callId }, 'demo call answered'));
    ua.on('failed', ({ callId }) => this.#finish(callId, 'failed'));
  }

  /** Starts the network's SIP user agent on `address` (UDP). */
  static async start(options: DemoTelcoNetworkOptions = {}): Promise<DemoTelcoNetwork> {
    const address = options.address ?? '127.0.0.2';
    const ua = await EmbeddedSipBackend.start({
      listen: [`udp:${address}:${options.port ?? 0}`],
      ...(options.gateway === undefined ? {} : { outboundProxy: options.gateway }),
      trustedPeers: ['127.0.0.0/8', '::1'],
      sessionExpiresSeconds: 0,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.trace ? { trace: options.trace } : {}),
    });
    return new DemoTelcoNetwork(ua, address, options);
  }

  /** `sip:127.0.0.2:5060`: where the gateway sends its calls (its outbound proxy). */
  get uri(): string {
    const udp = this.ua.listening[0]!;
    return `sip:${udp.address}:${udp.port}`;
  }

  /** Tells the network where the gateway listens (for the calls it places). */
  async connect(gatewayUri: string): Promise<void> {
    await this.ua.setOutboundProxy(gatewayUri);
  }

  setBehaviour(target: string, behaviour: DemoBehaviour): void {
    if (target.endsWith('*')) this.#prefixes.set(target.slice(0, -1), behaviour);
    else this.#exact.set(target, behaviour);
  }

  behaviourOf(number: string): DemoBehaviour {
    const exact = this.#exact.get(number);
    if (exact) return exact;
    let best: [string, DemoBehaviour] | undefined;
    for (const [prefix, behaviour] of this.#prefixes) {
      if (number.startsWith(prefix) && (best === undefined || prefix.length > best[0].length))
        best = [prefix, behaviour];
    }
    return best?.[1] ?? this.#default;
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  #sdp(call: DemoCall, offer: string | undefined, direction = 'sendrecv'): string {
    // Answer with the first G.711 codec of the offer (RFC 3264 §6.1), else PCMU.
    let payload = 0;
    if (offer !== undefined) {
      try {
        const media = parseSdp(offer, 'offer').description.media.find((m) => m.type === 'audio');
        const names = new Map((media?.rtp ?? []).map((r) => [r.payload, r.codec.toUpperCase()]));
        const formats = String(media?.payloads ?? '')
          .split(' ')
          .map(Number);
        payload =
          formats.find((f) => f === 0 || f === 8 || names.get(f) === 'PCMU' || names.get(f) === 'PCMA') ?? 0;
      } catch {}
    }
    const name = payload === 8 ? 'PCMA' : 'PCMU';
    const id = BigInt(`0x${randomBytes(6).toString('hex')}`).toString();
    return [
      'v=0',
      `o=- ${id} 1 IN IP4 ${this.address}`,
      's=SIP Call',
      `c=IN IP4 ${this.address}`,
      't=0 0',
      `m=audio ${call.media.port} RTP/AVP ${payload} 101`,
      `a=rtpmap:${payload} ${name}/8000`,
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      `a=${direction}`,
      'a=ptime:20',
      '',
    ].join('\r\n');
  }

  async #onInvite(callId: string, requestUri: string, from: string, sdp: string | undefined): Promise<void> {
    const number = /^(?:sips?:|tel:)(\+?[0-9*#]+)/.exec(requestUri)?.[1] ?? requestUri;
    const behaviour = this.behaviourOf(number);
    let media: EchoEndpoint;
    try {
      media = await EchoEndpoint.open(this.address, behaviour.kind === 'echo');
    } catch {
      await this.ua.reject(callId, { status: 503 }).catch(() => {});
      return;
    }
    const caller = /^(?:sips?:|tel:)(\+[0-9]+)/.exec(from)?.[1];
    const call: DemoCall = { callId, number, caller, media, timers: [] };
    this.#calls.set(callId, call);
    this.emit('call', { callId, number, ...(sdp === undefined ? {} : { sdp }) });
    const at = (ms: number, action: () => Promise<void>) =>
      call.timers.push(
        setTimeout(() => {
          if (this.#calls.get(callId) !== call) return;
          action().catch((error: Error) =>
            this.#logger.debug({ callId, err: error.message }, 'demo network action failed'),
          );
        }, ms),
      );
    const progress = (steps: readonly ProgressStep[] | undefined) => {
      for (const step of steps ?? DEFAULT_PROGRESS) {
        const withSdp = step.sdp ?? step.status === 183;
        at(step.atMs, () =>
          this.ua.answer(callId, { status: step.status, ...(withSdp ? { sdp: this.#sdp(call, sdp) } : {}) }),
        );
      }
    };
    const final = (ms: number, status: number) =>
      at(ms, async () => {
        await this.ua.reject(callId, { status, reason: reasonPhrase(status) });
        this.#finish(callId, 'rejected');
      });
    const answer = (ms: number) =>
      at(ms, () => this.ua.answer(callId, { status: 200, sdp: this.#sdp(call, sdp) }));
    switch (behaviour.kind) {
      case 'answer':
        progress(behaviour.progress);
        answer(behaviour.answerAtMs ?? 1000);
        return;
      case 'echo':
        progress([{ status: 180, atMs: 100 }]);
        answer(300);
        return;
      case 'call-back': {
        // Answers, hangs up after a moment, then calls the caller's number.
        progress([{ status: 180, atMs: 100 }]);
        answer(300);
        at(1500, () => this.ua.bye(callId).then(() => this.#finish(callId, 'bye')));
        const back = caller;
        if (back !== undefined) {
          setTimeout(
            () => void this.callIn({ from: number, to: back }).catch(() => {}),
            1500 + (behaviour.afterMs ?? 1000),
          );
        }
        return;
      }
      case 'ring-forever':
        progress(behaviour.progress);
        return;
      case 'busy':
        final(behaviour.atMs ?? 100, 486);
        return;
      case 'decline':
        progress(behaviour.progress ?? []);
        final(behaviour.atMs ?? 100, 603);
        return;
      case 'no-answer':
        progress([{ status: 180, atMs: 100 }]);
        final(behaviour.atMs ?? 30_000, 480);
        return;
      case 'reject':
        progress(behaviour.progress ?? []);
        final(behaviour.atMs ?? 100, behaviour.status);
        return;
    }
  }

  /** Places a call from `from` to the subscriber `to` (E.164 numbers) at the gateway; resolves with its Call-ID. */
  async callIn(call: { from: string; to: string; displayName?: string }): Promise<string> {
    const callId = randomBytes(12).toString('hex');
    const media = await EchoEndpoint.open(this.address, true);
    this.#calls.set(callId, { callId, number: call.from, caller: call.to, media, timers: [] });
    const offer = this.#sdp({ callId, number: call.from, caller: call.to, media, timers: [] }, undefined);
    const to = `sip:${call.to}@${this.domain};user=phone` as SipUri;
    await this.ua.invite({
      callId,
      requestUri: to,
      from: { uri: `sip:${call.from}@${this.domain};user=phone` as SipUri },
      to: { uri: to },
      sdp: offer,
    });
    return callId;
  }

  /** Hangs up a call of the network (BYE, or CANCEL while it rings). */
  async hangUp(callId: string): Promise<void> {
    const dialog = this.ua.dialogs.get(callId);
    if (dialog?.role === 'uac' && dialog.state !== 'confirmed') await this.ua.cancel(callId);
    else await this.ua.bye(callId);
    this.#finish(callId, 'bye');
  }

  #finish(callId: string, how: DemoNetworkEvents['ended']['how']): void {
    const call = this.#calls.get(callId);
    if (call === undefined) return;
    this.#calls.delete(callId);
    for (const timer of call.timers) clearTimeout(timer);
    call.media.close();
    this.emit('ended', { callId, how });
  }

  async close(): Promise<void> {
    for (const callId of [...this.#calls.keys()]) this.#finish(callId, 'failed');
    await this.ua.close();
    this.removeAllListeners();
  }
}
