import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { type Clock, systemClock, TimerSet } from '../../core/clock.js';
import { TypedEmitter } from '../../core/emitter.js';
import { ExpiringRecords } from '../../core/expiring-records.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import type {
  IncomingInvite,
  OutgoingInvite,
  ProvisionalStatus,
  SipBackend,
  SipBackendEvents,
} from '../../network/sip-backend.js';
import { emergencyInviteBody } from '../emergency-body.js';
import { optionTags, parseCSeq, parseNameAddr, parseRAck, parseUri } from '../message/headers.js';
import {
  SipHeaders,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  sipRequest,
} from '../message/message.js';
import { DEFAULT_PARSE_LIMITS } from '../message/parser.js';
import { reasonPhrase } from '../message/reason-phrases.js';
import { type RegistrarBinding, RegistrarBindings } from '../registrar-bindings.js';
import { DEFAULT_SIP_TIMERS, type SipTimers } from '../transaction/timers.js';
import { newBranch, newTag, responseTo, TransactionLayer } from '../transaction/transaction-layer.js';
import { type ServerTransaction, wireText } from '../transaction/transactions.js';
import { StreamTransport } from '../transport/stream-transport.js';
import {
  parseTransportSpec,
  type SipPeer,
  type SipProtocol,
  type SipTransport,
} from '../transport/transport.js';
import { UdpTransport } from '../transport/udp-transport.js';
import { formatNameAddr, type SipUri } from '../uri.js';
import { SipDialog } from './dialog.js';
import { digestAuthorization, pickChallenge } from './digest.js';

export interface EmbeddedSipBackendOptions {
  /** Where to listen: `udp:127.0.0.1:5060`, `tcp:127.0.0.1:5060`, `tls:…` (TLS needs `tls`). */
  listen: string[];
  /** Every out-of-dialog request goes here first (a SIP URI: `sip:127.0.0.1:5070;transport=tcp`). */
  outboundProxy?: string;
  /** Where REGISTER goes (a SIP URI); without it, no REGISTER is ever sent. */
  registrar?: string;
  /** Digest credentials for the registrar (and for INVITEs a proxy challenges). */
  credentials?: { username: string; password: string };
  /** Addresses or CIDR ranges allowed to send requests; others get 403 (default: the outbound proxy's address, else loopback). */
  trustedPeers?: string[];
  /** Host written in Contact and Via (default: the listen address). */
  contactHost?: string;
  /** TLS key and certificate (for `tls:` listeners) and the CA that outgoing TLS trusts. */
  tls?: { key?: string | Buffer; cert?: string | Buffer; ca?: string | Buffer; rejectUnauthorized?: boolean };
  timers?: SipTimers;
  /** RFC 4028 session interval asked for on outgoing calls (default 1800 s; 0 turns session timers off). */
  sessionExpiresSeconds?: number;
  limits?: {
    /** Largest message accepted (default 32 KiB: SIP with SDP, even a multipart emergency INVITE, is a few KiB). */
    maxMessageBytes?: number;
    /** Most dialogs at once (default 10,000): further INVITEs get 503. */
    maxDialogs?: number;
    /** Most dialogs per subscriber number (default 20): further INVITEs get 486. */
    maxDialogsPerNumber?: number;
  };
  userAgent?: string;
  /** Sees every SIP message sent and received. */
  trace?: (direction: 'in' | 'out', message: SipMessage, peer: SipPeer) => void;
  clock?: Clock;
  logger?: Logger;
}

const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE';
/** How long `bye()` and `close()` wait for the far end before going on. */
const BYE_WAIT_MS = 4_000;
const SUPPORTED = '100rel, timer';
const MIN_SE = 90;

const stripTag = (value: string) => value.replace(/;\s*tag=[^;,\s]*/i, '');
const tagOf = (value: string | undefined) =>
  value ? (parseNameAddr(value)?.params.get('tag') ?? undefined) : undefined;
const isSdp = (message: SipRequest | SipResponse) =>
  message.body.length > 0 && /^\s*application\/sdp\s*(;|$)/i.test(message.headers.get('content-type') ?? '');

interface Binding extends RegistrarBinding {
  callId: string;
  seq: number;
  tag: string;
}

/**
 * The gateway's embedded SIP user agent (RFC 3261) on its own transaction
 * layer and transports: outgoing and incoming INVITE dialogs with reliable
 * provisionals (RFC 3262), CANCEL, re-INVITE, BYE, session timers (RFC 4028)
 * and REGISTER with digest authentication (RFC 8760).
 */
export class EmbeddedSipBackend extends TypedEmitter<SipBackendEvents> implements SipBackend {
  readonly layer: TransactionLayer;
  readonly dialogs = new Map<string, SipDialog>();
  /** Dialogs not terminated, and their count per subscriber number: the limits read them on every INVITE. */
  readonly #live = new Set<SipDialog>();
  readonly #liveByNumber = new Map<string, number>();
  #options: EmbeddedSipBackendOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #timers: TimerSet<string>;
  /** Ended dialogs, kept for 64*T1 on one timer. */
  readonly #ended: ExpiringRecords<string, SipDialog>;
  readonly #transports: SipTransport[];
  readonly #bindings: RegistrarBindings<Binding>;
  #trusted: BlockList;
  readonly #timersConfig: SipTimers;
  #proxy: SipPeer | undefined;
  #closed = false;
  readonly #traceListeners = new Set<NonNullable<EmbeddedSipBackendOptions['trace']>>();

  private constructor(options: EmbeddedSipBackendOptions, transports: SipTransport[]) {
    const logger = options.logger ?? silentLogger;
    super(logger);
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = logger;
    this.#timers = new TimerSet(this.#clock);
    this.#bindings = new RegistrarBindings<Binding>({
      clock: this.#clock,
      timers: this.#timers,
      logger,
      create: (aor) => ({ aor, callId: randomBytes(12).toString('hex'), seq: 0, until: 0, tag: newTag() }),
      send: (binding, expires) => this.#sendRegister(binding, expires),
      lost: (aor) => this.emit('registrationLost', { aor }),
    });
    this.#transports = transports;
    this.#timersConfig = options.timers ?? DEFAULT_SIP_TIMERS;
    this.#ended = new ExpiringRecords({
      clock: this.#clock,
      lifetimeMs: 64 * this.#timersConfig.T1,
      expired: (callId, dialog) => {
        if (this.dialogs.get(callId) === dialog) this.dialogs.delete(callId);
      },
    });
    this.#trusted = blockListOf(options.trustedPeers ?? ['127.0.0.0/8', '::1']);
    this.layer = new TransactionLayer(transports, {
      clock: this.#clock,
      logger,
      timers: this.#timersConfig,
      trace: (direction, message, peer) => {
        options.trace?.(direction, message, peer);
        for (const listener of this.#traceListeners) listener(direction, message, peer);
      },
      trusted: (peer) => this.#trusted.check(peer.address, isIP(peer.address) === 6 ? 'ipv6' : 'ipv4'),
    });
    this.layer.setUser({
      request: (request, transaction) => this.#onRequest(request, transaction),
      ack: (request) => this.#onAck(request),
      stray2xx: (response) => this.#onStray2xx(response),
    });
  }

  /** Binds every listener; rejects (closing what was opened) when one cannot listen. */
  static async start(options: EmbeddedSipBackendOptions): Promise<EmbeddedSipBackend> {
    const logger = options.logger ?? silentLogger;
    const limits = { ...DEFAULT_PARSE_LIMITS, maxMessageBytes: options.limits?.maxMessageBytes ?? 32_768 };
    const transports = options.listen.map((spec) => {
      const { protocol, address, port } = parseTransportSpec(spec);
      return protocol === 'udp'
        ? new UdpTransport({ address, port, limits, logger })
        : new StreamTransport({
            protocol,
            address,
            port,
            limits,
            logger,
            ...(options.tls ? { tls: options.tls } : {}),
          });
    });
    if (new Set(transports.map((t) => t.protocol)).size !== transports.length)
      throw new Error('SIP_LISTEN: one listener per transport (udp, tcp, tls)');
    const opened: SipTransport[] = [];
    try {
      for (const transport of transports) {
        await transport.listen();
        opened.push(transport);
      }
    } catch (error) {
      await Promise.all(opened.map((t) => t.close()));
      throw error;
    }
    const backend = new EmbeddedSipBackend(options, transports);
    if (options.outboundProxy !== undefined) {
      backend.#proxy = await resolveUri(options.outboundProxy, backend.#defaultProtocol());
      // By default only the outbound proxy may send requests (SIP_TRUSTED_PEERS says otherwise).
      if (options.trustedPeers === undefined) backend.#trusted = blockListOf([backend.#proxy.address]);
    }
    return backend;
  }

  /** Sees every SIP message sent and received from now on (SIP traces); returns the way to stop. */
  onTrace(listener: NonNullable<EmbeddedSipBackendOptions['trace']>): () => void {
    this.#traceListeners.add(listener);
    return () => this.#traceListeners.delete(listener);
  }

  /** Sends out-of-dialog requests to `uri` from now on (and trusts requests from its address too). */
  async setOutboundProxy(uri: string): Promise<void> {
    this.#proxy = await resolveUri(uri, this.#defaultProtocol());
    this.#options.outboundProxy = uri;
  }

  /** Addresses the backend listens on, by transport. */
  get listening(): Array<SipPeer> {
    return this.#transports.map((t) => ({
      protocol: t.protocol,
      address: t.local.address,
      port: t.local.port,
    }));
  }

  /** A wait on the backend's clock that never keeps the process alive. */
  #delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
  }

  #defaultProtocol(): SipProtocol {
    return this.#transports[0]?.protocol ?? 'udp';
  }

  #transportFor(protocol: SipProtocol): SipTransport {
    const transport = this.#transports.find((t) => t.protocol === protocol);
    if (transport === undefined) throw new Error(`no ${protocol} listener for this destination`);
    return transport;
  }

  #via(protocol: SipProtocol): string {
    const local = this.#transportFor(protocol).local;
    return `SIP/2.0/${protocol.toUpperCase()} ${hostForHeader(this.#options.contactHost ?? local.address)}:${local.port};branch=${newBranch()};rport`;
  }

  #contact(protocol: SipProtocol, user = 'gateway'): string {
    const local = this.#transportFor(protocol).local;
    const transport = protocol === 'udp' ? '' : `;transport=${protocol}`;
    return `<sip:${user}@${hostForHeader(this.#options.contactHost ?? local.address)}:${local.port}${transport}>`;
  }

  #baseHeaders(protocol: SipProtocol): SipHeaders {
    const headers = new SipHeaders();
    headers.append('via', this.#via(protocol));
    headers.append('max-forwards', '70');
    return headers;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('SIP backend is closed');
  }

  #dialog(callId: string): SipDialog {
    const dialog = this.dialogs.get(callId);
    if (dialog === undefined || dialog.state === 'terminated') throw new Error(`no SIP dialog ${callId}`);
    return dialog;
  }

  /** Adds a new dialog (its Call-ID is not in use); it counts against the limits until `#end`. */
  #addDialog(dialog: SipDialog): void {
    this.dialogs.set(dialog.callId, dialog);
    this.#live.add(dialog);
    if (dialog.number !== undefined)
      this.#liveByNumber.set(dialog.number, (this.#liveByNumber.get(dialog.number) ?? 0) + 1);
  }

  #end(dialog: SipDialog): void {
    dialog.state = 'terminated';
    if (this.#live.delete(dialog) && dialog.number !== undefined) {
      const left = (this.#liveByNumber.get(dialog.number) ?? 1) - 1;
      if (left > 0) this.#liveByNumber.set(dialog.number, left);
      else this.#liveByNumber.delete(dialog.number);
    }
    for (const key of ['2xx', 'prov', 'se', 'ack'] as const) this.#timers.delete(`${key}:${dialog.callId}`);
    dialog.release();
    // Kept 64*T1 so retransmissions still match (a 2xx is ACKed again, a reused Call-ID refused); then forgotten.
    this.#ended.set(dialog.callId, dialog);
  }

  #countFor(number: string | undefined): number {
    return number === undefined ? 0 : (this.#liveByNumber.get(number) ?? 0);
  }

  #liveDialogs(): number {
    return this.#live.size;
  }

  // ================================================================ outgoing calls

  async invite(request: OutgoingInvite): Promise<void> {
    this.#assertOpen();
    if (this.dialogs.has(request.callId)) throw new Error(`dialog ${request.callId} exists`);
    const peer = this.#proxy ?? (await resolveUri(request.requestUri, this.#defaultProtocol()));
    const headers = this.#baseHeaders(peer.protocol);
    if (this.#proxy !== undefined && this.#options.outboundProxy !== undefined)
      headers.append('route', `<${loose(this.#options.outboundProxy)}>`);
    const localTag = newTag();
    const from = formatNameAddr(request.from);
    const to = formatNameAddr(request.to);
    headers.append('from', `${from};tag=${localTag}`);
    headers.append('to', to);
    headers.append('call-id', request.callId);
    headers.append('cseq', '1 INVITE');
    headers.append('contact', this.#contact(peer.protocol));
    headers.append('allow', ALLOW);
    headers.append('supported', SUPPORTED);
    const se = this.#options.sessionExpiresSeconds ?? 1800;
    if (se > 0) {
      headers.append('session-expires', String(se));
      headers.append('min-se', String(MIN_SE));
    }
    if (request.assertedIdentity) headers.append('p-asserted-identity', `<${request.assertedIdentity}>`);
    if (request.privacy) headers.append('privacy', 'id');
    if (this.#options.userAgent) headers.append('user-agent', this.#options.userAgent);
    let body: string;
    if (request.emergency) {
      const emergency = emergencyInviteBody(request.sdp, request.emergency.pidfLo);
      headers.append('geolocation', emergency.geolocation);
      headers.append('geolocation-routing', emergency.geolocationRouting);
      headers.append('content-type', emergency.contentType);
      body = emergency.body;
    } else {
      headers.append('content-type', 'application/sdp');
      body = request.sdp;
    }
    const invite = sipRequest('INVITE', request.requestUri, headers, body);
    const dialog = new SipDialog({
      callId: request.callId,
      role: 'uac',
      localTag,
      localAddress: from,
      remoteAddress: to,
      localSeq: 1,
      remoteTarget: request.requestUri,
      peer,
    });
    dialog.invite = invite;
    dialog.lastLocalSdp = request.sdp;
    this.#addDialog(dialog);
    await this.#sendInvite(dialog, invite, peer, false);
  }

  async #sendInvite(
    dialog: SipDialog,
    invite: SipRequest,
    peer: SipPeer,
    authenticated: boolean,
  ): Promise<void> {
    const { transaction, sent } = this.layer.request(invite, peer, {
      response: (response) => this.#onInviteResponse(dialog, invite, response, authenticated),
      timeout: () => this.#inviteFailed(dialog, 408, 'Request Timeout'),
      transportError: (error) => {
        this.#logger.warn({ err: error.message, callId: dialog.callId }, 'INVITE could not be sent');
        this.#inviteFailed(dialog, 503, 'Service Unavailable');
      },
    });
    dialog.inviteTransaction = transaction as SipDialog['inviteTransaction'];
    try {
      await sent;
    } catch (error) {
      this.#end(dialog);
      throw error;
    }
  }

  #inviteFailed(dialog: SipDialog, status: number, reason: string): void {
    if (dialog.state === 'terminated' || dialog.answered) return;
    this.#end(dialog);
    this.emit('failed', { callId: dialog.callId, status, reason });
  }

  #onInviteResponse(
    dialog: SipDialog,
    invite: SipRequest,
    response: SipResponse,
    authenticated: boolean,
  ): void {
    if (dialog.state === 'terminated' && !(response.status >= 200 && response.status < 300)) return;
    const status = response.status;
    if (status === 100) return;
    if (status < 200) {
      this.#onProvisional(dialog, response);
      return;
    }
    if (status < 300) {
      this.#onInvite2xx(dialog, response);
      return;
    }
    if (
      (status === 401 || status === 407) &&
      !authenticated &&
      this.#options.credentials &&
      !dialog.provisionalSeen
    ) {
      const retry = this.#authenticated(invite, response, dialog.localSeq + 1);
      if (retry !== undefined) {
        dialog.localSeq += 1;
        dialog.invite = retry;
        void this.#sendInvite(dialog, retry, dialog.peer, true).catch(() =>
          this.#inviteFailed(dialog, 503, 'Service Unavailable'),
        );
        return;
      }
    }
    this.#inviteFailed(dialog, status, response.reason || reasonPhrase(status));
  }

  #learnRemote(dialog: SipDialog, response: SipResponse): void {
    const tag = tagOf(response.headers.get('to'));
    if (tag !== undefined) dialog.remoteTag = tag;
    const contact = parseNameAddr(response.headers.getAll('contact')[0] ?? '');
    if (contact) dialog.remoteTarget = contact.uri;
    // §12.1.2: the UAC's route set is the Record-Route of the response, reversed.
    const recordRoute = response.headers.getAll('record-route');
    if (recordRoute.length > 0) dialog.routeSet = [...recordRoute].reverse();
  }

  #onProvisional(dialog: SipDialog, response: SipResponse): void {
    dialog.provisionalSeen = true;
    if (tagOf(response.headers.get('to')) !== undefined) {
      if (dialog.state === 'calling') dialog.state = 'early';
      this.#learnRemote(dialog, response);
    }
    const reliable = optionTags(response.headers.getAll('require')).has('100rel');
    if (reliable) {
      const rseq = Number(response.headers.get('rseq'));
      if (!Number.isInteger(rseq) || rseq <= 0) return; // RFC 3262 §4: no RSeq, not reliable; ignore it
      // A retransmission (or an old one): our PRACK transaction is already answering it.
      if (dialog.lastRSeq !== undefined && rseq <= dialog.lastRSeq) return;
      dialog.lastRSeq = rseq;
      const cseq = parseCSeq(response.headers.get('cseq'));
      const prack = this.#inDialogRequest(dialog, 'PRACK');
      prack.headers.append('rack', `${rseq} ${cseq?.seq ?? 1} INVITE`);
      this.#sendInDialog(dialog, prack).catch(() => {});
    }
    if (dialog.cancelWanted) {
      dialog.cancelWanted = false;
      this.#sendCancel(dialog);
    }
    if (response.status >= 180 && response.status <= 183) {
      this.emit('provisional', {
        callId: dialog.callId,
        status: response.status as ProvisionalStatus,
        reason: response.reason || reasonPhrase(response.status),
        ...(isSdp(response) ? { sdp: response.body.toString('utf8') } : {}),
      });
    }
  }

  #onInvite2xx(dialog: SipDialog, response: SipResponse): void {
    if (dialog.ack !== undefined) {
      // A retransmitted 2xx: its ACK was lost (§13.2.2.4).
      this.layer.resend(dialog.ack.wire, dialog.peer);
      return;
    }
    this.#learnRemote(dialog, response);
    const cseq = parseCSeq(response.headers.get('cseq'))?.seq ?? dialog.localSeq;
    const ack = this.#inDialogRequest(dialog, 'ACK', cseq);
    dialog.ack = { seq: cseq, wire: wireText(ack) };
    void this.#inDialogPeer(dialog)
      .then((peer) => {
        dialog.peer = peer;
        return this.layer.send(ack, peer);
      })
      .catch((error: Error) =>
        this.#logger.warn({ err: error.message, callId: dialog.callId }, 'ACK could not be sent'),
      );
    if (dialog.state === 'terminated') {
      // The call was already given up (a CANCEL crossed this 2xx): acknowledge and end it (§9.1).
      return;
    }
    dialog.state = 'confirmed';
    dialog.answered = true;
    this.#armSessionTimer(dialog, response.headers.get('session-expires'), 'uac');
    this.emit('answered', {
      callId: dialog.callId,
      sdp: isSdp(response) ? response.body.toString('utf8') : '',
    });
  }

  /**
   * A 2xx to an INVITE whose client transaction has ended (it ends on the first 2xx, §17.1.1.2): a
   * retransmission, its ACK lost, or a 2xx to a re-INVITE. The TU ACKs each one again (§13.2.2.4),
   * with the CSeq of the INVITE it answers.
   */
  #onStray2xx(response: SipResponse): void {
    const dialog = this.dialogs.get(response.headers.get('call-id') ?? '');
    const seq = parseCSeq(response.headers.get('cseq'))?.seq;
    if (dialog === undefined || seq === undefined) return;
    if (dialog.ack?.seq === seq) {
      this.layer.resend(dialog.ack.wire, dialog.peer);
      return;
    }
    // A re-INVITE's 2xx: an ACK built as the first one was (the dialog's route set and target, that CSeq).
    if (dialog.state === 'confirmed' && seq > 1 && seq <= dialog.localSeq)
      this.layer.send(this.#inDialogRequest(dialog, 'ACK', seq), dialog.peer).catch(() => {});
  }

  /** A request inside `dialog` (§12.2.1.1): From/To with tags, route set, remote target, next CSeq. */
  #inDialogRequest(dialog: SipDialog, method: string, seq?: number): SipRequest {
    const headers = this.#baseHeaders(dialog.peer.protocol);
    for (const route of dialog.routeSet) headers.append('route', route);
    headers.append('from', dialog.fromHeader());
    headers.append('to', dialog.toHeader());
    headers.append('call-id', dialog.callId);
    let number = seq;
    if (number === undefined) {
      dialog.localSeq += 1;
      number = dialog.localSeq;
    }
    headers.append('cseq', `${number} ${method}`);
    if (method === 'INVITE' || method === 'UPDATE') {
      headers.append('contact', this.#contact(dialog.peer.protocol));
      headers.append('allow', ALLOW);
      headers.append('supported', SUPPORTED);
    }
    return sipRequest(method, dialog.remoteTarget, headers);
  }

  /** Where in-dialog requests go: the first route (loose routing), else the remote target; the outbound proxy if neither resolves. */
  async #inDialogPeer(dialog: SipDialog): Promise<SipPeer> {
    const first = dialog.routeSet[0];
    const uri =
      first === undefined ? dialog.remoteTarget : (parseNameAddr(first)?.uri ?? dialog.remoteTarget);
    try {
      return await resolveUri(uri, dialog.peer.protocol);
    } catch {
      return this.#proxy ?? dialog.peer;
    }
  }

  /** Sends an in-dialog non-INVITE request; resolves with its final response (or a 408 on timeout). */
  async #sendInDialog(dialog: SipDialog, request: SipRequest): Promise<SipResponse> {
    const peer = await this.#inDialogPeer(dialog);
    return new Promise((resolve, reject) => {
      const { sent } = this.layer.request(request, peer, {
        response: (response) => {
          if (response.status >= 200) resolve(response);
        },
        timeout: () => resolve(responseTo(request, 408, 'Request Timeout')),
        transportError: (error) => reject(error),
      });
      sent.catch(reject);
    });
  }

  async cancel(callId: string): Promise<void> {
    this.#assertOpen();
    const dialog = this.dialogs.get(callId);
    if (dialog === undefined || dialog.role !== 'uac' || dialog.answered || dialog.state === 'terminated')
      return;
    // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent".
    if (!dialog.provisionalSeen) {
      dialog.cancelWanted = true;
      return;
    }
    this.#sendCancel(dialog);
  }

  #sendCancel(dialog: SipDialog): void {
    const invite = dialog.invite;
    if (invite === undefined) return;
    // §9.1: same Request-URI, Call-ID, To, From, CSeq number and top Via (branch) as the INVITE.
    const headers = new SipHeaders();
    headers.append('via', invite.headers.getAll('via')[0] ?? '');
    headers.append('max-forwards', '70');
    for (const route of invite.headers.getAll('route')) headers.append('route', route);
    headers.append('from', invite.headers.get('from') ?? '');
    headers.append('to', invite.headers.get('to') ?? '');
    headers.append('call-id', dialog.callId);
    headers.append('cseq', `${parseCSeq(invite.headers.get('cseq'))?.seq ?? 1} CANCEL`);
    const cancel = sipRequest('CANCEL', invite.uri, headers);
    const { sent } = this.layer.request(cancel, dialog.peer, {
      response: () => {},
      timeout: () => {},
      transportError: () => {},
    });
    sent.catch(() => {});
  }

  async bye(callId: string): Promise<void> {
    this.#assertOpen();
    const dialog = this.dialogs.get(callId);
    if (dialog === undefined || dialog.state === 'terminated') return;
    if (dialog.state !== 'confirmed' && !(dialog.role === 'uas' && dialog.pending2xx)) {
      this.#end(dialog);
      return;
    }
    const bye = this.#inDialogRequest(dialog, 'BYE');
    this.#end(dialog);
    // The dialog is over for us either way; a silent far end is not waited for beyond a few seconds
    // (the BYE transaction keeps retransmitting in the background until Timer F).
    const sent = this.#sendInDialog(dialog, bye).catch((error: unknown) => {
      this.#logger.debug({ err: error, callId }, 'BYE could not be sent; the dialog ends anyway');
    });
    await Promise.race([sent, this.#delay(BYE_WAIT_MS)]);
  }

  async reinvite(callId: string, request: { sdp: string }): Promise<{ sdp: string }> {
    this.#assertOpen();
    const dialog = this.#dialog(callId);
    if (dialog.state !== 'confirmed') throw new Error(`re-INVITE: ${callId} is not established`);
    if (dialog.reinviteInFlight || dialog.reinviteServer)
      throw new Error(`re-INVITE: ${callId} has an offer pending (491)`);
    dialog.reinviteInFlight = true;
    try {
      const response = await this.#reinviteOnce(dialog, request.sdp);
      if (response.status < 200 || response.status >= 300)
        throw new Error(`re-INVITE answered ${response.status} ${response.reason}`);
      dialog.lastLocalSdp = request.sdp;
      this.#armSessionTimer(dialog, response.headers.get('session-expires'), 'uac');
      return { sdp: response.body.toString('utf8') };
    } finally {
      dialog.reinviteInFlight = false;
    }
  }

  async #reinviteOnce(dialog: SipDialog, sdp: string): Promise<SipResponse> {
    const invite = this.#inDialogRequest(dialog, 'INVITE');
    if (dialog.sessionExpires) {
      invite.headers.append(
        'session-expires',
        `${dialog.sessionExpires.seconds};refresher=${dialog.sessionExpires.refresher === 'local' ? (dialog.role === 'uac' ? 'uac' : 'uas') : dialog.role === 'uac' ? 'uas' : 'uac'}`,
      );
    }
    invite.headers.append('content-type', 'application/sdp');
    invite.body = Buffer.from(sdp, 'utf8');
    const peer = await this.#inDialogPeer(dialog);
    return new Promise((resolve, reject) => {
      const { sent } = this.layer.request(invite, peer, {
        response: (response) => {
          if (response.status < 200) return;
          if (response.status < 300) {
            const ack = this.#inDialogRequest(dialog, 'ACK', parseCSeq(invite.headers.get('cseq'))?.seq);
            this.layer.send(ack, peer).catch(() => {});
          }
          resolve(response);
        },
        timeout: () => reject(new Error('re-INVITE timed out')),
        transportError: reject,
      });
      sent.catch(reject);
    });
  }

  // ================================================================ session timers (RFC 4028)

  #armSessionTimer(dialog: SipDialog, header: string | undefined, us: 'uac' | 'uas'): void {
    this.#timers.delete(`se:${dialog.callId}`);
    const match = /^\s*([0-9]{1,6})\s*(?:;(.*))?$/.exec(header ?? '');
    if (!match) {
      dialog.sessionExpires = undefined;
      return;
    }
    const seconds = Math.max(MIN_SE, Number(match[1]));
    const refresher = /refresher\s*=\s*(uac|uas)/i.exec(match[2] ?? '')?.[1]?.toLowerCase() ?? 'uac';
    const local = refresher === us;
    dialog.sessionExpires = { seconds, refresher: local ? 'local' : 'remote' };
    if (local) {
      // §10: the refresher sends a refresh at half the interval.
      this.#timers.setAfter(`se:${dialog.callId}`, (seconds * 1000) / 2, () => {
        if (dialog.state !== 'confirmed' || dialog.lastLocalSdp === undefined) return;
        this.reinvite(dialog.callId, { sdp: dialog.lastLocalSdp }).catch((error: Error) => {
          this.#logger.info(
            { callId: dialog.callId, err: error.message },
            'session refresh failed; ending the call',
          );
          void this.bye(dialog.callId);
          this.emit('bye', { callId: dialog.callId });
        });
      });
    } else {
      // §10: without a refresh, end the session "the minimum of 32 seconds and one third of the session interval" before it expires... after it.
      const grace = Math.min(32, seconds / 3);
      this.#timers.setAfter(`se:${dialog.callId}`, (seconds - grace) * 1000, () => {
        if (dialog.state !== 'confirmed') return;
        this.#logger.info({ callId: dialog.callId }, 'session not refreshed; ending the call');
        void this.bye(dialog.callId);
        this.emit('bye', { callId: dialog.callId });
      });
    }
  }

  // ================================================================ incoming requests

  #respond(
    transaction: ServerTransaction,
    status: number,
    extra?: (headers: SipHeaders) => void,
    toTag?: string,
  ): void {
    const response = responseTo(transaction.request, status, reasonPhrase(status), toTag);
    if (status === 405 || status === 501) response.headers.append('allow', ALLOW);
    extra?.(response.headers);
    transaction.respond(response);
  }

  #onRequest(request: SipRequest, transaction: ServerTransaction): void {
    if (this.#closed) {
      this.#respond(transaction, 503);
      return;
    }
    const toTag = tagOf(request.headers.get('to'));
    if (toTag !== undefined) {
      this.#onInDialog(request, transaction);
      return;
    }
    switch (request.method) {
      case 'INVITE':
        this.#onInvite(request, transaction);
        return;
      case 'CANCEL':
        this.#onCancel(request, transaction);
        return;
      case 'OPTIONS':
        this.#respond(transaction, 200, (h) => {
          h.append('allow', ALLOW);
          h.append('supported', SUPPORTED);
          h.append('accept', 'application/sdp');
        });
        return;
      case 'BYE':
      case 'PRACK':
      case 'UPDATE':
        this.#respond(transaction, 481);
        return;
      case 'REGISTER':
      case 'SUBSCRIBE':
      case 'NOTIFY':
      case 'MESSAGE':
      case 'INFO':
      case 'REFER':
      case 'PUBLISH':
        this.#respond(transaction, 405);
        return;
      default:
        this.#respond(transaction, 501);
        return;
    }
  }

  #onInvite(request: SipRequest, transaction: ServerTransaction): void {
    const callId = request.headers.get('call-id')!;
    const from = parseNameAddr(request.headers.get('from')!);
    const to = parseNameAddr(request.headers.get('to')!);
    const contact = parseNameAddr(request.headers.getAll('contact')[0] ?? '');
    const fromTag = from?.params.get('tag');
    if (!from || !to || !fromTag || !contact || !parseUri(request.uri)) {
      this.#respond(transaction, 400);
      return;
    }
    // §8.2.2.3: every extension the caller requires must be one we support.
    const required = [...optionTags(request.headers.getAll('require'))].filter(
      (t) => t !== '100rel' && t !== 'timer',
    );
    if (required.length > 0) {
      this.#respond(transaction, 420, (h) => h.append('unsupported', required.join(', ')));
      return;
    }
    if (request.body.length > 0 && !isSdp(request)) {
      this.#respond(transaction, 415, (h) => h.append('accept', 'application/sdp'));
      return;
    }
    if (this.dialogs.has(callId)) {
      this.#respond(transaction, 482);
      return;
    } // §8.2.2.2 merged request, or a reused Call-ID
    if (this.#liveDialogs() >= (this.#options.limits?.maxDialogs ?? 10_000)) {
      this.#respond(transaction, 503);
      return;
    }
    const target = parseUri(request.uri);
    const number = target?.user;
    if (this.#countFor(number) >= (this.#options.limits?.maxDialogsPerNumber ?? 20)) {
      this.#respond(transaction, 486);
      return;
    }
    const seConf = request.headers.get('session-expires');
    const seSeconds = Number(/^\s*([0-9]{1,6})/.exec(seConf ?? '')?.[1] ?? Number.NaN);
    if (Number.isFinite(seSeconds) && seSeconds < MIN_SE) {
      this.#respond(transaction, 422, (h) => h.append('min-se', String(MIN_SE)));
      return;
    }
    const cseq = parseCSeq(request.headers.get('cseq'))!;
    const dialog = new SipDialog({
      callId,
      role: 'uas',
      localTag: newTag(),
      localAddress: stripTag(request.headers.get('to')!),
      remoteAddress: stripTag(request.headers.get('from')!),
      remoteTag: fromTag,
      localSeq: Math.floor(Math.random() * 10_000) + 1,
      remoteSeq: cseq.seq,
      remoteTarget: contact.uri,
      peer: transaction.source,
      ...(number === undefined ? {} : { number }),
    });
    // §12.1.1: the UAS's route set is the Record-Route of the request, in order.
    dialog.routeSet = request.headers.getAll('record-route');
    dialog.inviteServer = transaction as SipDialog['inviteServer'];
    dialog.lateOffer = !isSdp(request);
    dialog.remoteSupports100rel =
      optionTags(request.headers.getAll('supported')).has('100rel') ||
      optionTags(request.headers.getAll('require')).has('100rel');
    if (Number.isFinite(seSeconds)) {
      dialog.sessionExpires = { seconds: seSeconds, refresher: 'remote' };
    }
    this.#addDialog(dialog);
    (transaction as { onAckTimeout?: () => void }).onAckTimeout = () => this.#end(dialog);
    this.#respond(transaction, 100);
    const invite: IncomingInvite = {
      callId,
      requestUri: request.uri,
      from: { uri: from.uri, ...(from.displayName === undefined ? {} : { displayName: from.displayName }) },
      to: { uri: to.uri, ...(to.displayName === undefined ? {} : { displayName: to.displayName }) },
      ...(isSdp(request) ? { sdp: request.body.toString('utf8') } : {}),
    };
    this.emit('invite', invite);
  }

  #onCancel(request: SipRequest, transaction: ServerTransaction): void {
    const invite = this.layer.inviteTransactionFor(request, transaction.source);
    if (invite === undefined) {
      this.#respond(transaction, 481);
      return;
    }
    this.#respond(transaction, 200);
    const dialog = this.dialogs.get(request.headers.get('call-id') ?? '');
    // §9.2: "the UAS SHOULD ... respond to the INVITE with a 487", if it has not answered it yet.
    if (
      invite === 'finished' ||
      invite.state !== 'proceeding' ||
      dialog === undefined ||
      dialog.state === 'terminated'
    )
      return;
    this.#respond(invite, 487, undefined, dialog.localTag);
    this.#end(dialog);
    this.emit('cancelled', { callId: dialog.callId });
  }

  #onInDialog(request: SipRequest, transaction: ServerTransaction): void {
    const dialog = this.dialogs.get(request.headers.get('call-id') ?? '');
    const toTag = tagOf(request.headers.get('to'));
    const fromTag = tagOf(request.headers.get('from'));
    if (
      dialog === undefined ||
      dialog.localTag !== toTag ||
      (dialog.remoteTag !== undefined && dialog.remoteTag !== fromTag)
    ) {
      this.#respond(transaction, 481);
      return;
    }
    const cseq = parseCSeq(request.headers.get('cseq'))!;
    // §12.2.2: a lower CSeq than the last is out of order (500); PRACK and ACK share the INVITE's space loosely.
    if (dialog.remoteSeq !== undefined && cseq.seq < dialog.remoteSeq && request.method !== 'PRACK') {
      this.#respond(transaction, 500);
      return;
    }
    if (dialog.remoteSeq === undefined || cseq.seq > dialog.remoteSeq) dialog.remoteSeq = cseq.seq;
    switch (request.method) {
      case 'BYE': {
        if (dialog.state === 'terminated') {
          this.#respond(transaction, 481);
          return;
        }
        this.#respond(transaction, 200);
        const early = dialog.state !== 'confirmed' && dialog.pending2xx === undefined;
        if (early && dialog.role === 'uas' && dialog.inviteServer?.state === 'proceeding') {
          this.#respond(dialog.inviteServer, 487, undefined, dialog.localTag);
        }
        this.#end(dialog);
        this.emit(early && dialog.role === 'uas' ? 'cancelled' : 'bye', { callId: dialog.callId });
        return;
      }
      case 'PRACK':
        this.#onPrack(dialog, request, transaction);
        return;
      case 'INVITE':
        this.#onReinvite(dialog, request, transaction);
        return;
      case 'UPDATE':
        if (isSdp(request)) {
          this.#respond(transaction, 488);
          return;
        }
        this.#respond(transaction, 200, (h) => {
          if (dialog.sessionExpires)
            h.append('session-expires', `${dialog.sessionExpires.seconds};refresher=uac`);
        });
        this.#refreshed(dialog);
        return;
      case 'OPTIONS':
        this.#respond(transaction, 200, (h) => h.append('allow', ALLOW));
        return;
      case 'INFO':
      case 'REFER':
      case 'NOTIFY':
      case 'MESSAGE':
        this.#respond(transaction, 405);
        return;
      default:
        this.#respond(transaction, 501);
        return;
    }
  }

  #refreshed(dialog: SipDialog): void {
    if (dialog.sessionExpires?.refresher === 'remote') {
      this.#armSessionTimer(
        dialog,
        `${dialog.sessionExpires.seconds};refresher=${dialog.role === 'uac' ? 'uas' : 'uac'}`,
        dialog.role,
      );
    }
  }

  #onReinvite(dialog: SipDialog, request: SipRequest, transaction: ServerTransaction): void {
    if (dialog.state !== 'confirmed') {
      this.#respond(transaction, dialog.state === 'terminated' ? 481 : 491);
      return;
    }
    // §14.2: an offer while ours is pending (glare) gets 491; so does a second one from the far end.
    if (dialog.reinviteInFlight || dialog.reinviteServer || dialog.pending2xx) {
      this.#respond(transaction, 491);
      return;
    }
    const contact = parseNameAddr(request.headers.getAll('contact')[0] ?? '');
    if (contact) dialog.remoteTarget = contact.uri;
    const se = request.headers.get('session-expires');
    if (se !== undefined) {
      const seconds = Number(/^\s*([0-9]{1,6})/.exec(se)?.[1]);
      if (Number.isFinite(seconds)) dialog.sessionExpires = { seconds, refresher: 'remote' };
    }
    this.#refreshed(dialog);
    if (!isSdp(request)) {
      // A re-INVITE without an offer (RFC 3261 §14.2): offer the current session again; the answer comes in the ACK.
      if (dialog.lastLocalSdp === undefined) {
        this.#respond(transaction, 488);
        return;
      }
      void this.#answer2xx(
        dialog,
        transaction as NonNullable<SipDialog['reinviteServer']>,
        dialog.lastLocalSdp,
      );
      return;
    }
    dialog.reinviteServer = transaction as SipDialog['reinviteServer'];
    const sdp = request.body.toString('utf8');
    const direction = /^a=(sendonly|inactive|recvonly|sendrecv)\s*$/im.exec(sdp)?.[1]?.toLowerCase();
    const zeroAddress = /^c=IN IP4 0\.0\.0\.0\s*$/im.test(sdp);
    this.emit('reinvite', {
      callId: dialog.callId,
      sdp,
      hold: direction === 'sendonly' || direction === 'inactive' || zeroAddress,
    });
  }

  #onPrack(dialog: SipDialog, request: SipRequest, transaction: ServerTransaction): void {
    const rack = parseRAck(request.headers.get('rack'));
    const pending = dialog.unackedProvisional;
    // RFC 3262 §3: a PRACK that matches no unacknowledged reliable provisional gets 481.
    if (!rack || pending === undefined || rack.rseq !== pending.rseq || rack.method !== 'INVITE') {
      this.#respond(transaction, 481);
      return;
    }
    this.#respond(transaction, 200);
    this.#timers.delete(`prov:${dialog.callId}`);
    dialog.unackedProvisional = undefined;
    const next = dialog.provisionalQueue.shift();
    if (next !== undefined) this.#sendReliable(dialog, next);
  }

  #onAck(request: SipRequest): void {
    const dialog = this.dialogs.get(request.headers.get('call-id') ?? '');
    if (dialog === undefined || dialog.pending2xx === undefined) return;
    const cseq = parseCSeq(request.headers.get('cseq'));
    if (cseq?.seq !== dialog.pending2xx.cseq) return;
    this.#timers.delete(`2xx:${dialog.callId}`);
    dialog.pending2xx = undefined;
    if (dialog.state === 'early' || dialog.state === 'calling') dialog.state = 'confirmed';
    if (dialog.lateOffer) {
      // The 200 carried the gateway's offer; this ACK carries the answer (RFC 3261 §13.2.1).
      dialog.lateOffer = false;
      this.emit('acknowledged', {
        callId: dialog.callId,
        ...(isSdp(request) ? { sdp: request.body.toString('utf8') } : {}),
      });
    }
  }

  // ================================================================ answering incoming INVITEs

  async answer(callId: string, response: { status: ProvisionalStatus | 200; sdp?: string }): Promise<void> {
    this.#assertOpen();
    const dialog = this.#dialog(callId);
    if (dialog.reinviteServer !== undefined) {
      if (response.status !== 200 || response.sdp === undefined)
        throw new Error('a re-INVITE is answered with 200 and SDP');
      const transaction = dialog.reinviteServer;
      dialog.reinviteServer = undefined;
      await this.#answer2xx(dialog, transaction, response.sdp);
      return;
    }
    const transaction = dialog.inviteServer;
    if (dialog.role !== 'uas' || transaction === undefined || transaction.state !== 'proceeding')
      throw new Error(`answer: no INVITE pending on ${callId}`);
    if (response.status === 200) {
      if (response.sdp === undefined) throw new Error('answer: 200 needs SDP');
      // An unacknowledged reliable provisional is abandoned once the call is answered.
      this.#timers.delete(`prov:${dialog.callId}`);
      dialog.unackedProvisional = undefined;
      dialog.provisionalQueue = [];
      await this.#answer2xx(dialog, transaction, response.sdp);
      return;
    }
    const provisional = responseTo(
      transaction.request,
      response.status,
      reasonPhrase(response.status),
      dialog.localTag,
    );
    provisional.headers.append('contact', this.#contact(dialog.peer.protocol));
    if (response.sdp !== undefined) {
      provisional.headers.append('content-type', 'application/sdp');
      provisional.body = Buffer.from(response.sdp, 'utf8');
      dialog.lastLocalSdp = response.sdp;
    }
    dialog.state = 'early';
    // Late offer: the first reliable response would have to carry the offer (RFC 3262 §5,
    // RFC 6337 §2.2), which goes in the 200 instead, so provisionals are sent unreliably.
    if (!dialog.remoteSupports100rel || dialog.lateOffer) {
      transaction.respond(provisional);
      return;
    }
    // RFC 3262 §3: one reliable provisional at a time; the next waits for the PRACK of the previous.
    if (dialog.unackedProvisional !== undefined) dialog.provisionalQueue.push(provisional);
    else this.#sendReliable(dialog, provisional);
  }

  #sendReliable(dialog: SipDialog, response: SipResponse): void {
    const transaction = dialog.inviteServer;
    if (transaction === undefined || transaction.state !== 'proceeding') return;
    const rseq = dialog.localRSeq++;
    response.headers.append('require', '100rel');
    response.headers.append('rseq', String(rseq));
    dialog.unackedProvisional = { response, rseq };
    transaction.respond(response);
    const { T1 } = this.#timersConfig;
    // RFC 3262 §3: retransmit with T1 doubling (on every transport) until PRACK; give up after 64*T1.
    const started = this.#clock.now();
    const retransmit = (interval: number) =>
      this.#timers.setAfter(`prov:${dialog.callId}`, interval, () => {
        if (dialog.unackedProvisional?.rseq !== rseq || transaction.state !== 'proceeding') return;
        if (this.#clock.now() - started >= 64 * T1) {
          // "If a reliable provisional response is retransmitted for 64*T1 seconds without reception of a corresponding PRACK, the UAS SHOULD reject the original request with a 5xx"
          this.#respond(transaction, 504, undefined, dialog.localTag);
          this.#end(dialog);
          this.emit('cancelled', { callId: dialog.callId });
          return;
        }
        this.layer.send(response, transaction.source).catch(() => {});
        retransmit(interval * 2);
      });
    retransmit(T1);
  }

  async #answer2xx(
    dialog: SipDialog,
    transaction: NonNullable<SipDialog['inviteServer']>,
    sdp: string,
  ): Promise<void> {
    const ok = responseTo(transaction.request, 200, 'OK', dialog.localTag);
    for (const rr of transaction.request.headers.getAll('record-route'))
      ok.headers.append('record-route', rr);
    ok.headers.append('contact', this.#contact(dialog.peer.protocol));
    ok.headers.append('allow', ALLOW);
    ok.headers.append('supported', SUPPORTED);
    if (dialog.sessionExpires) {
      // RFC 4028 §9: the UAS names the refresher; the caller refreshes (it asked for the timer).
      ok.headers.append('session-expires', `${dialog.sessionExpires.seconds};refresher=uac`);
      if (optionTags(transaction.request.headers.getAll('supported')).has('timer'))
        ok.headers.append('require', 'timer');
    }
    ok.headers.append('content-type', 'application/sdp');
    ok.body = Buffer.from(sdp, 'utf8');
    dialog.lastLocalSdp = sdp;
    const cseq = parseCSeq(transaction.request.headers.get('cseq'))?.seq ?? 0;
    dialog.pending2xx = { response: ok, cseq };
    dialog.state = 'confirmed';
    transaction.respond(ok);
    if (dialog.sessionExpires)
      this.#armSessionTimer(dialog, `${dialog.sessionExpires.seconds};refresher=uac`, 'uas');
    const { T1, T2 } = this.#timersConfig;
    const started = this.#clock.now();
    const replyTo = transaction.source;
    // §13.3.1.4: the UAS core retransmits the 2xx (T1 doubling up to T2) until the ACK; after 64*T1 it ends the session.
    const retransmit = (interval: number) =>
      this.#timers.setAfter(`2xx:${dialog.callId}`, interval, () => {
        if (dialog.pending2xx?.response !== ok) return;
        if (this.#clock.now() - started >= 64 * T1) {
          dialog.pending2xx = undefined;
          this.#logger.info({ callId: dialog.callId }, 'no ACK for 200 OK; ending the call');
          void this.bye(dialog.callId);
          this.emit('bye', { callId: dialog.callId });
          return;
        }
        this.layer.send(ok, replyTo).catch(() => {});
        retransmit(Math.min(interval * 2, T2));
      });
    retransmit(T1);
  }

  async reject(callId: string, response: { status: number; reason?: string }): Promise<void> {
    this.#assertOpen();
    const dialog = this.#dialog(callId);
    if (dialog.reinviteServer !== undefined) {
      const transaction = dialog.reinviteServer;
      dialog.reinviteServer = undefined;
      const final = responseTo(
        transaction.request,
        response.status,
        response.reason ?? reasonPhrase(response.status),
        dialog.localTag,
      );
      transaction.respond(final);
      return;
    }
    const transaction = dialog.inviteServer;
    if (transaction === undefined || transaction.state !== 'proceeding')
      throw new Error(`reject: no INVITE pending on ${callId}`);
    this.#timers.delete(`prov:${dialog.callId}`);
    const final = responseTo(
      transaction.request,
      response.status,
      response.reason ?? reasonPhrase(response.status),
      dialog.localTag,
    );
    transaction.respond(final);
    this.#end(dialog);
  }

  // ================================================================ registration

  async register(binding: { aor: SipUri; expiresSeconds: number }): Promise<void> {
    this.#assertOpen();
    if (this.#options.registrar === undefined) return;
    await this.#bindings.set(binding.aor, binding.expiresSeconds);
  }

  /** One REGISTER (with one digest retry); resolves with the granted seconds. */
  async #sendRegister(binding: Binding, expires: number): Promise<number> {
    const registrar = this.#options.registrar!;
    const peer = this.#proxy ?? (await resolveUri(registrar, this.#defaultProtocol()));
    const user = parseUri(binding.aor)?.user ?? 'gateway';
    const requestUri = registrarRequestUri(registrar);
    const build = (): SipRequest => {
      binding.seq += 1;
      const headers = this.#baseHeaders(peer.protocol);
      headers.append('from', `<${binding.aor}>;tag=${binding.tag}`);
      headers.append('to', `<${binding.aor}>`);
      headers.append('call-id', binding.callId);
      headers.append('cseq', `${binding.seq} REGISTER`);
      headers.append('contact', `${this.#contact(peer.protocol, user)};expires=${expires}`);
      headers.append('expires', String(expires));
      headers.append('allow', ALLOW);
      return sipRequest('REGISTER', requestUri, headers);
    };
    let request = build();
    let response = await this.#nonInvite(request, peer);
    if ((response.status === 401 || response.status === 407) && this.#options.credentials) {
      const retry = this.#authenticated(request, response, binding.seq + 1);
      if (retry !== undefined) {
        binding.seq += 1;
        request = retry;
        response = await this.#nonInvite(request, peer);
      }
    }
    if (response.status < 200 || response.status >= 300)
      throw new Error(`REGISTER answered ${response.status} ${response.reason}`);
    if (expires === 0) return 0;
    const ours = response.headers
      .getAll('contact')
      .map((c) => parseNameAddr(c))
      .find((c) => c !== undefined && parseUri(c.uri)?.user === user);
    const granted = Number(ours?.params.get('expires') ?? response.headers.get('expires') ?? expires);
    return Number.isFinite(granted) ? granted : expires;
  }

  /** A copy of `request` with credentials answering the challenge in `response` (§22.2), or `undefined`. */
  #authenticated(request: SipRequest, response: SipResponse, seq: number): SipRequest | undefined {
    const proxy = response.status === 407;
    const challenge = pickChallenge(
      response.headers.getAll(proxy ? 'proxy-authenticate' : 'www-authenticate'),
    );
    if (challenge === undefined || this.#options.credentials === undefined) return undefined;
    const headers = request.headers.clone();
    headers.shift('via');
    headers.prepend('via', this.#via(parseVia1(request)));
    const method = parseCSeq(request.headers.get('cseq'))?.method ?? request.method;
    headers.set('cseq', `${seq} ${method}`);
    headers.set(
      proxy ? 'proxy-authorization' : 'authorization',
      digestAuthorization(challenge, this.#options.credentials, { method: request.method, uri: request.uri }),
    );
    return sipRequest(request.method, request.uri, headers, request.body);
  }

  #nonInvite(request: SipRequest, peer: SipPeer): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      const { sent } = this.layer.request(request, peer, {
        response: (response) => {
          if (response.status >= 200) resolve(response);
        },
        timeout: () => reject(new Error(`${request.method} timed out`)),
        transportError: reject,
      });
      sent.catch(reject);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Bindings are removed from the registrar on the way out, best effort and briefly.
    await Promise.race([this.#bindings.removeAll(), this.#delay(BYE_WAIT_MS)]);
    this.#closed = true;
    this.#timers.clear();
    this.#ended.clear();
    await this.layer.close();
    this.removeAllListeners();
  }
}

function parseVia1(request: SipRequest): SipProtocol {
  const via = request.headers.getAll('via')[0] ?? '';
  const match = /^SIP\/2\.0\/(UDP|TCP|TLS)/i.exec(via.trim());
  return (match?.[1]?.toLowerCase() as SipProtocol | undefined) ?? 'udp';
}

function hostForHeader(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/** `sip:host:port;transport=x` → the Route value for a loose-routing proxy (RFC 3261 §16.12). */
function loose(uri: string): string {
  return /;lr(?=;|$|>)/i.test(uri) ? uri : `${uri};lr`;
}

/** The Request-URI of a REGISTER: the registrar's domain without user part (§10.2). */
function registrarRequestUri(registrar: string): string {
  const parsed = parseUri(registrar);
  if (!parsed) throw new Error(`SIP_REGISTRAR is not a SIP URI: ${registrar}`);
  const port = parsed.port === undefined ? '' : `:${parsed.port}`;
  const transport = parsed.params.get('transport');
  return `${parsed.scheme}:${parsed.host}${port}${transport ? `;transport=${transport}` : ''}`;
}

/** Where a SIP URI's requests go (RFC 3263 reduced to A/AAAA lookups: no NAPTR/SRV). */
export async function resolveUri(uri: string, fallback: SipProtocol): Promise<SipPeer> {
  const parsed = parseUri(uri);
  if (!parsed || (parsed.scheme !== 'sip' && parsed.scheme !== 'sips') || parsed.host === '')
    throw new Error(`cannot route to ${uri}`);
  const transport = parsed.params.get('transport')?.toLowerCase();
  const protocol: SipProtocol =
    parsed.scheme === 'sips'
      ? 'tls'
      : transport === 'tcp' || transport === 'tls' || transport === 'udp'
        ? transport
        : fallback;
  const port = parsed.port ?? (protocol === 'tls' ? 5061 : 5060);
  const host = parsed.host.replace(/^\[|\]$/g, '');
  const address = isIP(host) !== 0 ? host : (await lookup(host)).address;
  return { protocol, address, port };
}

/** SIP_TRUSTED_PEERS: addresses and CIDR ranges. */
export function blockListOf(entries: string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [address, bits] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0) throw new Error(`not an IP address or CIDR range: ${JSON.stringify(entry)}`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address!, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
        throw new Error(`bad prefix length in ${JSON.stringify(entry)}`);
      list.addSubnet(address!, prefix, type);
    }
  }
  return list;
}
