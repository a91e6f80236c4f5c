import type {
  CreateRegistrationOutcome,
  CreateSubscriptionOutcome,
  MediaSessionRecord,
  RegistrationLimits,
  RegistrationRecord,
  SubscriptionRecord,
} from './records.js';
import type { Store } from './store.js';

const copy = <T>(value: T): T => structuredClone(value);

const sameTypes = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * The in-process `Store` (single gateway node, tests). Each method runs
 * without awaiting in between, which makes it atomic on Node's event loop.
 */
export class MemoryStore implements Store {
  readonly #registrations = new Map<string, RegistrationRecord>();
  readonly #sessions = new Map<string, MediaSessionRecord>();
  readonly #subscriptions = new Map<string, SubscriptionRecord>();
  readonly #sequences = new Map<string, number>();

  async createRegistration(
    record: RegistrationRecord,
    limits: RegistrationLimits,
    now: number,
  ): Promise<CreateRegistrationOutcome> {
    const active = [...this.#registrations.values()].filter((r) => r.expiresAt > now);
    const existing = active.find(
      (r) => r.deviceId === record.deviceId && r.phoneNumber === record.phoneNumber,
    );
    if (existing) return { ok: false, reason: 'ALREADY_EXISTS', existing: copy(existing) };
    const ofUser = active.filter((r) => r.userKey === record.userKey);
    if (limits.maxPerUser !== undefined && ofUser.length >= limits.maxPerUser) {
      return { ok: false, reason: 'MAX_REGISTRATION_PER_USER' };
    }
    const ofNumber = active.filter((r) => r.phoneNumber === record.phoneNumber);
    if (limits.maxPerMsisdn !== undefined && ofNumber.length >= limits.maxPerMsisdn) {
      return { ok: false, reason: 'MAX_REGISTRATION_PER_MSISDN' };
    }
    const devices = new Set(ofUser.map((r) => r.deviceId));
    if (
      limits.maxDevicesPerUser !== undefined &&
      !devices.has(record.deviceId) &&
      devices.size >= limits.maxDevicesPerUser
    ) {
      return { ok: false, reason: 'MAX_DEVICES_PER_USER' };
    }
    // A lapsed record of the same pair whose timer has not fired yet is replaced.
    for (const r of this.#registrations.values()) {
      if (r.deviceId === record.deviceId && r.phoneNumber === record.phoneNumber)
        this.#registrations.delete(r.registrationId);
    }
    this.#registrations.set(record.registrationId, copy(record));
    return { ok: true };
  }

  async getRegistration(registrationId: string): Promise<RegistrationRecord | undefined> {
    const record = this.#registrations.get(registrationId);
    return record && copy(record);
  }

  async findRegistrations(query: { phoneNumber?: string; deviceId?: string }): Promise<RegistrationRecord[]> {
    return [...this.#registrations.values()]
      .filter(
        (r) =>
          (query.phoneNumber === undefined || r.phoneNumber === query.phoneNumber) &&
          (query.deviceId === undefined || r.deviceId === query.deviceId),
      )
      .map(copy);
  }

  async refreshRegistration(
    registrationId: string,
    expiresAt: number,
  ): Promise<RegistrationRecord | undefined> {
    const record = this.#registrations.get(registrationId);
    if (record === undefined) return undefined;
    record.expiresAt = expiresAt;
    return copy(record);
  }

  async takeRegistration(registrationId: string): Promise<RegistrationRecord | undefined> {
    const record = this.#registrations.get(registrationId);
    this.#registrations.delete(registrationId);
    return record;
  }

  async createSession(record: MediaSessionRecord): Promise<void> {
    if (this.#sessions.has(record.mediaSessionId))
      throw new Error(`media session ${record.mediaSessionId} exists`);
    this.#sessions.set(record.mediaSessionId, copy(record));
  }

  async getSession(mediaSessionId: string): Promise<MediaSessionRecord | undefined> {
    const record = this.#sessions.get(mediaSessionId);
    return record && copy(record);
  }

  async saveSession(record: MediaSessionRecord): Promise<void> {
    this.#sessions.set(record.mediaSessionId, copy(record));
  }

  async findSessions(query: {
    registrationId?: string;
    phoneNumber?: string;
  }): Promise<MediaSessionRecord[]> {
    return [...this.#sessions.values()]
      .filter(
        (s) =>
          (query.registrationId === undefined || s.registrationIds.includes(query.registrationId)) &&
          (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber),
      )
      .map(copy);
  }

  async deleteSession(mediaSessionId: string): Promise<void> {
    this.#sessions.delete(mediaSessionId);
  }

  async createSubscription(
    record: SubscriptionRecord,
    limits: { maxPerOwner?: number },
  ): Promise<CreateSubscriptionOutcome> {
    const owned = [...this.#subscriptions.values()].filter((s) => s.ownerKey === record.ownerKey);
    const same = owned.find(
      (s) => s.deviceId === record.deviceId && s.sink === record.sink && sameTypes(s.types, record.types),
    );
    if (same) return { ok: false, reason: 'ALREADY_EXISTS', existing: copy(same) };
    if (limits.maxPerOwner !== undefined && owned.length >= limits.maxPerOwner)
      return { ok: false, reason: 'QUOTA_EXCEEDED' };
    this.#subscriptions.set(record.id, copy(record));
    return { ok: true };
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const record = this.#subscriptions.get(id);
    return record && copy(record);
  }

  async findSubscriptions(query: {
    ownerKey?: string;
    phoneNumber?: string;
    deviceId?: string;
  }): Promise<SubscriptionRecord[]> {
    return [...this.#subscriptions.values()]
      .filter(
        (s) =>
          (query.ownerKey === undefined || s.ownerKey === query.ownerKey) &&
          (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber) &&
          (query.deviceId === undefined || s.deviceId === query.deviceId),
      )
      .map(copy);
  }

  async saveSubscription(record: SubscriptionRecord): Promise<boolean> {
    if (!this.#subscriptions.has(record.id)) return false;
    this.#subscriptions.set(record.id, copy(record));
    return true;
  }

  async takeSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const record = this.#subscriptions.get(id);
    this.#subscriptions.delete(id);
    return record;
  }

  async nextSequence(key: string): Promise<number> {
    const next = (this.#sequences.get(key) ?? 0) + 1;
    this.#sequences.set(key, next);
    return next;
  }

  async deleteSequence(key: string): Promise<void> {
    this.#sequences.delete(key);
  }

  /** Counts of what is stored, for tests ("nothing stored"). */
  counts(): { registrations: number; sessions: number; subscriptions: number } {
    return {
      registrations: this.#registrations.size,
      sessions: this.#sessions.size,
      subscriptions: this.#subscriptions.size,
    };
  }

  async close(): Promise<void> {}
}
