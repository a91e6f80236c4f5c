import type { Clock, TimerHandle } from '../../core/clock.js';
import { SipHeaders, type SipRequest, type SipResponse, sipRequest } from '../message/message.js';
import type { SipPeer } from '../transport/transport.js';
import type { SipTimers } from './timers.js';

/** What a transaction needs from the layer that owns it. */
export interface TransactionContext {
  clock: Clock;
  timers: SipTimers;
  /** Sends on the transport the transaction runs over. */
  send(message: SipRequest | SipResponse, to: SipPeer): Promise<void>;
  /** Removes the transaction from the layer's table. */
  terminated(key: string): void;
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
    if (this.terminated) return;
    this.terminated = true;
    for (const handle of this.#timers.values()) this.context.clock.clearTimeout(handle);
    this.#timers.clear();
    this.context.terminated(this.key);
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

/** RFC 3261 §17.1.1 with RFC 6026's "Accepted" state. */
export class InviteClientTransaction extends ClientTransactionBase {
  state: 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated' = 'calling';
  #ack: SipRequest | undefined;

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
    const { status } = response;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          this.state = 'proceeding';
          this.stopTimer('A');
          this.handlers.response(response);
        } else if (status < 300) {
          // RFC 6026 §7.2: enter "Accepted" and pass every 2xx to the TU for 64*T1.
          this.state = 'accepted';
          this.stopTimer('A');
          this.stopTimer('B');
          this.startTimer('M', 64 * this.context.timers.T1, () => this.terminate());
          this.handlers.response(response);
        } else {
          // "the client transaction MUST ... generate an ACK request, even if the transport is reliable"
          this.state = 'completed';
          this.stopTimer('A');
          this.stopTimer('B');
          this.#ack = ackForFailure(this.request, response);
          this.context.send(this.#ack, this.to).catch(() => {});
          // Timer D: 32 s over unreliable transports (enough for every retransmission of the response), 0 else.
          this.startTimer('D', this.reliable ? 0 : 32_000, () => this.terminate());
          this.handlers.response(response);
        }
        return;
      case 'accepted':
        if (status >= 200 && status < 300) this.handlers.response(response);
        return;
      case 'completed':
        // "Any retransmissions of the final response that are received while in the Completed state MUST cause the ACK to be re-passed to the transport layer"
        if (status >= 300 && this.#ack) this.context.send(this.#ack, this.to).catch(() => {});
        return;
      case 'terminated':
        return;
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
    this.state = 'completed';
    this.stopTimer('E');
    this.stopTimer('F');
    // Timer K: T4 over unreliable transports (absorbs retransmitted responses), 0 else.
    this.startTimer('K', this.reliable ? 0 : this.context.timers.T4, () => this.terminate());
    this.handlers.response(response);
  }
}

/** RFC 3261 §17.2.1 with RFC 6026's "Accepted" state. */
export class InviteServerTransaction extends Transaction {
  state: 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated' = 'proceeding';
  readonly request: SipRequest;
  readonly source: SipPeer;
  readonly #replyTo: SipPeer;
  readonly #reliable: boolean;
  #last: SipResponse | undefined;
  /** Called when Timer H fires: the ACK for a non-2xx never came. */
  onAckTimeout: (() => void) | undefined;

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
    this.#replyTo = replyTo;
    this.#reliable = reliable;
  }

  get lastResponse(): SipResponse | undefined {
    return this.#last;
  }

  /** The TU's response. */
  respond(response: SipResponse): void {
    if (this.state !== 'proceeding') return;
    this.#last = response;
    this.#send(response);
    const { T1, T2 } = this.context.timers;
    if (response.status < 200) return;
    if (response.status < 300) {
      // RFC 6026 §7.1: 2xx retransmissions are the TU's job; the transaction absorbs INVITE retransmissions for 64*T1.
      this.state = 'accepted';
      this.startTimer('L', 64 * T1, () => this.terminate());
      return;
    }
    this.state = 'completed';
    if (!this.#reliable) {
      const timerG = (interval: number) =>
        this.startTimer('G', interval, () => {
          if (this.state !== 'completed' || !this.#last) return;
          this.#send(this.#last);
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

  #send(response: SipResponse): void {
    this.context.send(response, this.#replyTo).catch(() => {
      // §17.2.4: a transport error is reported to the TU; here the call ends by its own timers.
    });
  }

  /** A retransmitted INVITE or the ACK of a non-2xx response. */
  receive(request: SipRequest): void {
    if (request.method === 'ACK') {
      if (this.state !== 'completed') return;
      this.state = 'confirmed';
      this.stopTimer('G');
      this.stopTimer('H');
      // Timer I: T4 over unreliable transports (absorbs ACK retransmissions), 0 else.
      this.startTimer('I', this.#reliable ? 0 : this.context.timers.T4, () => this.terminate());
      return;
    }
    // "If a request retransmission is received while in the 'Proceeding' state, the most recent provisional response ... MUST be passed to the transport layer"
    if ((this.state === 'proceeding' || this.state === 'completed') && this.#last) this.#send(this.#last);
  }
}

/** RFC 3261 §17.2.2. */
export class NonInviteServerTransaction extends Transaction {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  readonly request: SipRequest;
  readonly source: SipPeer;
  readonly #replyTo: SipPeer;
  readonly #reliable: boolean;
  #last: SipResponse | undefined;

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
    this.#replyTo = replyTo;
    this.#reliable = reliable;
  }

  respond(response: SipResponse): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    this.#last = response;
    this.context.send(response, this.#replyTo).catch(() => {});
    if (response.status < 200) {
      this.state = 'proceeding';
      return;
    }
    this.state = 'completed';
    // Timer J: 64*T1 over unreliable transports (answers retransmitted requests), 0 else.
    this.startTimer('J', this.#reliable ? 0 : 64 * this.context.timers.T1, () => this.terminate());
  }

  receive(_request: SipRequest): void {
    if ((this.state === 'proceeding' || this.state === 'completed') && this.#last)
      this.context.send(this.#last, this.#replyTo).catch(() => {});
  }
}

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
