import { createHash, randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { ClusterMessaging } from '../cluster/node-channel.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { StoreUnavailableError } from '../errors.js';
import type { EventQueue, QueuedEntry } from '../events/event-queue.js';
import {
  type CreateRegistrationOutcome,
  type CreateSessionOutcome,
  type CreateSubscriptionOutcome,
  type MediaSessionRecord,
  type RegistrationLimits,
  type RegistrationRecord,
  type SubscriptionRecord,
  subscriptionEnd,
} from './records.js';
import { isSentinelUrl, parseSentinelUrl, redactRedisUrl } from './redis-url.js';
import type { NodeHeartbeat, NumberedSave, SessionConditions, SessionQuery, Store } from './store.js';

export { redactRedisUrl } from './redis-url.js';

export interface RedisStoreOptions {
  /**
   * Prefix of every key (default `telegate:`). Gateway nodes share state when
   * they use the same Redis database and the same prefix.
   */
  keyPrefix?: string;
  /** Connection problems after start-up are logged here (default: nowhere). */
  logger?: Logger;
  /**
   * Lifetimes Redis enforces by itself (TTLs), so nothing outlives its meaning
   * when no node is left to remove it. `lapsedGraceMs`: how long a registration
   * or subscription stays after its end for a node to end it properly (default
   * 1 h); `liveSessionTtlMs`: an unfinished session not written for this long
   * (default 24 h); `endedSessionTtlMs`: an ended one (default 60 s, the
   * gateway's retention); `sequenceTtlMs`: a counter not used for this long
   * (default 30 days).
   */
  lifetimes?: Partial<StoreLifetimes>;
}

export interface StoreLifetimes {
  lapsedGraceMs: number;
  liveSessionTtlMs: number;
  endedSessionTtlMs: number;
  sequenceTtlMs: number;
}

const DEFAULT_LIFETIMES: StoreLifetimes = {
  lapsedGraceMs: 3_600_000,
  liveSessionTtlMs: 86_400_000,
  endedSessionTtlMs: 60_000,
  sequenceTtlMs: 30 * 86_400_000,
};

/** Longest a store command may take, queued while reconnecting included (default). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1000;

export interface RedisConnectOptions extends RedisStoreOptions {
  /** How long the first connection may take (default 5000 ms). */
  connectTimeoutMs?: number;
  /**
   * Longest a command may wait for its answer, including the time it waits
   * for a lost connection to come back (default 1000 ms). Past it, the store
   * method rejects with `StoreUnavailableError` (a prompt 503 for a client).
   */
  commandTimeoutMs?: number;
}

/** The first connection to Redis failed; the message names the server (never its password) and why. */
export class RedisConnectError extends Error {
  override name = 'RedisConnectError';
}

export const DEFAULT_KEY_PREFIX = 'telegate:';

/*
 * Keys (P = the prefix, `telegate:` by default), all values JSON, ids, or sets of ids:
 *
 *   P reg:<registrationId>           a RegistrationRecord (TTL: its expiry + the lapsed grace)
 *   P regidx:dev:<deviceId>          hash: phoneNumber → id of the registration of that pair
 *   P regidx:phone:<phoneNumber>     sorted set: ids of registrations of a number, by expiresAt
 *   P regidx:user:<userKey>          sorted set: ids of registrations of a user, by expiresAt (*)
 *   P regidx:ud:<deviceId>:<userKey> sorted set: ids of a user's registrations of a device, by expiresAt (*)
 *   P regidx:userdev:<userKey>       sorted set: a user's devices, by their latest expiresAt (*)
 *   P regidx:due                     sorted set: every registration id by expiresAt (lapsed look, count, resume)
 *   P sess:<mediaSessionId>          a MediaSessionRecord (TTL: live 24 h, ended: the retention)
 *   P sessidx:reg:<registrationId>   ids of sessions depending on a registration
 *   P sessidx:phone:<phoneNumber>    ids of sessions of a number
 *   P sessidx:node:<nodeId>          ids of sessions a gateway node handles (`owner`)
 *   P sessidx:live:<phoneNumber>     ids of a number's unfinished sessions (the per-number limit)
 *   P sub:<id>                       a SubscriptionRecord (TTL: its end + the lapsed grace, if it ends)
 *   P subidx:same:<sha1>             the id of an owner's subscription of one device, sink and types
 *   P subidx:owner:<ownerKey>        ids of an owner's subscriptions
 *   P subidx:phone:<phoneNumber>     ids of a number's subscriptions (event fan-out)
 *   P subidx:device:<deviceId>       ids of a device's subscriptions
 *   P subidx:all                     every subscription id
 *   P subidx:due                     sorted set: subscription ids by end, those that have one (findDueSubscriptions)
 *   P subver:<phoneNumber>           the version of a number's subscriptions: a random token, new with each
 *                                    change; none while the number has no subscription (numberSubscriptions)
 *   P seq:<key>                      a counter (INCR; TTL 30 days from its last use)
 *   P nodes                          sorted set: gateway node ids, by the end of their lease
 *   P epoch                          a random value written by the first node to find it missing
 *   P evq:<subscriptionId>           stream of CloudEvents to deliver (consumer group `d`)
 *   P evq:waiting                    ids of subscriptions whose stream has entries
 *   P evq:count                      entries in every stream together (the EVENT_QUEUE_MAX bound)
 *   P evlock:<subscriptionId>        the node delivering the subscription's events (TTL: the lock)
 *
 * (*) Only registrations written while the limit that counts them was set: the
 * per-user index for `maxPerUser`, the two others for `maxDevicesPerUser`. A
 * create with no limit writes the record, one field of the device's hash and
 * two indexes. A limit switched on later counts the registrations written
 * since (as the memory store, which a configuration change restarts empty).
 * Earlier versions wrote every index for every registration: the keys and
 * their types are the same, so their records are read, counted and removed as
 * they are. They also kept a device's registrations in two keys where one hash
 * serves now: the pair's id in `regidx:pair:<phone>:<device>` and a sorted set
 * `regidx:device:<deviceId>`. Those are still read (a pair's id falls back to
 * the pair key; a device's registrations are the union of both) and removed
 * with their registration; a refresh moves a registration to the hash.
 *
 * Records and index namespaces differ right after the type (`reg:` vs `regidx:`),
 * so no id a client sends can name an index.
 *
 * Cost: no operation reads records in proportion to how many there are. The
 * uniqueness of a (device, number) pair is one hash field; the per-user, per-number
 * and per-device limits count an index sorted by expiry (ZCOUNT, logarithmic),
 * and only when the limit is set; the subscription duplicate check is one key
 * (a hash of owner, device, sink and sorted types) and its quota one SCARD.
 * What a lookup returns (the registrations of one number) is read, nothing more.
 *
 * Lifetimes: every record has a TTL, so nothing outlives its meaning when no
 * node is left to remove it; index entries whose record expired are dropped
 * by the next read of that index.
 *
 * Atomicity: every write that touches a record and its indexes, and every
 * check-and-insert (registration uniqueness and limits, subscription uniqueness
 * and quota, take = get-and-delete), is one Lua script. Redis runs a script
 * without interleaving any other command, so two gateway nodes racing on the
 * same check serialise in Redis: one sees the other's insert. Lua is preferred
 * to WATCH/MULTI because a hot key (the same deviceId + phone number from many
 * nodes) would make optimistic transactions retry, possibly many times; a
 * script costs one round trip and never retries. Scripts are sent once and run
 * by SHA afterwards (ioredis `defineCommand`).
 *
 * The scripts touch keys derived from the record (its indexes), keys that are
 * not declared up front: this needs one Redis (standalone, or behind Sentinel),
 * not Redis Cluster (see the README).
 *
 * Scripts store the JSON the client sent unchanged; they never re-encode a record
 * (cjson would turn `[]` into `{}` and round numbers to 14 digits). The registration
 * scripts get the fields they need as arguments beside the JSON, so creating and
 * refreshing one decodes nothing; the others decode (cjson) to read fields. Times
 * go in as the strings the client formatted for the same reason (Lua would print
 * 1.7e+12).
 */

/**
 * What the registration scripts share. The device's hash (`dev`) and the
 * indexes by number and expiry (`due`) hold every registration; those by user
 * (`user`, `ud`, `userdev`) only the ones written while the limit that counts
 * them was set (create maintains them then, refresh keeps the entries it
 * finds). A removal takes the id out of every index, wherever it was put,
 * those of the earlier layout (see above) included.
 */
const REG_COMMON = `
local P = ARGV[1]
-- The id of the (phone, device) pair's registration: the device's hash, else the pair key of the earlier layout.
local function pair_id(phone, device)
  return redis.call('HGET', P .. 'regidx:dev:' .. device, phone)
    or redis.call('GET', P .. 'regidx:pair:' .. phone .. ':' .. device)
end
-- Removes the earlier layout's entries of registration id: its pair key and the device's sorted set.
local function forget_earlier_layout(id, phone, device)
  local pair = P .. 'regidx:pair:' .. phone .. ':' .. device
  if redis.call('GET', pair) == id then redis.call('DEL', pair) end
  redis.call('ZREM', P .. 'regidx:device:' .. device, id)
end
-- The latest expiry of a user's registrations of a device, in the user's device index.
local function index_user_device(device, user)
  local ud = P .. 'regidx:ud:' .. device .. ':' .. user
  local top = redis.call('ZRANGE', ud, 0, 0, 'REV', 'WITHSCORES')
  if top[2] then redis.call('ZADD', P .. 'regidx:userdev:' .. user, top[2], device)
  else redis.call('ZREM', P .. 'regidx:userdev:' .. user, device) end
end
local function remove_registration(id, phone, device, user)
  redis.call('DEL', P .. 'reg:' .. id)
  local dev = P .. 'regidx:dev:' .. device
  if redis.call('HGET', dev, phone) == id then redis.call('HDEL', dev, phone) end
  forget_earlier_layout(id, phone, device)
  redis.call('ZREM', P .. 'regidx:phone:' .. phone, id)
  redis.call('ZREM', P .. 'regidx:due', id)
  redis.call('ZREM', P .. 'regidx:user:' .. user, id)
  if redis.call('ZREM', P .. 'regidx:ud:' .. device .. ':' .. user, id) == 1 then
    index_user_device(device, user)
  end
end
`;

const LUA_COMMON = `
local P = ARGV[1]
-- The index sets a session belongs to, as a set of keys.
local function session_indexes(s)
  local keys = { [P .. 'sessidx:phone:' .. s.phoneNumber] = true }
  for _, rid in ipairs(s.registrationIds) do keys[P .. 'sessidx:reg:' .. rid] = true end
  if s.owner then keys[P .. 'sessidx:node:' .. s.owner] = true end
  if not s.endedAt then keys[P .. 'sessidx:live:' .. s.phoneNumber] = true end
  return keys
end
-- Moves session id from the indexes of \`before\` to those of \`after\` (either may be {}),
-- touching only those that differ: a status change writes no index, an ending one.
local function reindex_session(id, before, after)
  for key in pairs(before) do
    if not after[key] then redis.call('SREM', key, id) end
  end
  for key in pairs(after) do
    if not before[key] then redis.call('SADD', key, id) end
  end
end
-- How many sessions of the number are stored unfinished (ids whose record expired leave the index).
local function count_live(phone)
  local key = P .. 'sessidx:live:' .. phone
  local n = 0
  for _, id in ipairs(redis.call('SMEMBERS', key)) do
    if redis.call('EXISTS', P .. 'sess:' .. id) == 1 then n = n + 1 else redis.call('SREM', key, id) end
  end
  return n
end
-- due: the score in the end index ('' = never ends by itself), for SADD.
local function index_subscription(op, s, due)
  local id = s.id
  redis.call(op, P .. 'subidx:owner:' .. s.ownerKey, id)
  redis.call(op, P .. 'subidx:phone:' .. s.phoneNumber, id)
  redis.call(op, P .. 'subidx:device:' .. s.deviceId, id)
  redis.call(op, P .. 'subidx:all', id)
  if op == 'SADD' and due ~= '' then redis.call('ZADD', P .. 'subidx:due', due, id)
  else redis.call('ZREM', P .. 'subidx:due', id) end
end
-- The subscriptions of a number changed: their version becomes \`token\` (a value never used
-- before), or '' (no key) while the number has none: '' always stands for the empty set.
local function subscriptions_changed(phone, token)
  if redis.call('SCARD', P .. 'subidx:phone:' .. phone) > 0 then
    redis.call('SET', P .. 'subver:' .. phone, token)
  else
    redis.call('DEL', P .. 'subver:' .. phone)
  end
end
-- A record's lifetime: ttl_ms '' = none (PERSIST), else milliseconds from now.
local function set_lifetime(key, ttl_ms)
  if ttl_ms == '' then redis.call('PERSIST', key) else redis.call('PEXPIRE', key, ttl_ms) end
end
`;

/** How many values each create brings to `CREATE_REGISTRATIONS` (see there). */
const CREATE_REGISTRATION_ARGS = 11;

/**
 * ARGV: prefix, then for each registration to create, in order: record JSON,
 * its registrationId, phoneNumber, deviceId, userKey, now, expiresAt, how long
 * Redis keeps the record (ms), maxPerUser, maxPerMsisdn, maxDevicesPerUser
 * ('' = no limit). The fields come apart from the JSON so that the script
 * decodes nothing on its way to an insert. Returns one answer per registration,
 * in order: {'OK'} | {'ALREADY_EXISTS', existing JSON} | {limit reason} |
 * {'ERROR', message}. Same rules, in the same order, as
 * `MemoryStore.createRegistration`; the creates of one call run one after the
 * other, exactly as if each were a script of its own, and one that fails with an
 * error fails alone.
 */
const CREATE_REGISTRATIONS = `${REG_COMMON}
local function create(a)
  local json, id, phone, device, user = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local now = tonumber(ARGV[a + 5])
  local after_now = '(' .. ARGV[a + 5]
  local due, ttl = ARGV[a + 6], ARGV[a + 7]
  local max_user, max_msisdn, max_devices = tonumber(ARGV[a + 8]), tonumber(ARGV[a + 9]), tonumber(ARGV[a + 10])

  -- The same (deviceId, phoneNumber): at most one record, active or lapsed; its
  -- expiry is its score in the expiry index (no record decoded).
  local same_id = pair_id(phone, device)
  if same_id then
    local ends = redis.call('ZSCORE', P .. 'regidx:due', same_id)
    if ends and tonumber(ends) > now then
      local raw = redis.call('GET', P .. 'reg:' .. same_id)
      if raw then return { 'ALREADY_EXISTS', raw } end
    end
  end
  if max_user and redis.call('ZCOUNT', P .. 'regidx:user:' .. user, after_now, '+inf') >= max_user then
    return { 'MAX_REGISTRATION_PER_USER' }
  end
  if max_msisdn and redis.call('ZCOUNT', P .. 'regidx:phone:' .. phone, after_now, '+inf') >= max_msisdn then
    return { 'MAX_REGISTRATION_PER_MSISDN' }
  end
  if max_devices then
    local devices = P .. 'regidx:userdev:' .. user
    local latest = redis.call('ZSCORE', devices, device)
    local has_device = latest and tonumber(latest) > now
    if not has_device and redis.call('ZCOUNT', devices, after_now, '+inf') >= max_devices then
      return { 'MAX_DEVICES_PER_USER' }
    end
  end

  -- A lapsed record of the same pair whose timer has not fired yet is replaced
  -- (decoded for its user, which may differ).
  if same_id then
    local raw = redis.call('GET', P .. 'reg:' .. same_id)
    if raw then
      local same = cjson.decode(raw)
      remove_registration(same_id, same.phoneNumber, same.deviceId, same.userKey)
    end
  end
  redis.call('SET', P .. 'reg:' .. id, json, 'PX', ttl)
  redis.call('HSET', P .. 'regidx:dev:' .. device, phone, id)
  redis.call('ZADD', P .. 'regidx:phone:' .. phone, due, id)
  redis.call('ZADD', P .. 'regidx:due', due, id)
  if max_user then redis.call('ZADD', P .. 'regidx:user:' .. user, due, id) end
  if max_devices then
    redis.call('ZADD', P .. 'regidx:ud:' .. device .. ':' .. user, due, id)
    redis.call('ZADD', P .. 'regidx:userdev:' .. user, 'GT', due, device)
  end
  return { 'OK' }
end
-- A create that raises an error (a stored record that is not JSON, say) fails alone.
local answers = {}
for a = 2, #ARGV, ${CREATE_REGISTRATION_ARGS} do
  local ok, answer = pcall(create, a)
  if not ok then answer = { 'ERROR', type(answer) == 'table' and tostring(answer.err) or tostring(answer) } end
  answers[#answers + 1] = answer
end
return answers
`;

/**
 * ARGV: prefix, registration id, the JSON it must still have ('' = any).
 * Returns the removed record's JSON, or nil.
 */
const TAKE_REGISTRATION = `${REG_COMMON}
local raw = redis.call('GET', P .. 'reg:' .. ARGV[2])
if not raw then return false end
if ARGV[3] ~= '' and raw ~= ARGV[3] then return false end
local r = cjson.decode(raw)
remove_registration(ARGV[2], r.phoneNumber, r.deviceId, r.userKey)
return raw
`;

/**
 * ARGV: prefix, registration id, the record JSON with its new expiry, its phoneNumber,
 * deviceId, userKey, that expiry, how long Redis keeps the record (ms). Returns 1, or 0
 * when the registration no longer exists (it is not recreated). The per-user indexes are
 * updated where they hold it (XX), as the limit that wanted them was set at its create.
 */
const REFRESH_REGISTRATION = `${REG_COMMON}
local id, phone, device, user, due, ttl = ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local key = P .. 'reg:' .. id
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('SET', key, ARGV[3], 'PX', ttl)
-- A registration of the earlier layout moves to the device's hash.
redis.call('HSET', P .. 'regidx:dev:' .. device, phone, id)
forget_earlier_layout(id, phone, device)
redis.call('ZADD', P .. 'regidx:phone:' .. phone, due, id)
redis.call('ZADD', P .. 'regidx:due', due, id)
redis.call('ZADD', P .. 'regidx:user:' .. user, 'XX', due, id)
-- The expiry may have moved back: the device's latest one is looked up again.
if redis.call('ZADD', P .. 'regidx:ud:' .. device .. ':' .. user, 'XX', 'CH', due, id) == 1 then
  index_user_device(device, user)
end
return 1
`;

/** ARGV: prefix, now. Ids of lapsed registrations; entries whose record Redis dropped are removed. */
const LAPSED_REGISTRATIONS = `
local P = ARGV[1]
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'regidx:due', '-inf', ARGV[2])) do
  if redis.call('EXISTS', P .. 'reg:' .. id) == 1 then out[#out + 1] = id
  else redis.call('ZREM', P .. 'regidx:due', id) end
end
return out
`;

/** Arguments of one operation in a call of SESSION_WRITES: its kind, then five. */
const SESSION_WRITE_ARGS = 6;

/**
 * ARGV: prefix, then operations of SESSION_WRITE_ARGS arguments each, run in order:
 * - 'create', session JSON, its lifetime in ms, the most unfinished sessions of its number
 *   ('' = no limit), a registration id and the JSON it must still have ('' = no condition).
 *   Answers 1, 0 when the id is taken, -1 when the number has as many unfinished sessions as
 *   the limit, -2 when the registration is not that JSON.
 * - 'save', session JSON, its lifetime in ms, a counter's key and the counter's lifetime in ms
 *   ('' and '' = no counter), ''. Stores it (creating it if need be), re-indexed; with a counter,
 *   answers {its next value (as NEXT_SEQUENCE), the version of the subscriptions of the
 *   session's number ('' = none known)}, else 0.
 * One answer per operation, in order; an operation that raises an error answers {'ERROR',
 * message} and fails alone, as if each were a script of its own.
 */
const SESSION_WRITES = `${LUA_COMMON}
local function create(a)
  local json = ARGV[a + 1]
  local s = cjson.decode(json)
  local key = P .. 'sess:' .. s.mediaSessionId
  if redis.call('EXISTS', key) == 1 then return 0 end
  if ARGV[a + 3] ~= '' and count_live(s.phoneNumber) >= tonumber(ARGV[a + 3]) then return -1 end
  if ARGV[a + 5] ~= '' and redis.call('GET', P .. 'reg:' .. ARGV[a + 4]) ~= ARGV[a + 5] then return -2 end
  redis.call('SET', key, json, 'PX', ARGV[a + 2])
  reindex_session(s.mediaSessionId, {}, session_indexes(s))
  return 1
end
local function save(a)
  local json = ARGV[a + 1]
  local s = cjson.decode(json)
  local key = P .. 'sess:' .. s.mediaSessionId
  local old = redis.call('GET', key)
  -- Decoded before anything is written: a stored record that is not JSON fails the save untouched.
  local before = old and session_indexes(cjson.decode(old)) or {}
  redis.call('SET', key, json, 'PX', ARGV[a + 2])
  reindex_session(s.mediaSessionId, before, session_indexes(s))
  local counter = ARGV[a + 3]
  if counter == '' then return 0 end
  local n = redis.call('INCR', counter)
  redis.call('PEXPIRE', counter, ARGV[a + 4])
  return { n, redis.call('GET', P .. 'subver:' .. s.phoneNumber) or '' }
end
local answers = {}
for a = 2, #ARGV, ${SESSION_WRITE_ARGS} do
  local ok, answer = pcall(ARGV[a] == 'create' and create or save, a)
  if not ok then answer = { 'ERROR', type(answer) == 'table' and tostring(answer.err) or tostring(answer) } end
  answers[#answers + 1] = answer
end
return answers
`;

/** ARGV: prefix, phone number. Its unfinished sessions still stored (ids whose record expired leave the index). */
const COUNT_LIVE_SESSIONS = `${LUA_COMMON}
return count_live(ARGV[2])
`;

/** ARGV: prefix, session id. */
const DELETE_SESSION = `${LUA_COMMON}
local key = P .. 'sess:' .. ARGV[2]
local raw = redis.call('GET', key)
if not raw then return 0 end
redis.call('DEL', key)
reindex_session(ARGV[2], session_indexes(cjson.decode(raw)), {})
return 1
`;

/**
 * ARGV: prefix, subscription JSON, maxPerOwner ('' = no limit), its end ('' = none),
 * the key of its duplicates (subidx:same:…), how long Redis keeps it in ms ('' = always),
 * the new version of its number's subscriptions.
 * Returns {'OK'} | {'ALREADY_EXISTS', existing JSON} | {'QUOTA_EXCEEDED'}.
 */
const CREATE_SUBSCRIPTION = `${LUA_COMMON}
local json = ARGV[2]
local rec = cjson.decode(json)
local max_owned = tonumber(ARGV[3])
local same_key = P .. ARGV[5]
local same_id = redis.call('GET', same_key)
if same_id then
  local raw = redis.call('GET', P .. 'sub:' .. same_id)
  if raw then return { 'ALREADY_EXISTS', raw } end
end
if max_owned and redis.call('SCARD', P .. 'subidx:owner:' .. rec.ownerKey) >= max_owned then
  return { 'QUOTA_EXCEEDED' }
end
local key = P .. 'sub:' .. rec.id
redis.call('SET', key, json)
redis.call('SET', same_key, rec.id)
set_lifetime(key, ARGV[6])
set_lifetime(same_key, ARGV[6])
index_subscription('SADD', rec, ARGV[4])
subscriptions_changed(rec.phoneNumber, ARGV[7])
return { 'OK' }
`;

/**
 * ARGV: prefix, subscription JSON, its end ('' = none), its duplicates key, how long
 * Redis keeps it in ms ('' = always), the new version of its number's subscriptions.
 * Returns 1, or 0 when it no longer exists.
 */
const SAVE_SUBSCRIPTION = `${LUA_COMMON}
local s = cjson.decode(ARGV[2])
local key = P .. 'sub:' .. s.id
local old = redis.call('GET', key)
if not old then return 0 end
local before = cjson.decode(old)
index_subscription('SREM', before)
redis.call('SET', key, ARGV[2])
set_lifetime(key, ARGV[5])
local same_key = P .. ARGV[4]
if redis.call('GET', same_key) == s.id then set_lifetime(same_key, ARGV[5]) end
index_subscription('SADD', s, ARGV[3])
subscriptions_changed(before.phoneNumber, ARGV[6])
if s.phoneNumber ~= before.phoneNumber then subscriptions_changed(s.phoneNumber, ARGV[6]) end
return 1
`;

/**
 * ARGV: prefix, subscription id, the JSON it must still have ('' = any), the new version
 * of its number's subscriptions. Returns the removed record's JSON, or nil.
 */
const TAKE_SUBSCRIPTION = `${LUA_COMMON}
local key = P .. 'sub:' .. ARGV[2]
local raw = redis.call('GET', key)
if not raw then return false end
if ARGV[3] ~= '' and raw ~= ARGV[3] then return false end
redis.call('DEL', key)
local rec = cjson.decode(raw)
index_subscription('SREM', rec)
subscriptions_changed(rec.phoneNumber, ARGV[4])
return raw
`;

/** ARGV: prefix, a duplicates key, a subscription id. Removes the key while it names that id. */
const FORGET_SAME = `
if redis.call('GET', ARGV[1] .. ARGV[2]) == ARGV[3] then redis.call('DEL', ARGV[1] .. ARGV[2]) end
return 1
`;

/**
 * KEYS[1]: an index (a set, or a sorted set with ARGV[2] = 'z'); ARGV[1]: the key prefix
 * of its records. The records, as one snapshot; ids whose record is gone leave the index.
 * With ARGV[3], a key read in the same snapshot: its value ('' when absent) comes first.
 */
const MEMBERS = `
local sorted = ARGV[2] == 'z'
local ids = sorted and redis.call('ZRANGE', KEYS[1], 0, -1) or redis.call('SMEMBERS', KEYS[1])
local out = {}
if ARGV[3] then out[1] = redis.call('GET', ARGV[3]) or '' end
for _, id in ipairs(ids) do
  local raw = redis.call('GET', ARGV[1] .. id)
  if raw then out[#out + 1] = raw
  elseif sorted then redis.call('ZREM', KEYS[1], id)
  else redis.call('SREM', KEYS[1], id) end
end
return out
`;

/**
 * ARGV: prefix, deviceId. The JSON of the device's registrations: those of its hash and those of
 * the earlier layout's sorted set. Entries whose record Redis dropped are removed.
 */
const DEVICE_REGISTRATIONS = `
local P = ARGV[1]
local dev = P .. 'regidx:dev:' .. ARGV[2]
local earlier = P .. 'regidx:device:' .. ARGV[2]
local out, seen = {}, {}
local fields = redis.call('HGETALL', dev)
for i = 1, #fields, 2 do
  local id = fields[i + 1]
  local raw = redis.call('GET', P .. 'reg:' .. id)
  if raw then out[#out + 1] = raw; seen[id] = true else redis.call('HDEL', dev, fields[i]) end
end
for _, id in ipairs(redis.call('ZRANGE', earlier, 0, -1)) do
  if not seen[id] then
    local raw = redis.call('GET', P .. 'reg:' .. id)
    if raw then out[#out + 1] = raw else redis.call('ZREM', earlier, id) end
  end
end
return out
`;

/** KEYS[1]: a counter; ARGV[1]: its lifetime in ms from now. The next value. */
const NEXT_SEQUENCE = `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
`;

/**
 * ARGV: prefix, node id, end of its lease, an epoch to write when there is none.
 * Returns {the store's epoch, 1 when the node was listed already (else 0)}.
 */
const HEARTBEAT = `
local P = ARGV[1]
local epoch = redis.call('GET', P .. 'epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('SET', P .. 'epoch', epoch)
end
local added = redis.call('ZADD', P .. 'nodes', ARGV[3], ARGV[2])
return { epoch, 1 - added }
`;

/** ARGV: prefix, now. Ids of the nodes whose lease ended, removed from the list: each goes to one caller. */
const CLAIM_DEAD_NODES = `
local P = ARGV[1]
local dead = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', ARGV[2])
for _, id in ipairs(dead) do redis.call('ZREM', P .. 'nodes', id) end
return dead
`;

/**
 * ARGV: prefix, subscription id, entry JSON, max. Appends it to the subscription's stream
 * (group `d`) and counts it in `evq:count`, unless `max` > 0 entries are counted already.
 * Returns {1 appended | 0 not, the count after}.
 */
const QUEUE_APPEND = `
local count = tonumber(redis.call('GET', ARGV[1] .. 'evq:count') or '0')
local max = tonumber(ARGV[4])
if max > 0 and count >= max then return { 0, count } end
local key = ARGV[1] .. 'evq:' .. ARGV[2]
redis.pcall('XGROUP', 'CREATE', key, 'd', '0', 'MKSTREAM')
redis.call('XADD', key, '*', 'e', ARGV[3])
redis.call('SADD', ARGV[1] .. 'evq:waiting', ARGV[2])
return { 1, redis.call('INCR', ARGV[1] .. 'evq:count') }
`;

/** ARGV: prefix, subscription id, node id, lock ms. 1 when the node holds the delivery lock (taken or extended). */
const QUEUE_LOCK = `
local key = ARGV[1] .. 'evlock:' .. ARGV[2]
if redis.call('SET', key, ARGV[3], 'NX', 'PX', ARGV[4]) then return 1 end
if redis.call('GET', key) == ARGV[3] then
  redis.call('PEXPIRE', key, ARGV[4])
  return 1
end
return 0
`;

/** ARGV: prefix, subscription id, node id. */
const QUEUE_UNLOCK = `
local key = ARGV[1] .. 'evlock:' .. ARGV[2]
if redis.call('GET', key) == ARGV[3] then redis.call('DEL', key) end
return 1
`;

/**
 * ARGV: prefix, subscription id, node id, count. Entries pending in the group
 * (read by a node that did not finish them) claimed for this node, oldest
 * first; else new ones. Flat: id, entry, id, entry…
 */
const QUEUE_NEXT = `
local key = ARGV[1] .. 'evq:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return {} end
local out = {}
local claimed = redis.call('XAUTOCLAIM', key, 'd', ARGV[3], 0, '0-0', 'COUNT', ARGV[4])
for _, e in ipairs(claimed[2]) do
  out[#out + 1] = e[1]
  out[#out + 1] = e[2][2]
end
if #out > 0 then return out end
local read = redis.call('XREADGROUP', 'GROUP', 'd', ARGV[3], 'COUNT', ARGV[4], 'STREAMS', key, '>')
if read then
  for _, e in ipairs(read[1][2]) do
    out[#out + 1] = e[1]
    out[#out + 1] = e[2][2]
  end
end
return out
`;

/**
 * ARGV: prefix, subscription id, entry id. Acknowledges and removes it; an empty stream goes.
 * Returns the count of entries after.
 */
const QUEUE_DONE = `
local key = ARGV[1] .. 'evq:' .. ARGV[2]
local counter = ARGV[1] .. 'evq:count'
redis.call('XACK', key, 'd', ARGV[3])
if redis.call('XDEL', key, ARGV[3]) == 1 and redis.call('DECR', counter) < 0 then
  redis.call('SET', counter, 0)
end
if redis.call('XLEN', key) == 0 then
  redis.call('DEL', key)
  redis.call('SREM', ARGV[1] .. 'evq:waiting', ARGV[2])
end
return tonumber(redis.call('GET', counter) or '0')
`;

const SCRIPTS = {
  telegateCreateRegistrations: { numberOfKeys: 0, lua: CREATE_REGISTRATIONS },
  telegateTakeRegistration: { numberOfKeys: 0, lua: TAKE_REGISTRATION },
  telegateRefreshRegistration: { numberOfKeys: 0, lua: REFRESH_REGISTRATION },
  telegateLapsedRegistrations: { numberOfKeys: 0, lua: LAPSED_REGISTRATIONS },
  telegateSessionWrites: { numberOfKeys: 0, lua: SESSION_WRITES },
  telegateDeleteSession: { numberOfKeys: 0, lua: DELETE_SESSION },
  telegateCountLiveSessions: { numberOfKeys: 0, lua: COUNT_LIVE_SESSIONS },
  telegateCreateSubscription: { numberOfKeys: 0, lua: CREATE_SUBSCRIPTION },
  telegateSaveSubscription: { numberOfKeys: 0, lua: SAVE_SUBSCRIPTION },
  telegateTakeSubscription: { numberOfKeys: 0, lua: TAKE_SUBSCRIPTION },
  telegateForgetSame: { numberOfKeys: 0, lua: FORGET_SAME },
  telegateMembers: { numberOfKeys: 1, lua: MEMBERS },
  telegateDeviceRegistrations: { numberOfKeys: 0, lua: DEVICE_REGISTRATIONS },
  telegateNextSequence: { numberOfKeys: 1, lua: NEXT_SEQUENCE },
  telegateHeartbeat: { numberOfKeys: 0, lua: HEARTBEAT },
  telegateClaimDeadNodes: { numberOfKeys: 0, lua: CLAIM_DEAD_NODES },
  telegateQueueAppend: { numberOfKeys: 0, lua: QUEUE_APPEND },
  telegateQueueLock: { numberOfKeys: 0, lua: QUEUE_LOCK },
  telegateQueueUnlock: { numberOfKeys: 0, lua: QUEUE_UNLOCK },
  telegateQueueNext: { numberOfKeys: 0, lua: QUEUE_NEXT },
  telegateQueueDone: { numberOfKeys: 0, lua: QUEUE_DONE },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptClient = { [K in ScriptName]: (...args: string[]) => Promise<unknown> };

/** A subscription's score in the end index: when it ends by itself ('' = never). */
function endArg(record: SubscriptionRecord): string {
  const end = subscriptionEnd(record);
  return end === undefined ? '' : String(end.at);
}

/** The key naming an owner's subscription of one device, sink and set of types (any order). */
function sameSubscriptionKey(record: SubscriptionRecord): string {
  const types = [...record.types].sort().join(' ');
  const hash = createHash('sha1')
    .update(JSON.stringify([record.ownerKey, record.deviceId, record.sink, types]))
    .digest('hex');
  return `subidx:same:${hash}`;
}

type RegistrationLimitReason = Exclude<
  Extract<CreateRegistrationOutcome, { ok: false }>['reason'],
  'ALREADY_EXISTS'
>;
const LIMIT_REASONS: ReadonlySet<string> = new Set<RegistrationLimitReason>([
  'MAX_REGISTRATION_PER_USER',
  'MAX_REGISTRATION_PER_MSISDN',
  'MAX_DEVICES_PER_USER',
]);

/** At most this many operations per call of a batching script: a larger batch would hold Redis longer. */
const MAX_OPERATIONS_PER_CALL = 32;

/**
 * Group commit: the operations asked for in one turn of the event loop (the requests that arrived
 * together) go to Redis as one call of a script that runs them in order, at most
 * `MAX_OPERATIONS_PER_CALL` per call. Redis then reads, runs and answers once for all of them, and
 * this process sends and parses one command: under load, most of an operation's cost. A lone
 * operation waits only for the end of the current turn. An operation the script answers
 * {'ERROR', message} for fails alone, with `StoreUnavailableError`.
 */
class TurnBatches {
  #queue: { args: string[]; resolve(answer: unknown): void; reject(error: unknown): void }[] | undefined;
  readonly #send: (args: string[]) => Promise<unknown>;
  readonly #logger: Logger;
  readonly #what: string;

  /** `send` calls the script with the operations' arguments one after the other; `what` names them in logs. */
  constructor(send: (args: string[]) => Promise<unknown>, logger: Logger, what: string) {
    this.#send = send;
    this.#logger = logger;
    this.#what = what;
  }

  /** Queues one operation's arguments; resolves with the script's answer to it. */
  add(args: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#queue === undefined) {
        this.#queue = [];
        setImmediate(() => this.#flush());
      }
      this.#queue.push({ args, resolve, reject });
    });
  }

  #flush(): void {
    const queued = this.#queue ?? [];
    this.#queue = undefined;
    for (let from = 0; from < queued.length; from += MAX_OPERATIONS_PER_CALL) {
      const batch = queued.slice(from, from + MAX_OPERATIONS_PER_CALL);
      this.#send(batch.flatMap((operation) => operation.args)).then(
        (answers) => {
          const list = answers as unknown[];
          for (const [i, operation] of batch.entries()) {
            const answer = list[i];
            if (answer === undefined || (Array.isArray(answer) && answer[0] === 'ERROR')) {
              const error = new Error(
                (answer as unknown[] | undefined)?.[1] === undefined
                  ? `the Redis script answered too few ${this.#what}`
                  : String((answer as unknown[])[1]),
              );
              this.#logger.warn(
                { err: error },
                `one of the ${this.#what} failed in Redis; its request gets 503`,
              );
              operation.reject(new StoreUnavailableError(error));
            } else operation.resolve(answer);
          }
        },
        (error: unknown) => {
          for (const operation of batch) operation.reject(error);
        },
      );
    }
  }
}

const limitArg = (value: number | undefined): string => (value === undefined ? '' : String(value));

const byCreation =
  <T>(time: (r: T) => number, id: (r: T) => string) =>
  (a: T, b: T): number =>
    time(a) - time(b) || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0);

/** The subscriptions among `records` that match every given field, oldest first. */
const matchingSubscriptions = (
  records: SubscriptionRecord[],
  query: { ownerKey?: string; phoneNumber?: string; deviceId?: string },
): SubscriptionRecord[] =>
  records
    .filter(
      (s) =>
        (query.ownerKey === undefined || s.ownerKey === query.ownerKey) &&
        (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber) &&
        (query.deviceId === undefined || s.deviceId === query.deviceId),
    )
    .sort(
      byCreation(
        (s) => s.startsAt,
        (s) => s.id,
      ),
    );

/**
 * The `Store` of several gateway nodes: records as JSON in one Redis, under
 * `keyPrefix`, with index sets; checks and inserts in Lua scripts (see above).
 * Lists come back oldest first (by creation time, then id).
 *
 * Owns its connection: `close()` quits it.
 */
export class RedisStore implements Store {
  readonly #redis: Redis;
  readonly #scripts: ScriptClient;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #lifetimes: StoreLifetimes;
  /** Set from the first failed command until one succeeds again: an outage is logged once. */
  #failing = false;
  #closed: Promise<void> | undefined;
  /** Registration creates, sent together per turn of the event loop. */
  readonly #registrationCreates: TurnBatches;
  /** Session creates and saves, sent together per turn of the event loop. */
  readonly #sessionWrites: TurnBatches;

  /**
   * Connects to `url` (`redis://[user:password@]host:port[/db]`, `rediss://` for
   * TLS, or `redis-sentinel://[user:password@]host:port[,host:port…]/<master>[/db]`
   * to reach the master Sentinel names) and resolves once Redis answers; rejects
   * with `RedisConnectError` (after giving up: no reconnecting in the background)
   * when it cannot. Later disconnections are retried with backoff; through
   * Sentinel, each retry asks the sentinels for the master again, and a failover
   * they announce moves the connection at once.
   */
  static async connect(url: string, options: RedisConnectOptions = {}): Promise<RedisStore> {
    const logger = options.logger ?? silentLogger;
    let connected = false;
    let lastError: (Error & { code?: string }) | undefined;
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      // Every command is bounded in time, also one queued while the connection is down
      // (the offline queue stays on: a Sentinel failover or a blip costs a wait, not an error).
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => (connected ? Math.min(attempt * 200, 2000) : null),
    };
    let redis: Redis;
    if (isSentinelUrl(url)) {
      let target: ReturnType<typeof parseSentinelUrl>;
      try {
        target = parseSentinelUrl(url);
      } catch (error) {
        throw new RedisConnectError(`${redactRedisUrl(url)} ${(error as Error).message}`);
      }
      redis = new Redis({
        ...redisOptions,
        ...target,
        // All sentinels unreachable: as for the server itself, give up at start, else retry.
        sentinelRetryStrategy: (attempt) => (connected ? Math.min(attempt * 200, 2000) : null),
        // Subscribes to the sentinels' +switch-master: a failover moves the connection at once.
        failoverDetector: true,
        // A master demoted to replica answers writes with READONLY: reconnect (to the
        // master the sentinels name now) and send the command again.
        reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
      });
    } else {
      redis = new Redis(url, redisOptions);
    }
    let reported = false;
    redis.on('error', (error: Error & { code?: string }) => {
      lastError = error;
      if (!connected || reported) return;
      // Once per outage: ioredis reports every failed reconnection.
      reported = true;
      logger.warn({ err: error, redis: redactRedisUrl(url) }, 'Redis connection lost; reconnecting');
    });
    redis.on('ready', () => {
      if (reported) logger.info({ redis: redactRedisUrl(url) }, 'Redis connection restored');
      reported = false;
    });
    let timer: NodeJS.Timeout | undefined;
    const attempt = (async () => {
      await redis.connect();
      await redis.ping();
    })();
    attempt.catch(() => {}); // when the timeout wins, its later failure is expected
    try {
      // connectTimeout bounds the TCP connection; this also bounds a server that accepts and never answers.
      await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      // After a refusal the client has ended already; disconnect() would then arm a
      // 2 s timer (ioredis' disconnectTimeout) that nothing clears, holding the process.
      if (redis.status !== 'end') redis.disconnect();
      const why = lastError?.code ?? lastError?.message ?? (error as Error).message;
      throw new RedisConnectError(`cannot connect to Redis at ${redactRedisUrl(url)} (${why})`);
    } finally {
      clearTimeout(timer);
    }
    connected = true;
    return new RedisStore(redis, options);
  }

  /** Wraps a connected client, which the store then owns. */
  constructor(redis: Redis, options: RedisStoreOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.#logger = options.logger ?? silentLogger;
    this.#lifetimes = { ...DEFAULT_LIFETIMES, ...options.lifetimes };
    for (const [name, script] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, script);
    }
    const client = redis as unknown as ScriptClient;
    this.#scripts = Object.fromEntries(
      Object.keys(SCRIPTS).map((name) => [
        name,
        (...args: string[]) => this.#guard(name, () => client[name as ScriptName](...args)),
      ]),
    ) as ScriptClient;
    this.#registrationCreates = new TurnBatches(
      (args) => this.#scripts.telegateCreateRegistrations(this.#prefix, ...args),
      this.#logger,
      'registration creates',
    );
    this.#sessionWrites = new TurnBatches(
      (args) => this.#scripts.telegateSessionWrites(this.#prefix, ...args),
      this.#logger,
      'session writes',
    );
  }

  get keyPrefix(): string {
    return this.#prefix;
  }

  /**
   * Runs one store operation: a failure of Redis (no connection, timeout,
   * an error reply) becomes `StoreUnavailableError`, logged once per outage.
   */
  async #guard<T>(what: string, operation: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await operation();
    } catch (error) {
      if (!this.#failing) {
        this.#failing = true;
        this.#logger.warn({ err: error, operation: what }, 'Redis store not answering; requests get 503');
      }
      throw new StoreUnavailableError(error);
    }
    if (this.#failing) {
      this.#failing = false;
      this.#logger.info({ operation: what }, 'Redis store answering again');
    }
    return result;
  }

  async #members<T>(index: string, recordPrefix: string, sorted = false): Promise<T[]> {
    const raw = (await this.#scripts.telegateMembers(
      this.#prefix + index,
      this.#prefix + recordPrefix,
      sorted ? 'z' : 's',
    )) as string[];
    return raw.map((json) => JSON.parse(json) as T);
  }

  async #get<T>(key: string): Promise<T | undefined> {
    const raw = await this.#guard('GET', () => this.#redis.get(this.#prefix + key));
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  // ---------------------------------------------------------------- registrations

  async createRegistration(
    record: RegistrationRecord,
    limits: RegistrationLimits,
    now: number,
  ): Promise<CreateRegistrationOutcome> {
    const [reason, existing] = (await this.#registrationCreates.add([
      JSON.stringify(record),
      record.registrationId,
      record.phoneNumber,
      record.deviceId,
      record.userKey,
      String(now),
      String(record.expiresAt),
      String(this.#keepFor(record.expiresAt)),
      limitArg(limits.maxPerUser),
      limitArg(limits.maxPerMsisdn),
      limitArg(limits.maxDevicesPerUser),
    ])) as [string, string?];
    if (reason === 'OK') return { ok: true };
    if (reason === 'ALREADY_EXISTS') {
      return {
        ok: false,
        reason,
        ...(existing === undefined ? {} : { existing: JSON.parse(existing) as RegistrationRecord }),
      };
    }
    if (LIMIT_REASONS.has(reason)) return { ok: false, reason: reason as RegistrationLimitReason };
    throw new Error(`unexpected answer from the Redis registration script: ${reason}`);
  }

  getRegistration(registrationId: string): Promise<RegistrationRecord | undefined> {
    return this.#get<RegistrationRecord>(`reg:${registrationId}`);
  }

  async findRegistrations(query: { phoneNumber?: string; deviceId?: string }): Promise<RegistrationRecord[]> {
    const records =
      query.phoneNumber === undefined && query.deviceId !== undefined
        ? ((await this.#scripts.telegateDeviceRegistrations(this.#prefix, query.deviceId)) as string[]).map(
            (json) => JSON.parse(json) as RegistrationRecord,
          )
        : await this.#members<RegistrationRecord>(
            query.phoneNumber !== undefined ? `regidx:phone:${query.phoneNumber}` : 'regidx:due',
            'reg:',
            true,
          );
    return records
      .filter(
        (r) =>
          (query.phoneNumber === undefined || r.phoneNumber === query.phoneNumber) &&
          (query.deviceId === undefined || r.deviceId === query.deviceId),
      )
      .sort(
        byCreation(
          (r) => r.createdAt,
          (r) => r.registrationId,
        ),
      );
  }

  /**
   * Only `expiresAt` of a registration ever changes, so writing the whole
   * record back (only if it still exists, with its place in the expiry index)
   * loses nothing and never resurrects a registration taken in between.
   */
  async refreshRegistration(
    registrationId: string,
    expiresAt: number,
  ): Promise<RegistrationRecord | undefined> {
    const record = await this.getRegistration(registrationId);
    if (record === undefined) return undefined;
    record.expiresAt = expiresAt;
    const written = await this.#scripts.telegateRefreshRegistration(
      this.#prefix,
      registrationId,
      JSON.stringify(record),
      record.phoneNumber,
      record.deviceId,
      record.userKey,
      String(expiresAt),
      String(this.#keepFor(expiresAt)),
    );
    return written === 1 ? record : undefined;
  }

  async findLapsedRegistrations(now: number): Promise<string[]> {
    return (await this.#scripts.telegateLapsedRegistrations(this.#prefix, String(now))) as string[];
  }

  async countActiveRegistrations(now: number): Promise<number> {
    return this.#guard('ZCOUNT', () => this.#redis.zcount(`${this.#prefix}regidx:due`, `(${now}`, '+inf'));
  }

  /**
   * `expected` is compared as JSON: a record read from this store serializes
   * back to exactly the stored text (both written by `JSON.stringify`).
   */
  async takeRegistration(
    registrationId: string,
    expected?: RegistrationRecord,
  ): Promise<RegistrationRecord | undefined> {
    const raw = (await this.#scripts.telegateTakeRegistration(
      this.#prefix,
      registrationId,
      expected === undefined ? '' : JSON.stringify(expected),
    )) as string | null;
    return raw === null ? undefined : (JSON.parse(raw) as RegistrationRecord);
  }

  // ---------------------------------------------------------------- media sessions

  async createSession(
    record: MediaSessionRecord,
    conditions: SessionConditions = {},
  ): Promise<CreateSessionOutcome> {
    const { maxActivePerNumber: max, registration } = conditions;
    // Sent with the other session writes of this turn of the event loop (group commit).
    const created = await this.#sessionWrites.add([
      'create',
      JSON.stringify(record),
      String(this.#sessionTtl(record)),
      max === undefined ? '' : String(max),
      registration?.registrationId ?? '',
      registration === undefined ? '' : JSON.stringify(registration),
    ]);
    switch (created) {
      case 1:
        return { ok: true };
      case -1:
        return { ok: false, reason: 'MAX_ACTIVE_SESSIONS' };
      case -2:
        return { ok: false, reason: 'REGISTRATION_CHANGED' };
      default:
        throw new Error(`media session ${record.mediaSessionId} exists`);
    }
  }

  getSession(mediaSessionId: string): Promise<MediaSessionRecord | undefined> {
    return this.#get<MediaSessionRecord>(`sess:${mediaSessionId}`);
  }

  /** How long Redis keeps a session from this write on: the retention once ended. */
  #sessionTtl(record: MediaSessionRecord): number {
    return record.endedAt === undefined
      ? this.#lifetimes.liveSessionTtlMs
      : this.#lifetimes.endedSessionTtlMs;
  }

  async saveSession(record: MediaSessionRecord, sequenceKey?: string): Promise<NumberedSave | undefined> {
    // Sent with the other session writes of this turn of the event loop (group commit).
    const answer = await this.#sessionWrites.add([
      'save',
      JSON.stringify(record),
      String(this.#sessionTtl(record)),
      sequenceKey === undefined ? '' : this.#sequenceKey(sequenceKey),
      sequenceKey === undefined ? '' : String(this.#lifetimes.sequenceTtlMs),
      '',
    ]);
    if (sequenceKey === undefined) return undefined;
    const [sequenceNumber, subscriptionsVersion] = answer as [number, string];
    return { sequenceNumber, subscriptionsVersion };
  }

  async findSessions(query: SessionQuery): Promise<MediaSessionRecord[]> {
    const index =
      query.registrationId !== undefined
        ? `sessidx:reg:${query.registrationId}`
        : query.phoneNumber !== undefined
          ? `sessidx:phone:${query.phoneNumber}`
          : `sessidx:node:${query.owner}`;
    const records = await this.#members<MediaSessionRecord>(index, 'sess:');
    return records
      .filter(
        (s) =>
          (query.registrationId === undefined || s.registrationIds.includes(query.registrationId)) &&
          (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber) &&
          (query.owner === undefined || s.owner === query.owner),
      )
      .sort(
        byCreation(
          (s) => s.createdAt,
          (s) => s.mediaSessionId,
        ),
      );
  }

  async countActiveSessions(phoneNumber: string): Promise<number> {
    return (await this.#scripts.telegateCountLiveSessions(this.#prefix, phoneNumber)) as number;
  }

  async deleteSession(mediaSessionId: string): Promise<void> {
    await this.#scripts.telegateDeleteSession(this.#prefix, mediaSessionId);
  }

  // ---------------------------------------------------------------- subscriptions

  async createSubscription(
    record: SubscriptionRecord,
    limits: { maxPerOwner?: number },
  ): Promise<CreateSubscriptionOutcome> {
    const [reason, existing] = (await this.#scripts.telegateCreateSubscription(
      this.#prefix,
      JSON.stringify(record),
      limitArg(limits.maxPerOwner),
      endArg(record),
      sameSubscriptionKey(record),
      this.#subscriptionTtlAt(record),
      randomUUID(),
    )) as [string, string?];
    if (reason === 'OK') return { ok: true };
    if (reason === 'ALREADY_EXISTS') {
      return {
        ok: false,
        reason,
        ...(existing === undefined ? {} : { existing: JSON.parse(existing) as SubscriptionRecord }),
      };
    }
    if (reason === 'QUOTA_EXCEEDED') return { ok: false, reason };
    throw new Error(`unexpected answer from the Redis subscription script: ${reason}`);
  }

  getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    return this.#get<SubscriptionRecord>(`sub:${id}`);
  }

  async findSubscriptions(query: {
    ownerKey?: string;
    phoneNumber?: string;
    deviceId?: string;
  }): Promise<SubscriptionRecord[]> {
    const index =
      query.ownerKey !== undefined
        ? `subidx:owner:${query.ownerKey}`
        : query.phoneNumber !== undefined
          ? `subidx:phone:${query.phoneNumber}`
          : query.deviceId !== undefined
            ? `subidx:device:${query.deviceId}`
            : 'subidx:all';
    return matchingSubscriptions(await this.#members<SubscriptionRecord>(index, 'sub:'), query);
  }

  async numberSubscriptions(
    phoneNumber: string,
  ): Promise<{ subscriptions: SubscriptionRecord[]; version: string }> {
    const [version, ...raw] = (await this.#scripts.telegateMembers(
      `${this.#prefix}subidx:phone:${phoneNumber}`,
      `${this.#prefix}sub:`,
      's',
      `${this.#prefix}subver:${phoneNumber}`,
    )) as string[];
    const records = raw.map((json) => JSON.parse(json) as SubscriptionRecord);
    return { subscriptions: matchingSubscriptions(records, { phoneNumber }), version: version ?? '' };
  }

  /** How long Redis keeps a subscription: a grace after its end ('' = it has none). */
  #subscriptionTtlAt(record: SubscriptionRecord): string {
    const end = subscriptionEnd(record);
    return end === undefined ? '' : String(this.#keepFor(end.at));
  }

  /**
   * Milliseconds Redis keeps a record that ends at `at`: until then (by this
   * machine's clock; Redis counts TTLs on its own) plus the lapsed grace, in
   * which a node ends it properly.
   */
  #keepFor(at: number): number {
    return Math.max(0, at - Date.now()) + this.#lifetimes.lapsedGraceMs;
  }

  async saveSubscription(record: SubscriptionRecord): Promise<boolean> {
    return (
      (await this.#scripts.telegateSaveSubscription(
        this.#prefix,
        JSON.stringify(record),
        endArg(record),
        sameSubscriptionKey(record),
        this.#subscriptionTtlAt(record),
        randomUUID(),
      )) === 1
    );
  }

  findDueSubscriptions(now: number): Promise<string[]> {
    return this.#guard('ZRANGEBYSCORE', () =>
      this.#redis.zrangebyscore(`${this.#prefix}subidx:due`, '-inf', now),
    );
  }

  /** `expected` is compared as JSON, as in `takeRegistration`. */
  async takeSubscription(id: string, expected?: SubscriptionRecord): Promise<SubscriptionRecord | undefined> {
    const raw = (await this.#scripts.telegateTakeSubscription(
      this.#prefix,
      id,
      expected === undefined ? '' : JSON.stringify(expected),
      randomUUID(),
    )) as string | null;
    if (raw === null) return undefined;
    const record = JSON.parse(raw) as SubscriptionRecord;
    // The duplicates key only points at a record; a stale one is ignored by create, so this may fail.
    await this.#scripts
      .telegateForgetSame(this.#prefix, sameSubscriptionKey(record), record.id)
      .catch(() => {});
    return record;
  }

  // ---------------------------------------------------------------- sequence numbers

  async nextSequence(key: string): Promise<number> {
    return (await this.#scripts.telegateNextSequence(
      this.#sequenceKey(key),
      String(this.#lifetimes.sequenceTtlMs),
    )) as number;
  }

  #sequenceKey(key: string): string {
    return `${this.#prefix}seq:${key}`;
  }

  async deleteSequence(key: string): Promise<void> {
    await this.#guard('DEL', () => this.#redis.del(this.#sequenceKey(key)));
  }

  // ---------------------------------------------------------------- gateway nodes

  async heartbeat(nodeId: string, leaseEndsAt: number): Promise<NodeHeartbeat> {
    const [epoch, listed] = (await this.#scripts.telegateHeartbeat(
      this.#prefix,
      nodeId,
      String(leaseEndsAt),
      randomUUID(),
    )) as [string, number];
    return { epoch, listed: listed === 1 };
  }

  async claimDeadNodes(now: number): Promise<string[]> {
    return (await this.#scripts.telegateClaimDeadNodes(this.#prefix, String(now))) as string[];
  }

  async leave(nodeId: string): Promise<void> {
    await this.#guard('ZREM', () => this.#redis.zrem(`${this.#prefix}nodes`, nodeId));
  }

  /** The per-subscription event streams of this Redis (see `EventQueue`). */
  eventQueue(): EventQueue {
    const p = this.#prefix;
    const scripts = this.#scripts;
    return {
      append: async (subscriptionId, entry, max = 0) => {
        const [appended, size] = (await scripts.telegateQueueAppend(
          p,
          subscriptionId,
          entry,
          String(max),
        )) as [number, number];
        return { appended: appended === 1, size };
      },
      size: async () => Number((await this.#guard('GET', () => this.#redis.get(`${p}evq:count`))) ?? 0),
      waiting: () => this.#guard('SMEMBERS', () => this.#redis.smembers(`${p}evq:waiting`)),
      lock: async (subscriptionId, nodeId, ms) =>
        (await scripts.telegateQueueLock(p, subscriptionId, nodeId, String(ms))) === 1,
      unlock: async (subscriptionId, nodeId) => {
        await scripts.telegateQueueUnlock(p, subscriptionId, nodeId);
      },
      next: async (subscriptionId, nodeId, count) => {
        const flat = (await scripts.telegateQueueNext(p, subscriptionId, nodeId, String(count))) as string[];
        const entries: QueuedEntry[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ id: flat[i]!, entry: flat[i + 1]! });
        return entries;
      },
      done: async (subscriptionId, id) => (await scripts.telegateQueueDone(p, subscriptionId, id)) as number,
    };
  }

  /**
   * Publish/subscribe between the gateway nodes on this Redis (the channel of
   * `NodeChannel`): publishing uses the store's connection, subscriptions one
   * more connection, opened here and closed with the returned object.
   */
  messaging(): ClusterMessaging {
    const subscriber = this.#redis.duplicate({ lazyConnect: true, commandTimeout: undefined });
    subscriber.on('error', () => {}); // the store's own connection reports outages
    const listeners = new Map<string, (message: string) => void>();
    subscriber.on('message', (channel: string, message: string) => listeners.get(channel)?.(message));
    let connected: Promise<void> | undefined;
    return {
      publish: async (channel, message) => {
        await this.#guard('PUBLISH', () => this.#redis.publish(channel, message));
      },
      subscribe: async (channel, listener) => {
        connected ??= subscriber.connect();
        await connected;
        listeners.set(channel, listener);
        await subscriber.subscribe(channel);
      },
      close: async () => {
        listeners.clear();
        if (subscriber.status === 'end' || subscriber.status === 'wait') {
          subscriber.disconnect();
          return;
        }
        await subscriber.quit().catch(() => subscriber.disconnect());
      },
    };
  }

  /** Quits the connection (after the commands already sent are answered). */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#redis.status === 'end') return;
      try {
        await this.#redis.quit();
      } catch {
        this.#redis.disconnect();
      }
    })();
    return this.#closed;
  }
}
