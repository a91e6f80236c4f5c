import type { SessionStatus } from '../api-types.js';
import { type Clock, TimerSet } from '../core/clock.js';
import { copyRecord } from '../core/copy.js';
import { TypedEmitter } from '../core/emitter.js';
import { InflightWork } from '../core/inflight.js';
import type { Logger } from '../core/logger.js';
import { SerialQueue } from '../core/serial-queue.js';
import {
  InvalidArgumentError,
  invalidArgument,
  isStoreUnavailable,
  notFound,
  unavailable,
} from '../errors.js';
import type { EventPublisher } from '../events/domain-events.js';
import type { Location } from '../location/location.js';
import type { MediaEndpoint } from '../network/media-backend.js';
import type { ProvisionalStatus, SipBackend } from '../network/sip-backend.js';
import { parseSdp } from '../sdp/parse.js';
import { type CheckedRtpSdp, checkRtpSdp } from '../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../sdp/webrtc.js';
import type { DeferredWrites } from '../store/deferred-writes.js';
import { type CreateSessionOutcome, isFinalStatus, type MediaSessionRecord } from '../store/records.js';
import type { NumberedSave, SessionConditions, Store } from '../store/store.js';
import { ESTABLISHED, failureStatus, PRE_ANSWER, provisionalStatus } from './status-rules.js';

export interface CallTimings {
  /** An outgoing call not answered within this is cancelled as `NoAnswer` (default 120 s). */
  noAnswerTimeoutMs: number;
  /** An incoming call the device does not answer within this is rejected (480) as `NoAnswer` (default 120 s). */
  inboundAnswerTimeoutMs: number;
  /** After a CANCEL, how long to wait for the 487 before ending anyway (64×T1 = 32 s, RFC 3261 §9.1). */
  cancelTimeoutMs: number;
}

export interface CallSessionDeps {
  store: Store;
  /** Writes of the record that the store could not take now are retried here (the call goes on). */
  writes: DeferredWrites;
  sip: SipBackend;
  clock: Clock;
  logger: Logger;
  publish: EventPublisher;
  timings: CallTimings;
}

/** A validated `updateSessionStatus` request. */
export interface StatusChange {
  status: SessionStatus;
  offer?: CheckedWebRtcSdp;
  answer?: CheckedWebRtcSdp;
  locationDetails?: Location;
}

/** Who caused a change: the API client, the SIP side, or the gateway itself (timers, registration end, shutdown). */
export type ChangeCause = 'client' | 'network' | 'gateway';

export interface CallSessionEvents {
  /** Every state change, notified or not. */
  status: { session: MediaSessionRecord; previous: SessionStatus; cause: ChangeCause; reason: string };
  /** The session reached a final state; its media endpoint is closed. */
  ended: { session: MediaSessionRecord };
}

type Ending = { status: SessionStatus; reason: string };

const copy = copyRecord;

/**
 * One media session: its stored record, its SIP dialog (by Call-ID) and its
 * media endpoint, which it owns and closes. Every API request and network
 * event for the call runs through one serial queue, so they never interleave;
 * state changes follow the call flows of CAMARA WebRTC (call-flows/*.md) and
 * each change the API client did not make itself is published as a
 * `session-status` event with the next per-session `sequenceNumber`.
 */
export class CallSession extends TypedEmitter<CallSessionEvents> {
  readonly id: string;
  readonly callId: string;
  #record: MediaSessionRecord;
  readonly #endpoint: MediaEndpoint;
  readonly #deps: CallSessionDeps;
  readonly #queue = new SerialQueue();
  readonly #timers: TimerSet<'answer-timeout' | 'cancel-timeout'>;
  /** Work started by a task but finished outside the queue (BYE/CANCEL round trips). */
  readonly #inflight = new InflightWork((error) =>
    this.#deps.logger.error({ err: error, mediaSessionId: this.id }, 'call work failed'),
  );
  /** Outgoing call: the gateway's WebRTC answer, revealed with the first SDP from the far end. */
  #pendingAnswer: string | undefined;
  /** Incoming call: the RTP answer for the network, sent with 183/200. */
  readonly #rtpAnswer: string | undefined;
  /** Incoming late-offer call (INVITE without SDP): the gateway's RTP offer for the 200; the answer comes with the ACK. */
  readonly #rtpOffer: string | undefined;
  #webrtcAnswerApplied = false;
  /** Set once the gateway started ending the call: what the final state will be. */
  #ending: Ending | undefined;
  #ended = false;
  readonly #whenEnded: Promise<void>;
  #resolveEnded: () => void = () => {};

  constructor(
    deps: CallSessionDeps,
    init: {
      record: MediaSessionRecord;
      endpoint: MediaEndpoint;
      pendingAnswer?: string;
      rtpAnswer?: string;
      rtpOffer?: string;
    },
  ) {
    super(deps.logger);
    this.#deps = deps;
    this.#record = copy(init.record);
    this.id = init.record.mediaSessionId;
    this.callId = init.record.callId;
    this.#endpoint = init.endpoint;
    this.#pendingAnswer = init.pendingAnswer;
    this.#rtpAnswer = init.rtpAnswer;
    this.#rtpOffer = init.rtpOffer;
    this.#timers = new TimerSet(deps.clock);
    this.#whenEnded = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    // A device whose media is gone (page closed, ICE/DTLS failed) is not coming back: end the call
    // (BYE, or CANCEL before an answer) rather than leave the far end talking to nobody.
    init.endpoint.onFailure?.((reason) =>
      this.#onNetwork('media-failure', () =>
        this.#beginEnd({ status: 'Failed', reason: `Media with the device failed: ${reason}` }, 'gateway'),
      ),
    );
  }

  /** Resolves when the session has reached a final state (or was closed). */
  whenEnded(): Promise<void> {
    return this.#whenEnded;
  }

  /** A copy of the current record. */
  get record(): MediaSessionRecord {
    return copy(this.#record);
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  /** Whether work is queued or a BYE/CANCEL round trip is pending. */
  get busy(): boolean {
    return this.#queue.pending > 0 || this.#inflight.size > 0;
  }

  /** Resolves once queued work and pending BYE/CANCEL round trips have finished. */
  async idle(): Promise<void> {
    do {
      await this.#queue.idle();
      await this.#inflight.allSettled();
    } while (this.#queue.pending > 0 || this.#inflight.size > 0);
  }

  /** Runs `task` in the session's queue. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.#queue.run(task);
  }

  /** Queues a network event handler; its failure is logged (there is no one to answer). */
  #onNetwork(what: string, task: () => Promise<void>): void {
    this.#queue.run(task).catch((error: unknown) => {
      this.#deps.logger.error(
        { err: error, mediaSessionId: this.id, event: what },
        'SIP event handling failed',
      );
    });
  }

  /**
   * Stores the current record. The node holding the call is its authority:
   * when the store cannot take the write now it is retried in the background
   * (the latest record then), and the call goes on.
   */
  #persist(): Promise<boolean> {
    return this.#deps.writes.run(`session:${this.id}`, () => this.#deps.store.saveSession(this.record));
  }

  /** The record was never stored, or must not stay: frees the session, as if it had ended, and rethrows. */
  async #abandon(error: unknown): Promise<never> {
    await this.#free(true);
    throw error;
  }

  /** Frees a session whose record is not to stay (removed from the store when `stored` may be), as if it had ended. */
  async #free(stored: boolean): Promise<void> {
    this.#ended = true;
    this.#resolveEnded();
    this.#timers.clear();
    if (stored) {
      await this.#deps.writes.run(`session:${this.id}`, () => this.#deps.store.deleteSession(this.id));
    }
    await this.#endpoint.close().catch(() => {});
    this.emit('ended', { session: this.record });
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Outgoing call: persists the record under `conditions`, sends the INVITE and arms the
   * no-answer timer. A condition the store found unmet frees the session (nothing was sent)
   * and is answered.
   */
  async startOutbound(
    invite: () => Promise<void>,
    conditions: SessionConditions = {},
  ): Promise<{ ok: true; record: MediaSessionRecord } | Extract<CreateSessionOutcome, { ok: false }>> {
    return this.#queue.run(async () => {
      try {
        const created = await this.#deps.store.createSession(this.#record, conditions);
        if (!created.ok) {
          await this.#free(false);
          return created;
        }
      } catch (error) {
        return this.#abandon(error);
      }
      try {
        await invite();
      } catch (error) {
        this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, 'INVITE could not be sent');
        return this.#abandon(unavailable('The telephony network could not be reached; try again later.'));
      }
      this.#timers.setAfter('answer-timeout', this.#deps.timings.noAnswerTimeoutMs, () =>
        this.#onNetwork('no-answer-timeout', () =>
          this.#beginEnd(
            {
              status: 'NoAnswer',
              reason: `No answer within ${this.#deps.timings.noAnswerTimeoutMs / 1000} s`,
            },
            'gateway',
          ),
        ),
      );
      return { ok: true, record: this.record };
    });
  }

  /** Incoming call: persists the record, publishes `session-invitation` (sequence 1) and arms the answer timer. */
  async startInbound(): Promise<MediaSessionRecord> {
    return this.#queue.run(async () => {
      let sequenceNumber: number;
      try {
        await this.#deps.store.createSession(this.#record);
        sequenceNumber = await this.#deps.store.nextSequence(`session:${this.id}`);
      } catch (error) {
        return this.#abandon(error);
      }
      this.#deps.publish({
        type: 'session-invitation',
        at: this.#deps.clock.now(),
        session: this.record,
        sequenceNumber,
      });
      this.#timers.setAfter('answer-timeout', this.#deps.timings.inboundAnswerTimeoutMs, () =>
        this.#onNetwork('answer-timeout', async () => {
          if (!PRE_ANSWER.has(this.#record.status) || this.#ending) return;
          await this.#deps.sip.reject(this.callId, { status: 480, reason: 'Temporarily Unavailable' });
          await this.#transition('NoAnswer', {
            reason: `Not answered within ${this.#deps.timings.inboundAnswerTimeoutMs / 1000} s`,
            cause: 'gateway',
            notify: true,
          });
        }),
      );
      return this.record;
    });
  }

  // ---------------------------------------------------------------- state changes

  async #transition(
    status: SessionStatus,
    options: { reason: string; cause: ChangeCause; notify: boolean; includeSdp?: boolean },
  ): Promise<void> {
    if (this.#ended) return;
    const previous = this.#record.status;
    const now = this.#deps.clock.now();
    this.#record.status = status;
    this.#record.updatedAt = now;
    const final = isFinalStatus(status);
    if (final) this.#record.endedAt = now;
    let numbered: Partial<NumberedSave> | undefined;
    if (options.notify) numbered = await this.#persistNumbered(status);
    else await this.#persist();
    if (numbered?.sequenceNumber !== undefined) {
      this.#deps.publish({
        type: 'session-status',
        at: now,
        session: this.record,
        sequenceNumber: numbered.sequenceNumber,
        ...(numbered.subscriptionsVersion === undefined
          ? {}
          : { subscriptionsVersion: numbered.subscriptionsVersion }),
        reason: options.reason,
        includeSdp: options.includeSdp ?? false,
      });
    }
    this.emit('status', { session: this.record, previous, cause: options.cause, reason: options.reason });
    if (final) await this.#finish();
  }

  /**
   * Stores the current record and takes the next `sequenceNumber` of the session's events in
   * the same store call (with the version of the number's subscriptions then). When that
   * write cannot be made now (it is then retried in the background, as `#persist`'s), the
   * number is asked for on its own; `undefined` when the store gives none.
   */
  async #persistNumbered(status: SessionStatus): Promise<Partial<NumberedSave> | undefined> {
    const key = `session:${this.id}`;
    let numbered: NumberedSave | undefined;
    let first = true;
    const written = await this.#deps.writes.run(key, async () => {
      // A retry in the background stores the record only: its event was not sent.
      if (!first) return this.#deps.store.saveSession(this.record);
      first = false;
      numbered = await this.#deps.store.saveSession(this.record, key);
    });
    if (written) return numbered;
    // Kept for later, or put in the place of a write already waiting: it will store the record only.
    first = false;
    const sequenceNumber = await this.#nextSequence(status);
    return sequenceNumber === undefined ? undefined : { sequenceNumber };
  }

  /** The next `sequenceNumber` of the session's events; `undefined` (the event is not sent) when the store fails. */
  async #nextSequence(status: SessionStatus): Promise<number | undefined> {
    try {
      return await this.#deps.store.nextSequence(`session:${this.id}`);
    } catch (error) {
      this.#deps.logger[isStoreUnavailable(error) ? 'warn' : 'error'](
        { err: error, mediaSessionId: this.id, status },
        'session-status event not sent: no sequence number from the store',
      );
      return undefined;
    }
  }

  async #finish(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#resolveEnded();
    this.#timers.clear();
    try {
      await this.#endpoint.close();
    } catch (error) {
      this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, 'closing the media endpoint failed');
    }
    this.emit('ended', { session: this.record });
  }

  async #save(): Promise<void> {
    this.#record.updatedAt = this.#deps.clock.now();
    await this.#persist();
  }

  /** Parses SDP from the network; `undefined` (logged) when it is unusable. */
  #networkSdp(sdp: string | undefined, what: string): CheckedRtpSdp | undefined {
    if (sdp === undefined) return undefined;
    try {
      return checkRtpSdp(parseSdp(sdp, what), what);
    } catch (error) {
      this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, `unusable SDP in ${what}`);
      return undefined;
    }
  }

  /**
   * Gives the far end's answer to the media endpoint; `undefined` when taken, else why it was
   * refused (a codec the gateway did not offer, no codec it can relay).
   */
  async #refusedRtpAnswer(remote: CheckedRtpSdp): Promise<string | undefined> {
    try {
      await this.#endpoint.setRtpAnswer(remote);
      return undefined;
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, 'the far end answered unusable SDP');
      return error.message;
    }
  }

  // ---------------------------------------------------------------- network events

  onProvisional(event: { status: ProvisionalStatus; reason: string; sdp?: string }): void {
    this.#onNetwork('provisional', async () => {
      if (this.#ended || this.#ending || !PRE_ANSWER.has(this.#record.status)) return;
      const status = provisionalStatus(event.status);
      const remote = this.#networkSdp(event.sdp, `${event.status} SDP`);
      let includeSdp = false;
      if (remote !== undefined) {
        const unusable = await this.#refusedRtpAnswer(remote);
        if (unusable !== undefined) {
          // No media could ever flow (no common codec): cancel rather than connect a silent call.
          this.#beginEndInQueue(
            { status: 'Failed', reason: `The remote endpoint answered with unusable SDP: ${unusable}` },
            'gateway',
          );
          return;
        }
        if (this.#pendingAnswer !== undefined) {
          this.#record.answer = this.#pendingAnswer;
          this.#pendingAnswer = undefined;
          includeSdp = true;
        }
      }
      if (status === this.#record.status && !includeSdp) return;
      await this.#transition(status, {
        reason: `${event.status} ${event.reason} received from remote endpoint`,
        cause: 'network',
        notify: true,
        includeSdp,
      });
    });
  }

  onAnswered(event: { sdp: string }): void {
    this.#onNetwork('answered', async () => {
      if (this.#ended) return;
      if (this.#ending) {
        // The 200 crossed our CANCEL (RFC 3261 §9.1): the dialog exists, end it with BYE.
        await this.#deps.sip.bye(this.callId);
        await this.#transition(this.#ending.status, {
          reason: this.#ending.reason,
          cause: 'gateway',
          notify: true,
        });
        return;
      }
      const remote = this.#networkSdp(event.sdp, '200 OK SDP');
      const unusable = remote === undefined ? '' : await this.#refusedRtpAnswer(remote);
      if (unusable !== undefined) {
        // The dialog exists (the 200 is acknowledged) but no media can flow: end it at once.
        await this.#deps.sip.bye(this.callId);
        await this.#transition('Failed', {
          reason: `The remote endpoint answered with unusable SDP${unusable === '' ? '' : `: ${unusable}`}`,
          cause: 'network',
          notify: true,
        });
        return;
      }
      this.#timers.delete('answer-timeout');
      if (this.#pendingAnswer !== undefined) {
        this.#record.answer = this.#pendingAnswer;
        this.#pendingAnswer = undefined;
      }
      await this.#transition('Connected', {
        reason: '200 OK received - call connected',
        cause: 'network',
        notify: true,
        includeSdp: true,
      });
    });
  }

  /**
   * The ACK of the 200 that carried the gateway's offer (late-offer INVITE):
   * its SDP is the caller's answer. Without a usable one the call has no media
   * and ends with BYE (RFC 3261 §13.3.1.4 leaves the UAS no other way out).
   */
  onAcknowledged(event: { sdp?: string }): void {
    this.#onNetwork('acknowledged', async () => {
      if (this.#ended || this.#ending || this.#rtpOffer === undefined) return;
      const remote = this.#networkSdp(event.sdp, 'ACK SDP');
      if (remote !== undefined) {
        try {
          await this.#endpoint.setRtpAnswer(remote);
          return;
        } catch (error) {
          this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, 'unusable SDP answer in ACK');
        }
      }
      this.#beginEndInQueue(
        {
          status: 'Failed',
          reason:
            event.sdp === undefined
              ? 'The caller acknowledged the offer without an SDP answer'
              : 'The caller answered the offer with unusable SDP',
        },
        'network',
      );
    });
  }

  onFailed(event: { status: number; reason: string }): void {
    this.#onNetwork('failed', async () => {
      if (this.#ended) return;
      this.#timers.delete('cancel-timeout');
      if (this.#ending && event.status === 487) {
        await this.#transition(this.#ending.status, {
          reason: this.#ending.reason,
          cause: 'gateway',
          notify: true,
        });
        return;
      }
      const wasAlerting = this.#record.status === 'Ringing';
      await this.#transition(failureStatus(event.status, wasAlerting), {
        reason: `${event.status} ${event.reason} received from remote endpoint`,
        cause: 'network',
        notify: true,
      });
    });
  }

  onCancelled(): void {
    this.#onNetwork('cancelled', async () => {
      if (this.#ended) return;
      await this.#transition('SessionCancelled', {
        reason: 'Call cancelled by originator',
        cause: 'network',
        notify: true,
      });
    });
  }

  onBye(): void {
    this.#onNetwork('bye', async () => {
      if (this.#ended) return;
      const reason =
        this.#record.direction === 'outbound'
          ? 'Call terminated by receiver'
          : 'Call terminated by originator';
      await this.#transition('Terminated', { reason, cause: 'network', notify: true });
    });
  }

  onReinvite(event: { sdp: string; hold: boolean }): void {
    this.#onNetwork('reinvite', async () => {
      if (this.#ended) return;
      const offer = this.#networkSdp(event.sdp, 're-INVITE SDP');
      if (offer === undefined || !ESTABLISHED.has(this.#record.status) || this.#ending) {
        await this.#deps.sip.reject(this.callId, { status: offer === undefined ? 488 : 491 });
        return;
      }
      const answer = await this.#endpoint.updateRtp(offer);
      await this.#deps.sip.answer(this.callId, { status: 200, sdp: answer });
      const held = offer.audio.direction === 'sendonly' || offer.audio.direction === 'inactive';
      const status: SessionStatus = held ? 'Hold' : 'Resume';
      const wasHeld = this.#record.status === 'Hold';
      if (held === wasHeld) return; // a session refresh, nothing changed for the API
      await this.#transition(status, {
        reason: held ? 'Call put on hold by remote endpoint' : 'Call resumed by remote endpoint',
        cause: 'network',
        notify: true,
      });
    });
  }

  // ---------------------------------------------------------------- client requests

  /** `updateSessionStatus`: answer, report ringing, decline, hold, resume, renegotiate. */
  updateStatus(change: StatusChange): Promise<MediaSessionRecord> {
    return this.#queue.run(async () => {
      const current = this.#record.status;
      if (this.#ended || isFinalStatus(current)) {
        throw invalidArgument(`The media session has ended (status ${current}); its status cannot change.`);
      }
      if (this.#ending) throw invalidArgument('The media session is being ended; its status cannot change.');
      this.#checkSdpFields(change);
      if (change.locationDetails !== undefined) this.#record.locationDetails = change.locationDetails;
      if (change.status === current) {
        if (change.offer !== undefined && change.offer.text !== this.#record.offer) {
          await this.#renegotiate(change.offer);
        } else if (change.answer !== undefined && !this.#webrtcAnswerApplied) {
          await this.#applyAnswer(change.answer);
          // The early 183 went out without SDP; a reliable 183 may now carry the answer (RFC 3262).
          if (current === 'InProgress' && this.#rtpAnswer !== undefined) {
            await this.#deps.sip.answer(this.callId, { status: 183, sdp: this.#rtpAnswer });
          }
        }
        await this.#save();
        return this.record;
      }
      const inbound = this.#record.direction === 'inbound';
      switch (change.status) {
        case 'InProgress':
        case 'Ringing':
        case 'Waiting':
        case 'Connected':
        case 'Declined':
        case 'Busy': {
          if (!inbound) {
            throw invalidArgument(
              `Only the called party can set status ${change.status}; this is an outgoing call.`,
            );
          }
          if (!PRE_ANSWER.has(current)) {
            throw invalidArgument(`Cannot change status from ${current} to ${change.status}.`);
          }
          await this.#answerInbound(change);
          return this.record;
        }
        case 'Hold':
        case 'Resume': {
          const allowed =
            change.status === 'Hold' ? current === 'Connected' || current === 'Resume' : current === 'Hold';
          if (!allowed) throw invalidArgument(`Cannot change status from ${current} to ${change.status}.`);
          await this.#hold(change.status === 'Hold', change.offer);
          return this.record;
        }
        case 'Terminated':
        case 'SessionCancelled':
          throw invalidArgument(
            `Status ${change.status} is set by ending the session with DELETE /sessions/{mediaSessionId}.`,
          );
        default:
          throw invalidArgument(
            `Status ${change.status} is reported by the network and cannot be set by a client.`,
          );
      }
    });
  }

  /** `offer`/`answer` in a status change must fit the call's direction and what was already negotiated. */
  #checkSdpFields(change: StatusChange): void {
    const inbound = this.#record.direction === 'inbound';
    const renegotiation =
      change.status === 'Hold' || change.status === 'Resume' || change.status === this.#record.status;
    if (change.offer !== undefined && change.offer.text !== this.#record.offer) {
      if (!renegotiation || (inbound && PRE_ANSWER.has(this.#record.status))) {
        throw invalidArgument('offer can only change with Hold, Resume or an update that keeps the status.');
      }
    }
    if (change.answer !== undefined && change.answer.text !== this.#record.answer) {
      if (!inbound) throw invalidArgument('answer is set by the gateway for an outgoing call.');
      if (this.#webrtcAnswerApplied) throw invalidArgument('answer was already given for this session.');
      if (!PRE_ANSWER.has(this.#record.status))
        throw invalidArgument('answer is only accepted before the call is connected.');
    }
  }

  async #applyAnswer(answer: CheckedWebRtcSdp): Promise<void> {
    await this.#endpoint.setWebRtcAnswer(answer);
    this.#record.answer = answer.text;
    this.#webrtcAnswerApplied = true;
  }

  async #answerInbound(change: StatusChange): Promise<void> {
    const sip = this.#deps.sip;
    if (change.answer !== undefined && !this.#webrtcAnswerApplied) await this.#applyAnswer(change.answer);
    switch (change.status) {
      case 'InProgress':
        // 183 with SDP opens early media once the device's answer is known (call flow 3.4.1 [17]).
        await sip.answer(this.callId, {
          status: 183,
          ...(this.#webrtcAnswerApplied && this.#rtpAnswer !== undefined ? { sdp: this.#rtpAnswer } : {}),
        });
        break;
      case 'Ringing':
        await sip.answer(this.callId, { status: 180 });
        break;
      case 'Waiting':
        await sip.answer(this.callId, { status: 182 });
        break;
      case 'Connected':
        if (!this.#webrtcAnswerApplied) {
          throw invalidArgument('answer (the device SDP answer) is required to accept the call.');
        }
        // A late-offer INVITE gets the gateway's offer in the 200; its answer comes with the ACK.
        await sip.answer(this.callId, {
          status: 200,
          ...(this.#rtpAnswer === undefined ? {} : { sdp: this.#rtpAnswer }),
          ...(this.#rtpOffer === undefined ? {} : { sdp: this.#rtpOffer }),
        });
        this.#timers.delete('answer-timeout');
        break;
      case 'Declined':
        await sip.reject(this.callId, { status: 603, reason: 'Decline' });
        break;
      case 'Busy':
        await sip.reject(this.callId, { status: 486, reason: 'Busy Here' });
        break;
      default:
        throw new Error(`unreachable: ${change.status}`);
    }
    const reasons: Partial<Record<SessionStatus, string>> = {
      InProgress: 'Session progress sent to remote endpoint',
      Ringing: 'Ringing sent to remote endpoint',
      Waiting: 'Call queued',
      Connected: 'Call answered',
      Declined: 'Call declined by receiver',
      Busy: 'Receiver busy',
    };
    await this.#transition(change.status, {
      reason: reasons[change.status] ?? change.status,
      cause: 'client',
      notify: false,
    });
  }

  async #renegotiate(offer: CheckedWebRtcSdp): Promise<void> {
    const answer = await this.#endpoint.renegotiateWebRtc(offer);
    this.#record.offer = offer.text;
    this.#record.answer = answer;
    this.#pendingAnswer = undefined;
  }

  async #hold(held: boolean, offer: CheckedWebRtcSdp | undefined): Promise<void> {
    if (offer !== undefined && offer.text !== this.#record.offer) await this.#renegotiate(offer);
    const rtpOffer = await this.#endpoint.hold(held);
    let reply: { sdp: string };
    try {
      reply = await this.#deps.sip.reinvite(this.callId, { sdp: rtpOffer });
    } catch (error) {
      this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, 're-INVITE failed');
      await this.#endpoint.hold(!held).catch(() => {});
      throw unavailable(`The network refused to ${held ? 'hold' : 'resume'} the call; try again.`);
    }
    const remote = this.#networkSdp(reply.sdp, 're-INVITE answer');
    if (remote !== undefined) await this.#endpoint.setRtpAnswer(remote);
    await this.#transition(held ? 'Hold' : 'Resume', {
      reason: held ? 'Call put on hold' : 'Call resumed',
      cause: 'client',
      notify: false,
    });
  }

  /**
   * `deleteSessionById`: cancels an unanswered outgoing call, declines an
   * unanswered incoming one, hangs up an answered one. Returns once the
   * CANCEL/603/BYE is on its way (the 204 of call flow 3.3.2 precedes the BYE);
   * the final state and its event follow when the network confirms.
   */
  end(): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#ended || isFinalStatus(this.#record.status))
        throw notFound('The media session has already ended.');
      if (this.#ending) return;
      const outbound = this.#record.direction === 'outbound';
      const ending: Ending = ESTABLISHED.has(this.#record.status)
        ? {
            status: 'Terminated',
            reason: outbound ? 'Call terminated by originator' : 'Call terminated by receiver',
          }
        : outbound
          ? { status: 'SessionCancelled', reason: 'Call cancelled by originator' }
          : { status: 'Declined', reason: 'Call declined by receiver' };
      this.#beginEndInQueue(ending, 'client');
    });
  }

  /**
   * Gateway-initiated end (registration ended, shutdown): like `end`, but
   * resolves only when the call is over and its event published.
   */
  async terminate(reason: string): Promise<void> {
    await this.#queue.run(async () => {
      if (this.#ended || this.#ending) return;
      const status = this.#record.status;
      const ending: Ending = ESTABLISHED.has(status)
        ? { status: 'Terminated', reason }
        : this.#record.direction === 'outbound'
          ? { status: 'SessionCancelled', reason }
          : { status: 'NotReachable', reason };
      this.#beginEndInQueue(ending, 'gateway');
    });
    await this.#whenEnded;
    await this.idle();
  }

  async #beginEnd(ending: Ending, cause: ChangeCause): Promise<void> {
    if (this.#ended || this.#ending) return;
    this.#beginEndInQueue(ending, cause);
  }

  /** Starts the SIP side of ending (inside a queue task); the final transition is queued when it completes. */
  #beginEndInQueue(ending: Ending, cause: ChangeCause): void {
    this.#ending = ending;
    this.#timers.delete('answer-timeout');
    const sip = this.#deps.sip;
    const status = this.#record.status;
    const complete = () =>
      this.#queue.run(() => this.#transition(ending.status, { reason: ending.reason, cause, notify: true }));
    let work: Promise<unknown>;
    if (ESTABLISHED.has(status)) {
      work = sip
        .bye(this.callId)
        .catch((error: unknown) =>
          this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, 'BYE failed'),
        )
        .then(complete);
    } else if (this.#record.direction === 'outbound') {
      // The 487 that answers the CANCEL completes the end (onFailed); a timer covers a silent network.
      this.#timers.setAfter('cancel-timeout', this.#deps.timings.cancelTimeoutMs, () => {
        this.#inflight.track(complete());
      });
      work = sip.cancel(this.callId).catch((error: unknown) => {
        this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, 'CANCEL failed');
        return complete();
      });
    } else {
      const code = ending.status === 'Declined' ? 603 : 480;
      work = sip
        .reject(this.callId, { status: code })
        .catch((error: unknown) =>
          this.#deps.logger.warn({ err: error, mediaSessionId: this.id }, 'reject failed'),
        )
        .then(complete);
    }
    this.#inflight.track(work);
  }

  /** Removes `registrationId` from the session; `true` when no registration is left (the call must end). */
  detachRegistration(registrationId: string): Promise<boolean> {
    return this.#queue.run(async () => {
      this.#record.registrationIds = this.#record.registrationIds.filter((id) => id !== registrationId);
      if (!this.#ended) await this.#save();
      return this.#record.registrationIds.length === 0;
    });
  }

  /** Frees the session's resources without signalling (the owner already ended the call or is discarding it). */
  async close(): Promise<void> {
    this.#timers.clear();
    if (!this.#ended) {
      this.#ended = true;
      await this.#endpoint.close();
    }
    this.#resolveEnded();
    this.removeAllListeners();
  }
}
