/**
 * The Redis a `STORE` URL names. `redis://` and `rediss://` URLs go to ioredis
 * as they are; a `redis-sentinel://` URL names Sentinel instead of a server:
 *
 *   redis-sentinel://[user:password@]host[:port][,host[:port]…]/<master name>[/<db>]
 *
 * the sentinels to ask (port 26379 unless given; IPv6 in brackets), the name of
 * the master they watch, and the login and database of the Redis servers
 * (the sentinels themselves are asked without a password). ioredis has no URL
 * form for Sentinel, hence this one (the Lettuce and Spring style).
 */
export interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  name: string;
  username?: string;
  password?: string;
  db?: number;
}

export const DEFAULT_SENTINEL_PORT = 26379;

const SENTINEL_SCHEME = /^redis-sentinel:\/\//i;
const SENTINEL_URL = /^redis-sentinel:\/\/(?:([^@/]*)@)?([^@/]+)\/([^/]+?)(?:\/(\d{1,5}))?\/?$/i;
const SENTINEL_ADDRESS = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/i;

/** Whether `url` names Redis through Sentinel (`redis-sentinel://`). */
export const isSentinelUrl = (url: string): boolean => SENTINEL_SCHEME.test(url);

/**
 * Reads a `redis-sentinel://` URL; throws an `Error` saying what is wrong
 * (never echoing the password) when it is malformed.
 */
export function parseSentinelUrl(url: string): SentinelTarget {
  const form = 'a redis-sentinel://host:port[,host:port…]/<master name>[/db] URL';
  const match = SENTINEL_URL.exec(url);
  if (match === null) throw new Error(`must be ${form}`);
  const [, login, addresses = '', name = '', db] = match;
  const sentinels = addresses.split(',').map((address) => {
    const parts = SENTINEL_ADDRESS.exec(address.trim());
    const port = parts?.[3] === undefined ? DEFAULT_SENTINEL_PORT : Number(parts[3]);
    const host = parts?.[1] ?? parts?.[2];
    if (host === undefined || port < 1 || port > 65535) {
      throw new Error(`must be ${form} (sentinel address ${JSON.stringify(address)})`);
    }
    return { host, port };
  });
  const target: SentinelTarget = { sentinels, name: decode(name, form) };
  if (login !== undefined) {
    const colon = login.indexOf(':');
    const username = decode(colon === -1 ? login : login.slice(0, colon), form);
    if (username !== '') target.username = username;
    if (colon !== -1) target.password = decode(login.slice(colon + 1), form);
  }
  if (db !== undefined) target.db = Number(db);
  return target;
}

function decode(part: string, form: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error(`must be ${form} (bad %-escape)`);
  }
}

/** `redis://user:secret@host` → `redis://user:***@host` (also a Sentinel URL), for messages. */
export function redactRedisUrl(url: string): string {
  if (isSentinelUrl(url)) return url.replace(/^(redis-sentinel:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
