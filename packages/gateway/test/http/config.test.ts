import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  ConfigError,
  DEFAULT_JWT_ALGORITHMS,
  defaultDevKeyFile,
  devTokenKey,
  loadConfig,
  resolveConfig,
} from '../../src/index.js';

const KEY_FILE = '/tmp/telegate-test/dev.key';

describe('loadConfig: settings from the environment', () => {
  it('embedded defaults: 127.0.0.1:8080, dev auth, memory store; the dev key in the user cache', () => {
    const config = loadConfig({ XDG_CACHE_HOME: '/home/u/.cache' });
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      authMode: 'dev',
      store: 'memory',
      phoneNumberClaim: 'phone_number',
      sinkAllowlist: [],
      registrationTtlMinSeconds: 60,
      registrationTtlDefaultSeconds: 3600,
      registrationTtlMaxSeconds: 86_400,
      maxRegistrationsPerUser: 20,
      emergencyCalls: false,
      validateResponses: true,
      jwtAlgorithms: [...DEFAULT_JWT_ALGORITHMS],
      devKeyFile: '/home/u/.cache/telegate/dev-token.key',
    });
    expect(defaultDevKeyFile({ XDG_CACHE_HOME: '/c' })).toBe('/c/telegate/dev-token.key');
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      AUTH_MODE: 'jwt',
      JWKS_URL: 'https://idp.example/jwks',
      ISSUER: 'https://idp.example/',
      AUDIENCE: 'gw',
      JWT_ALGORITHMS: 'ES256, RS256',
      PHONE_NUMBER_CLAIM: 'msisdn',
      SINK_ALLOWLIST: '10.0.0.0/8, sink.internal ,::1',
      SINK_CA_FILE: '/etc/ca.pem',
      REGISTRATION_TTL_MIN: '30',
      REGISTRATION_TTL_DEFAULT: '600',
      REGISTRATION_TTL_MAX: '7200',
      MAX_REGISTRATIONS_PER_USER: '0',
      EMERGENCY_CALLS: 'true',
      DELIVERY_THREAD: 'false',
      EVENT_SOURCE: 'https://gw.example',
      VALIDATE_RESPONSES: 'false',
      SHUTDOWN_TIMEOUT: '3',
      STORE: 'redis://:secret@cache.internal:6380/2',
      STORE_KEY_PREFIX: 'gw-eu:',
      STORE_SWEEP: '30',
      DEV_KEY_FILE: KEY_FILE,
    });
    expect(config).toMatchObject({
      port: 0,
      host: '0.0.0.0',
      logLevel: 'debug',
      authMode: 'jwt',
      jwksUrl: 'https://idp.example/jwks',
      issuer: 'https://idp.example/',
      audience: 'gw',
      jwtAlgorithms: ['ES256', 'RS256'],
      phoneNumberClaim: 'msisdn',
      sinkAllowlist: ['10.0.0.0/8', 'sink.internal', '::1'],
      sinkCaFile: '/etc/ca.pem',
      registrationTtlMinSeconds: 30,
      registrationTtlDefaultSeconds: 600,
      registrationTtlMaxSeconds: 7200,
      maxRegistrationsPerUser: 0,
      emergencyCalls: true,
      deliveryThread: false,
      eventSource: 'https://gw.example',
      validateResponses: false,
      shutdownTimeoutSeconds: 3,
      store: 'redis://:secret@cache.internal:6380/2',
      storeKeyPrefix: 'gw-eu:',
      storeSweepSeconds: 30,
    });
  });

  it('introspection mode with client credentials; empty variables keep the default', () => {
    const config = loadConfig({
      AUTH_MODE: 'introspection',
      INTROSPECTION_URL: 'http://localhost:9000/introspect',
      INTROSPECTION_CLIENT_ID: 'gw',
      INTROSPECTION_CLIENT_SECRET: 'secret',
      PORT: '',
    });
    expect(config).toMatchObject({ authMode: 'introspection', introspectionClientId: 'gw', port: 8080 });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer from 0 to 65535 (got "abc")'],
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535 (got "70000")'],
    [{ AUTH_MODE: 'oauth' }, 'AUTH_MODE must be one of dev, jwt, introspection (got "oauth")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of'],
    [{ EMERGENCY_CALLS: 'maybe' }, 'EMERGENCY_CALLS must be true or false (got "maybe")'],
    [{ STORE: 'redis://' }, 'STORE must be a redis://host:port[/db] URL'],
    [{ STORE_SWEEP: '0' }, 'STORE_SWEEP must be an integer from 1 to 3600 (got "0")'],
    [{ STORE: 'redis://cache:6379/zero' }, 'STORE must be a redis://host:port[/db] URL (db a number)'],
    [
      { STORE: 'redis-sentinel://:secret@s1:26379' },
      'STORE must be a redis-sentinel://host:port[,host:port…]/<master name>[/db] URL',
    ],
    [
      { STORE: 'redis-sentinel://s1:26379,s2:99999/main' },
      'STORE must be a redis-sentinel://host:port[,host:port…]/<master name>[/db] URL (sentinel address "s2:99999")',
    ],
    [
      { STORE: 'postgres://u:secret@db' },
      'STORE must be "memory", a redis://host:port[/db] or a redis-sentinel://host:port[,host:port…]/<master name>[/db] URL (got "postgres://…@db")',
    ],
    [
      { STORE: 'redis://cache', STORE_KEY_PREFIX: 'a b' },
      'STORE_KEY_PREFIX must be non-empty, without spaces',
    ],
    [{ AUTH_MODE: 'jwt', ISSUER: 'x' }, 'AUTH_MODE=jwt needs JWKS_URL'],
    [{ AUTH_MODE: 'jwt', JWKS_URL: 'https://idp/jwks' }, 'AUTH_MODE=jwt needs ISSUER'],
    [{ AUTH_MODE: 'jwt', JWKS_URL: 'http://idp.example/jwks', ISSUER: 'x' }, 'JWKS_URL must be an https URL'],
    [{ AUTH_MODE: 'jwt', JWKS_URL: 'not a url', ISSUER: 'x' }, 'JWKS_URL must be an absolute URL'],
    [
      { AUTH_MODE: 'jwt', JWKS_URL: 'https://idp/jwks', ISSUER: 'x', JWT_ALGORITHMS: 'HS256' },
      'JWT_ALGORITHMS must list asymmetric algorithms',
    ],
    [{ AUTH_MODE: 'introspection' }, 'AUTH_MODE=introspection needs INTROSPECTION_URL'],
    [
      { AUTH_MODE: 'introspection', INTROSPECTION_URL: 'https://as/i', INTROSPECTION_CLIENT_ID: 'id' },
      'set both INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET, or neither',
    ],
    [{ REGISTRATION_TTL_MIN: '600', REGISTRATION_TTL_DEFAULT: '60' }, 'need 0 < REGISTRATION_TTL_MIN'],
    [{ REGISTRATION_TTL_MIN: '0' }, 'REGISTRATION_TTL_MIN must be an integer from 1'],
    [{ SINK_ALLOWLIST: '10.0.0.0/99' }, 'SINK_ALLOWLIST: bad prefix length'],
    [{ SINK_ALLOWLIST: 'http://x' }, 'SINK_ALLOWLIST: "http://x" is not an IP address'],
    [{ DEV_TOKEN_SECRET: 'short' }, 'DEV_TOKEN_SECRET must be at least 32 characters long'],
    [{ PHONE_NUMBER_CLAIM: 'a b' }, 'PHONE_NUMBER_CLAIM must be a claim name'],
    [
      { NODE_ENV: 'production' },
      'AUTH_MODE=dev accepts tokens anyone on this machine can mint and is refused',
    ],
    [{ MEDIA_BACKEND: 'janus' }, 'MEDIA_BACKEND must be one of werift, mediasoup, loopback (got "janus")'],
    [
      { MEDIA_BACKEND: 'mediasoup' },
      'MEDIA_BACKEND=mediasoup: the mediasoup media backend needs its worker binary: build it with `npm run build:mediasoup-worker` and set MEDIASOUP_WORKER_BIN to the path it prints',
    ],
    [
      // A file that exists but is not a program.
      { MEDIA_BACKEND: 'mediasoup', MEDIASOUP_WORKER_BIN: fileURLToPath(import.meta.url) },
      'is not an executable file: build it with `npm run build:mediasoup-worker`',
    ],
    [{ MEDIASOUP_WORKERS: '0' }, 'MEDIASOUP_WORKERS must be an integer from 1 to 1024 (got "0")'],
    [{ MEDIA_THREADS: '-1' }, 'MEDIA_THREADS must be an integer from 0 to 256 (got "-1")'],
    [
      { MEDIA_THREADS: '3', RTP_PORT_MIN: '42000', RTP_PORT_MAX: '42007' },
      'RTP_PORT_MIN-RTP_PORT_MAX holds ports for 2 calls: too few for 3 MEDIA_THREADS',
    ],
    [{ MEDIA_NICE: '-21' }, 'MEDIA_NICE must be an integer from -20 to 19 (got "-21")'],
    [{ MEDIA_NICE: '-5.5' }, 'MEDIA_NICE must be an integer from -20 to 19 (got "-5.5")'],
    [
      { MEDIA_NICE: '-10', MEDIA_THREADS: '0' },
      'MEDIA_NICE applies to media threads, and MEDIA_THREADS=0 relays on the main thread: start the gateway with `nice` instead',
    ],
    [{ MEDIA_REALTIME: '0' }, 'MEDIA_REALTIME must be an integer from 1 to 99 (got "0")'],
    [{ MEDIA_REALTIME: '100' }, 'MEDIA_REALTIME must be an integer from 1 to 99 (got "100")'],
    [
      { MEDIA_REALTIME: '10', MEDIA_NICE: '-5' },
      'MEDIA_REALTIME and MEDIA_NICE: set one; a thread under SCHED_RR runs before every normal one whatever its nice value',
    ],
    [
      { MEDIA_REALTIME: '10', MEDIA_THREADS: '0' },
      'MEDIA_REALTIME applies to media threads, and MEDIA_THREADS=0 relays on the main thread, beside the API and SIP: start the gateway with `chrt` instead',
    ],
  ])('%j → ConfigError "%s…"', (env, message) => {
    let error: unknown;
    try {
      loadConfig({ DEV_KEY_FILE: KEY_FILE, ...env });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('MEDIA_BACKEND=mediasoup with its worker binary and worker count', () => {
    const config = loadConfig({
      DEV_KEY_FILE: KEY_FILE,
      MEDIA_BACKEND: 'mediasoup',
      // Any executable passes the start-up check; the worker itself is spawned when the gateway starts.
      MEDIASOUP_WORKER_BIN: process.execPath,
      MEDIASOUP_WORKERS: '2',
      RTP_PORT_MIN: '42000',
      RTP_PORT_MAX: '42999',
    });
    expect(config).toMatchObject({
      mediaBackend: 'mediasoup',
      mediasoupWorkerBin: process.execPath,
      mediasoupWorkers: 2,
      rtpPortMin: 42_000,
      rtpPortMax: 42_999,
    });
  });

  it('MEDIA_THREADS: werift on that many worker threads, 0 on the main thread; unset, one per core', () => {
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE }).mediaThreads).toBeUndefined();
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE, MEDIA_THREADS: '0' }).mediaThreads).toBe(0);
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE, MEDIA_THREADS: '4' }).mediaThreads).toBe(4);
  });

  it('MEDIA_NICE: the media threads’ or workers’ nice value, negative too; unset, the gateway’s own', () => {
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE }).mediaNice).toBeUndefined();
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE, MEDIA_NICE: '-10' }).mediaNice).toBe(-10);
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE, MEDIA_NICE: '5', MEDIA_BACKEND: 'werift' }).mediaNice).toBe(
      5,
    );
  });

  it('MEDIA_REALTIME: the SCHED_RR priority of the media threads or workers; unset, normal threads', () => {
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE }).mediaRealtime).toBeUndefined();
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE, MEDIA_REALTIME: '1' }).mediaRealtime).toBe(1);
    expect(loadConfig({ DEV_KEY_FILE: KEY_FILE, MEDIA_REALTIME: '99' }).mediaRealtime).toBe(99);
  });

  it('production is fine with jwt auth, and turns response validation off', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      AUTH_MODE: 'jwt',
      JWKS_URL: 'https://idp/jwks',
      ISSUER: 'https://idp/',
    });
    expect(config.validateResponses).toBe(false);
  });
});

describe('resolveConfig: what buildGateway takes', () => {
  it('defaults with overrides, no dev key file (a random key per gateway)', () => {
    const config = resolveConfig({ port: 0, emergencyCalls: true }, {});
    expect(config).toMatchObject({ port: 0, emergencyCalls: true, devKeyFile: undefined, logLevel: 'info' });
    expect(resolveConfig({}, { NODE_ENV: 'test' }).logLevel).toBe('warn');
  });

  it('checks the result', () => {
    expect(() => resolveConfig({ authMode: 'jwt' }, {})).toThrow(ConfigError);
    expect(() => resolveConfig({}, { NODE_ENV: 'production' })).toThrow(/refused when NODE_ENV=production/);
  });
});

/** A folder for key files, removed when the test ends. */
async function keyDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'telegate-key-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('devTokenKey', () => {
  it('creates the key file once (mode 0600) and reads the same key after', async () => {
    const dir = await keyDir();
    const path = join(dir, 'nested', 'dev.key');
    const [first, second] = await Promise.all([
      devTokenKey({ devKeyFile: path, devTokenSecret: undefined }),
      devTokenKey({ devKeyFile: path, devTokenSecret: undefined }),
    ]);
    expect(first).toHaveLength(32);
    expect(second).toEqual(first);
    expect(await devTokenKey({ devKeyFile: path, devTokenSecret: undefined })).toEqual(first);
    if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, 'utf8')).trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('prefers DEV_TOKEN_SECRET; undefined when neither is set', async () => {
    const secret = 'x'.repeat(32);
    expect(await devTokenKey({ devKeyFile: '/nonexistent/k', devTokenSecret: secret })).toEqual(
      new TextEncoder().encode(secret),
    );
    expect(await devTokenKey({ devKeyFile: undefined, devTokenSecret: undefined })).toBeUndefined();
  });

  it.skipIf(process.platform === 'win32')(
    'refuses a key file other users can read, or a damaged one',
    async () => {
      const dir = await keyDir();
      const open = join(dir, 'open.key');
      await writeFile(open, `${Buffer.alloc(32, 1).toString('base64url')}\n`, { mode: 0o644 });
      await expect(devTokenKey({ devKeyFile: open, devTokenSecret: undefined })).rejects.toThrow(/chmod 600/);
      const damaged = join(dir, 'damaged.key');
      await writeFile(damaged, 'short\n', { mode: 0o600 });
      await expect(devTokenKey({ devKeyFile: damaged, devTokenSecret: undefined })).rejects.toThrow(
        /does not hold a 32-byte key/,
      );
    },
  );

  it('says what to do when the key file cannot be created', async () => {
    const dir = await keyDir();
    const blocker = join(dir, 'file');
    await writeFile(blocker, '');
    await expect(
      devTokenKey({ devKeyFile: join(blocker, 'dev.key'), devTokenSecret: undefined }),
    ).rejects.toThrow(/set DEV_KEY_FILE to a writable path or DEV_TOKEN_SECRET/);
  });
});
