import type { RegistrationTerminationReason, RegSessionResponse } from '../api-types.js';
import { type AuthContext, assertSubscriber, boundToOtherDevice } from '../auth/auth.js';
import { setNewest } from '../core/bounded-map.js';
import { type Clock, TimerSet } from '../core/clock.js';
import { TypedEmitter } from '../core/emitter.js';
import type { IdGenerator } from '../core/ids.js';
import { InflightWork } from '../core/inflight.js';
import type { Logger } from '../core/logger.js';
import { parseDateTime, toDateTime } from '../core/time.js';
import {
  alreadyExists,
  emergencyAddressMissing,
  invalidArgument,
  invalidTokenContext,
  isStoreUnavailable,
  maxDevicesPerUser,
  maxRegistrationPerMsisdn,
  maxRegistrationPerUser,
  notFound,
  outOfRange,
  unavailable,
} from '../errors.js';
import type { EventPublisher } from '../events/domain-events.js';
import type { Location } from '../location/location.js';
import type { SipBackend } from '../network/sip-backend.js';
import { isPlainText } from '../sip/header-safety.js';
import { phoneNumberFromUri, phoneNumberUri, type SipHost } from '../sip/uri.js';
import type { RegistrationLimits, RegistrationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface RegistrationOptions {
  /** Lifetime when the client asks for none (default 1 h). */
  defaultLifetimeMs: number;
  /** Shortest lifetime accepted; a requested expiry closer than this is `400 OUT_OF_RANGE` (default 60 s). */
  minLifetimeMs: number;
  /** Longest lifetime granted; later requested expiries are lowered to it (default 24 h). */
  maxLifetimeMs: number;
  limits: RegistrationLimits;
  /**
   * Send SIP REGISTER for registrations (a SIP account per number); off when
   * the network routes the gateway's number ranges without it (call flow 3.2 note).
   */
  sipRegister: boolean;
  sipDomain: SipHost;
  /** Refuse registrations (`400 EMERGENCY_ADDRESS_MISSING`) of subscribers without a registered emergency address. */
  requireEmergencyAddress?: (phoneNumber: string) => Promise<Location | undefined>;
}

export interface RegistrationServiceDeps {
  store: Store;
  sip: SipBackend;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  publish: EventPublisher;
}

/** Why a registration ended: the event reasons, or a client `DELETE`. */
export type RegistrationEndReason = RegistrationTerminationReason | 'DELETED';

export interface RegistrationHooks {
  /** Runs (awaited) once a registration is removed, before `registration-ends` is published: ends its calls. */
  onEnding?: (record: RegistrationRecord, reason: RegistrationEndReason) => Promise<void>;
  /** Runs (awaited) after `registration-ends` was published: ends subscriptions, if the policy says so. */
  afterEnded?: (record: RegistrationRecord, reason: RegistrationEndReason) => Promise<void>;
}

export interface RegistrationServiceEvents {
  created: { registration: RegistrationRecord };
  refreshed: { registration: RegistrationRecord };
  ended: { registration: RegistrationRecord; reason: RegistrationEndReason };
}

/** After a store failure, how soon an expiry is tried again. */
const EXPIRY_RETRY_MS = 5000;

const DESCRIPTIONS: Record<RegistrationTerminationReason, string> = {
  REGISTRATION_EXPIRED: 'Registration expired without refresh; register again',
  NETWORK_TERMINATED: 'Registration removed by the network; register again',
};

/** How many registrations `recent` keeps as last read (a few hundred bytes each). */
const RECENT_MAX = 10_000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function toRegSessionResponse(record: RegistrationRecord): RegSessionResponse {
  return {
    registrationId: record.registrationId,
    regInfo: { phoneNumber: record.phoneNumber, regStatus: 'Registered' },
    expiresAt: toDateTime(record.expiresAt),
  };
}

/** Reads a `deviceId` (UUID); `400 INVALID_ARGUMENT` otherwise. Stored lower-case. */
export function readDeviceId(value: unknown, field = 'deviceId'): string {
  if (typeof value !== 'string' || value.length > 36 || !UUID_PATTERN.test(value)) {
    throw invalidArgument(`${field} must be a UUID`);
  }
  return value.toLowerCase();
}

function readRegistrationId(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value === '' ||
    value.length > 256 ||
    !isPlainText(value) ||
    /\s/.test(value)
  ) {
    throw invalidArgument('registrationId must be a non-empty identifier of at most 256 characters');
  }
  return value;
}

/**
 * Registrations (`webrtc-registration`): one per (deviceId, token phone
 * number), with an authoritative expiry enforced by a timer. When one ends
 * its calls end (BYE), `registration-ends` is published and the hooks run.
 */
export class RegistrationService extends TypedEmitter<RegistrationServiceEvents> {
  readonly #deps: RegistrationServiceDeps;
  readonly #options: RegistrationOptions;
  readonly #hooks: RegistrationHooks;
  readonly #expiry: TimerSet<string>;
  readonly #inflight = new InflightWork((error) =>
    this.#deps.logger.error({ err: error }, 'registration work failed'),
  );
  readonly #unsubscribe: (() => void) | undefined;
  /** Registrations as this node last read them for `recent` (at most RECENT_MAX, the oldest read dropped first). */
  readonly #recent = new Map<string, RegistrationRecord>();
  #closing = false;

  constructor(deps: RegistrationServiceDeps, options: RegistrationOptions, hooks: RegistrationHooks = {}) {
    super(deps.logger);
    if (
      !(
        options.minLifetimeMs > 0 &&
        options.minLifetimeMs <= options.defaultLifetimeMs &&
        options.defaultLifetimeMs <= options.maxLifetimeMs
      )
    ) {
      throw new Error('RegistrationService: need 0 < minLifetimeMs <= defaultLifetimeMs <= maxLifetimeMs');
    }
    this.#deps = deps;
    this.#options = options;
    this.#hooks = hooks;
    this.#expiry = new TimerSet(deps.clock);
    this.#unsubscribe = options.sipRegister
      ? deps.sip.on('registrationLost', ({ aor }) => {
          const phoneNumber = phoneNumberFromUri(aor);
          if (phoneNumber !== undefined)
            this.#inflight.track(this.#endAllOf(phoneNumber, 'NETWORK_TERMINATED'));
        })
      : undefined;
  }

  /**
   * Runs the expiry of `id`; when the store fails, tries again after
   * `EXPIRY_RETRY_MS` (the store logged the outage; nothing is thrown).
   */
  #expireOrRetry(id: string): void {
    this.#inflight.track(
      this.#expire(id).catch((error: unknown) => {
        this.#deps.logger[isStoreUnavailable(error) ? 'debug' : 'error'](
          { err: error, id },
          'registration expiry failed; retried shortly',
        );
        if (!this.#closing) this.#expiry.setAfter(id, EXPIRY_RETRY_MS, () => this.#expireOrRetry(id));
      }),
    );
  }

  #assertOpen(): void {
    if (this.#closing) throw unavailable('The gateway is shutting down.');
  }

  /** Expiry granted for a requested `registrationExpireTime` (RFC 3339), counted from now. */
  #grant(requested: unknown): number {
    const now = this.#deps.clock.now();
    if (requested === undefined) return now + this.#options.defaultLifetimeMs;
    const at = parseDateTime(requested);
    if (at === undefined)
      throw invalidArgument('registrationExpireTime must be an RFC 3339 date-time with a time offset');
    if (at - now < this.#options.minLifetimeMs) {
      throw outOfRange(
        `registrationExpireTime must be at least ${Math.ceil(this.#options.minLifetimeMs / 1000)} s in the future`,
      );
    }
    return Math.min(at, now + this.#options.maxLifetimeMs);
  }

  #arm(record: RegistrationRecord): void {
    this.#expiry.setAt(record.registrationId, record.expiresAt, () => {
      this.#expireOrRetry(record.registrationId);
    });
  }

  /**
   * An expiry timer fired. With a shared store it may be stale: another node
   * may have refreshed the registration since (it is then re-armed for its new
   * expiry) or ended it. Only the registration as read here, lapsed, is ended:
   * a refresh landing between the read and the take makes the take fail, and
   * the registration is looked at again.
   */
  async #expire(registrationId: string): Promise<void> {
    const record = await this.#deps.store.getRegistration(registrationId);
    if (record === undefined) return;
    if (record.expiresAt > this.#deps.clock.now()) {
      if (!this.#closing) this.#arm(record);
      return;
    }
    if ((await this.#end(registrationId, 'REGISTRATION_EXPIRED', record)) !== undefined) return;
    const current = await this.#deps.store.getRegistration(registrationId);
    if (current === undefined) return;
    if (current.expiresAt <= record.expiresAt) {
      // Not refreshed, yet not taken: never retry in a loop on a store that disagrees with itself.
      this.#deps.logger.error({ registrationId }, 'a lapsed registration could not be taken from the store');
      return;
    }
    if (!this.#closing) this.#arm(current);
  }

  async #sipRegister(phoneNumber: string, expiresAt: number): Promise<void> {
    if (!this.#options.sipRegister) return;
    const seconds = Math.max(1, Math.ceil((expiresAt - this.#deps.clock.now()) / 1000));
    await this.#deps.sip.register({
      aor: phoneNumberUri(phoneNumber, this.#options.sipDomain),
      expiresSeconds: seconds,
    });
  }

  // ------------------------------------------------------------------ API operations

  /** `POST /sessions` (201). */
  async create(auth: AuthContext, body: unknown): Promise<RegSessionResponse> {
    this.#assertOpen();
    assertSubscriber(auth);
    if (!isObject(body)) throw invalidArgument('The request body must be a RegSessionRequest object.');
    if (body.deviceId === undefined) throw invalidArgument('deviceId is required');
    const deviceId = readDeviceId(body.deviceId);
    const expiresAt = this.#grant(body.registrationExpireTime);
    if (auth.deviceId !== undefined && auth.deviceId.toLowerCase() !== deviceId)
      throw invalidTokenContext('deviceId');
    if (
      this.#options.requireEmergencyAddress &&
      (await this.#options.requireEmergencyAddress(auth.phoneNumber)) === undefined
    ) {
      throw emergencyAddressMissing();
    }
    const now = this.#deps.clock.now();
    const record: RegistrationRecord = {
      registrationId: this.#deps.ids.registrationId(),
      deviceId,
      phoneNumber: auth.phoneNumber,
      userKey: auth.subject ?? auth.phoneNumber,
      createdAt: now,
      expiresAt,
    };
    const outcome = await this.#deps.store.createRegistration(record, this.#options.limits, now);
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'ALREADY_EXISTS':
          throw alreadyExists(
            'An active registration already exists for the supplied deviceId and the phoneNumber resolved from the access token.',
          );
        case 'MAX_REGISTRATION_PER_USER':
          throw maxRegistrationPerUser();
        case 'MAX_REGISTRATION_PER_MSISDN':
          throw maxRegistrationPerMsisdn();
        case 'MAX_DEVICES_PER_USER':
          throw maxDevicesPerUser();
      }
    }
    try {
      await this.#sipRegister(record.phoneNumber, record.expiresAt);
    } catch (error) {
      await this.#deps.store.takeRegistration(record.registrationId);
      this.#deps.logger.warn({ err: error, registrationId: record.registrationId }, 'SIP REGISTER failed');
      throw unavailable('The telephony network refused the registration; try again later.');
    }
    this.#arm(record);
    this.emit('created', { registration: record });
    return toRegSessionResponse(record);
  }

  /** `GET /sessions?deviceId=` (200): the device's active registrations for the caller's number. */
  async list(auth: AuthContext, deviceIdParam: unknown): Promise<RegSessionResponse[]> {
    assertSubscriber(auth);
    const deviceId = readDeviceId(deviceIdParam);
    if (auth.deviceId !== undefined && auth.deviceId.toLowerCase() !== deviceId)
      throw invalidTokenContext('deviceId');
    const now = this.#deps.clock.now();
    const records = await this.#deps.store.findRegistrations({ deviceId, phoneNumber: auth.phoneNumber });
    return records
      .filter((r) => r.expiresAt > now)
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, 10)
      .map(toRegSessionResponse);
  }

  async #owned(auth: AuthContext, idParam: unknown): Promise<RegistrationRecord> {
    assertSubscriber(auth);
    const id = readRegistrationId(idParam);
    const record = await this.#deps.store.getRegistration(id);
    // Another subscriber's registration is indistinguishable from a missing one.
    if (
      record === undefined ||
      record.phoneNumber !== auth.phoneNumber ||
      boundToOtherDevice(auth, record.deviceId) ||
      record.expiresAt <= this.#deps.clock.now()
    ) {
      throw notFound('No active registration with this registrationId.');
    }
    return record;
  }

  /** `GET /sessions/{registrationId}` (200). */
  async get(auth: AuthContext, registrationId: unknown): Promise<RegSessionResponse> {
    return toRegSessionResponse(await this.#owned(auth, registrationId));
  }

  /**
   * `PUT /sessions/{registrationId}` (200): the new expiry counts from now
   * (requested one within range, capped at the maximum, default when absent).
   * A registration that already expired is gone: `404`.
   */
  async refresh(auth: AuthContext, registrationId: unknown, body?: unknown): Promise<RegSessionResponse> {
    this.#assertOpen();
    if (body !== undefined && body !== null && !isObject(body)) {
      throw invalidArgument('The request body must be a RegSessionUpdate object.');
    }
    const requested = isObject(body) ? body.registrationExpireTime : undefined;
    const expiresAt = this.#grant(requested);
    const record = await this.#owned(auth, registrationId);
    try {
      await this.#sipRegister(record.phoneNumber, expiresAt);
    } catch (error) {
      this.#deps.logger.warn({ err: error, registrationId: record.registrationId }, 'SIP re-REGISTER failed');
      throw unavailable('The telephony network refused the refresh; try again later.');
    }
    const updated = await this.#deps.store.refreshRegistration(record.registrationId, expiresAt);
    this.#recent.delete(record.registrationId);
    if (updated === undefined) throw notFound('No active registration with this registrationId.');
    this.#arm(updated);
    this.emit('refreshed', { registration: updated });
    return toRegSessionResponse(updated);
  }

  /** `DELETE /sessions/{registrationId}` (204): ends it; its calls are hung up. */
  async delete(auth: AuthContext, registrationId: unknown): Promise<void> {
    const record = await this.#owned(auth, registrationId);
    const ended = await this.#end(record.registrationId, 'DELETED');
    if (ended === undefined) throw notFound('No active registration with this registrationId.');
  }

  /** Ends a registration on the network's or the operator's behalf (`registration-ends`, NETWORK_TERMINATED). */
  async terminate(registrationId: string): Promise<boolean> {
    return (await this.#end(registrationId, 'NETWORK_TERMINATED')) !== undefined;
  }

  async #endAllOf(phoneNumber: string, reason: RegistrationTerminationReason): Promise<void> {
    const records = await this.#deps.store.findRegistrations({ phoneNumber });
    await Promise.all(records.map((r) => this.#end(r.registrationId, reason)));
  }

  /**
   * Removes the registration (exactly once, whoever races), ends its calls,
   * publishes `registration-ends` (not for a client's own DELETE: the event's
   * reasons are expiry and network termination) and runs `afterEnded`.
   */
  async #end(
    registrationId: string,
    reason: RegistrationEndReason,
    expected?: RegistrationRecord,
  ): Promise<RegistrationRecord | undefined> {
    const record = await this.#deps.store.takeRegistration(registrationId, expected);
    this.#recent.delete(registrationId);
    if (record === undefined) return undefined;
    this.#expiry.delete(registrationId);
    if (this.#options.sipRegister) {
      const others = await this.#deps.store.findRegistrations({ phoneNumber: record.phoneNumber });
      if (!others.some((r) => r.expiresAt > this.#deps.clock.now())) {
        await this.#deps.sip
          .register({ aor: phoneNumberUri(record.phoneNumber, this.#options.sipDomain), expiresSeconds: 0 })
          .catch((error: unknown) => this.#deps.logger.warn({ err: error }, 'SIP de-REGISTER failed'));
      }
    }
    try {
      await this.#hooks.onEnding?.(record, reason);
    } catch (error) {
      this.#deps.logger.error({ err: error, registrationId }, 'ending the calls of a registration failed');
    }
    if (reason !== 'DELETED') {
      this.#deps.publish({
        type: 'registration-ends',
        at: this.#deps.clock.now(),
        registration: record,
        terminationReason: reason,
        terminationDescription: DESCRIPTIONS[reason],
      });
    }
    this.emit('ended', { registration: record, reason });
    try {
      await this.#hooks.afterEnded?.(record, reason);
    } catch (error) {
      this.#deps.logger.error({ err: error, registrationId }, 'after-registration-end hook failed');
    }
    return record;
  }

  // ------------------------------------------------------------------ for CallService

  async active(registrationId: string): Promise<RegistrationRecord | undefined> {
    const record = await this.#deps.store.getRegistration(registrationId);
    return record !== undefined && record.expiresAt > this.#deps.clock.now() ? record : undefined;
  }

  /**
   * An active registration as this node last read it (`fresh`: read now, as `active`). One
   * from an earlier read may have changed in the store since: whoever acts on it has the
   * store confirm it is still that record (createSession's `registration` condition), and
   * drops it with `forget` when it is not.
   */
  async recent(registrationId: string, fresh = false): Promise<RegistrationRecord | undefined> {
    const known = fresh ? undefined : this.#recent.get(registrationId);
    if (known !== undefined && known.expiresAt > this.#deps.clock.now()) return known;
    const record = await this.active(registrationId);
    if (record === undefined) this.#recent.delete(registrationId);
    else setNewest(this.#recent, registrationId, record, RECENT_MAX);
    return record;
  }

  /** Drops a registration from the recent reads (`recent`). */
  forget(registrationId: string): void {
    this.#recent.delete(registrationId);
  }

  async activeFor(phoneNumber: string): Promise<RegistrationRecord[]> {
    const now = this.#deps.clock.now();
    return (await this.#deps.store.findRegistrations({ phoneNumber })).filter((r) => r.expiresAt > now);
  }

  /**
   * Arms an expiry timer for every stored registration this node has none for
   * (the start of a node with a shared store). A timer already armed is kept:
   * when it fires it reads the registration again.
   */
  async resume(): Promise<void> {
    for (const record of await this.#deps.store.findRegistrations({})) {
      if (!this.#closing && !this.#expiry.has(record.registrationId)) this.#arm(record);
    }
  }

  /**
   * Ends the stored registrations that lapsed and are still there (their node
   * stopped before its timer fired); run periodically with a shared store.
   */
  async sweep(): Promise<void> {
    if (this.#closing) return;
    for (const id of await this.#deps.store.findLapsedRegistrations(this.#deps.clock.now())) {
      this.#expireOrRetry(id);
    }
  }

  async idle(): Promise<void> {
    await this.#inflight.drained();
  }

  /** Stops the expiry timers (registrations stay stored for other nodes or a restart). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#expiry.clear();
    this.#unsubscribe?.();
    await this.idle();
    this.removeAllListeners();
  }
}
