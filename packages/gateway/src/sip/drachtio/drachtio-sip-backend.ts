import { type Clock, systemClock, TimerSet } from '../../core/clock.js';
import { TypedEmitter } from '../../core/emitter.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import type {
  IncomingInvite,
  OutgoingInvite,
  ProvisionalStatus,
  SipBackend,
  SipBackendEvents,
} from '../../network/sip-backend.js';
import { emergencyInviteBody } from '../emergency-body.js';
import { optionTags, parseNameAddr, parseUri } from '../message/headers.js';
import { type RegistrarBinding, RegistrarBindings } from '../registrar-bindings.js';
import { formatNameAddr, type SipUri } from '../uri.js';
import {
  type DrachtioDialog,
  type DrachtioMessage,
  type DrachtioRequest,
  type DrachtioResponse,
  type DrachtioSrf,
  isSipError,
} from './drachtio-srf-api.js';

export interface DrachtioSipBackendOptions {
  /** drachtio-server's admin (control) address: `DRACHTIO_HOST`, `DRACHTIO_PORT` (9022). */
  host: string;
  port: number;
  /** The shared secret of drachtio-server's `<admin secret=…>`: `DRACHTIO_SECRET`. */
  secret: string;
  /** Every outgoing INVITE and REGISTER is sent through this SIP URI (`SIP_OUTBOUND_PROXY`). */
  outboundProxy?: string;
  /** Where REGISTER goes (a SIP URI); without it, no REGISTER is ever sent. */
  registrar?: string;
  /** Digest credentials for the registrar (and for INVITEs a proxy challenges). */
  credentials?: { username: string; password: string };
  /** How long `createDrachtioSipBackend` waits for drachtio-server (default 5 s). */
  connectTimeoutMs?: number;
  limits?: {
    /** Most calls at once (default 10,000): further INVITEs get 503. */
    maxDialogs?: number;
  };
  /** Makes the drachtio-srf instance (tests give a fake one; default: `new Srf()`). */
  createSrf?: () => DrachtioSrf | Promise<DrachtioSrf>;
  clock?: Clock;
  logger?: Logger;
}

/** One call (one Call-ID) and what drachtio-srf gave us for it. */
interface DrachtioCall {
  callId: string;
  role: 'uac' | 'uas';
  state: 'calling' | 'early' | 'confirmed' | 'terminated';
  /** Outgoing: the INVITE as sent (to CANCEL it); set once drachtio-server took it. */
  request?: DrachtioRequest | undefined;
  provisionalSeen: boolean;
  cancelWanted: boolean;
  /** Incoming: the INVITE and its response object until the final answer. */
  incoming?: { req: DrachtioRequest; res: DrachtioResponse; reliable: boolean } | undefined;
  /** Incoming INVITE without SDP: the 200 carries the gateway's offer, the ACK the answer (RFC 3261 §13.2.1). */
  lateOffer?: boolean;
  dialog?: DrachtioDialog | undefined;
  /** A re-INVITE from the far end waiting for `answer` or `reject`. */
  pendingReinvite?: DrachtioResponse | undefined;
  reinviteInFlight: boolean;
}

const SUPPORTED = '100rel';

const isSdp = (message: DrachtioMessage) =>
  (message.body ?? '').length > 0 &&
  /^\s*application\/sdp\s*(;|$)/i.test(message.get('content-type') ?? 'application/sdp');

/** A hold offer: `sendonly`/`inactive`, or the RFC 2543 `c=0.0.0.0` (RFC 3264 §8.4). */
export function isHoldOffer(sdp: string): boolean {
  const direction = /^a=(sendonly|inactive|recvonly|sendrecv)\s*$/im.exec(sdp)?.[1]?.toLowerCase();
  return direction === 'sendonly' || direction === 'inactive' || /^c=IN IP4 0\.0\.0\.0\s*$/im.test(sdp);
}

/** A display name read from the network, for the event: the parser already unquoted it. */
function party(value: string | undefined): { uri: string; displayName?: string } | undefined {
  const parsed = parseNameAddr(value ?? '');
  if (parsed === undefined || parseUri(parsed.uri) === undefined) return undefined;
  return {
    uri: parsed.uri,
    ...(parsed.displayName === undefined ? {} : { displayName: parsed.displayName }),
  };
}

/** Final statuses `reject` may send: 3xx–6xx (a 2xx or 1xx is an answer, not a rejection). */
const isRejectStatus = (status: number) => Number.isInteger(status) && status >= 300 && status <= 699;
/** A reason phrase safe on a status line: printable, no CR/LF (RFC 3261 §25.1 Reason-Phrase). */
const safeReason = (reason: string | undefined) =>
  reason !== undefined && /^[\x20-\x7e]{1,100}$/.test(reason) ? reason : undefined;

/**
 * `SipBackend` on drachtio-server through drachtio-srf, for operators who run
 * drachtio-server: the server does transactions, 100rel/PRACK, CANCEL/487 and
 * digest; this adapter maps its dialogs to the backend's events by Call-ID.
 * Only branded, validated values go into headers (`OutgoingInvite` fields);
 * every string read from the network is parsed before it is used.
 */
export class DrachtioSipBackend extends TypedEmitter<SipBackendEvents> implements SipBackend {
  readonly #srf: DrachtioSrf;
  readonly #options: DrachtioSipBackendOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #timers: TimerSet<string>;
  readonly #calls = new Map<string, DrachtioCall>();
  readonly #bindings: RegistrarBindings<RegistrarBinding>;
  #closed = false;
  /** Where drachtio-server listens for SIP, as it reported on connect (`udp/127.0.0.1:5080,…`). */
  readonly sipAddresses: string[];

  private constructor(srf: DrachtioSrf, options: DrachtioSipBackendOptions, sipAddresses: string[]) {
    const logger = options.logger ?? silentLogger;
    super(logger);
    this.#srf = srf;
    this.#options = options;
    this.#logger = logger;
    this.#clock = options.clock ?? systemClock;
    this.#timers = new TimerSet(this.#clock);
    this.#bindings = new RegistrarBindings<RegistrarBinding>({
      clock: this.#clock,
      timers: this.#timers,
      logger,
      create: (aor) => ({ aor, until: 0 }),
      send: (binding, expires) => this.#sendRegister(binding.aor, expires),
      lost: (aor) => this.emit('registrationLost', { aor }),
    });
    this.sipAddresses = sipAddresses;
    srf.invite((req, res) => this.#guard('INVITE', () => this.#onInvite(req, res)));
  }

  /** Connects to drachtio-server; rejects (and stops reconnecting) when it cannot within the timeout. */
  static async connect(options: DrachtioSipBackendOptions): Promise<DrachtioSipBackend> {
    const logger = options.logger ?? silentLogger;
    const srf = options.createSrf ? await options.createSrf() : await defaultSrf();
    // An unhandled 'error' event would throw from an EventEmitter: connection problems are logged instead.
    srf.on('error', (error: Error) => logger.warn({ err: error?.message }, 'drachtio connection error'));
    const timeoutMs = options.connectTimeoutMs ?? 5_000;
    const hostports = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        giveUp(srf);
        reject(
          new Error(
            `drachtio-server at ${options.host}:${options.port} did not answer within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      srf.once('connect', (error: Error | null, hostport?: string) => {
        clearTimeout(timer);
        if (error) {
          giveUp(srf);
          reject(new Error(`drachtio-server refused the connection: ${error.message}`));
        } else resolve(typeof hostport === 'string' ? hostport.split(',') : []);
      });
      try {
        srf.connect({ host: options.host, port: options.port, secret: options.secret });
      } catch (error) {
        clearTimeout(timer);
        reject(error);
      }
    });
    srf.on('reconnecting', () => logger.warn({}, 'drachtio-server connection lost; reconnecting'));
    logger.info({ sip: hostports }, 'connected to drachtio-server');
    return new DrachtioSipBackend(srf, options, hostports);
  }

  /** Runs a handler of network input: whatever it throws is logged, never thrown into drachtio-srf. */
  #guard(what: string, handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.#logger.warn({ err: (error as Error).message, what }, 'SIP input handling failed');
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('SIP backend is closed');
  }

  #call(callId: string): DrachtioCall {
    const call = this.#calls.get(callId);
    if (call === undefined || call.state === 'terminated') throw new Error(`no SIP dialog ${callId}`);
    return call;
  }

  #end(call: DrachtioCall): void {
    call.state = 'terminated';
    call.incoming = undefined;
    call.pendingReinvite = undefined;
    this.#calls.delete(call.callId);
  }

  #liveCalls(): number {
    let n = 0;
    for (const call of this.#calls.values()) if (call.state !== 'terminated') n++;
    return n;
  }

  /** Dialog events: BYE and re-INVITE from the far end. */
  #watch(call: DrachtioCall, dialog: DrachtioDialog): void {
    call.dialog = dialog;
    dialog.on('destroy', () =>
      this.#guard('BYE', () => {
        if (call.state === 'terminated') return;
        this.#end(call);
        this.emit('bye', { callId: call.callId });
      }),
    );
    // Only a 'modify' listener: drachtio-srf then hands every re-INVITE to us (no automatic hold answers).
    dialog.on('modify', (req: DrachtioRequest, res: DrachtioResponse) =>
      this.#guard('re-INVITE', () => {
        if (call.state !== 'confirmed' || call.pendingReinvite !== undefined || call.reinviteInFlight) {
          // RFC 3261 §14.2: an offer while another is pending gets 491.
          void sendResponse(res, 491, {}).catch(() => {});
          return;
        }
        if (!isSdp(req)) {
          // A re-INVITE without an offer (§14.2): offer the current session again.
          void sendResponse(res, 200, {
            body: dialog.local.sdp,
            headers: { 'Content-Type': 'application/sdp' },
          }).catch(() => {});
          return;
        }
        call.pendingReinvite = res;
        this.emit('reinvite', { callId: call.callId, sdp: req.body, hold: isHoldOffer(req.body) });
      }),
    );
  }

  // ================================================================ outgoing calls

  async invite(request: OutgoingInvite): Promise<void> {
    this.#assertOpen();
    if (this.#calls.has(request.callId)) throw new Error(`dialog ${request.callId} exists`);
    const headers: Record<string, string> = {
      From: formatNameAddr(request.from),
      To: formatNameAddr(request.to),
      'Call-ID': request.callId,
      Supported: SUPPORTED,
      'Content-Type': 'application/sdp',
    };
    if (request.assertedIdentity) headers['P-Asserted-Identity'] = `<${request.assertedIdentity}>`;
    if (request.privacy) headers.Privacy = 'id';
    let body = request.sdp;
    if (request.emergency) {
      const emergency = emergencyInviteBody(request.sdp, request.emergency.pidfLo);
      headers.Geolocation = emergency.geolocation;
      headers['Geolocation-Routing'] = emergency.geolocationRouting;
      headers['Content-Type'] = emergency.contentType;
      body = emergency.body;
    }
    const call: DrachtioCall = {
      callId: request.callId,
      role: 'uac',
      state: 'calling',
      provisionalSeen: false,
      cancelWanted: false,
      reinviteInFlight: false,
    };
    this.#calls.set(request.callId, call);
    const sent = new Promise<void>((resolve, reject) => {
      let settled = false;
      const dialog = this.#srf.createUAC(
        request.requestUri,
        {
          headers,
          localSdp: body,
          ...(this.#options.outboundProxy === undefined ? {} : { proxy: this.#options.outboundProxy }),
          ...(this.#options.credentials === undefined ? {} : { auth: this.#options.credentials }),
        },
        {
          cbRequest: (error, req) => {
            settled = true;
            if (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
              return;
            }
            call.request = req;
            resolve();
          },
          cbProvisional: (res) => this.#guard('provisional', () => this.#onProvisional(call, res)),
        },
      );
      dialog.then(
        (established) => this.#guard('2xx', () => this.#onAnswered(call, established)),
        (error: unknown) => {
          if (!settled) {
            settled = true;
            reject(error instanceof Error ? error : new Error(String(error)));
          }
          this.#guard('final', () => this.#onInviteFailed(call, error));
        },
      );
    });
    try {
      await sent;
    } catch (error) {
      this.#end(call);
      throw error;
    }
  }

  #onProvisional(call: DrachtioCall, res: DrachtioMessage): void {
    if (call.state === 'terminated') return;
    const status = Number(res.status);
    if (status === 100 || !Number.isInteger(status)) return;
    call.provisionalSeen = true;
    if (call.state === 'calling') call.state = 'early';
    if (call.cancelWanted) {
      call.cancelWanted = false;
      this.#sendCancel(call);
    }
    if (status >= 180 && status <= 183) {
      this.emit('provisional', {
        callId: call.callId,
        status: status as ProvisionalStatus,
        reason: res.reason || 'Session Progress',
        ...(isSdp(res) ? { sdp: res.body ?? '' } : {}),
      });
    }
  }

  #onAnswered(call: DrachtioCall, dialog: DrachtioDialog): void {
    if (call.state === 'terminated') {
      // The call was given up before the 2xx arrived (drachtio-srf already ACKed it): hang up.
      dialog.destroy().catch(() => {});
      return;
    }
    call.state = 'confirmed';
    this.#watch(call, dialog);
    this.emit('answered', { callId: call.callId, sdp: dialog.remote.sdp ?? '' });
  }

  #onInviteFailed(call: DrachtioCall, error: unknown): void {
    if (call.state === 'terminated') return;
    this.#end(call);
    const status = isSipError(error) && error.status >= 300 && error.status <= 699 ? error.status : 503;
    const reason = isSipError(error) ? error.reason || 'Service Unavailable' : 'Service Unavailable';
    if (!isSipError(error))
      this.#logger.warn({ callId: call.callId, err: (error as Error)?.message }, 'INVITE failed locally');
    this.emit('failed', { callId: call.callId, status, reason });
  }

  async cancel(callId: string): Promise<void> {
    this.#assertOpen();
    const call = this.#calls.get(callId);
    if (
      call === undefined ||
      call.role !== 'uac' ||
      call.state === 'confirmed' ||
      call.state === 'terminated'
    )
      return;
    // RFC 3261 §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent".
    if (!call.provisionalSeen || call.request === undefined) {
      call.cancelWanted = true;
      return;
    }
    this.#sendCancel(call);
  }

  #sendCancel(call: DrachtioCall): void {
    call.request?.cancel((error) => {
      if (error) this.#logger.debug({ callId: call.callId, err: String(error) }, 'CANCEL not sent');
    });
  }

  // ================================================================ in-dialog

  async bye(callId: string): Promise<void> {
    this.#assertOpen();
    const call = this.#calls.get(callId);
    if (call === undefined || call.state === 'terminated') return;
    if (call.role === 'uas' && call.incoming !== undefined) {
      // Not answered yet: there is no dialog to BYE, so the pending INVITE is refused instead.
      const { res } = call.incoming;
      this.#end(call);
      await sendResponse(res, 480, {}).catch(() => {});
      return;
    }
    const dialog = call.dialog;
    this.#end(call);
    if (dialog === undefined) {
      // An outgoing call still ringing: it ends with CANCEL; its 487 will find it gone.
      this.#sendCancel(call);
      return;
    }
    try {
      await dialog.destroy();
    } catch (error) {
      this.#logger.debug({ err: (error as Error).message, callId }, 'BYE failed; the dialog ends anyway');
    }
  }

  async reinvite(callId: string, request: { sdp: string }): Promise<{ sdp: string }> {
    this.#assertOpen();
    const call = this.#call(callId);
    const dialog = call.dialog;
    if (call.state !== 'confirmed' || dialog === undefined)
      throw new Error(`re-INVITE: ${callId} is not established`);
    if (call.reinviteInFlight || call.pendingReinvite)
      throw new Error(`re-INVITE: ${callId} has an offer pending (491)`);
    call.reinviteInFlight = true;
    try {
      const sdp = await dialog.modify(request.sdp);
      return { sdp: typeof sdp === 'string' ? sdp : '' };
    } catch (error) {
      if (isSipError(error)) throw new Error(`re-INVITE answered ${error.status} ${error.reason}`);
      throw error;
    } finally {
      call.reinviteInFlight = false;
    }
  }

  // ================================================================ incoming calls

  #onInvite(req: DrachtioRequest, res: DrachtioResponse): void {
    if (this.#closed) {
      void sendResponse(res, 503, {}).catch(() => {});
      return;
    }
    const callId = req.get('call-id');
    const from = party(req.get('from'));
    const to = party(req.get('to'));
    if (!callId || from === undefined || to === undefined || parseUri(req.uri) === undefined) {
      void sendResponse(res, 400, {}).catch(() => {});
      return;
    }
    if (req.body.length > 0 && !isSdp(req)) {
      void sendResponse(res, 415, { headers: { Accept: 'application/sdp' } }).catch(() => {});
      return;
    }
    if (this.#calls.has(callId)) {
      void sendResponse(res, 482, {}).catch(() => {}); // §8.2.2.2: a merged request, or a reused Call-ID
      return;
    }
    if (this.#liveCalls() >= (this.#options.limits?.maxDialogs ?? 10_000)) {
      void sendResponse(res, 503, {}).catch(() => {});
      return;
    }
    // Option tags arrive as one comma-separated header value from drachtio-srf.
    const tags = (name: string) => optionTags((req.get(name) ?? '').split(','));
    const reliable = tags('supported').has('100rel') || tags('require').has('100rel');
    const call: DrachtioCall = {
      callId,
      role: 'uas',
      state: 'calling',
      incoming: { req, res, reliable },
      lateOffer: !isSdp(req),
      provisionalSeen: false,
      cancelWanted: false,
      reinviteInFlight: false,
    };
    this.#calls.set(callId, call);
    // drachtio-server has answered CANCEL with 200 and the INVITE with 487 (RFC 3261 §9.2).
    req.on('cancel', () =>
      this.#guard('CANCEL', () => {
        if (call.state === 'terminated' || call.state === 'confirmed') return;
        this.#end(call);
        this.emit('cancelled', { callId });
      }),
    );
    const invite: IncomingInvite = {
      callId,
      requestUri: req.uri,
      from,
      to,
      ...(isSdp(req) ? { sdp: req.body } : {}),
    };
    this.emit('invite', invite);
  }

  async answer(callId: string, response: { status: ProvisionalStatus | 200; sdp?: string }): Promise<void> {
    this.#assertOpen();
    const call = this.#call(callId);
    if (call.pendingReinvite !== undefined) {
      if (response.status !== 200 || response.sdp === undefined)
        throw new Error('a re-INVITE is answered with 200 and SDP');
      const res = call.pendingReinvite;
      call.pendingReinvite = undefined;
      if (call.dialog) call.dialog.local.sdp = response.sdp;
      await sendResponse(res, 200, {
        body: response.sdp,
        headers: {
          'Content-Type': 'application/sdp',
          ...(call.dialog?.local.contact ? { Contact: call.dialog.local.contact } : {}),
        },
      });
      return;
    }
    const incoming = call.incoming;
    if (call.role !== 'uas' || incoming === undefined)
      throw new Error(`answer: no INVITE pending on ${callId}`);
    if (response.status === 200) {
      if (response.sdp === undefined) throw new Error('answer: 200 needs SDP');
      call.incoming = undefined;
      const dialog = await this.#srf.createUAS(incoming.req, incoming.res, {
        localSdp: response.sdp,
        headers: { 'Content-Type': 'application/sdp' },
      });
      if (call.state === 'terminated') {
        dialog.destroy().catch(() => {});
        return;
      }
      call.state = 'confirmed';
      this.#watch(call, dialog);
      if (call.lateOffer) {
        // drachtio-srf resolves at the 200; the ACK carrying the answer to its offer comes later.
        dialog.once('ack', (ack: DrachtioMessage) =>
          this.#guard('ACK', () => {
            if (call.state === 'terminated') return;
            this.emit('acknowledged', { callId, ...(isSdp(ack) ? { sdp: ack.body ?? '' } : {}) });
          }),
        );
      }
      return;
    }
    // RFC 3262: with `Require: 100rel` drachtio-server sends the provisional reliably and handles the PRACK.
    // Not for a late offer: a reliable provisional would have to carry the offer (RFC 3262 §5).
    const headers: Record<string, string> = incoming.reliable && !call.lateOffer ? { Require: '100rel' } : {};
    if (response.sdp !== undefined) headers['Content-Type'] = 'application/sdp';
    call.state = 'early';
    await sendResponse(incoming.res, response.status, {
      headers,
      ...(response.sdp === undefined ? {} : { body: response.sdp }),
    });
  }

  async reject(callId: string, response: { status: number; reason?: string }): Promise<void> {
    this.#assertOpen();
    const call = this.#call(callId);
    if (!isRejectStatus(response.status))
      throw new Error(`reject: ${response.status} is not a final failure`);
    const reason = safeReason(response.reason);
    const target = call.pendingReinvite ?? call.incoming?.res;
    if (target === undefined) throw new Error(`reject: no INVITE pending on ${callId}`);
    if (call.pendingReinvite !== undefined) call.pendingReinvite = undefined;
    else this.#end(call);
    await sendResponse(target, response.status, {}, reason);
  }

  // ================================================================ registration

  async register(binding: { aor: SipUri; expiresSeconds: number }): Promise<void> {
    this.#assertOpen();
    if (this.#options.registrar === undefined) return;
    await this.#bindings.set(binding.aor, binding.expiresSeconds);
  }

  /** One REGISTER (drachtio-srf answers a digest challenge once); resolves with the granted seconds. */
  #sendRegister(aor: SipUri, expires: number): Promise<number> {
    const registrar = this.#options.registrar!;
    const user = parseUri(aor)?.user ?? 'gateway';
    // drachtio-server writes its own SIP address where a Contact says `localhost`.
    const contact = `<sip:${user}@localhost>;expires=${expires}`;
    return withTimeout(
      new Promise<number>((resolve, reject) => {
        this.#srf.request(
          registrar,
          {
            method: 'REGISTER',
            headers: { From: `<${aor}>`, To: `<${aor}>`, Contact: contact, Expires: String(expires) },
            ...(this.#options.credentials === undefined ? {} : { auth: this.#options.credentials }),
            ...(this.#options.outboundProxy === undefined ? {} : { proxy: this.#options.outboundProxy }),
          },
          (error, req) => {
            if (error) {
              reject(asError(error));
              return;
            }
            req.on('response', (res) => {
              const status = Number(res.status);
              if (status < 200) return;
              if (status >= 300) {
                reject(new Error(`REGISTER answered ${status} ${res.reason ?? ''}`.trim()));
                return;
              }
              if (expires === 0) {
                resolve(0);
                return;
              }
              const ours = (res.get('contact') ?? '')
                .split(/,(?=\s*(?:"|<|sips?:))/)
                .map((c) => parseNameAddr(c))
                .find((c) => c !== undefined && parseUri(c.uri)?.user === user);
              const granted = Number(ours?.params.get('expires') ?? res.get('expires') ?? expires);
              resolve(Number.isFinite(granted) ? granted : expires);
            });
          },
        );
      }),
      32_000,
      'REGISTER timed out',
    );
  }

  // ================================================================ closing

  async close(): Promise<void> {
    if (this.#closed) return;
    // Bindings are removed from the registrar on the way out, best effort.
    await this.#bindings.removeAll();
    this.#closed = true;
    this.#timers.clear();
    this.#calls.clear();
    giveUp(this.#srf);
    this.removeAllListeners();
  }
}

/** Connects to drachtio-server as configured: the `SipBackend` for `DRACHTIO_HOST`. */
export function createDrachtioSipBackend(options: DrachtioSipBackendOptions): Promise<DrachtioSipBackend> {
  return DrachtioSipBackend.connect(options);
}

async function defaultSrf(): Promise<DrachtioSrf> {
  // A CommonJS module: its `module.exports` (the Srf class) is the default export under ESM.
  const loaded = (await import('drachtio-srf')) as unknown as { default: new () => unknown };
  return new loaded.default() as DrachtioSrf;
}

/** Closes the connection to drachtio-server (if there is one) and keeps it closed. */
function giveUp(srf: DrachtioSrf): void {
  try {
    srf.disconnect();
  } catch {
    // Not connected: drachtio-srf has no socket to end (it throws then).
  }
  stopReconnecting(srf);
}

/**
 * drachtio-srf reconnects forever after a failed or lost connection; once we
 * give up (start-up timeout, close) its wire protocol is told it is closing.
 */
function stopReconnecting(srf: DrachtioSrf): void {
  const wire = (
    srf as unknown as { _app?: { wp?: { closing?: boolean; reconnectVars?: { retryTimer?: unknown } } } }
  )._app?.wp;
  if (wire === undefined) return;
  wire.closing = true;
  const timer = wire.reconnectVars?.retryTimer;
  if (timer) clearTimeout(timer as NodeJS.Timeout);
}

/** Sends a response; resolves once drachtio-server sent it (drachtio-srf throws on a status it does not know). */
function sendResponse(
  res: DrachtioResponse,
  status: number,
  opts: { headers?: Record<string, string>; body?: string },
  reason?: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error: unknown) => (error ? reject(asError(error)) : resolve());
    try {
      if (reason === undefined) res.send(status, opts, done);
      else res.send(status, reason, opts, done);
    } catch (error) {
      reject(asError(error));
    }
  });
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
