import type { MediaSessionResponse, SessionStatus } from '../api-types.js';
import { type AuthContext, assertSubscriber, boundToOtherDevice } from '../auth/auth.js';
import type { NodeReply, NodeRequest } from '../cluster/node-channel.js';
import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/emitter.js';
import { ExpiringRecords } from '../core/expiring-records.js';
import type { IdGenerator } from '../core/ids.js';
import { InflightWork } from '../core/inflight.js';
import type { Logger } from '../core/logger.js';
import {
  ApiError,
  emergencyNotSupported,
  InvalidArgumentError,
  invalidArgument,
  invalidTokenContext,
  isStoreUnavailable,
  notFound,
  ServiceUnavailableError,
  TooManyRequestsError,
  unavailable,
} from '../errors.js';
import type { EventPublisher } from '../events/domain-events.js';
import { type Location, parseLocation } from '../location/location.js';
import { buildPidfLo } from '../location/pidf-lo.js';
import type { MediaBackend, MediaEndpoint } from '../network/media-backend.js';
import type { IncomingInvite, OutgoingInvite, SipBackend } from '../network/sip-backend.js';
import type { SdpLimits } from '../sdp/parse.js';
import { parseRtpSdp } from '../sdp/rtp.js';
import { readWebRtcDescriptor } from '../sdp/webrtc.js';
import {
  ADDRESS_PATTERN,
  ANONYMOUS_ADDRESS,
  cleanDisplayName,
  e164Of,
  type PartyAddress,
  parseAddress,
  parseDisplayName,
  telAddress,
} from '../sip/address.js';
import { isPlainText } from '../sip/header-safety.js';
import { partyUri, phoneNumberFromUri, phoneNumberUri, type SipHost, sipDisplayName } from '../sip/uri.js';
import type { DeferredWrites } from '../store/deferred-writes.js';
import type { MediaSessionRecord, RegistrationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { CallSession, type CallSessionEvents, type CallTimings, type StatusChange } from './call-session.js';
import { CLIENT_SETTABLE } from './status-rules.js';

/** What the call service needs to know about registrations (implemented by `RegistrationService`). */
export interface ActiveRegistrations {
  /**
   * The registration if it exists and has not expired, possibly as this node read it earlier
   * (`fresh`: read now); acting on it, the caller has the store confirm it is unchanged, and
   * `forget`s it when it is not.
   */
  recent(registrationId: string, fresh: boolean): Promise<RegistrationRecord | undefined>;
  forget(registrationId: string): void;
  /** Active registrations of a subscriber number. */
  activeFor(phoneNumber: string): Promise<RegistrationRecord[]>;
}

export interface EmergencyOptions {
  /** Whether `callType: EMERGENCY` is offered at all (else `501 CALLTYPE_EMERGENCY_NOT_SUPPORTED`). */
  supported: boolean;
  /** Registered emergency address of a subscriber, used when a call carries no `locationDetails`. */
  lookupAddress?: (phoneNumber: string) => Promise<Location | undefined>;
}

export interface CallServiceOptions {
  /** Host of the gateway's own SIP URIs (From of outgoing calls), e.g. `operator.com`. */
  sipDomain: SipHost;
  /** Host for telephone numbers called in the network (Request-URI/To), e.g. `tn.operator.com`. */
  networkDomain: SipHost;
  emergency: EmergencyOptions;
  timings: CallTimings;
  /** How long an ended session stays readable with its final status (default 60 s). */
  endedSessionRetentionMs: number;
  /** Most unfinished sessions per subscriber number (`429 TOO_MANY_REQUESTS` beyond). */
  maxActiveSessionsPerNumber: number;
  sdpLimits: SdpLimits;
  /**
   * Whether anyone would hear of an incoming call for these devices (a
   * `session-invitation` subscription); if not, the INVITE is rejected with 480.
   */
  acceptInbound?: (target: { phoneNumber: string; deviceIds: string[] }) => Promise<boolean>;
}

export interface CallServiceDeps {
  /** Id of this gateway node: the `owner` of the sessions it creates. */
  nodeId: string;
  store: Store;
  /** Store writes of this node's calls that wait for the store (see `DeferredWrites`). */
  writes: DeferredWrites;
  sip: SipBackend;
  media: MediaBackend;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  publish: EventPublisher;
  registrations: ActiveRegistrations;
  /**
   * Sends a request to the node handling a call (several nodes on one store);
   * without it, a call handled elsewhere answers 503.
   */
  forward?: (nodeId: string, request: NodeRequest) => Promise<NodeReply>;
}

/** Body of `createSession` as the generated router hands it over (validated again here). */
export interface CreateSessionInput {
  originatorAddress?: unknown;
  originatorName?: unknown;
  receiverAddress?: unknown;
  receiverName?: unknown;
  status?: unknown;
  offer?: unknown;
  answer?: unknown;
  callType?: unknown;
  locationDetails?: unknown;
}

/** Body of `updateSessionStatus`. */
export interface UpdateSessionStatusInput {
  status?: unknown;
  offer?: unknown;
  answer?: unknown;
  locationDetails?: unknown;
}

export interface CallServiceEvents {
  /** A session was created (outgoing or incoming). */
  created: { session: MediaSessionRecord };
  status: CallSessionEvents['status'];
  ended: { session: MediaSessionRecord };
}

/** The API view of a stored session (`MediaSessionResponse`). */
export function toMediaSessionResponse(record: MediaSessionRecord): MediaSessionResponse {
  return {
    mediaSessionId: record.mediaSessionId,
    originatorAddress: record.originatorAddress,
    ...(record.originatorName === undefined ? {} : { originatorName: record.originatorName }),
    receiverAddress: record.receiverAddress,
    ...(record.receiverName === undefined ? {} : { receiverName: record.receiverName }),
    status: record.status,
    offer: record.offer === undefined ? {} : { sdp: record.offer },
    ...(record.answer === undefined ? {} : { answer: { sdp: record.answer } }),
    ...(record.callType === undefined ? {} : { callType: record.callType }),
    ...(record.locationDetails === undefined ? {} : { locationDetails: record.locationDetails }),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** An identifier from a path or header: bounded, printable, nothing to smuggle. */
function readIdentifier(value: unknown, field: string): string {
  if (
    typeof value !== 'string' ||
    value === '' ||
    value.length > 256 ||
    !isPlainText(value) ||
    /\s/.test(value)
  ) {
    throw invalidArgument(`${field} must be a non-empty identifier of at most 256 characters`);
  }
  return value;
}

/** An address received from the SIP side, in the API's `Address` form (anonymous when it has none). */
function addressFromNetwork(uri: string): string {
  const phone = phoneNumberFromUri(uri);
  if (phone !== undefined) return telAddress(phone);
  const match = /^sips?:([^@;?<>\s]+)@([^;?<>\s:]+)/.exec(uri);
  const candidate = match ? `sip:${match[1]}@${match[2]}` : undefined;
  return candidate !== undefined && candidate.length <= 256 && ADDRESS_PATTERN.test(candidate)
    ? candidate
    : ANONYMOUS_ADDRESS;
}

/**
 * Media sessions (`webrtc-call-handling`): creates outgoing calls, receives
 * incoming INVITEs, and routes SIP events and API requests to the owning
 * `CallSession`. Owns the live sessions and closes them on `close()`.
 */
export class CallService extends TypedEmitter<CallServiceEvents> {
  readonly #deps: CallServiceDeps;
  readonly #options: CallServiceOptions;
  readonly #byId = new Map<string, CallSession>();
  readonly #byCallId = new Map<string, CallSession>();
  /** Ended sessions waiting for the end of their retention, on one timer. */
  readonly #discard: ExpiringRecords<string, true>;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #inflight = new InflightWork((error) =>
    this.#deps.logger.error({ err: error }, 'call service work failed'),
  );
  #closing = false;

  constructor(deps: CallServiceDeps, options: CallServiceOptions) {
    super(deps.logger);
    this.#deps = deps;
    this.#options = options;
    this.#discard = new ExpiringRecords({
      clock: deps.clock,
      lifetimeMs: options.endedSessionRetentionMs,
      // To the millisecond: a session is readable for exactly the retention, then 404.
      resolutionMs: 0,
      expired: (mediaSessionId) => this.#inflight.track(this.#forget(mediaSessionId)),
    });
    const route = <E extends { callId: string }>(handle: (session: CallSession, event: E) => void) => {
      return (event: E) => {
        const session = this.#byCallId.get(event.callId);
        if (session === undefined) {
          deps.logger.debug({ callId: event.callId }, 'SIP event for an unknown dialog ignored');
          return;
        }
        handle(session, event);
      };
    };
    const sip = deps.sip;
    this.#unsubscribe.push(
      sip.on(
        'provisional',
        route((s, e) => s.onProvisional(e)),
      ),
      sip.on(
        'answered',
        route((s, e) => s.onAnswered(e)),
      ),
      sip.on(
        'acknowledged',
        route((s, e) => s.onAcknowledged(e)),
      ),
      sip.on(
        'failed',
        route((s, e) => s.onFailed(e)),
      ),
      sip.on(
        'cancelled',
        route((s) => s.onCancelled()),
      ),
      sip.on(
        'bye',
        route((s) => s.onBye()),
      ),
      sip.on(
        'reinvite',
        route((s, e) => s.onReinvite(e)),
      ),
      sip.on('invite', (invite) => this.#inflight.track(this.#onInvite(invite))),
    );
  }

  #assertOpen(): void {
    if (this.#closing) throw unavailable('The gateway is shutting down.');
  }

  /** Live (unfinished) sessions on this node. */
  get live(): readonly CallSession[] {
    return [...this.#byId.values()];
  }

  session(mediaSessionId: string): CallSession | undefined {
    return this.#byId.get(mediaSessionId);
  }

  /** Resolves once every session has processed what it was given and no INVITE is being set up. */
  async idle(): Promise<void> {
    for (;;) {
      await this.#inflight.allSettled();
      await Promise.all(this.live.map((s) => s.idle()));
      if (this.#inflight.size === 0 && !this.live.some((s) => s.busy)) return;
    }
  }

  #adopt(session: CallSession): void {
    this.#byId.set(session.id, session);
    this.#byCallId.set(session.callId, session);
    session.on('status', (event) => this.emit('status', event));
    session.on('ended', ({ session: record }) => {
      this.#byId.delete(session.id);
      this.#byCallId.delete(session.callId);
      this.emit('ended', { session: record });
      this.#forgetLater(record.mediaSessionId);
    });
  }

  /**
   * Removes the ended session's record after the retention. Only the id is kept
   * until then, not the session with its dialog and endpoint (kept for the whole
   * retention, they made every major GC slower).
   */
  #forgetLater(mediaSessionId: string): void {
    this.#discard.set(mediaSessionId, true);
  }

  /** Removes an ended session from the store; while the store fails, later (its TTL covers a node that stops). */
  async #forget(mediaSessionId: string): Promise<void> {
    const { store, writes } = this.#deps;
    await writes.run(`session:${mediaSessionId}`, () => store.deleteSession(mediaSessionId));
    await writes.run(`seq:session:${mediaSessionId}`, () =>
      store.deleteSequence(`session:${mediaSessionId}`),
    );
  }

  #sessionDeps() {
    const { store, writes, sip, clock, logger, publish } = this.#deps;
    return { store, writes, sip, clock, logger, publish, timings: this.#options.timings };
  }

  // ------------------------------------------------------------------ createSession

  /** `POST /sessions`: places a call from the caller's registration to `receiverAddress`. */
  async create(
    auth: AuthContext,
    registrationIdHeader: unknown,
    body: unknown,
  ): Promise<MediaSessionResponse> {
    // The registration as this node last read it, confirmed by the store as the call is
    // stored; when it changed meanwhile, everything again with the registration read now.
    return (
      (await this.#create(auth, registrationIdHeader, body, false)) ??
      (await this.#create(auth, registrationIdHeader, body, true))!
    );
  }

  /**
   * `create`, the registration read now (`fresh`) or as this node last read it. `undefined`
   * (nothing stored, nothing sent) when that earlier read is no longer what the store holds.
   */
  async #create(
    auth: AuthContext,
    registrationIdHeader: unknown,
    body: unknown,
    fresh: boolean,
  ): Promise<MediaSessionResponse | undefined> {
    this.#assertOpen();
    assertSubscriber(auth);
    // 400: everything syntactic, before anything is looked up or allocated.
    const registrationId = readIdentifier(registrationIdHeader, 'header registrationId');
    if (!isObject(body)) throw invalidArgument('The request body must be a MediaSessionInformation object.');
    const input = body as CreateSessionInput;
    if (input.originatorAddress === undefined) throw invalidArgument('originatorAddress is required');
    if (input.receiverAddress === undefined) throw invalidArgument('receiverAddress is required');
    if (input.offer === undefined) throw invalidArgument('offer is required');
    const originator = parseAddress(input.originatorAddress, 'originatorAddress');
    const receiver = parseAddress(input.receiverAddress, 'receiverAddress');
    if (receiver.kind === 'anonymous')
      throw invalidArgument(`receiverAddress must not be ${ANONYMOUS_ADDRESS}`);
    const originatorName = parseDisplayName(input.originatorName, 'originatorName');
    const receiverName = parseDisplayName(input.receiverName, 'receiverName');
    if (input.status !== undefined && input.status !== 'Initial') {
      throw invalidArgument('status is set by the server when a session is created');
    }
    if (input.answer !== undefined) throw invalidArgument('answer must not be sent when creating a session');
    const callType = input.callType;
    if (callType !== undefined && callType !== 'REGULAR' && callType !== 'EMERGENCY') {
      throw invalidArgument('callType must be REGULAR or EMERGENCY');
    }
    const emergency = callType === 'EMERGENCY';
    if (receiver.kind === 'emergency' && !emergency) {
      throw invalidArgument('receiverAddress urn:service:sos needs callType EMERGENCY');
    }
    let location = input.locationDetails === undefined ? undefined : parseLocation(input.locationDetails);
    const offer = readWebRtcDescriptor(input.offer, 'offer', 'offer', this.#options.sdpLimits);

    // 403: the registration and the originator must be the caller's.
    const registration = await this.#deps.registrations.recent(registrationId, fresh);
    if (
      registration === undefined ||
      registration.phoneNumber !== auth.phoneNumber ||
      boundToOtherDevice(auth, registration.deviceId)
    ) {
      throw invalidTokenContext('registrationId', 'It must identify an active registration of the caller.');
    }
    if (!this.#isCallers(originator, auth.phoneNumber)) throw invalidTokenContext('originatorAddress');

    // 501 / 400 for emergency calls.
    if (emergency) {
      if (!this.#options.emergency.supported) throw emergencyNotSupported();
      location ??= await this.#options.emergency.lookupAddress?.(auth.phoneNumber);
      if (location === undefined) {
        // createSession documents no EMERGENCY_ADDRESS_MISSING (registration does): its 400 is INVALID_ARGUMENT.
        throw invalidArgument(
          'Emergency address missing: send locationDetails or register an emergency address for the subscriber.',
        );
      }
    }

    const now = this.#deps.clock.now();
    const { endpoint, webrtcAnswer, rtpOffer } = await this.#deps.media.createFromWebRtcOffer(offer);
    const record: MediaSessionRecord = {
      mediaSessionId: this.#deps.ids.mediaSessionId(),
      direction: 'outbound',
      phoneNumber: auth.phoneNumber,
      registrationIds: [registration.registrationId],
      deviceIds: [registration.deviceId],
      originatorAddress: originator.uri,
      ...(originatorName === undefined ? {} : { originatorName }),
      receiverAddress: receiver.uri,
      ...(receiverName === undefined ? {} : { receiverName }),
      status: 'Initial',
      offer: offer.text,
      ...(callType === undefined ? {} : { callType }),
      ...(location === undefined ? {} : { locationDetails: location }),
      callId: this.#deps.ids.callId(),
      owner: this.#deps.nodeId,
      createdAt: now,
      updatedAt: now,
    };
    const invite = this.#buildInvite(
      record,
      originator,
      receiver,
      originatorName,
      auth.phoneNumber,
      rtpOffer,
      emergency,
      location,
    );
    const session = new CallSession(this.#sessionDeps(), { record, endpoint, pendingAnswer: webrtcAnswer });
    this.#adopt(session);
    const created = await session.startOutbound(() => this.#deps.sip.invite(invite), {
      maxActivePerNumber: this.#options.maxActiveSessionsPerNumber,
      // A registration read now was checked against the store just before: no condition (a
      // difference in how it reads back must never refuse every call).
      ...(fresh ? {} : { registration }),
    });
    if (!created.ok) {
      if (created.reason === 'MAX_ACTIVE_SESSIONS') {
        throw new TooManyRequestsError('Too many calls in progress for this phone number.');
      }
      this.#deps.registrations.forget(registrationId);
      if (fresh) throw new Error('a registration read now was found changed');
      return undefined;
    }
    this.emit('created', { session: created.record });
    return toMediaSessionResponse(created.record);
  }

  #isCallers(address: PartyAddress, phoneNumber: string): boolean {
    return address.kind === 'anonymous' || e164Of(address) === phoneNumber;
  }

  #buildInvite(
    record: MediaSessionRecord,
    originator: PartyAddress,
    receiver: PartyAddress,
    originatorName: string | undefined,
    phoneNumber: string,
    sdp: string,
    emergency: boolean,
    location: Location | undefined,
  ): OutgoingInvite {
    const own = phoneNumberUri(phoneNumber, this.#options.sipDomain);
    const anonymous = originator.kind === 'anonymous';
    const target = partyUri(receiver, this.#options.networkDomain);
    return {
      callId: record.callId,
      requestUri: target,
      from: anonymous
        ? { uri: partyUri(originator, this.#options.sipDomain), displayName: sipDisplayName('Anonymous') }
        : {
            uri: own,
            ...(originatorName === undefined ? {} : { displayName: sipDisplayName(originatorName) }),
          },
      to: { uri: target },
      sdp,
      ...(anonymous ? { assertedIdentity: own, privacy: true } : {}),
      ...(emergency && location !== undefined
        ? { emergency: { pidfLo: buildPidfLo(location, phoneNumber, this.#deps.clock.now()) } }
        : {}),
    };
  }

  // ------------------------------------------------------------------ read / update / delete

  async #owned(auth: AuthContext, mediaSessionIdParam: unknown): Promise<MediaSessionRecord> {
    assertSubscriber(auth);
    const id = readIdentifier(mediaSessionIdParam, 'mediaSessionId');
    // A call live on this node is answered from memory: its own record is the
    // authority, and it can be hung up while the store is unreachable.
    const live = this.#byId.get(id);
    const record = live !== undefined && !live.isEnded ? live.record : await this.#deps.store.getSession(id);
    // Another subscriber's session is indistinguishable from a missing one.
    if (
      record === undefined ||
      record.phoneNumber !== auth.phoneNumber ||
      boundToOtherDevice(auth, ...record.deviceIds)
    )
      throw notFound('No media session with this mediaSessionId.');
    return record;
  }

  /** `GET /sessions/{mediaSessionId}`. */
  async get(auth: AuthContext, mediaSessionId: unknown): Promise<MediaSessionResponse> {
    return toMediaSessionResponse(await this.#owned(auth, mediaSessionId));
  }

  /** The live session on this node, or the id of the node handling it; `404` once it ended. */
  #liveOrOwner(record: MediaSessionRecord): CallSession | string {
    const session = this.#byId.get(record.mediaSessionId);
    if (session !== undefined) return session;
    if (record.endedAt !== undefined) throw notFound('The media session has already ended.');
    if (
      this.#deps.forward !== undefined &&
      record.owner !== undefined &&
      record.owner !== this.#deps.nodeId
    ) {
      return record.owner;
    }
    throw unavailable('The media session is handled by another gateway node.');
  }

  /** Has the node handling the call act on it, and answers with its result or its error. */
  async #forward(owner: string, request: NodeRequest): Promise<unknown> {
    let reply: NodeReply;
    try {
      reply = await this.#deps.forward!(owner, request);
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, owner, op: request.op },
        'the node handling a call did not answer',
      );
      throw new ServiceUnavailableError(
        'The gateway node handling the media session is not answering; try again.',
        {
          retryAfter: 2,
        },
      );
    }
    if (!reply.ok) throw new ApiError(reply.error.status, reply.error.code, reply.error.message);
    return reply.result;
  }

  /** `DELETE /sessions/{mediaSessionId}`: cancel, decline or hang up (BYE follows the 204). */
  async delete(auth: AuthContext, mediaSessionId: unknown): Promise<void> {
    const record = await this.#owned(auth, mediaSessionId);
    const target = this.#liveOrOwner(record);
    if (typeof target !== 'string') return target.end();
    await this.#forward(target, {
      op: 'delete-session',
      phoneNumber: record.phoneNumber,
      mediaSessionId: record.mediaSessionId,
    });
  }

  /**
   * A request from another node for a call this node handles, or for the
   * calls of a registration that ended there. Answers like the API would.
   */
  async handleRequest(request: NodeRequest): Promise<NodeReply> {
    try {
      switch (request.op) {
        case 'registration-ended':
          await this.#endCallsOf(request.registrationId, request.reason);
          return { ok: true };
        case 'delete-session':
        case 'update-session': {
          const session = this.#byId.get(request.mediaSessionId);
          if (session === undefined || session.record.phoneNumber !== request.phoneNumber)
            throw notFound('The media session has already ended.');
          if (request.op === 'delete-session') {
            await session.end();
            return { ok: true };
          }
          const updated = await session.updateStatus(this.#readStatusChange(request.body));
          return { ok: true, result: toMediaSessionResponse(updated) };
        }
      }
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, error: error.toErrorInfo() };
      throw error;
    }
  }

  /** `PUT /sessions/{mediaSessionId}/status`. */
  async updateStatus(
    auth: AuthContext,
    mediaSessionId: unknown,
    body: unknown,
  ): Promise<MediaSessionResponse> {
    this.#assertOpen();
    const record = await this.#owned(auth, mediaSessionId);
    const change = this.#readStatusChange(body);
    if (record.endedAt !== undefined) {
      throw invalidArgument(
        `The media session has ended (status ${record.status}); its status cannot change.`,
      );
    }
    const target = this.#liveOrOwner(record);
    if (typeof target === 'string') {
      return (await this.#forward(target, {
        op: 'update-session',
        phoneNumber: record.phoneNumber,
        mediaSessionId: record.mediaSessionId,
        body,
      })) as MediaSessionResponse;
    }
    const updated = await target.updateStatus(change);
    return toMediaSessionResponse(updated);
  }

  #readStatusChange(body: unknown): StatusChange {
    if (!isObject(body)) throw invalidArgument('The request body must be a MediaSessionStatusChange object.');
    const input = body as UpdateSessionStatusInput;
    if (input.status === undefined) throw invalidArgument('status is required');
    if (typeof input.status !== 'string' || !/^[A-Za-z]{1,32}$/.test(input.status))
      throw invalidArgument('status is not a SessionStatus');
    const status = input.status as SessionStatus;
    const known: readonly string[] = [
      'Initial',
      'InProgress',
      'Ringing',
      'Proceeding',
      'Connected',
      'Terminated',
      'Hold',
      'Resume',
      'SessionCancelled',
      'Declined',
      'Failed',
      'Waiting',
      'NoAnswer',
      'NotReachable',
      'Busy',
    ];
    if (!known.includes(status)) throw invalidArgument('status is not a SessionStatus');
    if (!CLIENT_SETTABLE.has(status) && status !== 'Terminated' && status !== 'SessionCancelled') {
      throw invalidArgument(`Status ${status} is reported by the network and cannot be set by a client.`);
    }
    return {
      status,
      ...(input.offer === undefined
        ? {}
        : { offer: readWebRtcDescriptor(input.offer, 'offer', 'offer', this.#options.sdpLimits) }),
      ...(input.answer === undefined
        ? {}
        : { answer: readWebRtcDescriptor(input.answer, 'answer', 'answer', this.#options.sdpLimits) }),
      ...(input.locationDetails === undefined
        ? {}
        : { locationDetails: parseLocation(input.locationDetails) }),
    };
  }

  // ------------------------------------------------------------------ incoming calls

  async #onInvite(invite: IncomingInvite): Promise<void> {
    const sip = this.#deps.sip;
    const reject = (status: number, why: string) => {
      this.#deps.logger.info({ callId: invite.callId, status, why }, 'incoming INVITE rejected');
      return sip.reject(invite.callId, { status }).catch((error: unknown) => {
        this.#deps.logger.warn({ err: error, callId: invite.callId }, 'rejecting an INVITE failed');
      });
    };
    try {
      if (this.#closing) return await reject(503, 'shutting down');
      const phoneNumber = phoneNumberFromUri(invite.requestUri) ?? phoneNumberFromUri(invite.to.uri);
      if (phoneNumber === undefined) return await reject(404, 'the Request-URI names no subscriber number');
      const registrations = await this.#deps.registrations.activeFor(phoneNumber);
      if (registrations.length === 0) return await reject(480, 'the subscriber has no active registration');
      const deviceIds = [...new Set(registrations.map((r) => r.deviceId))];
      if (this.#options.acceptInbound && !(await this.#options.acceptInbound({ phoneNumber, deviceIds }))) {
        return await reject(480, 'nobody subscribed to session-invitation for the subscriber');
      }
      let media: { endpoint: MediaEndpoint; webrtcOffer: string; rtpAnswer?: string; rtpOffer?: string };
      try {
        if (invite.sdp === undefined) {
          // Late offer (RFC 3261 §13.2.1): the gateway offers both legs, the SIP one in its 200.
          const backend = this.#deps.media;
          if (backend.createOffers === undefined)
            return await reject(488, 'the media backend cannot make the offer of a late-offer INVITE');
          media = await backend.createOffers();
        } else {
          let rtpOffer: ReturnType<typeof parseRtpSdp>;
          try {
            rtpOffer = parseRtpSdp(invite.sdp, 'INVITE SDP', this.#options.sdpLimits);
          } catch {
            return await reject(488, 'unusable SDP offer');
          }
          media = await this.#deps.media.createFromRtpOffer(rtpOffer);
        }
      } catch (error) {
        // No codec the gateway relays (RFC 3261 §21.4.26: 488 Not Acceptable Here).
        if (error instanceof InvalidArgumentError) return await reject(488, error.message);
        throw error;
      }
      const { endpoint, webrtcOffer } = media;
      const now = this.#deps.clock.now();
      const originatorName = cleanDisplayName(invite.from.displayName);
      const receiverName = cleanDisplayName(invite.to.displayName);
      const record: MediaSessionRecord = {
        mediaSessionId: this.#deps.ids.mediaSessionId(),
        direction: 'inbound',
        phoneNumber,
        registrationIds: registrations.map((r) => r.registrationId),
        deviceIds,
        originatorAddress: addressFromNetwork(invite.from.uri),
        ...(originatorName === undefined ? {} : { originatorName }),
        receiverAddress: telAddress(phoneNumber),
        ...(receiverName === undefined ? {} : { receiverName }),
        status: 'Initial',
        offer: webrtcOffer,
        callId: invite.callId,
        owner: this.#deps.nodeId,
        createdAt: now,
        updatedAt: now,
      };
      const session = new CallSession(this.#sessionDeps(), {
        record,
        endpoint,
        ...(media.rtpAnswer === undefined ? {} : { rtpAnswer: media.rtpAnswer }),
        ...(media.rtpOffer === undefined ? {} : { rtpOffer: media.rtpOffer }),
      });
      this.#adopt(session);
      const created = await session.startInbound();
      this.emit('created', { session: created });
    } catch (error) {
      if (isStoreUnavailable(error)) {
        this.#deps.logger.warn(
          { callId: invite.callId },
          'incoming INVITE refused: the store is unavailable',
        );
        await reject(503, 'store unavailable');
        return;
      }
      this.#deps.logger.error({ err: error, callId: invite.callId }, 'incoming INVITE failed');
      await reject(500, 'internal error');
    }
  }

  // ------------------------------------------------------------------ registrations

  /**
   * A registration ended: sessions that depended only on it are ended (BYE,
   * CANCEL or 480), and their final events published, before this resolves.
   */
  async registrationEnded(registrationId: string, reason: string): Promise<void> {
    await this.#endCallsOf(registrationId, reason);
    if (this.#deps.forward === undefined) return;
    // Calls of the registration handled by other nodes end there.
    let owners: Set<string>;
    try {
      const sessions = await this.#deps.store.findSessions({ registrationId });
      owners = new Set(
        sessions
          .filter((s) => s.endedAt === undefined && s.owner !== undefined && s.owner !== this.#deps.nodeId)
          .map((s) => s.owner!),
      );
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, registrationId },
        'looking for calls of an ended registration failed',
      );
      return;
    }
    await Promise.all(
      [...owners].map((owner) =>
        this.#forward(owner, { op: 'registration-ended', registrationId, reason }).catch((error: unknown) => {
          this.#deps.logger.warn({ err: error, owner, registrationId }, 'another node did not end its calls');
        }),
      ),
    );
  }

  async #endCallsOf(registrationId: string, reason: string): Promise<void> {
    const affected = this.live.filter((s) => s.record.registrationIds.includes(registrationId));
    await Promise.all(
      affected.map(async (session) => {
        const orphaned = await session.detachRegistration(registrationId);
        if (orphaned) await session.terminate(reason);
      }),
    );
  }

  /**
   * Stores every live call of this node again (the store lost them: a Redis
   * restarted empty), so each stays reachable; failing writes are retried.
   */
  async republish(): Promise<void> {
    const { store, writes } = this.#deps;
    for (const session of this.live) {
      if (session.isEnded) continue;
      await writes.run(`session:${session.id}`, () => store.saveSession(session.record));
    }
  }

  /**
   * Node `nodeId` stopped without ending its calls (its lease ran out, and
   * this node claimed it): each of its unfinished sessions becomes `Failed`,
   * with a `session-status` event. Its SIP dialog and media went with the node;
   * the stored record leaves after the retention (its TTL).
   */
  async takeOver(nodeId: string): Promise<void> {
    const { store, clock, publish, logger } = this.#deps;
    for (const record of await store.findSessions({ owner: nodeId })) {
      if (record.endedAt !== undefined) continue;
      const now = clock.now();
      const ended: MediaSessionRecord = { ...record, status: 'Failed', updatedAt: now, endedAt: now };
      // Numbered first: a failure before the save leaves the call to the next try, event included.
      const sequenceNumber = await store.nextSequence(`session:${record.mediaSessionId}`);
      await store.saveSession(ended);
      logger.info({ mediaSessionId: record.mediaSessionId, nodeId }, 'call of a dead node ended as Failed');
      publish({
        type: 'session-status',
        at: now,
        session: ended,
        sequenceNumber,
        reason: 'The gateway node handling the call stopped',
        includeSdp: false,
      });
    }
  }

  /** Ends every live call (BYE/CANCEL/480) and stops the timers; sessions stay stored. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#inflight.allSettled();
    await Promise.allSettled(this.live.map((s) => s.terminate('Gateway shutting down')));
    for (const session of this.live) await session.close();
    for (const off of this.#unsubscribe) off();
    this.#discard.clear();
    this.removeAllListeners();
  }
}
