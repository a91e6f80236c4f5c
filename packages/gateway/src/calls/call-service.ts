import type { MediaSessionResponse, SessionStatus } from '../api-types.js';
import { type AuthContext, assertSubscriber, boundToOtherDevice } from '../auth/auth.js';
import { type Clock, TimerSet } from '../core/clock.js';
import { TypedEmitter } from '../core/emitter.js';
import type { IdGenerator } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import {
  emergencyNotSupported,
  invalidArgument,
  invalidTokenContext,
  notFound,
  TooManyRequestsError,
  unavailable,
} from '../errors.js';
import type { EventPublisher } from '../events/domain-events.js';
import { type Location, parseLocation } from '../location/location.js';
import { buildPidfLo } from '../location/pidf-lo.js';
import type { MediaBackend } from '../network/media-backend.js';
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
import type { MediaSessionRecord, RegistrationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { CallSession, type CallSessionEvents, type CallTimings, type StatusChange } from './call-session.js';
import { CLIENT_SETTABLE } from './status-rules.js';

/** What the call service needs to know about registrations (implemented by `RegistrationService`). */
export interface ActiveRegistrations {
  /** The registration if it exists and has not expired. */
  active(registrationId: string): Promise<RegistrationRecord | undefined>;
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
  store: Store;
  sip: SipBackend;
  media: MediaBackend;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  publish: EventPublisher;
  registrations: ActiveRegistrations;
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
  readonly #discard: TimerSet<string>;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #inflight = new Set<Promise<unknown>>();
  #closing = false;

  constructor(deps: CallServiceDeps, options: CallServiceOptions) {
    super(deps.logger);
    this.#deps = deps;
    this.#options = options;
    this.#discard = new TimerSet(deps.clock);
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
      sip.on('invite', (invite) => this.#track(this.#onInvite(invite))),
    );
  }

  #track(work: Promise<unknown>): void {
    this.#inflight.add(work);
    void work.finally(() => this.#inflight.delete(work));
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
      await Promise.allSettled([...this.#inflight]);
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
      this.#discard.setAfter(record.mediaSessionId, this.#options.endedSessionRetentionMs, () => {
        this.#track(this.#forget(record.mediaSessionId));
      });
    });
  }

  async #forget(mediaSessionId: string): Promise<void> {
    await this.#deps.store.deleteSession(mediaSessionId);
    await this.#deps.store.deleteSequence(`session:${mediaSessionId}`);
  }

  #sessionDeps() {
    const { store, sip, clock, logger, publish } = this.#deps;
    return { store, sip, clock, logger, publish, timings: this.#options.timings };
  }

  // ------------------------------------------------------------------ createSession

  /** `POST /sessions`: places a call from the caller's registration to `receiverAddress`. */
  async create(
    auth: AuthContext,
    registrationIdHeader: unknown,
    body: unknown,
  ): Promise<MediaSessionResponse> {
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
    const registration = await this.#deps.registrations.active(registrationId);
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

    const active = (await this.#deps.store.findSessions({ phoneNumber: auth.phoneNumber })).filter(
      (s) => s.endedAt === undefined,
    );
    if (active.length >= this.#options.maxActiveSessionsPerNumber) {
      throw new TooManyRequestsError('Too many calls in progress for this phone number.');
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
    const created = await session.startOutbound(() => this.#deps.sip.invite(invite));
    this.emit('created', { session: created });
    return toMediaSessionResponse(created);
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
    const record = await this.#deps.store.getSession(id);
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

  #liveOrFail(record: MediaSessionRecord): CallSession {
    const session = this.#byId.get(record.mediaSessionId);
    if (session !== undefined) return session;
    if (record.endedAt !== undefined) throw notFound('The media session has already ended.');
    throw unavailable('The media session is handled by another gateway node.');
  }

  /** `DELETE /sessions/{mediaSessionId}`: cancel, decline or hang up (BYE follows the 204). */
  async delete(auth: AuthContext, mediaSessionId: unknown): Promise<void> {
    const record = await this.#owned(auth, mediaSessionId);
    await this.#liveOrFail(record).end();
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
    const updated = await this.#liveOrFail(record).updateStatus(change);
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
      if (invite.sdp === undefined) return await reject(488, 'late-offer INVITEs are not supported');
      let rtpOffer: ReturnType<typeof parseRtpSdp>;
      try {
        rtpOffer = parseRtpSdp(invite.sdp, 'INVITE SDP', this.#options.sdpLimits);
      } catch {
        return await reject(488, 'unusable SDP offer');
      }
      const { endpoint, rtpAnswer, webrtcOffer } = await this.#deps.media.createFromRtpOffer(rtpOffer);
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
        createdAt: now,
        updatedAt: now,
      };
      const session = new CallSession(this.#sessionDeps(), { record, endpoint, rtpAnswer });
      this.#adopt(session);
      const created = await session.startInbound();
      this.emit('created', { session: created });
    } catch (error) {
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
    const affected = this.live.filter((s) => s.record.registrationIds.includes(registrationId));
    await Promise.all(
      affected.map(async (session) => {
        const orphaned = await session.detachRegistration(registrationId);
        if (orphaned) await session.terminate(reason);
      }),
    );
  }

  /** Ends every live call (BYE/CANCEL/480) and stops the timers; sessions stay stored. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#inflight]);
    await Promise.allSettled(this.live.map((s) => s.terminate('Gateway shutting down')));
    for (const session of this.live) await session.close();
    for (const off of this.#unsubscribe) off();
    this.#discard.clear();
    this.removeAllListeners();
  }
}
