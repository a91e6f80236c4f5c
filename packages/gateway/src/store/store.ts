import type { Closable } from '../core/closable.js';
import type {
  CreateRegistrationOutcome,
  CreateSessionOutcome,
  CreateSubscriptionOutcome,
  MediaSessionRecord,
  RegistrationLimits,
  RegistrationRecord,
  SubscriptionRecord,
} from './records.js';

/**
 * Shared state of the gateway: registrations, media sessions, subscriptions
 * and event sequence counters. Async throughout so that a Redis implementation
 * (several gateway nodes) fits the same interface; every method that decides
 * uniqueness or a limit does so atomically (a Lua script / MULTI in Redis).
 * Records returned are copies: changing one changes nothing stored.
 */
export interface Store extends Closable {
  /**
   * Stores `record` unless an active registration (`expiresAt > now`) for the
   * same deviceId + phoneNumber exists or a limit would be exceeded; checked and
   * inserted atomically. The per-number limit counts every active registration of
   * the number; the per-user limits (`maxPerUser`, `maxDevicesPerUser`) count those
   * written while that limit was set, so that a store keeps its per-user indexes
   * only for the limits that need them.
   */
  createRegistration(
    record: RegistrationRecord,
    limits: RegistrationLimits,
    now: number,
  ): Promise<CreateRegistrationOutcome>;
  getRegistration(registrationId: string): Promise<RegistrationRecord | undefined>;
  /** Registrations matching every given field (active or not: callers compare `expiresAt`). */
  findRegistrations(query: { phoneNumber?: string; deviceId?: string }): Promise<RegistrationRecord[]>;
  /** Sets a new expiry; `undefined` when the registration no longer exists. */
  refreshRegistration(registrationId: string, expiresAt: number): Promise<RegistrationRecord | undefined>;
  /**
   * Removes and returns a registration; of concurrent callers exactly one gets it.
   * With `expected` (a record read before), only while the stored one is still
   * exactly that: an expiry never takes a registration another node refreshed
   * in between.
   */
  takeRegistration(
    registrationId: string,
    expected?: RegistrationRecord,
  ): Promise<RegistrationRecord | undefined>;

  /**
   * Ids of the registrations whose `expiresAt` is at or before `now`, read
   * from an index kept by expiry (not every record): what a node's periodic
   * look for registrations nobody ended reads.
   */
  findLapsedRegistrations(now: number): Promise<string[]>;
  /** How many registrations have `expiresAt` after `now` (metrics), from the expiry index. */
  countActiveRegistrations(now: number): Promise<number>;

  /**
   * Stores a new session; rejects when its id is taken. Each of `conditions` is
   * checked atomically with the insert, and one not met stores nothing.
   */
  createSession(record: MediaSessionRecord, conditions?: SessionConditions): Promise<CreateSessionOutcome>;
  getSession(mediaSessionId: string): Promise<MediaSessionRecord | undefined>;
  /**
   * Replaces a stored session (its owning `CallSession` is the only writer). With
   * `sequenceKey`, also takes that counter's next value (as `nextSequence`) in the
   * same step and answers it, with the version of the subscriptions of the record's
   * number at that moment: a status change, the number of its event and whom it
   * goes to, together.
   */
  saveSession(record: MediaSessionRecord, sequenceKey?: string): Promise<NumberedSave | undefined>;
  /** Sessions matching every given field; at least one must be given. */
  findSessions(query: SessionQuery): Promise<MediaSessionRecord[]>;
  deleteSession(mediaSessionId: string): Promise<void>;
  /** How many sessions of the number are stored without `endedAt` (the per-number limit), from an index. */
  countActiveSessions(phoneNumber: string): Promise<number>;

  /**
   * Stores `record` unless the owner already has an identical subscription
   * (same device, sink and types) or `maxPerOwner` subscriptions; atomically.
   */
  createSubscription(
    record: SubscriptionRecord,
    limits: { maxPerOwner?: number },
  ): Promise<CreateSubscriptionOutcome>;
  getSubscription(id: string): Promise<SubscriptionRecord | undefined>;
  /**
   * The subscriptions of a phone number (as `findSubscriptions`), with the version of
   * that set, read together: a value that changes with every subscription of the number
   * created, saved or taken and never returns to an earlier one, except `''`, which a
   * store may use for a number with no subscriptions. The same version, the same set.
   */
  numberSubscriptions(phoneNumber: string): Promise<{ subscriptions: SubscriptionRecord[]; version: string }>;
  findSubscriptions(query: {
    ownerKey?: string;
    phoneNumber?: string;
    deviceId?: string;
  }): Promise<SubscriptionRecord[]>;
  /** Replaces a stored subscription; `false` when it no longer exists. */
  saveSubscription(record: SubscriptionRecord): Promise<boolean>;
  /**
   * Removes and returns a subscription; of concurrent callers exactly one gets
   * it. With `expected`, only while it is still exactly that record, as for
   * `takeRegistration`.
   */
  takeSubscription(id: string, expected?: SubscriptionRecord): Promise<SubscriptionRecord | undefined>;

  /** Ids of the subscriptions whose `subscriptionEnd` is at or before `now`, as `findLapsedRegistrations`. */
  findDueSubscriptions(now: number): Promise<string[]>;

  /** Next value (from 1) of a named counter, e.g. `session:<id>`, atomically. */
  nextSequence(key: string): Promise<number>;
  deleteSequence(key: string): Promise<void>;

  /**
   * Gateway node `nodeId` is alive until `leaseEndsAt` (sent again well before
   * then). Answers the store's epoch, a value that changes only when the
   * store lost its data (a Redis restarted empty), and whether the node was
   * still listed: when it was not (a restart, or others found its lease over),
   * what it holds must be stored again.
   */
  heartbeat(nodeId: string, leaseEndsAt: number): Promise<NodeHeartbeat>;
  /**
   * Ids of the nodes whose lease ended by `now`, taken off the list: of
   * concurrent callers exactly one gets each, and ends its calls.
   */
  claimDeadNodes(now: number): Promise<string[]>;
  /** Takes a node off the list (it stops cleanly, its calls ended). */
  leave(nodeId: string): Promise<void>;
}

export interface NumberedSave {
  sequenceNumber: number;
  /** The version of the subscriptions of the session's number (see `numberSubscriptions`). */
  subscriptionsVersion: string;
}

export interface SessionConditions {
  /** Fewer sessions of the record's number are stored without `endedAt` (else `MAX_ACTIVE_SESSIONS`). */
  maxActivePerNumber?: number;
  /**
   * A registration as the caller read it: the registration of that id is still stored
   * and exactly this record (as `takeRegistration`'s `expected`; else `REGISTRATION_CHANGED`).
   */
  registration?: RegistrationRecord;
}

export interface SessionQuery {
  registrationId?: string;
  phoneNumber?: string;
  /** The id of the gateway node handling the sessions (`MediaSessionRecord.owner`). */
  owner?: string;
}

export interface NodeHeartbeat {
  epoch: string;
  /** Whether the node was on the list already. */
  listed: boolean;
}
