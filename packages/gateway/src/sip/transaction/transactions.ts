import type { Clock, TimerHandle } from '../../core/clock.js';
import { SipHeaders, type SipRequest, type SipResponse, sipRequest } from '../message/message.js';
import { serializeMessage } from '../message/serializer.js';
import type { SipPeer } from '../transport/transport.js';
import type { SipTimers } from './timers.js';

/**
 * What is left of a transaction once it has nothing more to decide (RFC 3261 §17 "Completed",
 * "Confirmed", RFC 6026 "Accepted"): enough to treat retransmissions as the RFC asks for the
 * rest of its timer, without its messages, the TU's callbacks or timers of its own. Messages are
 * kept as they went on the wire, one latin1 string each.
 */
export type FinishedTransaction =
  /**
   * A server transaction. `completed` (non-INVITE, Timer J): a retransmitted request gets `response`
   * again. `accepted` (INVITE answered 2xx, Timer L): a retransmitted INVITE is absorbed, an ACK goes
   * to the TU (RFC 6026 §8.7). `confirmed` (INVITE failed and ACKed, Timer I): both are absorbed.
   */
  | { kind: 'server'; state: 'completed' | 'accepted' | 'confirmed'; response?: string; replyTo: SipPeer }
  /** An INVITE client transaction that failed (Timer D): a retransmitted final response gets `ack` again. */
  | { kind: 'client'; state: 'completed'; ack: string; to: SipPeer };

/** What a transaction needs from the layer that owns it. */
export interface TransactionContext {
  clock: Clock;
  timers: SipTimers;
  /** Sends on the transport the transaction runs over. */
  send(message: SipRequest | SipResponse, to: SipPeer): Promise<void>;
  /** Removes the transaction from the layer's table. */
  terminated(key: string): void;
  /** Replaces the transaction in the layer's table with `record` for `lifetimeMs`. */
  finished(key: string, record: FinishedTransaction, lifetimeMs: number): void;
}

/** A message as it goes on the wire, kept as one flat string (no buffer, no parsed headers). */
export function wireText(message: SipRequest | SipResponse): string {
  return serializeMessage(message).toString('latin1');
}

export interface ClientTransactionHandlers {
  response(response: SipResponse): void;
  /** Timer B or F fired: no final response (the TU treats it as 408, §8.1.3.1). */
  timeout(): void;
  /** The transport could not send (§8.1.3.1: treated as 503). */
  transportError(error: Error): void;
}

abstract class Transaction {
  readonly key: string;
  protected readonly context: TransactionContext;
  readonly #timers = new Map<string, TimerHandle>();
  terminated = false;

  constructor(key: string, context: TransactionContext) {
    this.key = key;
    this.context = context;
  }

  protected startTimer(name: string, ms: number, fire: () => void): void {
    this.stopTimer(name);
    const handle = this.context.clock.setTimeout(() => {
      this.#timers.delete(name);
      if (!this.terminated) fire();
    }, ms);
    this.#timers.set(name, handle);
  }

  protected stopTimer(name: string): void {
    const handle = this.#timers.get(name);
    if (handle !== undefined) this.context.clock.clearTimeout(handle);
    this.#timers.delete(name);
  }

  /** The "Terminated" state: every timer stops and the layer forgets the transaction. */
  terminate(): void {
    if (!this.#stop()) return;
    this.context.terminated(this.key);
  }

  /**
   * Hands the rest of the transaction's life to the layer's `record` for `lifetimeMs` (over
   * reliable transports the RFC's timer is 0: it ends at once). This object keeps its state for
   * whoever still holds it, but the layer no longer does, nor any timer.
   */
  protected finish(record: FinishedTransaction, lifetimeMs: number): void {
    if (lifetimeMs <= 0) {
      this.terminate();
      return;
    }
    if (!this.#stop()) return;
    this.context.finished(this.key, record, lifetimeMs);
  }

  #stop(): boolean {
    if (this.terminated) return false;
    this.terminated = true;
    for (const handle of this.#timers.values()) this.context.clock.clearTimeout(handle);
    this.#timers.clear();
    return true;
  }
}

/** What both client transactions share: the request, its destination, and how they give up. */
abstract class ClientTransactionBase extends Transaction {
  readonly request: SipRequest;
  protected readonly to: SipPeer;
  protected readonly reliable: boolean;
  protected readonly handlers: ClientTransactionHandlers;

  constructor(
    key: string,
    context: TransactionContext,
    request: SipRequest,
    to: SipPeer,
    reliable: boolean,
    handlers: ClientTransactionHandlers,
  ) {
    super(key, context);
    this.request = request;
    this.to = to;
    this.reliable = reliable;
    this.handlers = handlers;
  }

  /** Hands the request to the transport; a transport error ends the transaction (§17.1.4). */
  protected transmit(): Promise<void> {
    const sent = this.context.send(this.request, this.to);
    sent.catch((error: Error) => {
      if (this.terminated) return;
      this.terminate();
      this.handlers.transportError(error);
    });
    return sent;
  }

  /**
   * Runs a retransmission once the messages already received have been read. A timer that fires
   * late (the event loop was busy) runs before the sockets are read in the same turn, and would
   * resend a request whose answer is already waiting: wasted work, and a UAS that has moved on
   * (an INVITE again after its 200) may break the call.
   */
  protected afterPendingInput(retransmit: () => void): void {
    setImmediate(() => {
      if (!this.terminated) retransmit();
    });
  }

  /** Timer B or F: no final response in time; the TU treats it as 408 (§8.1.3.1). */
  protected giveUpAfter(timer: 'B' | 'F'): void {
    this.startTimer(timer, 64 * this.context.timers.T1, () => {
      this.terminate();
      this.handlers.timeout();
    });
  }
}

/**
 * RFC 3261 §17.1.1. On a 2xx the transaction ends at once, as RFC 3261 has it: RFC 6026's
 * "Accepted" state would only pass later 2xx to the TU, and the layer does that for any 2xx
 * that matches no transaction (`stray2xx`), so nothing of the call is kept here for 64*T1.
 */
export class InviteClientTransaction extends ClientTransactionBase {
  state: 'calling' | 'proceeding' | 'completed' | 'terminated' = 'calling';

  /** Sends the request; resolves once the transport took it, rejects when it could not (also reported to `transportError`). */
  start(): Promise<void> {
    const { T1 } = this.context.timers;
    const sent = this.transmit();
    // "If an unreliable transport is being used, the client transaction MUST start timer A with a value of T1."
    if (!this.reliable) this.#timerA(T1);
    // "For any transport, the client transaction MUST start timer B with a value of 64*T1 seconds."
    this.giveUpAfter('B');
    return sent;
  }

  #timerA(interval: number): void {
    this.startTimer('A', interval, () =>
      this.afterPendingInput(() => {
        if (this.state !== 'calling') return;
        // "When timer A fires, the client transaction MUST retransmit the request ... and reset the timer with a value of 2*T1."
        void this.transmit();
        this.#timerA(interval * 2);
      }),
    );
  }

  receive(response: SipResponse): void {
    if (this.state !== 'calling' && this.state !== 'proceeding') return;
    const { status } = response;
    if (status < 200) {
      this.state = 'proceeding';
      this.stopTimer('A');
      this.handlers.response(response);
    } else if (status < 300) {
      // "When in either the "Calling" or "Proceeding" states, reception of a 2xx response MUST cause the
      // client transaction to enter the "Terminated" state, and the response MUST be passed up to the TU."
      this.state = 'terminated';
      this.terminate();
      this.handlers.response(response);
    } else {
      // "the client transaction MUST ... generate an ACK request, even if the transport is reliable"
      this.state = 'completed';
      const ack = ackForFailure(this.request, response);
      this.context.send(ack, this.to).catch(() => {});
      // Timer D: 32 s over unreliable transports (enough for every retransmission of the response), 0 else.
      // "Any retransmissions of the final response that are received while in the Completed state MUST
      // cause the ACK to be re-passed to the transport layer": the record keeps the ACK for that.
      this.finish(
        { kind: 'client', state: 'completed', ack: wireText(ack), to: this.to },
        this.reliable ? 0 : 32_000,
      );
      this.handlers.response(response);
    }
  }
}

/** §17.1.1.3: the ACK for a non-2xx final response shares the INVITE's branch. */
function ackForFailure(invite: SipRequest, response: SipResponse): SipRequest {
  const headers = new SipHeaders();
  const via = invite.headers.getAll('via')[0];
  if (via) headers.append('via', via);
  headers.append('max-forwards', '70');
  for (const route of invite.headers.getAll('route')) headers.append('route', route);
  headers.append('from', invite.headers.get('from') ?? '');
  headers.append('to', response.headers.get('to') ?? invite.headers.get('to') ?? '');
  headers.append('call-id', invite.headers.get('call-id') ?? '');
  const seq = (invite.headers.get('cseq') ?? '1').trim().split(/\s+/)[0];
  headers.append('cseq', `${seq} ACK`);
  return sipRequest('ACK', invite.uri, headers);
}

/** RFC 3261 §17.1.2. */
export class NonInviteClientTransaction extends ClientTransactionBase {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';

  /** Sends the request; resolves once the transport took it, rejects when it could not (also reported to `transportError`). */
  start(): Promise<void> {
    const sent = this.transmit();
    if (!this.reliable) this.#timerE(this.context.timers.T1);
    // Timer F: 64*T1, after which the transaction gives up.
    this.giveUpAfter('F');
    return sent;
  }

  #timerE(interval: number): void {
    this.startTimer('E', interval, () =>
      this.afterPendingInput(() => {
        if (this.state !== 'trying' && this.state !== 'proceeding') return;
        void this.transmit();
        // "reset the timer with a value of MIN(2*T1, T2)"; in Proceeding "with a value of T2".
        const { T2 } = this.context.timers;
        this.#timerE(this.state === 'proceeding' ? T2 : Math.min(interval * 2, T2));
      }),
    );
  }

  receive(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    if (response.status < 200) {
      this.state = 'proceeding';
      this.handlers.response(response);
      return;
    }
    // Timer K (T4 over UDP) only lets "Completed" absorb retransmitted responses; a response that matches
    // no transaction is discarded all the same (§18.1.2), so the transaction ends at once and keeps nothing.
    this.state = 'terminated';
    this.terminate();
    this.handlers.response(response);
  }
}

/** What both server transactions share: the request, where it came from and where answers go (§18.2.2). */
abstract class ServerTransactionBase extends Transaction {
  readonly request: SipRequest;
  readonly source: SipPeer;
  protected readonly replyTo: SipPeer;
  protected readonly reliable: boolean;
  protected last: SipResponse | undefined;

  constructor(
    key: string,
    context: TransactionContext,
    request: SipRequest,
    source: SipPeer,
    replyTo: SipPeer,
    reliable: boolean,
  ) {
    super(key, context);
    this.request = request;
    this.source = source;
    this.replyTo = replyTo;
    this.reliable = reliable;
  }

  /** The last response the TU gave, if any. */
  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  protected sendResponse(response: SipResponse): void {
    this.context.send(response, this.replyTo).catch(() => {
      // §17.2.4: a transport error is reported to the TU; here the call ends by its own timers.
    });
  }
}

/** RFC 3261 §17.2.1 with RFC 6026's "Accepted" state. */
export class InviteServerTransaction extends ServerTransactionBase {
  state: 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated' = 'proceeding';
  /** Called when Timer H fires: the ACK for a non-2xx never came. */
  onAckTimeout: (() => void) | undefined;

  /** The TU's response. */
  respond(response: SipResponse): void {
    if (this.state !== 'proceeding') return;
    this.last = response;
    this.sendResponse(response);
    const { T1, T2 } = this.context.timers;
    if (response.status < 200) return;
    if (response.status < 300) {
      // RFC 6026 §7.1: 2xx retransmissions are the TU's job; the transaction absorbs INVITE retransmissions for 64*T1 (Timer L).
      this.state = 'accepted';
      this.finish({ kind: 'server', state: 'accepted', replyTo: this.replyTo }, 64 * T1);
      return;
    }
    this.state = 'completed';
    if (!this.reliable) {
      const timerG = (interval: number) =>
        this.startTimer('G', interval, () => {
          if (this.state !== 'completed' || !this.last) return;
          this.sendResponse(this.last);
          timerG(Math.min(interval * 2, T2));
        });
      timerG(T1);
    }
    // "If timer H fires while in the 'Completed' state, ... the server transaction MUST transition to the 'Terminated' state"
    this.startTimer('H', 64 * T1, () => {
      this.terminate();
      this.onAckTimeout?.();
    });
  }

  /** A retransmitted INVITE or the ACK of a non-2xx response. */
  receive(request: SipRequest): void {
    if (request.method === 'ACK') {
      if (this.state !== 'completed') return;
      this.state = 'confirmed';
      // Timer I: T4 over unreliable transports (absorbs ACK retransmissions), 0 else.
      this.finish(
        { kind: 'server', state: 'confirmed', replyTo: this.replyTo },
        this.reliable ? 0 : this.context.timers.T4,
      );
      return;
    }
    // "If a request retransmission is received while in the 'Proceeding' state, the most recent provisional response ... MUST be passed to the transport layer"
    if ((this.state === 'proceeding' || this.state === 'completed') && this.last)
      this.sendResponse(this.last);
  }
}

/** RFC 3261 §17.2.2. */
export class NonInviteServerTransaction extends ServerTransactionBase {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';

  respond(response: SipResponse): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    this.last = response;
    this.sendResponse(response);
    if (response.status < 200) {
      this.state = 'proceeding';
      return;
    }
    this.state = 'completed';
    // Timer J: 64*T1 over unreliable transports (answers retransmitted requests from the record), 0 else.
    this.finish(
      { kind: 'server', state: 'completed', response: wireText(response), replyTo: this.replyTo },
      this.reliable ? 0 : 64 * this.context.timers.T1,
    );
  }

  receive(_request: SipRequest): void {
    if (this.state === 'proceeding' && this.last) this.sendResponse(this.last);
  }
}

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
