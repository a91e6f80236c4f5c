import type { Clock } from '../../core/clock.js';
import { TimerSet } from '../../core/clock.js';
import { TypedEmitter } from '../../core/emitter.js';
import { parseRtpSdp } from '../../sdp/rtp.js';
import { formatNameAddr, type SipUri } from '../../sip/uri.js';
import type { OutgoingInvite, ProvisionalStatus, SipBackend, SipBackendEvents } from '../sip-backend.js';
import { DEFAULT_PROGRESS, type FarEndBehaviour, type ProgressStep, reasonPhrase } from './behaviours.js';
import { mirrorDirection, newSessionId, PCMA, PCMU, rtpSdp } from './sdp-builders.js';

/** One SIP message as the loopback network saw it, from the gateway's point of view. */
export interface SipMessage {
  callId: string;
  /** `out`: gateway → network; `in`: network → gateway. */
  direction: 'out' | 'in';
  /** Request method, or for a response the method of the transaction it answers. */
  method: string;
  /** Response status; absent for requests. */
  status?: number;
  headers: Record<string, string>;
  body?: string;
  at: number;
}

/** `>INVITE`, `<100`, `<200/PRACK`: a compact form for asserting call flows. */
export function describeMessage(m: SipMessage): string {
  const arrow = m.direction === 'out' ? '>' : '<';
  if (m.status === undefined) return `${arrow}${m.method}`;
  const transaction = m.method === 'INVITE' && m.status !== 200 ? '' : `/${m.method}`;
  return `${arrow}${m.status}${transaction}`;
}

type DialogState = 'calling' | 'early' | 'confirmed' | 'terminated';

export interface LoopbackDialog {
  callId: string;
  /** Who sent the initial INVITE. */
  initiator: 'gateway' | 'network';
  state: DialogState;
  /** The far end's number (outgoing calls) or the caller's (incoming). */
  farEnd: string;
  /** Whether the far end put the call on hold. */
  farEndHeld: boolean;
  localSdp?: string;
  remoteSdp?: string;
  /** An INVITE or re-INVITE from the network waiting for the gateway's answer. */
  pending?: 'invite' | 'reinvite' | undefined;
}

const FAR_END_ADDRESS = '198.51.100.10';

/** Headers must never carry CR/LF: a loopback "parser" as strict as a real one. */
function checkHeaders(headers: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(value)) throw new Error(`SIP header ${name} contains CR, LF or NUL`);
  }
  return headers;
}

/**
 * The in-process SIP network: a `SipBackend` whose far ends behave as
 * configured per called number. Created by `LoopbackNetwork`.
 */
export class LoopbackSipBackend extends TypedEmitter<SipBackendEvents> implements SipBackend {
  readonly messages: SipMessage[] = [];
  readonly dialogs = new Map<string, LoopbackDialog>();
  readonly bindings = new Map<string, number>();
  readonly #clock: Clock;
  readonly #timers: TimerSet<string>;
  readonly #dialogTimers = new Map<string, Set<string>>();
  readonly #behaviourOf: (target: string) => FarEndBehaviour;
  #closed = false;

  constructor(clock: Clock, behaviourOf: (target: string) => FarEndBehaviour) {
    super();
    this.#clock = clock;
    this.#timers = new TimerSet(clock);
    this.#behaviourOf = behaviourOf;
  }

  log(
    callId: string,
    direction: 'out' | 'in',
    method: string,
    status?: number,
    headers: Record<string, string> = {},
    body?: string,
  ): void {
    this.messages.push({
      callId,
      direction,
      method,
      ...(status === undefined ? {} : { status }),
      // Only what the gateway builds is checked; the network side may send anything.
      headers: direction === 'out' ? checkHeaders(headers) : headers,
      ...(body === undefined ? {} : { body }),
      at: this.#clock.now(),
    });
  }

  /** The network-side events, for the owning `LoopbackNetwork`. */
  fire<K extends keyof SipBackendEvents>(event: K, payload: SipBackendEvents[K]): void {
    this.emit(event, payload);
  }

  #dialog(callId: string): LoopbackDialog {
    const dialog = this.dialogs.get(callId);
    if (dialog === undefined || dialog.state === 'terminated') throw new Error(`no SIP dialog ${callId}`);
    return dialog;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('SIP backend is closed');
  }

  async register(binding: { aor: SipUri; expiresSeconds: number }): Promise<void> {
    this.#assertOpen();
    const callId = `reg:${binding.aor}`;
    this.log(callId, 'out', 'REGISTER', undefined, {
      To: `<${binding.aor}>`,
      Expires: String(binding.expiresSeconds),
    });
    this.log(callId, 'in', 'REGISTER', 200);
    if (binding.expiresSeconds === 0) this.bindings.delete(binding.aor);
    else this.bindings.set(binding.aor, this.#clock.now() + binding.expiresSeconds * 1000);
  }

  async invite(request: OutgoingInvite): Promise<void> {
    this.#assertOpen();
    const headers: Record<string, string> = {
      'Request-URI': request.requestUri,
      From: formatNameAddr(request.from),
      To: formatNameAddr(request.to),
      Supported: '100rel, timer',
      'Content-Type': request.emergency ? 'multipart/mixed' : 'application/sdp',
    };
    if (request.assertedIdentity) headers['P-Asserted-Identity'] = `<${request.assertedIdentity}>`;
    if (request.privacy) headers.Privacy = 'id';
    if (request.emergency) headers.Geolocation = '<cid:location@gateway>';
    const body = request.emergency ? `${request.sdp}\r\n--\r\n${request.emergency.pidfLo}` : request.sdp;
    this.log(request.callId, 'out', 'INVITE', undefined, headers, body);
    const farEnd = targetOf(request.requestUri);
    const dialog: LoopbackDialog = {
      callId: request.callId,
      initiator: 'gateway',
      state: 'calling',
      farEnd,
      farEndHeld: false,
      localSdp: request.sdp,
    };
    this.dialogs.set(request.callId, dialog);
    this.log(request.callId, 'in', 'INVITE', 100);
    this.#play(dialog, this.#behaviourOf(farEnd));
  }

  #at(dialog: LoopbackDialog, key: string, atMs: number, action: () => void): void {
    const timerKey = `${dialog.callId}:${key}`;
    const keys = this.#dialogTimers.get(dialog.callId) ?? new Set<string>();
    keys.add(timerKey);
    this.#dialogTimers.set(dialog.callId, keys);
    this.#timers.setAfter(timerKey, atMs, () => {
      if (dialog.state === 'terminated' || dialog.state === 'confirmed') return;
      action();
    });
  }

  #play(dialog: LoopbackDialog, behaviour: FarEndBehaviour): void {
    const progress = (steps: readonly ProgressStep[] | undefined) => {
      for (const [i, step] of (steps ?? DEFAULT_PROGRESS).entries()) {
        this.#at(dialog, `p${i}`, step.atMs, () => this.#provisional(dialog, step));
      }
    };
    switch (behaviour.kind) {
      case 'answer':
        progress(behaviour.progress);
        this.#at(dialog, 'final', behaviour.answerAtMs ?? 1000, () => this.#answered(dialog));
        return;
      case 'ring-forever':
        progress(behaviour.progress);
        return;
      case 'busy':
        this.#at(dialog, 'final', behaviour.atMs ?? 100, () => this.#final(dialog, 486));
        return;
      case 'decline':
        progress(behaviour.progress ?? []);
        this.#at(dialog, 'final', behaviour.atMs ?? 100, () => this.#final(dialog, 603));
        return;
      case 'no-answer':
        progress([{ status: 180, atMs: 100 }]);
        this.#at(dialog, 'final', behaviour.atMs ?? 30_000, () => this.#final(dialog, 480));
        return;
      case 'reject':
        progress(behaviour.progress ?? []);
        this.#at(dialog, 'final', behaviour.atMs ?? 100, () =>
          this.#final(dialog, behaviour.status, behaviour.reason),
        );
        return;
    }
  }

  #farEndAnswer(dialog: LoopbackDialog, direction?: 'sendrecv' | 'recvonly'): string {
    const offer = dialog.localSdp === undefined ? undefined : parseRtpSdp(dialog.localSdp, 'loopback offer');
    const codec = offer?.audio.codecs[0] ?? PCMU;
    return rtpSdp({
      address: FAR_END_ADDRESS,
      port: 49_170,
      codecs: [codec.name === 'pcma' ? PCMA : PCMU],
      direction: direction ?? (offer ? mirrorDirection(offer.audio.direction) : 'sendrecv'),
      version: 2,
      id: '4576312012535546667',
      name: 'SIP Call',
    });
  }

  #provisional(dialog: LoopbackDialog, step: ProgressStep): void {
    dialog.state = 'early';
    const sdp = (step.sdp ?? step.status === 183) ? this.#farEndAnswer(dialog) : undefined;
    if (sdp !== undefined) dialog.remoteSdp = sdp;
    // The call flows assume 100rel on the NNI: every 18x is reliable and PRACKed.
    this.log(dialog.callId, 'in', 'INVITE', step.status, { Require: '100rel' }, sdp);
    this.log(dialog.callId, 'out', 'PRACK');
    this.log(dialog.callId, 'in', 'PRACK', 200);
    this.emit('provisional', {
      callId: dialog.callId,
      status: step.status,
      reason: reasonPhrase(step.status),
      ...(sdp === undefined ? {} : { sdp }),
    });
  }

  #answered(dialog: LoopbackDialog): void {
    const sdp = this.#farEndAnswer(dialog);
    dialog.remoteSdp = sdp;
    dialog.state = 'confirmed';
    this.#clearTimers(dialog);
    this.log(dialog.callId, 'in', 'INVITE', 200, {}, sdp);
    this.log(dialog.callId, 'out', 'ACK');
    this.emit('answered', { callId: dialog.callId, sdp });
  }

  #final(dialog: LoopbackDialog, status: number, reason?: string): void {
    dialog.state = 'terminated';
    this.#clearTimers(dialog);
    this.log(dialog.callId, 'in', 'INVITE', status);
    this.log(dialog.callId, 'out', 'ACK');
    this.emit('failed', { callId: dialog.callId, status, reason: reason ?? reasonPhrase(status) });
  }

  #clearTimers(dialog: LoopbackDialog): void {
    for (const key of this.#dialogTimers.get(dialog.callId) ?? []) this.#timers.delete(key);
    this.#dialogTimers.delete(dialog.callId);
  }

  async answer(callId: string, response: { status: ProvisionalStatus | 200; sdp?: string }): Promise<void> {
    this.#assertOpen();
    const dialog = this.#dialog(callId);
    if (dialog.initiator !== 'network' && dialog.pending !== 'reinvite')
      throw new Error(`answer: ${callId} is not an incoming INVITE`);
    if (dialog.pending === undefined) throw new Error(`answer: no INVITE pending on ${callId}`);
    if (response.sdp !== undefined) {
      parseRtpSdp(response.sdp, 'answer sdp');
      dialog.localSdp = response.sdp;
    }
    if (response.status === 200) {
      this.log(callId, 'out', 'INVITE', 200, { 'Content-Type': 'application/sdp' }, response.sdp);
      dialog.state = 'confirmed';
      const lateOffer = dialog.pending === 'invite' && dialog.remoteSdp === undefined;
      dialog.pending = undefined;
      if (!lateOffer) {
        this.log(callId, 'in', 'ACK');
        return;
      }
      // A late-offer INVITE: the 200 carried the offer, the far end answers in its ACK.
      const answer = this.farEndSdp();
      dialog.remoteSdp = answer;
      this.log(callId, 'in', 'ACK', undefined, { 'Content-Type': 'application/sdp' }, answer);
      queueMicrotask(() => {
        if (!this.#closed) this.emit('acknowledged', { callId, sdp: answer });
      });
      return;
    }
    this.log(callId, 'out', 'INVITE', response.status, { Require: '100rel' }, response.sdp);
    this.log(callId, 'in', 'PRACK');
    this.log(callId, 'out', 'PRACK', 200);
    dialog.state = 'early';
  }

  async reject(callId: string, response: { status: number; reason?: string }): Promise<void> {
    this.#assertOpen();
    const dialog = this.#dialog(callId);
    if (dialog.pending !== 'invite') throw new Error(`reject: no INVITE pending on ${callId}`);
    this.log(callId, 'out', 'INVITE', response.status);
    this.log(callId, 'in', 'ACK');
    dialog.state = 'terminated';
    dialog.pending = undefined;
  }

  async reinvite(callId: string, request: { sdp: string }): Promise<{ sdp: string }> {
    this.#assertOpen();
    const dialog = this.#dialog(callId);
    if (dialog.state !== 'confirmed') throw new Error(`reinvite: ${callId} is not established`);
    dialog.localSdp = request.sdp;
    this.log(callId, 'out', 'INVITE', undefined, { 'Content-Type': 'application/sdp' }, request.sdp);
    const sdp = this.#farEndAnswer(dialog);
    dialog.remoteSdp = sdp;
    this.log(callId, 'in', 'INVITE', 200, {}, sdp);
    this.log(callId, 'out', 'ACK');
    return { sdp };
  }

  async bye(callId: string): Promise<void> {
    this.#assertOpen();
    const dialog = this.dialogs.get(callId);
    if (dialog === undefined || dialog.state === 'terminated') return;
    this.log(callId, 'out', 'BYE');
    this.log(callId, 'in', 'BYE', 200);
    dialog.state = 'terminated';
    this.#clearTimers(dialog);
  }

  async cancel(callId: string): Promise<void> {
    this.#assertOpen();
    const dialog = this.dialogs.get(callId);
    if (dialog === undefined || dialog.state === 'terminated' || dialog.state === 'confirmed') return;
    this.log(callId, 'out', 'CANCEL');
    this.log(callId, 'in', 'CANCEL', 200);
    // The far end answers the INVITE with 487 (RFC 3261 §9.2), delivered like any final response.
    queueMicrotask(() => {
      if (dialog.state !== 'terminated') this.#final(dialog, 487);
    });
  }

  // --- far-end actions (driven by LoopbackNetwork) ---

  farEndBye(callId: string): void {
    const dialog = this.#dialog(callId);
    if (dialog.state !== 'confirmed') throw new Error(`farEndBye: ${callId} is not established`);
    this.log(callId, 'in', 'BYE');
    this.log(callId, 'out', 'BYE', 200);
    dialog.state = 'terminated';
    this.emit('bye', { callId });
  }

  farEndCancel(callId: string): void {
    const dialog = this.#dialog(callId);
    if (dialog.initiator !== 'network' || dialog.pending !== 'invite')
      throw new Error(`farEndCancel: ${callId} has no pending INVITE`);
    this.log(callId, 'in', 'CANCEL');
    this.log(callId, 'out', 'CANCEL', 200);
    this.log(callId, 'out', 'INVITE', 487);
    this.log(callId, 'in', 'ACK');
    dialog.state = 'terminated';
    dialog.pending = undefined;
    this.emit('cancelled', { callId });
  }

  farEndReinvite(callId: string, hold: boolean): void {
    const dialog = this.#dialog(callId);
    if (dialog.state !== 'confirmed') throw new Error(`farEndReinvite: ${callId} is not established`);
    dialog.farEndHeld = hold;
    dialog.pending = 'reinvite';
    const sdp = rtpSdp({
      address: FAR_END_ADDRESS,
      port: 49_170,
      codecs: [PCMU],
      direction: hold ? 'sendonly' : 'sendrecv',
      version: 3,
      id: '4576312012535546667',
      name: 'SIP Call',
    });
    dialog.remoteSdp = sdp;
    this.log(callId, 'in', 'INVITE', undefined, { 'Content-Type': 'application/sdp' }, sdp);
    this.emit('reinvite', { callId, sdp, hold });
  }

  farEndInvite(invite: SipBackendEvents['invite'], farEnd: string): void {
    this.#assertOpen();
    this.dialogs.set(invite.callId, {
      callId: invite.callId,
      initiator: 'network',
      state: 'calling',
      farEnd,
      farEndHeld: false,
      pending: 'invite',
      ...(invite.sdp === undefined ? {} : { remoteSdp: invite.sdp }),
    });
    this.log(
      invite.callId,
      'in',
      'INVITE',
      undefined,
      { From: invite.from.uri, To: invite.to.uri },
      invite.sdp,
    );
    this.log(invite.callId, 'out', 'INVITE', 100);
    this.emit('invite', invite);
  }

  farEndSdp(): string {
    return rtpSdp({
      address: FAR_END_ADDRESS,
      port: 49_170,
      codecs: [PCMU, PCMA],
      direction: 'sendrecv',
      version: 2,
      id: newSessionId(),
      name: 'SIP Call',
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#timers.clear();
    this.removeAllListeners();
  }
}

/** The behaviour key of a Request-URI: its E.164 number, or the whole URI (URNs, SIP users). */
export function targetOf(uri: string): string {
  const match = /^(?:sips?:|tel:)(\+?[0-9*#]+)[@;]/.exec(uri);
  return match?.[1] ?? uri;
}
