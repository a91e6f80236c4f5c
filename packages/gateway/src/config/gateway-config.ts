import { homedir } from 'node:os';
import { join } from 'node:path';
import { createSinkGuard } from '@telegate/runtime/callbacks';
import { checkWorkerBin } from '../media/mediasoup/worker-bin.js';
import { portBlocks } from '../media/port-allocator.js';
import { resolveWeriftMediaOptions } from '../media/werift/options.js';
import { parseTransportSpec } from '../sip/transport/transport.js';
import { blockListOf } from '../sip/ua/embedded-sip-backend.js';
import { sipHost } from '../sip/uri.js';
import { isSentinelUrl, parseSentinelUrl } from '../store/redis-url.js';

export type AuthMode = 'dev' | 'jwt' | 'introspection';
/**
 * Which SIP network calls go to: `demo` (the built-in demo telco network,
 * reached over real SIP on 127.0.0.2), `external` (the operator's, through
 * `SIP_OUTBOUND_PROXY`) or `loopback` (in process, no SIP on the wire: tests).
 */
export type SipNetworkMode = 'demo' | 'external' | 'loopback';
/**
 * How media is handled: `werift` (ICE + DTLS-SRTP terminated, RTP relayed, in process),
 * `mediasoup` (the same on mediasoup workers, one per core) or `loopback` (SDP only, no packets).
 */
export type MediaBackendKind = 'werift' | 'mediasoup' | 'loopback';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Everything the reference gateway's HTTP server is configured with. The CLI
 * reads it from the environment and flags (`loadConfig`); `buildGateway`
 * takes any part of it and fills in the embedded defaults (`resolveConfig`).
 */
export interface GatewayConfig {
  /** `PORT`: TCP port to listen on; 0 picks a free one. */
  port: number;
  /** `HOST`: address to listen on. */
  host: string;
  /** `LOG_LEVEL`: pino level. */
  logLevel: LogLevel;
  /** `AUTH_MODE`: `dev` (local tokens), `jwt` (JWKS) or `introspection` (RFC 7662). */
  authMode: AuthMode;
  /** `JWKS_URL`: the issuer's key set (jwt mode). */
  jwksUrl: string | undefined;
  /** `ISSUER`: required `iss` (jwt mode; checked in introspection mode when set). */
  issuer: string | undefined;
  /** `AUDIENCE`: required `aud` (jwt and introspection modes, when set). */
  audience: string | undefined;
  /** `JWT_ALGORITHMS`: accepted JWS `alg` values (jwt mode). */
  jwtAlgorithms: string[];
  /** `INTROSPECTION_URL`: the RFC 7662 endpoint (introspection mode). */
  introspectionUrl: string | undefined;
  /** `INTROSPECTION_CLIENT_ID` / `INTROSPECTION_CLIENT_SECRET`: HTTP Basic credentials for the endpoint. */
  introspectionClientId: string | undefined;
  introspectionClientSecret: string | undefined;
  /** `PHONE_NUMBER_CLAIM`: the claim carrying the subscriber's E.164 number. */
  phoneNumberClaim: string;
  /** `DEV_TOKEN_SECRET`: the HS256 secret of dev tokens (at least 32 characters). */
  devTokenSecret: string | undefined;
  /**
   * `DEV_KEY_FILE`: where the dev token key is kept (created on first use,
   * mode 0600), so `telegate-gateway token` and a gateway started later agree.
   * Neither set: a random key per process (`buildGateway` in tests).
   */
  devKeyFile: string | undefined;
  /**
   * `STORE`: `memory` (one gateway node, state lost on restart) or
   * `redis://[user:password@]host:port[/db]` (`rediss://` for TLS), or
   * `redis-sentinel://[user:password@]host:port[,host:port…]/<master name>[/db]`
   * (the master Sentinel names, followed through failovers): state shared by
   * every gateway node using the same Redis database and key prefix.
   */
  store: string;
  /** `STORE_KEY_PREFIX`: prefix of every Redis key (Redis store only). */
  storeKeyPrefix: string;
  /**
   * `STORE_SWEEP`: seconds between two looks of a node at the shared store's
   * expiry index for lapsed registrations and subscriptions still stored
   * (Redis store only): those of a node that stopped end at most this late.
   */
  storeSweepSeconds: number;
  /**
   * `STORE_TIMEOUT_MS`: longest a Redis command may take, waiting for a lost
   * connection included (Redis store only); a request whose store command
   * runs out answers `503 UNAVAILABLE` with `Retry-After`.
   */
  storeTimeoutMs: number;
  /**
   * `NODE_LEASE_MS`: Redis store: how long a gateway node counts as alive
   * after its last heartbeat (it sends one every third of it). The calls of a
   * node silent for longer are ended (`Failed`) by another node.
   */
  nodeLeaseMs: number;
  /**
   * `CLUSTER_SECRET`: Redis store: the secret (32+ characters, the same on every
   * node) that signs the requests nodes send each other, so that any node acts
   * on any call. Without it a call handled by another node answers 503.
   */
  clusterSecret: string | undefined;
  /** `SESSION_RETENTION`: seconds an ended media session stays readable (GET) with its final status. */
  sessionRetentionSeconds: number;
  /** `SINK_ALLOWLIST`: IPs, CIDR ranges and host names webhook sinks may use although not public. */
  sinkAllowlist: string[];
  /** `SINK_CA_FILE`: PEM file of a CA trusted for `https` sinks, besides the public roots. */
  sinkCaFile: string | undefined;
  /** `REGISTRATION_TTL_MIN` / `_DEFAULT` / `_MAX`: registration lifetimes in seconds. */
  registrationTtlMinSeconds: number;
  registrationTtlDefaultSeconds: number;
  registrationTtlMaxSeconds: number;
  /** `MAX_REGISTRATIONS_PER_USER`: active registrations per user (0: no limit). */
  maxRegistrationsPerUser: number;
  /** `MAX_REGISTRATIONS_PER_MSISDN`: active registrations per phone number (0: no limit; 403 `MAX_REGISTRATION_PER_MSISDN`). */
  maxRegistrationsPerMsisdn: number;
  /** `MAX_DEVICES_PER_USER`: distinct devices per user (0: no limit; 403 `MAX_DEVICES_PER_USER`). */
  maxDevicesPerUser: number;
  /** `MAX_SUBSCRIPTIONS_PER_USER`: subscriptions per user (0: no limit; 429 `QUOTA_EXCEEDED`). */
  maxSubscriptionsPerUser: number;
  /**
   * `SUBSCRIPTION_TTL_MAX`: longest subscription lifetime in seconds; a subscription asking for
   * none or a later `subscriptionExpireTime` gets this one (0: subscriptions may never expire).
   */
  subscriptionTtlMaxSeconds: number;
  /** `RATE_LIMIT_PER_TOKEN`: requests per `RATE_LIMIT_WINDOW` per access token (0: no limit; 429 `TOO_MANY_REQUESTS`). */
  rateLimitPerToken: number;
  /** `RATE_LIMIT_PER_ADDRESS`: requests per `RATE_LIMIT_WINDOW` per client IP address (0: no limit). */
  rateLimitPerAddress: number;
  /** `RATE_LIMIT_WINDOW`: seconds over which the rate limits count. */
  rateLimitWindowSeconds: number;
  /**
   * `EVENT_QUEUE_MAX`: events waiting for delivery at most (with a Redis store: every node
   * together; 0: no limit). Past 90% of it, requests that would raise events get 503
   * `UNAVAILABLE` with `Retry-After`; an event raised without a request (SIP, timers) that
   * finds it full is dropped, counted and logged.
   */
  eventQueueMax: number;
  /** `DELIVERY_MAX_CONCURRENT`: event deliveries (HTTP requests to sinks) in flight at once on this node. */
  deliveryMaxConcurrent: number;
  /**
   * `DELIVERY_THREAD`: event deliveries' HTTP and TLS run on a worker thread of their own (default),
   * off the thread that answers the API and signals calls; `false` keeps them on the main thread
   * (less CPU in all, for a node with a single core).
   */
  deliveryThread: boolean;
  /** `SINK_BREAKER_FAILURES`: failed attempts in a row that open a sink origin's circuit (0: no breaker). */
  sinkBreakerFailures: number;
  /** `SINK_BREAKER_COOLDOWN_MS`: how long an open circuit refuses attempts before one probe goes. */
  sinkBreakerCoolDownMs: number;
  /** `MULTIEVENT_SUBSCRIPTIONS`: several event types in one subscription (else 422 `MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED`). */
  multiEventSubscriptions: boolean;
  /** `EMERGENCY_CALLS`: accept `callType: EMERGENCY` (else 501 `CALLTYPE_EMERGENCY_NOT_SUPPORTED`). */
  emergencyCalls: boolean;
  /** `EVENT_SOURCE`: CloudEvents `source` of every event. */
  eventSource: string;
  /** `VALIDATE_RESPONSES`: check every response against the spec (default: unless `NODE_ENV=production`). */
  validateResponses: boolean;
  /** `SIP_NETWORK`: `demo`, `external` or `loopback` (see `SipNetworkMode`); `SIP_OUTBOUND_PROXY` implies `external`. */
  sipNetwork: SipNetworkMode;
  /** `SIP_LISTEN`: the gateway's SIP listeners (`udp:127.0.0.1:5060`, `tcp:…`, `tls:…`). */
  sipListen: string[];
  /** `SIP_OUTBOUND_PROXY`: the SIP URI every call and registration is sent to (`sip:127.0.0.1:5070;transport=tcp`). */
  sipOutboundProxy: string | undefined;
  /** `SIP_DOMAIN`: host of the subscribers' SIP URIs (From of outgoing calls, REGISTER). */
  sipDomain: string;
  /** `SIP_NETWORK_DOMAIN`: host of called numbers' SIP URIs (Request-URI, To). */
  sipNetworkDomain: string;
  /** `SIP_REGISTRAR`: a SIP URI; each CAMARA registration is then a SIP REGISTER there. */
  sipRegistrar: string | undefined;
  /** `SIP_USERNAME` / `SIP_PASSWORD`: digest credentials for the registrar (and challenging proxies). */
  sipUsername: string | undefined;
  sipPassword: string | undefined;
  /** `SIP_TLS_KEY_FILE` / `SIP_TLS_CERT_FILE`: PEM key and certificate of `tls:` listeners. */
  sipTlsKeyFile: string | undefined;
  sipTlsCertFile: string | undefined;
  /** `SIP_TLS_CA_FILE`: PEM CA outgoing SIP over TLS trusts, besides the public roots. */
  sipTlsCaFile: string | undefined;
  /** `SIP_TRUSTED_PEERS`: addresses and CIDR ranges that may send SIP requests (default: the outbound proxy). */
  sipTrustedPeers: string[] | undefined;
  /**
   * `MEDIA_BACKEND`: `werift` (default on a SIP network), `mediasoup` (needs `MEDIASOUP_WORKER_BIN`)
   * or `loopback` (no media relayed; the in-process network always uses it).
   */
  mediaBackend: MediaBackendKind;
  /** `MEDIASOUP_WORKER_BIN`: the mediasoup worker binary (`npm run build:mediasoup-worker` prints its path). */
  mediasoupWorkerBin: string | undefined;
  /** `MEDIASOUP_WORKERS`: mediasoup worker processes (default: one per core). */
  mediasoupWorkers: number | undefined;
  /**
   * `MEDIA_THREADS`: `werift`: worker threads relaying media (default: one per core); `0` runs
   * werift on the main thread, beside the API and the SIP stack.
   */
  mediaThreads: number | undefined;
  /**
   * `MEDIA_NICE`: the nice value (-20 to 19) of werift's media threads or mediasoup's workers, so the
   * relay runs ahead of other work on the machine (below the gateway's own: root or CAP_SYS_NICE).
   */
  mediaNice: number | undefined;
  /**
   * `MEDIA_REALTIME`: the SCHED_RR priority (1 to 99, Linux) of werift's media threads and the
   * process's helper threads, or of every thread of mediasoup's workers (root, CAP_SYS_NICE or
   * RLIMIT_RTPRIO; util-linux's `chrt`).
   */
  mediaRealtime: number | undefined;
  /** `MEDIA_BIND_ADDRESS`: the local address media sockets (RTP leg, ICE) bind to. */
  mediaBindAddress: string;
  /** `MEDIA_ANNOUNCED_ADDRESS`: the address written into SDP (default: the bind address). */
  mediaAnnouncedAddress: string | undefined;
  /** `RTP_PORT_MIN` / `RTP_PORT_MAX`: the UDP ports media may use (four per call). */
  rtpPortMin: number;
  rtpPortMax: number;
  /**
   * `DRACHTIO_HOST`: the admin address of a drachtio-server; when set, calls and
   * registrations go through it (drachtio-srf) instead of the embedded SIP stack.
   */
  drachtioHost: string | undefined;
  /** `DRACHTIO_PORT`: drachtio-server's admin port (its `<admin port=…>`, 9022 by default). */
  drachtioPort: number;
  /** `DRACHTIO_SECRET`: the admin secret of drachtio-server (environment only). */
  drachtioSecret: string | undefined;
  /**
   * `SHUTDOWN_TIMEOUT`: seconds a shutdown waits for event deliveries still
   * being retried before it abandons them (calls are ended either way).
   */
  shutdownTimeoutSeconds: number;
}

/** A setting is missing or wrong; the message names it and says what is expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_JWT_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

const isProduction = (env: Readonly<Record<string, string | undefined>>) => env.NODE_ENV === 'production';

/** The embedded defaults: what `npm start` runs with. */
export function defaultConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): GatewayConfig {
  return {
    port: 8080,
    host: '127.0.0.1',
    // Tests build many gateways; keep them quiet unless something goes wrong.
    logLevel: env.NODE_ENV === 'test' ? 'warn' : 'info',
    authMode: 'dev',
    jwksUrl: undefined,
    issuer: undefined,
    audience: undefined,
    jwtAlgorithms: [...DEFAULT_JWT_ALGORITHMS],
    introspectionUrl: undefined,
    introspectionClientId: undefined,
    introspectionClientSecret: undefined,
    phoneNumberClaim: 'phone_number',
    devTokenSecret: undefined,
    devKeyFile: undefined,
    store: 'memory',
    storeKeyPrefix: 'telegate:',
    storeSweepSeconds: 10,
    storeTimeoutMs: 1000,
    sessionRetentionSeconds: 60,
    nodeLeaseMs: 15_000,
    clusterSecret: undefined,
    sinkAllowlist: [],
    sinkCaFile: undefined,
    registrationTtlMinSeconds: 60,
    registrationTtlDefaultSeconds: 3600,
    registrationTtlMaxSeconds: 86_400,
    maxRegistrationsPerUser: 20,
    maxRegistrationsPerMsisdn: 0,
    maxDevicesPerUser: 0,
    maxSubscriptionsPerUser: 100,
    subscriptionTtlMaxSeconds: 30 * 86_400,
    rateLimitPerToken: 1200,
    rateLimitPerAddress: 6000,
    rateLimitWindowSeconds: 60,
    eventQueueMax: 10_000,
    deliveryMaxConcurrent: 100,
    deliveryThread: true,
    sinkBreakerFailures: 5,
    sinkBreakerCoolDownMs: 30_000,
    multiEventSubscriptions: true,
    emergencyCalls: false,
    eventSource: 'urn:telegate:gateway',
    validateResponses: !isProduction(env),
    shutdownTimeoutSeconds: 10,
    sipNetwork: 'loopback',
    sipListen: [],
    sipOutboundProxy: undefined,
    sipDomain: 'operator.com',
    sipNetworkDomain: 'tn.operator.com',
    sipRegistrar: undefined,
    sipUsername: undefined,
    sipPassword: undefined,
    sipTrustedPeers: undefined,
    sipTlsKeyFile: undefined,
    sipTlsCertFile: undefined,
    sipTlsCaFile: undefined,
    mediaBackend: 'werift',
    mediasoupWorkerBin: undefined,
    mediasoupWorkers: undefined,
    mediaThreads: undefined,
    mediaNice: undefined,
    mediaRealtime: undefined,
    mediaBindAddress: '127.0.0.1',
    mediaAnnouncedAddress: undefined,
    rtpPortMin: 40_000,
    rtpPortMax: 49_999,
    drachtioHost: undefined,
    drachtioPort: 9022,
    drachtioSecret: undefined,
  };
}

/** Where the CLI keeps the dev token key: the user's cache folder. */
export function defaultDevKeyFile(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const cache =
    env.XDG_CACHE_HOME ||
    (process.platform === 'win32' ? env.LOCALAPPDATA : undefined) ||
    join(homedir(), '.cache');
  return join(cache, 'telegate', 'dev-token.key');
}

// ------------------------------------------------------------------ parsing one value

type Parse<T> = (raw: string, name: string) => T;

const integer =
  (min: number, max: number): Parse<number> =>
  (raw, name) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    }
    return value;
  };

const boolean: Parse<boolean> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name} must be true or false (got ${JSON.stringify(raw)})`);
};

const oneOf =
  <T extends string>(values: readonly T[]): Parse<T> =>
  (raw, name) => {
    const value = raw.trim() as T;
    if (!values.includes(value)) {
      throw new ConfigError(`${name} must be one of ${values.join(', ')} (got ${JSON.stringify(raw)})`);
    }
    return value;
  };

const text: Parse<string> = (raw, name) => {
  const value = raw.trim();
  if (value === '') throw new ConfigError(`${name} must not be empty`);
  return value;
};

const list: Parse<string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Each setting: its environment variable and how to read it. */
const SETTINGS: { [K in keyof GatewayConfig]: { env: string; parse: Parse<GatewayConfig[K]> } } = {
  port: { env: 'PORT', parse: integer(0, 65_535) },
  host: { env: 'HOST', parse: text },
  logLevel: {
    env: 'LOG_LEVEL',
    parse: oneOf<LogLevel>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  },
  authMode: { env: 'AUTH_MODE', parse: oneOf<AuthMode>(['dev', 'jwt', 'introspection']) },
  jwksUrl: { env: 'JWKS_URL', parse: text },
  issuer: { env: 'ISSUER', parse: text },
  audience: { env: 'AUDIENCE', parse: text },
  jwtAlgorithms: { env: 'JWT_ALGORITHMS', parse: list },
  introspectionUrl: { env: 'INTROSPECTION_URL', parse: text },
  introspectionClientId: { env: 'INTROSPECTION_CLIENT_ID', parse: text },
  introspectionClientSecret: { env: 'INTROSPECTION_CLIENT_SECRET', parse: text },
  phoneNumberClaim: { env: 'PHONE_NUMBER_CLAIM', parse: text },
  devTokenSecret: { env: 'DEV_TOKEN_SECRET', parse: (raw) => raw },
  devKeyFile: { env: 'DEV_KEY_FILE', parse: text },
  store: { env: 'STORE', parse: text },
  storeKeyPrefix: { env: 'STORE_KEY_PREFIX', parse: text },
  storeSweepSeconds: { env: 'STORE_SWEEP', parse: integer(1, 3600) },
  storeTimeoutMs: { env: 'STORE_TIMEOUT_MS', parse: integer(50, 60_000) },
  sessionRetentionSeconds: { env: 'SESSION_RETENTION', parse: integer(1, 86_400) },
  nodeLeaseMs: { env: 'NODE_LEASE_MS', parse: integer(300, 600_000) },
  clusterSecret: {
    env: 'CLUSTER_SECRET',
    parse: (raw, name) => {
      if (raw.length < 32) throw new ConfigError(`${name} must be at least 32 characters`);
      return raw;
    },
  },
  sinkAllowlist: { env: 'SINK_ALLOWLIST', parse: list },
  sinkCaFile: { env: 'SINK_CA_FILE', parse: text },
  registrationTtlMinSeconds: { env: 'REGISTRATION_TTL_MIN', parse: integer(1, 31_536_000) },
  registrationTtlDefaultSeconds: { env: 'REGISTRATION_TTL_DEFAULT', parse: integer(1, 31_536_000) },
  registrationTtlMaxSeconds: { env: 'REGISTRATION_TTL_MAX', parse: integer(1, 31_536_000) },
  maxRegistrationsPerUser: { env: 'MAX_REGISTRATIONS_PER_USER', parse: integer(0, 1_000_000) },
  maxRegistrationsPerMsisdn: { env: 'MAX_REGISTRATIONS_PER_MSISDN', parse: integer(0, 1_000_000) },
  maxDevicesPerUser: { env: 'MAX_DEVICES_PER_USER', parse: integer(0, 1_000_000) },
  maxSubscriptionsPerUser: { env: 'MAX_SUBSCRIPTIONS_PER_USER', parse: integer(0, 1_000_000) },
  subscriptionTtlMaxSeconds: { env: 'SUBSCRIPTION_TTL_MAX', parse: integer(0, 31_536_000) },
  rateLimitPerToken: { env: 'RATE_LIMIT_PER_TOKEN', parse: integer(0, 100_000_000) },
  rateLimitPerAddress: { env: 'RATE_LIMIT_PER_ADDRESS', parse: integer(0, 100_000_000) },
  rateLimitWindowSeconds: { env: 'RATE_LIMIT_WINDOW', parse: integer(1, 86_400) },
  eventQueueMax: { env: 'EVENT_QUEUE_MAX', parse: integer(0, 10_000_000) },
  deliveryMaxConcurrent: { env: 'DELIVERY_MAX_CONCURRENT', parse: integer(1, 100_000) },
  deliveryThread: { env: 'DELIVERY_THREAD', parse: boolean },
  sinkBreakerFailures: { env: 'SINK_BREAKER_FAILURES', parse: integer(0, 10_000) },
  sinkBreakerCoolDownMs: { env: 'SINK_BREAKER_COOLDOWN_MS', parse: integer(100, 3_600_000) },
  multiEventSubscriptions: { env: 'MULTIEVENT_SUBSCRIPTIONS', parse: boolean },
  emergencyCalls: { env: 'EMERGENCY_CALLS', parse: boolean },
  eventSource: { env: 'EVENT_SOURCE', parse: text },
  validateResponses: { env: 'VALIDATE_RESPONSES', parse: boolean },
  shutdownTimeoutSeconds: { env: 'SHUTDOWN_TIMEOUT', parse: integer(0, 3600) },
  sipNetwork: { env: 'SIP_NETWORK', parse: oneOf<SipNetworkMode>(['demo', 'external', 'loopback']) },
  sipListen: { env: 'SIP_LISTEN', parse: list },
  sipOutboundProxy: { env: 'SIP_OUTBOUND_PROXY', parse: text },
  sipDomain: { env: 'SIP_DOMAIN', parse: text },
  sipNetworkDomain: { env: 'SIP_NETWORK_DOMAIN', parse: text },
  sipRegistrar: { env: 'SIP_REGISTRAR', parse: text },
  sipUsername: { env: 'SIP_USERNAME', parse: text },
  sipPassword: { env: 'SIP_PASSWORD', parse: (raw) => raw },
  sipTrustedPeers: { env: 'SIP_TRUSTED_PEERS', parse: list },
  sipTlsKeyFile: { env: 'SIP_TLS_KEY_FILE', parse: text },
  sipTlsCertFile: { env: 'SIP_TLS_CERT_FILE', parse: text },
  sipTlsCaFile: { env: 'SIP_TLS_CA_FILE', parse: text },
  mediaBackend: { env: 'MEDIA_BACKEND', parse: oneOf<MediaBackendKind>(['werift', 'mediasoup', 'loopback']) },
  mediasoupWorkerBin: { env: 'MEDIASOUP_WORKER_BIN', parse: text },
  mediasoupWorkers: { env: 'MEDIASOUP_WORKERS', parse: integer(1, 1024) },
  mediaThreads: { env: 'MEDIA_THREADS', parse: integer(0, 256) },
  mediaNice: { env: 'MEDIA_NICE', parse: integer(-20, 19) },
  mediaRealtime: { env: 'MEDIA_REALTIME', parse: integer(1, 99) },
  mediaBindAddress: { env: 'MEDIA_BIND_ADDRESS', parse: text },
  mediaAnnouncedAddress: { env: 'MEDIA_ANNOUNCED_ADDRESS', parse: text },
  rtpPortMin: { env: 'RTP_PORT_MIN', parse: integer(1024, 65_534) },
  rtpPortMax: { env: 'RTP_PORT_MAX', parse: integer(1025, 65_535) },
  drachtioHost: { env: 'DRACHTIO_HOST', parse: text },
  drachtioPort: { env: 'DRACHTIO_PORT', parse: integer(1, 65_535) },
  drachtioSecret: { env: 'DRACHTIO_SECRET', parse: (raw) => raw },
};

/** The environment variable of each setting, e.g. `port` → `PORT`. */
export const CONFIG_ENV_NAMES: { readonly [K in keyof GatewayConfig]: string } = Object.fromEntries(
  Object.entries(SETTINGS).map(([key, { env }]) => [key, env]),
) as { [K in keyof GatewayConfig]: string };

// ------------------------------------------------------------------ checks across settings

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `https:` anywhere; `http:` only to this machine (a local identity provider in development). */
function checkEndpoint(value: string | undefined, name: string): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be an absolute URL (got ${JSON.stringify(value)})`);
  }
  const local = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new ConfigError(`${name} must be an https URL (http is accepted for localhost only)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`${name} must not contain credentials; use the CLIENT_ID/CLIENT_SECRET settings`);
  }
}

/**
 * `memory`, a Redis URL `redis[s]://[user:password@]host[:port][/db]`, or the
 * sentinels of one `redis-sentinel://[user:password@]host:port[,…]/<master>[/db]`
 * (the password never echoed).
 */
function checkStore(config: GatewayConfig): void {
  if (config.store === 'memory') return;
  if (isSentinelUrl(config.store)) {
    try {
      parseSentinelUrl(config.store);
    } catch (error) {
      throw new ConfigError(`STORE ${(error as Error).message}`);
    }
  } else if (!/^rediss?:\/\//i.test(config.store)) {
    throw new ConfigError(
      `STORE must be "memory", a redis://host:port[/db] or a redis-sentinel://host:port[,host:port…]/<master name>[/db] URL (got ${JSON.stringify(config.store.replace(/\/\/[^@/]*@/, '//…@'))})`,
    );
  } else {
    checkRedisUrl(config.store);
  }
  if (config.storeKeyPrefix === '' || /\s/.test(config.storeKeyPrefix)) {
    throw new ConfigError('STORE_KEY_PREFIX must be non-empty, without spaces');
  }
}

function checkRedisUrl(store: string): void {
  let url: URL | undefined;
  try {
    url = new URL(store);
  } catch {}
  const db = url?.pathname.replace(/^\//, '') ?? '';
  if (url === undefined || url.hostname === '' || !/^\d{0,5}$/.test(db) || url.hash !== '') {
    throw new ConfigError('STORE must be a redis://host:port[/db] URL (db a number)');
  }
}

const SIP_URI = /^sips?:[^\s<>"]+$/i;

function checkMedia(config: GatewayConfig): void {
  try {
    resolveWeriftMediaOptions({
      bindAddress: config.mediaBindAddress,
      ...(config.mediaAnnouncedAddress === undefined
        ? {}
        : { announcedAddress: config.mediaAnnouncedAddress }),
      rtpPortMin: config.rtpPortMin,
      rtpPortMax: config.rtpPortMax,
    });
  } catch (error) {
    const message = (error as Error).message
      .replace(/^media bindAddress/, 'MEDIA_BIND_ADDRESS')
      .replace(/^media announcedAddress/, 'MEDIA_ANNOUNCED_ADDRESS')
      .replace(
        /^rtpPortMin (\d+) must be below rtpPortMax (\d+)/,
        'RTP_PORT_MIN $1 must be below RTP_PORT_MAX $2',
      );
    throw new ConfigError(message);
  }
  const calls = portBlocks(config.rtpPortMin, config.rtpPortMax).count;
  if (config.mediaBackend === 'werift' && config.mediaThreads !== undefined && calls < config.mediaThreads) {
    throw new ConfigError(
      `RTP_PORT_MIN-RTP_PORT_MAX holds ports for ${calls} calls: too few for ${config.mediaThreads} MEDIA_THREADS (each thread needs its own four ports)`,
    );
  }
  if (config.mediaRealtime !== undefined && config.mediaNice !== undefined) {
    throw new ConfigError(
      'MEDIA_REALTIME and MEDIA_NICE: set one; a thread under SCHED_RR runs before every normal one whatever its nice value',
    );
  }
  if (config.mediaRealtime !== undefined && config.mediaBackend === 'werift' && config.mediaThreads === 0) {
    throw new ConfigError(
      'MEDIA_REALTIME applies to media threads, and MEDIA_THREADS=0 relays on the main thread, beside the API and SIP: start the gateway with `chrt` instead',
    );
  }
  if (config.mediaNice !== undefined && config.mediaBackend === 'werift' && config.mediaThreads === 0) {
    throw new ConfigError(
      'MEDIA_NICE applies to media threads, and MEDIA_THREADS=0 relays on the main thread: start the gateway with `nice` instead',
    );
  }
  if (config.mediaBackend === 'mediasoup') {
    try {
      checkWorkerBin(config.mediasoupWorkerBin);
    } catch (error) {
      throw new ConfigError(`MEDIA_BACKEND=mediasoup: ${(error as Error).message}`);
    }
  }
}

function checkSip(config: GatewayConfig): void {
  for (const spec of config.sipListen) {
    try {
      parseTransportSpec(spec);
    } catch (error) {
      throw new ConfigError(`SIP_LISTEN: ${(error as Error).message}`);
    }
  }
  checkDrachtio(config);
  // drachtio-server routes by Request-URI itself: with it an outbound proxy is optional.
  if (
    config.sipNetwork === 'external' &&
    config.sipOutboundProxy === undefined &&
    config.drachtioHost === undefined
  )
    throw new ConfigError('SIP_NETWORK=external needs SIP_OUTBOUND_PROXY (the SIP URI calls are sent to)');
  for (const [name, value] of [
    ['SIP_OUTBOUND_PROXY', config.sipOutboundProxy],
    ['SIP_REGISTRAR', config.sipRegistrar],
  ] as const) {
    if (value !== undefined && !SIP_URI.test(value))
      throw new ConfigError(
        `${name} must be a SIP URI such as sip:127.0.0.1:5070;transport=tcp (got ${JSON.stringify(value)})`,
      );
  }
  for (const [name, value] of [
    ['SIP_DOMAIN', config.sipDomain],
    ['SIP_NETWORK_DOMAIN', config.sipNetworkDomain],
  ] as const) {
    try {
      sipHost(value);
    } catch {
      throw new ConfigError(`${name} must be a host name or IPv4 address (got ${JSON.stringify(value)})`);
    }
  }
  const tlsListener = config.sipListen.some((spec) => spec.toLowerCase().startsWith('tls:'));
  if (tlsListener && (config.sipTlsKeyFile === undefined || config.sipTlsCertFile === undefined))
    throw new ConfigError('a tls: entry in SIP_LISTEN needs SIP_TLS_KEY_FILE and SIP_TLS_CERT_FILE');
  if ((config.sipUsername === undefined) !== (config.sipPassword === undefined))
    throw new ConfigError('set both SIP_USERNAME and SIP_PASSWORD, or neither');
  if (config.sipRegistrar !== undefined && config.sipNetwork === 'loopback')
    throw new ConfigError('SIP_REGISTRAR needs a SIP network: set SIP_OUTBOUND_PROXY');
  try {
    blockListOf(config.sipTrustedPeers ?? []);
  } catch (error) {
    throw new ConfigError(`SIP_TRUSTED_PEERS: ${(error as Error).message}`);
  }
}

/** drachtio-server mode: a host, its secret, and none of the embedded stack's listener settings. */
function checkDrachtio(config: GatewayConfig): void {
  if (config.drachtioHost === undefined) return;
  try {
    sipHost(config.drachtioHost);
  } catch {
    throw new ConfigError(
      `DRACHTIO_HOST must be a host name or IPv4 address (got ${JSON.stringify(config.drachtioHost)})`,
    );
  }
  if (!Number.isInteger(config.drachtioPort) || config.drachtioPort < 1 || config.drachtioPort > 65_535)
    throw new ConfigError('DRACHTIO_PORT must be an integer from 1 to 65535');
  if (config.drachtioSecret === undefined || config.drachtioSecret === '')
    throw new ConfigError("DRACHTIO_HOST needs DRACHTIO_SECRET (drachtio-server's admin secret)");
  if (config.sipNetwork !== 'external')
    throw new ConfigError(
      `DRACHTIO_HOST sends calls to an external SIP network; SIP_NETWORK=${config.sipNetwork} contradicts it`,
    );
  if (config.sipListen.length > 0)
    throw new ConfigError('SIP_LISTEN does not apply with DRACHTIO_HOST: drachtio-server listens for SIP');
}

/** Checks what one setting alone cannot tell; throws `ConfigError` with one line. */
export function validateConfig(config: GatewayConfig, options: { production: boolean }): void {
  checkSip(config);
  checkMedia(config);
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65_535) {
    throw new ConfigError('PORT must be an integer from 0 to 65535');
  }
  checkStore(config);
  switch (config.authMode) {
    case 'dev':
      if (options.production) {
        throw new ConfigError(
          'AUTH_MODE=dev accepts tokens anyone on this machine can mint and is refused when NODE_ENV=production; set AUTH_MODE=jwt or AUTH_MODE=introspection',
        );
      }
      if (config.devTokenSecret !== undefined && config.devTokenSecret.length < 32) {
        throw new ConfigError('DEV_TOKEN_SECRET must be at least 32 characters long');
      }
      break;
    case 'jwt':
      if (config.jwksUrl === undefined) throw new ConfigError('AUTH_MODE=jwt needs JWKS_URL');
      if (config.issuer === undefined) throw new ConfigError('AUTH_MODE=jwt needs ISSUER');
      checkEndpoint(config.jwksUrl, 'JWKS_URL');
      if (config.jwtAlgorithms.length === 0 || config.jwtAlgorithms.some((a) => /^(none|HS\d+)$/i.test(a))) {
        throw new ConfigError('JWT_ALGORITHMS must list asymmetric algorithms (RS256, ES256, EdDSA, ...)');
      }
      break;
    case 'introspection':
      if (config.introspectionUrl === undefined) {
        throw new ConfigError('AUTH_MODE=introspection needs INTROSPECTION_URL');
      }
      checkEndpoint(config.introspectionUrl, 'INTROSPECTION_URL');
      if ((config.introspectionClientId === undefined) !== (config.introspectionClientSecret === undefined)) {
        throw new ConfigError('set both INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET, or neither');
      }
      break;
  }
  if (!/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/.test(config.phoneNumberClaim)) {
    throw new ConfigError('PHONE_NUMBER_CLAIM must be a claim name');
  }
  const min = config.registrationTtlMinSeconds;
  const def = config.registrationTtlDefaultSeconds;
  const max = config.registrationTtlMaxSeconds;
  if (!(min > 0 && min <= def && def <= max)) {
    throw new ConfigError(
      `need 0 < REGISTRATION_TTL_MIN <= REGISTRATION_TTL_DEFAULT <= REGISTRATION_TTL_MAX (got ${min}, ${def}, ${max})`,
    );
  }
  try {
    createSinkGuard({ allowlist: config.sinkAllowlist });
  } catch (error) {
    throw new ConfigError(`SINK_ALLOWLIST: ${(error as Error).message.replace(/^sink allowlist: /, '')}`);
  }
}

/** The defaults with `options` applied, checked: what `buildGateway` runs with. */
export function resolveConfig(
  options: Partial<GatewayConfig> = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): GatewayConfig {
  const config = defaultConfig(env);
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  if (
    options.sipNetwork === undefined &&
    (config.sipOutboundProxy !== undefined || config.drachtioHost !== undefined)
  )
    config.sipNetwork = 'external';
  validateConfig(config, { production: isProduction(env) });
  return config;
}

/**
 * The configuration from environment variables (flags are passed in as their
 * variables): unset or empty variables keep the default. The dev token key is
 * kept in the user's cache folder unless `DEV_KEY_FILE`/`DEV_TOKEN_SECRET` say otherwise.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  const options: Partial<Record<keyof GatewayConfig, unknown>> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as [
    keyof GatewayConfig,
    { env: string; parse: Parse<unknown> },
  ][]) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') continue;
    options[key] = setting.parse(raw, setting.env);
  }
  if (options.devTokenSecret === undefined && options.devKeyFile === undefined) {
    options.devKeyFile = defaultDevKeyFile(env);
  }
  // The CLI's calls go over real SIP: to the operator's network when one is named, else to the demo network.
  options.sipNetwork ??=
    options.sipOutboundProxy === undefined && options.drachtioHost === undefined ? 'demo' : 'external';
  return resolveConfig(options as Partial<GatewayConfig>, env);
}
