import type { Clock } from '../../core/clock.js';
import { ExpiringRecords } from '../../core/expiring-records.js';
import { randomHex } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import { parseCSeq, parseVia } from '../message/headers.js';
import {
  SipHeaders,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  sipResponse,
} from '../message/message.js';
import { parseDatagram } from '../message/parser.js';
import type { SipPeer, SipProtocol, SipTransport } from '../transport/transport.js';
import { DEFAULT_SIP_TIMERS, type SipTimers } from './timers.js';
import {
  type ClientTransaction,
  type ClientTransactionHandlers,
  type FinishedTransaction,
  InviteClientTransaction,
  InviteServerTransaction,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  type ServerTransaction,
  type TransactionContext,
} from './transactions.js';

/** RFC 3261 §8.1.1.7: every branch created by an RFC 3261 element starts with this cookie. */
export const MAGIC_COOKIE = 'z9hG4bK';

export function newBranch(): string {
  return `${MAGIC_COOKIE}${randomHex(24)}`;
}

export function newTag(): string {
  return randomHex(16);
}

export interface TransactionUser {
  /** A request that starts a new server transaction (everything but ACK). */
  request(request: SipRequest, transaction: ServerTransaction): void;
  /** An ACK that matched no transaction: the ACK of a 2xx (§13.2.2.4, §17.2.3). */
  ack(request: SipRequest, source: SipPeer): void;
  /** A 2xx to INVITE that matched no client transaction (a retransmission after it ended, or a fork). */
  stray2xx(response: SipResponse, source: SipPeer): void;
}

export interface TransactionLayerOptions {
  clock: Clock;
  logger: Logger;
  timers?: SipTimers;
  /** Most live server transactions; past it, new requests get 503 (default 10,000). */
  maxServerTransactions?: number;
  /** Whether a request from this peer may be served; others get 403 (default: all). */
  trusted?: (peer: SipPeer) => boolean;
  /** Sees every message sent and received (SIP traces in tests and debug logs). */
  trace?: (direction: 'in' | 'out', message: SipMessage, peer: SipPeer) => void;
}

const MANDATORY = ['via', 'from', 'to', 'call-id', 'cseq'] as const;

/**
 * The transaction layer (RFC 3261 §17) over the transports: matches messages
 * to transactions (§17.1.3, §17.2.3), answers what no UA should see
 * (malformed requests, retransmissions), and hands the rest to the TU.
 */
export class TransactionLayer {
  readonly timers: SipTimers;
  readonly #transports = new Map<SipProtocol, SipTransport>();
  readonly #clients = new Map<string, ClientTransaction>();
  readonly #servers = new Map<string, ServerTransaction>();
  /** Finished transactions by key, one set per lifetime (Timers D, I, J, L): records, not transactions. */
  readonly #finished = new Map<number, ExpiringRecords<string, FinishedTransaction>>();
  readonly #options: TransactionLayerOptions;
  readonly #context: TransactionContext;
  #user: TransactionUser | undefined;

  constructor(transports: SipTransport[], options: TransactionLayerOptions) {
    this.#options = options;
    this.timers = options.timers ?? DEFAULT_SIP_TIMERS;
    for (const transport of transports) {
      this.#transports.set(transport.protocol, transport);
      transport.setHandlers({
        message: (message, from) => this.#receive(message, from),
        malformed: (partial, from, reason) => this.#malformed(partial, from, reason),
      });
    }
    this.#context = {
      clock: options.clock,
      timers: this.timers,
      send: (message, to) => this.send(message, to),
      terminated: (key) => {
        this.#clients.delete(key);
        this.#servers.delete(key);
      },
      finished: (key, record, lifetimeMs) => {
        if (record.kind === 'client') this.#clients.delete(key);
        else this.#servers.delete(key);
        let records = this.#finished.get(lifetimeMs);
        if (records === undefined) {
          records = new ExpiringRecords({ clock: options.clock, lifetimeMs });
          this.#finished.set(lifetimeMs, records);
        }
        records.set(key, record);
      },
    };
  }

  setUser(user: TransactionUser): void {
    this.#user = user;
  }

  transport(protocol: SipProtocol): SipTransport | undefined {
    return this.#transports.get(protocol);
  }

  get protocols(): SipProtocol[] {
    return [...this.#transports.keys()];
  }

  /** Live transactions, and the records of finished ones still answering retransmissions. */
  get counts(): { clients: number; servers: number; finished: number } {
    let finished = 0;
    for (const records of this.#finished.values()) finished += records.size;
    return { clients: this.#clients.size, servers: this.#servers.size, finished };
  }

  #finishedRecord(key: string): FinishedTransaction | undefined {
    for (const records of this.#finished.values()) {
      const record = records.get(key);
      if (record !== undefined) return record;
    }
    return undefined;
  }

  /** Sends again a message kept as wire text (`wireText`): by a finished transaction's record, or the TU. */
  resend(wire: string, to: SipPeer): void {
    const transport = this.#transports.get(to.protocol);
    if (transport === undefined) return;
    const data = Buffer.from(wire, 'latin1');
    if (this.#options.trace) this.#options.trace('out', parseDatagram(data), to);
    transport.send(data, to).catch(() => {});
  }

  /** Sends without a transaction (ACK to 2xx, 2xx retransmissions, stateless answers). */
  async send(message: SipMessage, to: SipPeer): Promise<void> {
    const transport = this.#transports.get(to.protocol);
    if (transport === undefined) throw new Error(`no ${to.protocol} transport`);
    this.#options.trace?.('out', message, to);
    await transport.send(message, to);
  }

  /** Starts a client transaction; `request` must carry its top Via with a fresh branch. */
  request(
    request: SipRequest,
    to: SipPeer,
    handlers: ClientTransactionHandlers,
  ): { transaction: ClientTransaction; sent: Promise<void> } {
    const transport = this.#transports.get(to.protocol);
    if (transport === undefined) throw new Error(`no ${to.protocol} transport`);
    const via = parseVia(request.headers.getAll('via')[0] ?? '');
    const branch = via?.params.get('branch');
    if (!branch) throw new Error('request without a branch');
    const key = `${branch}|${request.method === 'ACK' ? 'INVITE' : request.method}`;
    const transaction =
      request.method === 'INVITE'
        ? new InviteClientTransaction(key, this.#context, request, to, transport.reliable, handlers)
        : new NonInviteClientTransaction(key, this.#context, request, to, transport.reliable, handlers);
    this.#clients.set(key, transaction);
    const sent = transaction.start();
    sent.catch(() => {}); // reported through handlers.transportError as well
    return { transaction, sent };
  }

  /**
   * The server transaction of the INVITE a CANCEL names (same branch, §9.2); `finished` when that
   * INVITE had its final response and only its record is left.
   */
  inviteTransactionFor(
    cancel: SipRequest,
    source: SipPeer,
  ): InviteServerTransaction | 'finished' | undefined {
    const key = serverKey(cancel, source, 'INVITE');
    if (key === undefined) return undefined;
    const transaction = this.#servers.get(key);
    if (transaction instanceof InviteServerTransaction) return transaction;
    return this.#finishedRecord(key)?.kind === 'server' ? 'finished' : undefined;
  }

  #receive(message: SipMessage, from: SipPeer): void {
    try {
      this.#options.trace?.('in', message, from);
      if (message.kind === 'response') this.#receiveResponse(message, from);
      else this.#receiveRequest(message, from);
    } catch (error) {
      // Nothing one message carries may stop the stack.
      this.#options.logger.warn({ err: error }, 'SIP message handling failed');
    }
  }

  #receiveResponse(response: SipResponse, from: SipPeer): void {
    const via = parseVia(response.headers.getAll('via')[0] ?? '');
    const cseq = parseCSeq(response.headers.get('cseq'));
    const branch = via?.params.get('branch');
    if (!via || !cseq || !branch) return; // §18.1.2: a response that matches nothing is discarded
    const key = `${branch}|${cseq.method === 'ACK' ? 'INVITE' : cseq.method}`;
    const transaction = this.#clients.get(key);
    if (transaction) {
      transaction.receive(response);
      return;
    }
    const record = this.#finishedRecord(key);
    if (record?.kind === 'client') {
      // A failed INVITE's final response again: its ACK was lost (§17.1.1.2); anything else is absorbed.
      if (response.status >= 300) this.resend(record.ack, record.to);
      return;
    }
    if (cseq.method === 'INVITE' && response.status >= 200 && response.status < 300)
      this.#user?.stray2xx(response, from);
  }

  #receiveRequest(request: SipRequest, from: SipPeer): void {
    for (const name of MANDATORY) {
      if (!request.headers.has(name)) {
        this.#stateless(request, from, 400, `Missing ${name} header`);
        return;
      }
    }
    const cseq = parseCSeq(request.headers.get('cseq'));
    if (!cseq) {
      this.#stateless(request, from, 400, 'Malformed CSeq');
      return;
    }
    if (cseq.method !== request.method) {
      this.#stateless(request, from, 400, 'CSeq method does not match');
      return;
    }
    const via = parseVia(request.headers.getAll('via')[0] ?? '');
    if (!via) {
      this.#stateless(request, from, 400, 'Malformed Via');
      return;
    }
    this.#markReceived(request, from);
    const key = serverKey(request, from, request.method === 'ACK' ? 'INVITE' : request.method);
    const existing = key === undefined ? undefined : this.#servers.get(key);
    if (existing) {
      existing.receive(request);
      return;
    }
    const record = key === undefined ? undefined : this.#finishedRecord(key);
    if (record?.kind === 'server') {
      if (request.method === 'ACK') {
        // RFC 6026 §8.7: in "Accepted" an ACK goes to the TU; in "Confirmed" it is absorbed (Timer I).
        if (record.state === 'accepted') this.#user?.ack(request, from);
      } else if (record.response !== undefined) {
        // §17.2.2: "retransmission of the request ... the server transaction MUST pass the final response to the transport layer".
        this.resend(record.response, record.replyTo);
      }
      return;
    }
    if (request.method === 'ACK') {
      this.#user?.ack(request, from);
      return;
    }
    if (this.#options.trusted && !this.#options.trusted(from)) {
      this.#stateless(request, from, 403, 'Forbidden');
      return;
    }
    const maxForwards = request.headers.get('max-forwards');
    if (maxForwards !== undefined && !/^\s*[0-9]{1,3}\s*$/.test(maxForwards)) {
      this.#stateless(request, from, 400, 'Malformed Max-Forwards');
      return;
    }
    if (maxForwards !== undefined && Number(maxForwards) === 0 && request.method !== 'OPTIONS') {
      // §16.3 / §8.2: loop protection.
      this.#stateless(request, from, 483, 'Too Many Hops');
      return;
    }
    if (this.#servers.size >= (this.#options.maxServerTransactions ?? 10_000)) {
      this.#stateless(request, from, 503, 'Service Unavailable');
      return;
    }
    const replyTo = responseTarget(request, from);
    const reliable = this.#transports.get(from.protocol)?.reliable ?? false;
    const serverKeyValue = key ?? `${newBranch()}|${request.method}`;
    const transaction =
      request.method === 'INVITE'
        ? new InviteServerTransaction(serverKeyValue, this.#context, request, from, replyTo, reliable)
        : new NonInviteServerTransaction(serverKeyValue, this.#context, request, from, replyTo, reliable);
    this.#servers.set(serverKeyValue, transaction);
    if (this.#user === undefined) {
      transaction.respond(responseTo(request, 503, 'Service Unavailable'));
      return;
    }
    this.#user.request(request, transaction);
  }

  /** §18.2.1: note where the request really came from, so responses go back there (RFC 3581 `rport`). */
  #markReceived(request: SipRequest, from: SipPeer): void {
    const top = request.headers.getAll('via')[0];
    if (top === undefined) return;
    const via = parseVia(top);
    if (!via) return;
    let value = top;
    if (via.host !== from.address) value += `;received=${from.address}`;
    if (via.params.has('rport') && via.params.get('rport') === null)
      value = value.replace(/;rport(?=;|$)/i, `;rport=${from.port}`);
    if (value !== top) {
      request.headers.shift('via');
      request.headers.prepend('via', value);
    }
  }

  #malformed(partial: SipMessage | undefined, from: SipPeer, reason: string): void {
    this.#options.logger.debug(
      { peer: `${from.address}:${from.port}`, reason },
      'malformed SIP message dropped',
    );
    if (partial?.kind !== 'request' || partial.method === 'ACK') return;
    if (!partial.headers.has('via') || !parseVia(partial.headers.getAll('via')[0] ?? '')) return;
    this.#stateless(partial, from, 400, 'Bad Request');
  }

  #stateless(request: SipRequest, from: SipPeer, status: number, reason: string): void {
    if (request.method === 'ACK') return; // §17.2.3: an ACK is never answered
    this.send(responseTo(request, status, reason), responseTarget(request, from)).catch(() => {});
  }

  async close(): Promise<void> {
    for (const transaction of [...this.#clients.values(), ...this.#servers.values()]) transaction.terminate();
    for (const records of this.#finished.values()) records.clear();
    await Promise.all([...this.#transports.values()].map((t) => t.close()));
  }
}

/** §17.2.3: branch + sent-by + method; pre-3261 branches fall back to the dialog identifiers. */
function serverKey(request: SipRequest, from: SipPeer, method: string): string | undefined {
  const via = parseVia(request.headers.getAll('via')[0] ?? '');
  if (!via) return undefined;
  const branch = via.params.get('branch');
  const sentBy = `${via.host}:${via.port ?? ''}`;
  if (branch?.startsWith(MAGIC_COOKIE)) return `${branch}|${sentBy}|${method}`;
  const cseq = parseCSeq(request.headers.get('cseq'));
  return `legacy|${request.headers.get('call-id')}|${cseq?.seq}|${from.address}:${from.port}|${method}`;
}

/** §18.2.2: reliable → the connection it came on; UDP → `received`/`rport`, else the Via's sent-by port. */
export function responseTarget(request: SipRequest, from: SipPeer): SipPeer {
  if (from.protocol !== 'udp') return from;
  const via = parseVia(request.headers.getAll('via')[0] ?? '');
  const rport = via?.params.get('rport');
  const port = rport ? Number(rport) : via?.params.has('rport') ? from.port : (via?.port ?? 5060);
  return {
    protocol: 'udp',
    address: from.address,
    port: Number.isInteger(port) && port > 0 ? port : from.port,
  };
}

/** §8.2.6.2: a response copies Via, From, To, Call-ID and CSeq; `toTag` is added to a To without one. */
export function responseTo(request: SipRequest, status: number, reason: string, toTag?: string): SipResponse {
  const headers = new SipHeaders();
  for (const via of request.headers.getAll('via')) headers.append('via', via);
  headers.append('from', request.headers.get('from') ?? '');
  let to = request.headers.get('to') ?? '';
  if (toTag !== undefined && !/;\s*tag=/i.test(to)) to += `;tag=${toTag}`;
  headers.append('to', to);
  headers.append('call-id', request.headers.get('call-id') ?? '');
  headers.append('cseq', request.headers.get('cseq') ?? '');
  if (status === 100 && request.headers.has('timestamp'))
    headers.append('timestamp', request.headers.get('timestamp')!);
  return sipResponse(status, reason, headers);
}
