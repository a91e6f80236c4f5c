import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../../core/clock.js';
import type { FarEndBehaviour } from './behaviours.js';
import { LoopbackMediaBackend, type LoopbackMediaOptions } from './loopback-media.js';
import { describeMessage, LoopbackSipBackend, type SipMessage } from './loopback-sip.js';

export interface LoopbackNetworkOptions extends LoopbackMediaOptions {
  clock?: Clock;
  /** What numbers without a configured behaviour do (default: answer after ringing). */
  defaultBehaviour?: FarEndBehaviour;
  /** Per-number behaviours: exact keys (`+818000000002`, `urn:service:sos`) or prefixes ending in `*` (`+8190*`). */
  behaviours?: Record<string, FarEndBehaviour>;
  /** Domain of the network's numbers in SIP URIs (default `tn.operator.com`). */
  domain?: string;
}

export interface InboundCallOptions {
  /** Caller number (`+818000000002`), or `fromUri` for any raw URI (hostile-input tests). */
  from?: string;
  fromUri?: string;
  fromName?: string;
  /** Called subscriber number, or `toUri` for any raw URI. */
  to?: string;
  toUri?: string;
  toName?: string;
  /** The INVITE's SDP (default: a G.711 offer); `null` for a late-offer INVITE. */
  sdp?: string | null;
}

/** Test handle on a call the network placed to the gateway. */
export interface InboundCall {
  readonly callId: string;
  /** The far end (caller) hangs up an answered call: BYE. */
  hangUp(): void;
  /** The caller gives up before an answer: CANCEL. */
  cancel(): void;
  /** The caller puts the call on hold / resumes it: re-INVITE. */
  hold(): void;
  resume(): void;
  /** The messages of this call so far, compact (`<INVITE`, `>100`, `>183`, ...). */
  flow(): string[];
}

/**
 * A configurable SIP world in the process: numbers answer (after a delay),
 * ring forever, are busy, decline, do not answer or call in. The gateway's
 * embedded default and the test double of every call-flow test.
 */
export class LoopbackNetwork {
  readonly sip: LoopbackSipBackend;
  readonly media: LoopbackMediaBackend;
  readonly domain: string;
  #default: FarEndBehaviour;
  readonly #exact = new Map<string, FarEndBehaviour>();
  readonly #prefixes = new Map<string, FarEndBehaviour>();

  constructor(options: LoopbackNetworkOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.domain = options.domain ?? 'tn.operator.com';
    this.#default = options.defaultBehaviour ?? { kind: 'answer' };
    for (const [target, behaviour] of Object.entries(options.behaviours ?? {}))
      this.setBehaviour(target, behaviour);
    this.sip = new LoopbackSipBackend(clock, (target) => this.behaviourOf(target));
    this.media = new LoopbackMediaBackend(options);
  }

  /** Sets how `target` (exact number/URI, or a prefix ending in `*`) behaves when called. */
  setBehaviour(target: string, behaviour: FarEndBehaviour): void {
    if (target.endsWith('*')) this.#prefixes.set(target.slice(0, -1), behaviour);
    else this.#exact.set(target, behaviour);
  }

  setDefaultBehaviour(behaviour: FarEndBehaviour): void {
    this.#default = behaviour;
  }

  /** The behaviour for a called target: exact match, else the longest matching prefix, else the default. */
  behaviourOf(target: string): FarEndBehaviour {
    const exact = this.#exact.get(target);
    if (exact) return exact;
    let best: [string, FarEndBehaviour] | undefined;
    for (const entry of this.#prefixes) {
      if (target.startsWith(entry[0]) && (best === undefined || entry[0].length > best[0].length))
        best = entry;
    }
    return best?.[1] ?? this.#default;
  }

  /** The network places a call to the gateway (an INVITE for a subscriber). */
  callIn(options: InboundCallOptions): InboundCall {
    const callId = `${randomBytes(8).toString('hex')}@${this.domain}`;
    const fromUri = options.fromUri ?? `sip:${options.from ?? '+818000000002'}@${this.domain};user=phone`;
    const toUri = options.toUri ?? `sip:${options.to ?? '+818000000001'}@operator.com;user=phone`;
    const sdp = options.sdp === null ? undefined : (options.sdp ?? this.sip.farEndSdp());
    this.sip.farEndInvite(
      {
        callId,
        requestUri: toUri,
        from: { uri: fromUri, ...(options.fromName === undefined ? {} : { displayName: options.fromName }) },
        to: { uri: toUri, ...(options.toName === undefined ? {} : { displayName: options.toName }) },
        ...(sdp === undefined ? {} : { sdp }),
      },
      options.from ?? fromUri,
    );
    return {
      callId,
      hangUp: () => this.sip.farEndBye(callId),
      cancel: () => this.sip.farEndCancel(callId),
      hold: () => this.sip.farEndReinvite(callId, true),
      resume: () => this.sip.farEndReinvite(callId, false),
      flow: () => this.flow(callId),
    };
  }

  /** The far end hangs up an established call (BYE from the network). */
  hangUp(callId: string): void {
    this.sip.farEndBye(callId);
  }

  /** The far end puts an established call on hold (`true`) or resumes it. */
  farEndHold(callId: string, held: boolean): void {
    this.sip.farEndReinvite(callId, held);
  }

  /** Every message of one dialog, compact. */
  flow(callId: string): string[] {
    return this.messages(callId).map(describeMessage);
  }

  messages(callId?: string): SipMessage[] {
    return callId === undefined
      ? [...this.sip.messages]
      : this.sip.messages.filter((m) => m.callId === callId);
  }

  /** The Call-ID of the n-th INVITE the gateway sent (0-based), for outgoing-call tests. */
  outgoingCallId(index = 0): string | undefined {
    return this.sip.messages.filter(
      (m) =>
        m.direction === 'out' && m.method === 'INVITE' && m.status === undefined && m.headers['Request-URI'],
    )[index]?.callId;
  }

  async close(): Promise<void> {
    await this.sip.close();
    await this.media.close();
  }
}
