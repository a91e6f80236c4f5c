import {
  EVENT_TYPES,
  SUBSCRIBABLE_EVENT_TYPES,
  type Subscription,
  type SubscriptionAsync,
  type SubscriptionEventType,
  type TerminationReason,
} from '../api-types.js';
import {
  type AuthContext,
  assertSubscriber,
  boundToOtherDevice,
  requireScopes,
  subscriptionCreateScope,
} from '../auth/auth.js';
import { type Clock, TimerSet } from '../core/clock.js';
import { TypedEmitter } from '../core/emitter.js';
import type { IdGenerator } from '../core/ids.js';
import { InflightWork } from '../core/inflight.js';
import type { Logger } from '../core/logger.js';
import { parseDateTime, toDateTime } from '../core/time.js';
import {
  alreadyExists,
  invalidArgument,
  invalidCredential,
  invalidProtocol,
  invalidSink,
  invalidToken,
  isStoreUnavailable,
  missingIdentifier,
  multiEventCombinationUnavailable,
  multiEventNotSupported,
  notFound,
  outOfRange,
  quotaExceeded,
  serviceNotApplicable,
  subscriptionMismatch,
  unavailable,
  unnecessaryIdentifier,
  unsupportedIdentifier,
} from '../errors.js';
import { readDeviceId } from '../registrations/registration-service.js';
import { isPlainText } from '../sip/header-safety.js';
import {
  type RegistrationRecord,
  type StoredSinkCredential,
  type SubscriptionRecord,
  subscriptionEnd,
} from '../store/records.js';
import type { Store } from '../store/store.js';
import type { EventPublisher } from './domain-events.js';

export interface SubscriptionOptions {
  /** Accept `http:` sinks (tests, closed networks); the spec's pattern allows only `https:`. */
  allowInsecureSinks: boolean;
  /**
   * Extra check of a sink at subscription time, e.g. the runtime's
   * `assertSafeSink` (SSRF: private, loopback, link-local addresses). A
   * rejection becomes `400 INVALID_SINK`.
   */
  checkSink?: (sink: string) => Promise<void>;
  /** Most subscriptions per owner (`429 QUOTA_EXCEEDED` beyond). */
  maxPerOwner?: number;
  /** Longest subscription lifetime; later requested expiries are lowered to it, and it applies when none is asked. */
  maxLifetimeMs?: number;
  /** Several event types in one subscription (default true); else `422 MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED`. */
  multiEvent: boolean;
  /** Type combinations refused for now (`422 MULTIEVENT_COMBINATION_TEMPORARILY_NOT_SUPPORTED`). */
  unavailableCombinations?: readonly (readonly SubscriptionEventType[])[];
  /** Check the per-type `webrtc-events:<type>:create` scopes on creation (default true). */
  checkScopes: boolean;
  /**
   * Whether a subscription ends (`subscription-ended`, NETWORK_TERMINATED)
   * when the last registration of its device and number ends. webrtc-registration
   * says subscriptions stay in place (default `false`); call-flow issue #146
   * leaves it open.
   */
  endWithRegistration: boolean;
}

export interface SubscriptionServiceDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  publish: EventPublisher;
}

export interface SubscriptionServiceEvents {
  created: { subscription: SubscriptionRecord };
  updated: { subscription: SubscriptionRecord };
  ended: { subscription: SubscriptionRecord; reason: TerminationReason };
}

/** After a store failure, how soon an expiry is tried again. */
const EXPIRY_RETRY_MS = 5000;

const DESCRIPTIONS: Record<TerminationReason, string> = {
  SUBSCRIPTION_EXPIRED: 'Subscription expired',
  SUBSCRIPTION_DELETED: 'Subscription deleted by client request',
  ACCESS_TOKEN_EXPIRED: 'Sink access token expired',
  MAX_EVENTS_REACHED: 'Maximum number of events reached',
  NETWORK_TERMINATED: 'Subscription terminated by the network',
};

/** RFC 6750 §2.1 `b64token`: what may follow `Bearer ` in an Authorization header. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Identifier kinds CAMARA subscriptions know, none of which this API takes. */
const OTHER_IDENTIFIERS = ['ipv4Address', 'ipv6Address', 'networkAccessIdentifier'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const ownerKeyOf = (auth: AuthContext): string =>
  auth.clientId === undefined ? auth.phoneNumber : `${auth.phoneNumber}|${auth.clientId}`;

/** The API view of a subscription: never the `sinkCredential`. */
export function toSubscription(record: SubscriptionRecord): Subscription {
  return {
    protocol: record.protocol,
    sink: record.sink,
    types: [...record.types],
    config: { subscriptionDetail: { deviceId: record.deviceId }, ...record.config },
    id: record.id,
    startsAt: toDateTime(record.startsAt),
    ...(record.expiresAt === undefined ? {} : { expiresAt: toDateTime(record.expiresAt) }),
    status: 'ACTIVE',
  };
}

/**
 * Event subscriptions (`webrtc-events`): create, read, update, delete, with
 * every documented check, expiry and sink-token expiry timers, and the final
 * `subscription-ended` event whatever ends them.
 */
export class SubscriptionService extends TypedEmitter<SubscriptionServiceEvents> {
  readonly #deps: SubscriptionServiceDeps;
  readonly #options: SubscriptionOptions;
  readonly #timers: TimerSet<string>;
  readonly #inflight = new InflightWork((error) =>
    this.#deps.logger.error({ err: error }, 'subscription work failed'),
  );
  #closing = false;

  constructor(deps: SubscriptionServiceDeps, options: SubscriptionOptions) {
    super(deps.logger);
    this.#deps = deps;
    this.#options = options;
    this.#timers = new TimerSet(deps.clock);
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
          'subscription expiry failed; retried shortly',
        );
        if (!this.#closing) this.#timers.setAfter(id, EXPIRY_RETRY_MS, () => this.#expireOrRetry(id));
      }),
    );
  }

  // ------------------------------------------------------------------ validation

  #readCredential(value: unknown): StoredSinkCredential {
    if (!isObject(value)) throw invalidArgument('sinkCredential must be an object');
    if (value.credentialType !== 'ACCESSTOKEN') throw invalidCredential();
    if (value.accessTokenType === undefined)
      throw invalidArgument('sinkCredential.accessTokenType is required');
    if (value.accessTokenType !== 'bearer') throw invalidToken();
    const token = value.accessToken;
    if (typeof token !== 'string' || token === '')
      throw invalidArgument('sinkCredential.accessToken is required');
    if (token.length > 8192 || !B64TOKEN.test(token)) {
      throw invalidCredential(
        'sinkCredential.accessToken must be a bearer token (RFC 6750 b64token characters only)',
      );
    }
    const expires = parseDateTime(value.accessTokenExpiresUtc);
    if (expires === undefined) {
      throw invalidArgument(
        'sinkCredential.accessTokenExpiresUtc must be an RFC 3339 date-time with a time offset',
      );
    }
    if (expires <= this.#deps.clock.now())
      throw invalidCredential('sinkCredential.accessTokenExpiresUtc has already passed');
    return {
      credentialType: 'ACCESSTOKEN',
      accessToken: token,
      accessTokenExpiresUtc: toDateTime(expires),
      accessTokenType: 'bearer',
    };
  }

  async #readSink(value: unknown): Promise<string> {
    if (typeof value !== 'string' || value === '') throw invalidArgument('sink is required');
    if (value.length > 1024 || !isPlainText(value) || /\s/.test(value)) {
      throw invalidSink('sink must be an absolute https URL of at most 1024 characters');
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalidSink('sink is not a valid URL');
    }
    const schemeOk =
      url.protocol === 'https:' || (this.#options.allowInsecureSinks && url.protocol === 'http:');
    if (!schemeOk || !/^https?:\/\//i.test(value)) throw invalidSink('sink must be an https URL');
    if (url.username !== '' || url.password !== '') throw invalidSink('sink must not carry user information');
    if (url.hostname === '') throw invalidSink('sink has no host');
    if (this.#options.checkSink) {
      try {
        await this.#options.checkSink(value);
      } catch (error) {
        const message = error instanceof Error ? error.message : 'sink is not allowed';
        throw invalidSink(message);
      }
    }
    return value;
  }

  #readTypes(value: unknown): SubscriptionEventType[] {
    if (!Array.isArray(value) || value.length === 0)
      throw invalidArgument('types must list 1 to 3 event types');
    if (value.length > 3) throw invalidArgument('types must list 1 to 3 event types');
    for (const type of value) {
      if (type === EVENT_TYPES.subscriptionEnded) {
        throw invalidArgument('subscription-ended is sent to every subscription and cannot be requested');
      }
      if (typeof type !== 'string' || !(SUBSCRIBABLE_EVENT_TYPES as readonly string[]).includes(type)) {
        throw invalidArgument(
          `types: ${JSON.stringify(String(type)).slice(0, 80)} is not a webrtc-events event type`,
        );
      }
    }
    if (new Set(value).size !== value.length) throw invalidArgument('types must not repeat an event type');
    return value as SubscriptionEventType[];
  }

  /** A requested expiry: `400` when malformed, `400 OUT_OF_RANGE` when passed; capped at the maximum lifetime. */
  #grantExpiry(requested: unknown): number | undefined {
    const now = this.#deps.clock.now();
    const max = this.#options.maxLifetimeMs === undefined ? undefined : now + this.#options.maxLifetimeMs;
    if (requested === undefined) return max;
    const at = parseDateTime(requested);
    if (at === undefined) {
      throw invalidArgument('config.subscriptionExpireTime must be an RFC 3339 date-time with a time offset');
    }
    if (at <= now) throw outOfRange('config.subscriptionExpireTime must be in the future');
    return max === undefined ? at : Math.min(at, max);
  }

  #arm(record: SubscriptionRecord): void {
    this.#timers.delete(record.id);
    const end = subscriptionEnd(record);
    if (end === undefined) return;
    this.#timers.setAt(record.id, end.at, () => this.#expireOrRetry(record.id));
  }

  /**
   * A timer fired. With a shared store it may be stale: another node may have
   * updated the subscription since (it is then re-armed for its new end) or
   * ended it. Only the subscription as read here, due, is ended: an update
   * landing between the read and the take makes the take fail, and the
   * subscription is looked at again.
   */
  async #expire(subscriptionId: string): Promise<void> {
    const record = await this.#deps.store.getSubscription(subscriptionId);
    if (record === undefined) return;
    const end = subscriptionEnd(record);
    if (end === undefined) return;
    if (end.at > this.#deps.clock.now()) {
      if (!this.#closing) this.#arm(record);
      return;
    }
    if (await this.end(subscriptionId, end.reason, true, undefined, record)) return;
    const current = await this.#deps.store.getSubscription(subscriptionId);
    if (current === undefined) return;
    const next = subscriptionEnd(current);
    if (next === undefined) return;
    if (next.at <= end.at) {
      // Not extended, yet not taken: never retry in a loop on a store that disagrees with itself.
      this.#deps.logger.error({ subscriptionId }, 'a due subscription could not be taken from the store');
      return;
    }
    if (!this.#closing) this.#arm(current);
  }

  // ------------------------------------------------------------------ API operations

  /** `POST /subscriptions` (201). */
  async create(auth: AuthContext, body: unknown): Promise<Subscription> {
    if (this.#closing) throw unavailable('The gateway is shutting down.');
    assertSubscriber(auth, 'PERMISSION_DENIED');
    // 400: the request itself.
    if (!isObject(body)) throw invalidArgument('The request body must be a SubscriptionRequest object.');
    if (body.protocol === undefined) throw invalidArgument('protocol is required');
    if (body.protocol !== 'HTTP') throw invalidProtocol();
    const sink = await this.#readSink(body.sink);
    const sinkCredential =
      body.sinkCredential === undefined ? undefined : this.#readCredential(body.sinkCredential);
    const types = this.#readTypes(body.types);
    if (!isObject(body.config)) throw invalidArgument('config is required');
    const config = body.config;
    const detail = config.subscriptionDetail;
    if (detail !== undefined && !isObject(detail))
      throw invalidArgument('config.subscriptionDetail must be an object');
    const expiresAt = this.#grantExpiry(config.subscriptionExpireTime);
    const maxEvents = config.subscriptionMaxEvents;
    if (
      maxEvents !== undefined &&
      (typeof maxEvents !== 'number' ||
        !Number.isInteger(maxEvents) ||
        maxEvents < 1 ||
        maxEvents > 1_000_000)
    ) {
      throw invalidArgument('config.subscriptionMaxEvents must be an integer from 1 to 1000000');
    }
    if (config.initialEvent !== undefined && typeof config.initialEvent !== 'boolean') {
      throw invalidArgument('config.initialEvent must be a boolean');
    }

    // 403: one create scope per requested type.
    if (this.#options.checkScopes) requireScopes(auth, types.map(subscriptionCreateScope));

    // 422: identifiers and type combinations.
    if (detail?.phoneNumber !== undefined) {
      throw unnecessaryIdentifier(
        'The subscriber is identified by the access token; do not send phoneNumber.',
      );
    }
    if (detail !== undefined && OTHER_IDENTIFIERS.some((k) => detail[k] !== undefined))
      throw unsupportedIdentifier();
    if (detail?.deviceId === undefined)
      throw missingIdentifier('config.subscriptionDetail.deviceId is required to identify the device.');
    const deviceId = readDeviceId(detail.deviceId, 'config.subscriptionDetail.deviceId');
    if (types.length > 1 && !this.#options.multiEvent) throw multiEventNotSupported();
    const sorted = [...types].sort().join(' ');
    if (this.#options.unavailableCombinations?.some((c) => [...c].sort().join(' ') === sorted)) {
      throw multiEventCombinationUnavailable();
    }

    // 403 / 422: the device must be the caller's.
    if (auth.deviceId !== undefined && auth.deviceId.toLowerCase() !== deviceId) throw subscriptionMismatch();
    const now = this.#deps.clock.now();
    const registrations = (await this.#deps.store.findRegistrations({ deviceId })).filter(
      (r) => r.expiresAt > now,
    );
    const callers = registrations.filter((r) => r.phoneNumber === auth.phoneNumber);
    if (callers.length === 0) {
      if (registrations.length > 0) throw subscriptionMismatch();
      if (types.some((t) => t !== EVENT_TYPES.registrationEnds)) {
        throw serviceNotApplicable(
          'session-invitation and session-status need an active registration of the device.',
        );
      }
    }

    const record: SubscriptionRecord = {
      id: this.#deps.ids.subscriptionId(),
      ownerKey: ownerKeyOf(auth),
      phoneNumber: auth.phoneNumber,
      ...(auth.clientId === undefined ? {} : { clientId: auth.clientId }),
      protocol: 'HTTP',
      sink,
      ...(sinkCredential === undefined ? {} : { sinkCredential }),
      types,
      deviceId,
      config: {
        ...(config.subscriptionExpireTime === undefined
          ? {}
          : { subscriptionExpireTime: String(config.subscriptionExpireTime) }),
        ...(maxEvents === undefined ? {} : { subscriptionMaxEvents: maxEvents as number }),
        ...(config.initialEvent === undefined ? {} : { initialEvent: config.initialEvent as boolean }),
      },
      startsAt: now,
      ...(expiresAt === undefined ? {} : { expiresAt }),
    };
    const outcome = await this.#deps.store.createSubscription(
      record,
      this.#options.maxPerOwner === undefined ? {} : { maxPerOwner: this.#options.maxPerOwner },
    );
    if (!outcome.ok) {
      if (outcome.reason === 'ALREADY_EXISTS') {
        throw alreadyExists('A subscription for this device, sink and event types already exists.');
      }
      throw quotaExceeded('The maximum number of subscriptions has been reached.');
    }
    this.#arm(record);
    this.emit('created', { subscription: record });
    return toSubscription(record);
  }

  async #owned(auth: AuthContext, idParam: unknown): Promise<SubscriptionRecord> {
    assertSubscriber(auth, 'PERMISSION_DENIED');
    if (typeof idParam !== 'string' || idParam === '')
      throw invalidArgument('Expected property is missing: subscriptionId');
    if (idParam.length > 256 || !isPlainText(idParam))
      throw invalidArgument('subscriptionId is not a valid identifier');
    const record = await this.#deps.store.getSubscription(idParam);
    if (
      record === undefined ||
      record.ownerKey !== ownerKeyOf(auth) ||
      boundToOtherDevice(auth, record.deviceId)
    )
      throw notFound();
    return record;
  }

  /** `GET /subscriptions` (200): the caller's subscriptions. */
  async list(auth: AuthContext): Promise<Subscription[]> {
    assertSubscriber(auth, 'PERMISSION_DENIED');
    const records = await this.#deps.store.findSubscriptions({ ownerKey: ownerKeyOf(auth) });
    return records
      .filter((record) => !boundToOtherDevice(auth, record.deviceId))
      .sort((a, b) => a.startsAt - b.startsAt)
      .slice(0, 100)
      .map(toSubscription);
  }

  /** `GET /subscriptions/{subscriptionId}` (200). */
  async get(auth: AuthContext, subscriptionId: unknown): Promise<Subscription> {
    return toSubscription(await this.#owned(auth, subscriptionId));
  }

  /**
   * `PUT /subscriptions/{subscriptionId}` (200): replaces the sink credential
   * and/or `config.subscriptionExpireTime`; nothing else may be given. Idempotent.
   */
  async update(auth: AuthContext, subscriptionId: unknown, body: unknown): Promise<Subscription> {
    if (this.#closing) throw unavailable('The gateway is shutting down.');
    if (!isObject(body))
      throw invalidArgument('The request body must be a SubscriptionUpdateRequest object.');
    const extra = Object.keys(body).filter((k) => k !== 'sinkCredential' && k !== 'config');
    if (extra.length > 0)
      throw invalidArgument(
        `Only sinkCredential and config.subscriptionExpireTime can be updated, not ${extra[0]}`,
      );
    if (body.sinkCredential === undefined && body.config === undefined) {
      throw invalidArgument('Give sinkCredential, config.subscriptionExpireTime or both.');
    }
    const sinkCredential =
      body.sinkCredential === undefined ? undefined : this.#readCredential(body.sinkCredential);
    let expiresAt: number | undefined;
    let requestedExpiry: string | undefined;
    if (body.config !== undefined) {
      if (!isObject(body.config)) throw invalidArgument('config must be an object');
      const extraConfig = Object.keys(body.config).filter((k) => k !== 'subscriptionExpireTime');
      if (extraConfig.length > 0)
        throw invalidArgument(
          `Only config.subscriptionExpireTime can be updated, not config.${extraConfig[0]}`,
        );
      if (body.config.subscriptionExpireTime !== undefined) {
        expiresAt = this.#grantExpiry(body.config.subscriptionExpireTime);
        requestedExpiry = String(body.config.subscriptionExpireTime);
      }
    }
    const record = await this.#owned(auth, subscriptionId);
    const updated: SubscriptionRecord = {
      ...record,
      ...(sinkCredential === undefined ? {} : { sinkCredential }),
      ...(expiresAt === undefined ? {} : { expiresAt }),
      config: {
        ...record.config,
        ...(requestedExpiry === undefined ? {} : { subscriptionExpireTime: requestedExpiry }),
      },
    };
    if (!(await this.#deps.store.saveSubscription(updated))) throw notFound();
    this.#arm(updated);
    this.emit('updated', { subscription: updated });
    return toSubscription(updated);
  }

  /** `DELETE /subscriptions/{subscriptionId}`: ends it; `subscription-ended` (SUBSCRIPTION_DELETED) follows. */
  async delete(auth: AuthContext, subscriptionId: unknown): Promise<SubscriptionAsync> {
    const record = await this.#owned(auth, subscriptionId);
    const ended = await this.end(record.id, 'SUBSCRIPTION_DELETED');
    if (!ended) throw notFound();
    return { id: record.id };
  }

  /**
   * Ends a subscription (exactly once) and publishes its `subscription-ended`
   * (unless `deliver` is false: the sink is gone). `true` if it existed.
   */
  async end(
    subscriptionId: string,
    reason: TerminationReason,
    deliver = true,
    description?: string,
    /** Only if the stored subscription is still this record (read before). */
    expected?: SubscriptionRecord,
  ): Promise<boolean> {
    const record = await this.#deps.store.takeSubscription(subscriptionId, expected);
    if (record === undefined) return false;
    this.#timers.delete(subscriptionId);
    // The subscription is gone: its counters are best effort (their TTL removes them otherwise).
    for (const key of [`subscription:${subscriptionId}`, `events:${subscriptionId}`]) {
      await this.#deps.store.deleteSequence(key).catch((error: unknown) => {
        this.#deps.logger.debug({ err: error, key }, 'removing a sequence counter failed');
      });
    }
    this.#deps.publish({
      type: 'subscription-ended',
      at: this.#deps.clock.now(),
      subscription: record,
      terminationReason: reason,
      terminationDescription: description ?? DESCRIPTIONS[reason],
      deliver,
    });
    this.emit('ended', { subscription: record, reason });
    return true;
  }

  // ------------------------------------------------------------------ for the other services

  /** Whether a live subscription of the number and one of the devices wants `type`. */
  async hasSubscriber(
    target: { phoneNumber: string; deviceIds: readonly string[] },
    type: SubscriptionEventType,
  ): Promise<boolean> {
    const now = this.#deps.clock.now();
    const all = await this.#deps.store.findSubscriptions({ phoneNumber: target.phoneNumber });
    return all.some(
      (s) =>
        s.types.includes(type) &&
        target.deviceIds.includes(s.deviceId) &&
        (s.expiresAt === undefined || s.expiresAt > now),
    );
  }

  /** With `endWithRegistration`: ends the device's subscriptions for the number once no registration of the pair is left. */
  async registrationEnded(registration: RegistrationRecord): Promise<void> {
    if (!this.#options.endWithRegistration) return;
    const now = this.#deps.clock.now();
    const remaining = (
      await this.#deps.store.findRegistrations({
        deviceId: registration.deviceId,
        phoneNumber: registration.phoneNumber,
      })
    ).filter((r) => r.expiresAt > now);
    if (remaining.length > 0) return;
    const subscriptions = await this.#deps.store.findSubscriptions({
      phoneNumber: registration.phoneNumber,
      deviceId: registration.deviceId,
    });
    for (const s of subscriptions) {
      await this.end(s.id, 'NETWORK_TERMINATED', true, 'The registration of the device ended');
    }
  }

  /**
   * Arms a timer for every stored subscription this node has none for (the
   * start of a node with a shared store). A timer already armed is kept: when
   * it fires it reads the subscription again.
   */
  async resume(): Promise<void> {
    for (const record of await this.#deps.store.findSubscriptions({})) {
      if (!this.#closing && !this.#timers.has(record.id)) this.#arm(record);
    }
  }

  /**
   * Ends the stored subscriptions that are due and still there (their node
   * stopped before its timer fired); run periodically with a shared store.
   */
  async sweep(): Promise<void> {
    if (this.#closing) return;
    for (const id of await this.#deps.store.findDueSubscriptions(this.#deps.clock.now())) {
      this.#expireOrRetry(id);
    }
  }

  async idle(): Promise<void> {
    await this.#inflight.drained();
  }

  /** Stops the timers; subscriptions stay stored. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#timers.clear();
    await this.idle();
    this.removeAllListeners();
  }
}
