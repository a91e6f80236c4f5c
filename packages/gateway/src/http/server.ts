import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import {
  assertSafeSink,
  createNodeTransport,
  createWorkerTransport,
  type SinkLookup,
  type SinkPolicy,
} from '@telegate/runtime/callbacks';
import {
  ApiError,
  type AuthenticateHook,
  createClientErrorListener,
  PermissionDeniedError,
} from '@telegate/runtime/server';
import {
  callHandlingMountPath,
  createEventsCallbackSender,
  eventsMountPath,
  registrationMountPath,
} from '@telegate/webrtc-server';
import {
  createCallHandlingPlugin,
  createEventsPlugin,
  createRegistrationPlugin,
} from '@telegate/webrtc-server/fastify';
import {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  fastify,
  LogController,
} from 'fastify';
import type { Auth, AuthContext } from '../auth/auth.js';
import { DevAuth } from '../auth/dev-auth.js';
import { IntrospectionAuth } from '../auth/introspection-auth.js';
import { JwtAuth } from '../auth/jwt-auth.js';
import { demoBehaviours } from '../config/demo-numbers.js';
import { devTokenKey } from '../config/dev-key.js';
import { ConfigError, type GatewayConfig, resolveConfig } from '../config/gateway-config.js';
import { createSipNetwork } from '../config/sip-network.js';
import type { Logger } from '../core/logger.js';
import { Gateway } from '../gateway.js';
import type { LoopbackNetwork } from '../network/loopback/loopback-network.js';
import { createLogger, type PinoLogger } from '../observability/logger.js';
import { GatewayMetrics } from '../observability/metrics.js';
import type { DemoTelcoNetwork } from '../sip/demo/demo-telco-network.js';
import { RedisConnectError, RedisStore } from '../store/redis-store.js';
import type { Store } from '../store/store.js';
import { registerDemoRoutes } from './demo-routes.js';
import { createHandlers } from './handlers.js';
import { registerHealthRoutes } from './health.js';
import { registerRequestObservers, requestIdOf } from './observers.js';
import { registerRateLimits } from './rate-limit.js';

export interface IssueTokenOptions {
  /** Granted scopes (default: every scope of the three APIs). */
  scopes?: string[];
  /** Lifetime in seconds (default 3600); 0 gives a token that has already expired. */
  ttlSeconds?: number;
  /** Binds the token to one device (`device_id`): it may act only on that device's resources. */
  deviceId?: string;
}

/** A reference gateway ready to `app.listen()` (or to `app.inject()` in tests). */
export interface GatewayServer {
  /** The Fastify instance serving the three APIs and `/healthz`, `/readyz`, `/metrics`; not listening yet. */
  app: FastifyInstance;
  gateway: Gateway;
  /** The in-process loopback network (`sipNetwork: 'loopback'`): numbers, behaviours, incoming calls. */
  network: LoopbackNetwork | undefined;
  /** The demo telco network reached over real SIP (`sipNetwork: 'demo'`): `callIn`, `setBehaviour`. */
  demo: DemoTelcoNetwork | undefined;
  /** The gateway's SIP listeners (`udp:127.0.0.1:5060`), empty on the loopback network. */
  sipListening: string[];
  config: GatewayConfig;
  /** A dev-mode access token for `phoneNumber`; throws unless `authMode` is `dev`. */
  issueToken(phoneNumber: string, opts?: IssueTokenOptions): Promise<string>;
  /**
   * Starts now what would otherwise start with the first call or event: the media backend's
   * threads and the webhook delivery thread, so neither the first call nor the first event waits
   * for a thread to load. Call it before `app.listen`; it rejects, naming the part, when one
   * cannot start (then `close()`).
   */
  start(): Promise<void>;
  /** Stops accepting requests, finishes those in flight, ends every call (BYE), delivers the last events. */
  close(): Promise<void>;
}

/** Operations whose scopes the handler checks itself (one per requested event type). */
const SCOPES_CHECKED_BY_SERVICE = new Set(['createNotificationChannelSubscription']);

async function createAuth(
  config: GatewayConfig,
  logger: Logger,
): Promise<{ auth: Auth; devAuth: DevAuth | undefined }> {
  switch (config.authMode) {
    case 'dev': {
      const secret = await devTokenKey(config);
      // No clock tolerance: issuer and verifier share the clock, and `ttl 0` must mean expired.
      const devAuth = new DevAuth({ ...(secret === undefined ? {} : { secret }), clockToleranceSeconds: 0 });
      return { auth: devAuth, devAuth };
    }
    case 'jwt':
      return {
        auth: new JwtAuth({
          jwksUrl: config.jwksUrl!,
          issuer: config.issuer!,
          ...(config.audience === undefined ? {} : { audience: config.audience }),
          algorithms: config.jwtAlgorithms,
          phoneNumberClaim: config.phoneNumberClaim,
          logger,
        }),
        devAuth: undefined,
      };
    case 'introspection':
      return {
        auth: new IntrospectionAuth({
          url: config.introspectionUrl!,
          ...(config.introspectionClientId === undefined
            ? {}
            : { clientId: config.introspectionClientId, clientSecret: config.introspectionClientSecret! }),
          ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
          ...(config.audience === undefined ? {} : { audience: config.audience }),
          phoneNumberClaim: config.phoneNumberClaim,
          logger,
        }),
        devAuth: undefined,
      };
  }
}

/**
 * The store `STORE` names: `undefined` for `memory` (the `Gateway` makes its
 * `MemoryStore`), else a connected `RedisStore`; an unreachable Redis is a
 * `ConfigError` (one line from the CLI).
 */
async function createStore(config: GatewayConfig, logger: PinoLogger): Promise<Store | undefined> {
  if (config.store === 'memory') return undefined;
  try {
    return await RedisStore.connect(config.store, {
      keyPrefix: config.storeKeyPrefix,
      commandTimeoutMs: config.storeTimeoutMs,
      // Ended sessions leave Redis by themselves after the retention, whichever node ended them.
      lifetimes: { endedSessionTtlMs: config.sessionRetentionSeconds * 1000 },
      logger: logger.child({ component: 'store' }),
    });
  } catch (error) {
    if (error instanceof RedisConnectError) throw new ConfigError(`STORE: ${error.message}`);
    throw error;
  }
}

async function readCa(path: string): Promise<string> {
  try {
    const pem = await readFile(path, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`SINK_CA_FILE ${path} cannot be used (${why})`);
  }
}

/** What `buildGateway` takes besides the configuration: hooks only code can give. */
export interface GatewayHooks {
  /** Resolves sink host names (default: the system resolver); tests map them to loopback so no DNS is asked. */
  sinkLookup?: SinkLookup;
}

/**
 * Builds the reference gateway: the domain core on the loopback network, the
 * three generated Fastify plugins at their mount paths, the CloudEvents sender
 * with its SSRF guard, health and metrics routes. Does not listen.
 *
 * `options` override the embedded defaults (`defaultConfig()`); a wrong
 * setting throws `ConfigError`.
 */
export async function buildGateway(
  options: Partial<GatewayConfig> & GatewayHooks = {},
): Promise<GatewayServer> {
  const { sinkLookup, ...configOptions } = options;
  const config = resolveConfig(configOptions);
  const logger: PinoLogger = createLogger(config.logLevel);
  const coreLogger: Logger = logger.child({ component: 'gateway' });
  const ca =
    config.sinkCaFile === undefined ? undefined : [...rootCertificates, await readCa(config.sinkCaFile)];
  const { auth, devAuth } = await createAuth(config, coreLogger);
  const store = await createStore(config, logger).catch(async (error: unknown) => {
    await auth.close?.();
    throw error;
  });

  const sipNetwork = await createSipNetwork(config, {
    sip: logger.child({ component: 'sip' }),
    demo: logger.child({ component: 'demo-network' }),
  }).catch(async (error: unknown) => {
    await auth.close?.();
    await store?.close();
    throw error;
  });

  const sinkPolicy: SinkPolicy = {
    allowlist: config.sinkAllowlist,
    ...(sinkLookup === undefined ? {} : { lookup: sinkLookup }),
  };
  // Webhook HTTP and TLS run on a thread of their own (unless told not to), off the thread that answers
  // the API and signals calls.
  const transport = (config.deliveryThread ? createWorkerTransport : createNodeTransport)(
    ca === undefined ? {} : { ca },
  );
  // Metrics are built with the HTTP app below; circuit changes before that are only logged.
  let metrics: GatewayMetrics | undefined;
  const sender = createEventsCallbackSender({
    sinkPolicy,
    transport: transport.send,
    source: config.eventSource,
    logger: logger.child({ component: 'events' }),
    maxConcurrent: config.deliveryMaxConcurrent,
    ...(config.sinkBreakerFailures > 0
      ? {
          circuitBreaker: { failures: config.sinkBreakerFailures, coolDownMs: config.sinkBreakerCoolDownMs },
          onCircuitChange: (change) => metrics?.circuitChanged(change.state),
        }
      : {}),
  });
  const gateway = new Gateway({
    ...(store === undefined ? {} : { store }),
    auth,
    logger: coreLogger,
    eventSource: config.eventSource,
    loopback: { behaviours: demoBehaviours() },
    ...(sipNetwork === undefined ? {} : { sip: sipNetwork.sip, media: sipNetwork.media }),
    sipDomain: config.sipDomain,
    networkDomain: config.sipNetworkDomain,
    deliver: (target, event) =>
      sender.postNotification(target.sink, event, {
        ...(target.sinkCredential === undefined ? {} : { sinkCredential: target.sinkCredential }),
        // The notice that the sink's token expired still carries it, so the sink can tell whose it is.
        ...(announcesExpiredToken(event) ? { allowExpiredCredential: true } : {}),
        orderingKey: target.subscriptionId,
      }),
    registrations: {
      minLifetimeMs: config.registrationTtlMinSeconds * 1000,
      defaultLifetimeMs: config.registrationTtlDefaultSeconds * 1000,
      maxLifetimeMs: config.registrationTtlMaxSeconds * 1000,
      ...(config.maxRegistrationsPerUser > 0 ? { maxPerUser: config.maxRegistrationsPerUser } : {}),
      ...(config.maxRegistrationsPerMsisdn > 0 ? { maxPerMsisdn: config.maxRegistrationsPerMsisdn } : {}),
      ...(config.maxDevicesPerUser > 0 ? { maxDevicesPerUser: config.maxDevicesPerUser } : {}),
      sipRegister: config.sipRegistrar !== undefined,
    },
    emergency: { supported: config.emergencyCalls },
    calls: { endedSessionRetentionMs: config.sessionRetentionSeconds * 1000 },
    lease: { leaseMs: config.nodeLeaseMs },
    events: { maxQueued: config.eventQueueMax },
    ...(store instanceof RedisStore ? { eventQueue: store.eventQueue() } : {}),
    ...(store instanceof RedisStore && config.clusterSecret !== undefined
      ? { cluster: { messaging: store.messaging(), secret: config.clusterSecret, prefix: store.keyPrefix } }
      : {}),
    subscriptions: {
      // The API's schema admits https sinks only.
      allowInsecureSinks: false,
      checkSink: (sink) => assertSafeSink(sink, sinkPolicy),
      multiEvent: config.multiEventSubscriptions,
      ...(config.maxSubscriptionsPerUser > 0 ? { maxPerOwner: config.maxSubscriptionsPerUser } : {}),
      ...(config.subscriptionTtlMaxSeconds > 0
        ? { maxLifetimeMs: config.subscriptionTtlMaxSeconds * 1000 }
        : {}),
    },
  });
  // With a shared store, registrations and subscriptions of other (or earlier) nodes get their
  // expiry timers here too, and every STORE_SWEEP seconds the node ends lapsed ones still stored
  // (their node stopped). Ending one is a take from the store of the record as read, so exactly
  // one node ends it, and never one another node has just extended.
  if (store !== undefined) {
    if (config.clusterSecret === undefined) {
      coreLogger.warn(
        {},
        'CLUSTER_SECRET is not set: a call can be changed or hung up only on the node that handles it (503 on the others)',
      );
    }
    await gateway.resume(config.storeSweepSeconds * 1000);
    // Heartbeats; the calls of nodes that stopped without ending them end here (Failed).
    await gateway.joinCluster();
  }

  let closing = false;
  const shutDownCore = async () => {
    // Calls end and their events are delivered; a sink that keeps failing is given up on
    // after the grace time (closing the sender ends its retries).
    const grace = setTimeout(() => void sender.close(), config.shutdownTimeoutSeconds * 1000);
    try {
      await gateway.close();
    } finally {
      clearTimeout(grace);
      await sender.close();
      transport.close();
      await sipNetwork?.close();
    }
  };

  try {
    const app = fastify({
      // pino's Logger is a FastifyBaseLogger; the cast keeps the app's type the default one.
      loggerInstance: logger as FastifyBaseLogger,
      // One line per request, written on response by `registerRequestObservers`.
      logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlator' }),
      genReqId: requestIdOf,
      routerOptions: { maxParamLength: 1024 },
      return503OnClosing: true,
      // Requests Node's HTTP parser refuses (CR/LF/NUL in a header, CL with TE, …): a CAMARA ErrorInfo too.
      clientErrorHandler: createClientErrorListener(logger.child({ component: 'http' })),
      // Errors Fastify raises before routing (a path with broken percent-encoding): still a CAMARA ErrorInfo.
      frameworkErrors: (error, request, reply) => {
        const body = {
          status: 400,
          code: 'INVALID_ARGUMENT',
          message: `The request URL is malformed (${error.code}).`,
        };
        void (reply as FastifyReply).code(400).header('x-correlator', request.id).send(body);
      },
    });
    metrics = new GatewayMetrics(gateway, sender);
    registerRequestObservers(app, metrics);
    registerHealthRoutes(app, { gateway, metrics, closing: () => closing });

    const authenticate: AuthenticateHook<AuthContext, FastifyRequest> = (request, scopes, context) =>
      gateway.authenticate(
        request.headers.authorization,
        SCOPES_CHECKED_BY_SERVICE.has(context.operationId) ? [] : scopes,
      );
    const pluginOptions = { authenticate, validateResponses: config.validateResponses };
    // webrtc-events documents no INVALID_TOKEN_CONTEXT: a token without a subscriber is PERMISSION_DENIED there.
    const eventsAuthenticate: AuthenticateHook<AuthContext, FastifyRequest> = async (
      request,
      scopes,
      context,
    ) => {
      try {
        return await authenticate(request, scopes, context);
      } catch (error) {
        throw withoutTokenContextCode(error);
      }
    };
    const handlers = createHandlers(gateway);
    const rateLimits = await registerRateLimits(app, config);
    app.addHook('onClose', rateLimits.close);
    // The three APIs in one scope, behind the rate limits (health and metrics are not limited).
    await app.register(async (apis) => {
      for (const hook of rateLimits.hooks) apis.addHook('onRequest', hook);
      await apis.register(createRegistrationPlugin(handlers.registration, pluginOptions), {
        prefix: registrationMountPath,
      });
      await apis.register(createCallHandlingPlugin(handlers.callHandling, pluginOptions), {
        prefix: callHandlingMountPath,
      });
      await apis.register(
        createEventsPlugin(handlers.events, { ...pluginOptions, authenticate: eventsAuthenticate }),
        { prefix: eventsMountPath },
      );
    });
    const demoRoutes = registerDemoRoutes(app, {
      gateway,
      host: config.host,
      source: config.eventSource,
      issueToken: devAuth === undefined ? undefined : (phoneNumber: string) => devAuth.issue({ phoneNumber }),
    });
    let closed: Promise<void> | undefined;

    app.addHook('preClose', async () => {
      closing = true;
      // Open event streams would keep the listener from closing.
      demoRoutes.close();
    });
    // Runs once the listener has stopped and the requests in flight are answered.
    app.addHook('onClose', async () => {
      await shutDownCore();
      logger.info({}, 'gateway closed');
    });

    return {
      app,
      gateway,
      network: gateway.network,
      demo: sipNetwork?.demo,
      sipListening: sipNetwork?.listening ?? [],
      config,
      async issueToken(phoneNumber, opts = {}) {
        if (devAuth === undefined) {
          throw new Error(`issueToken needs authMode "dev"; this gateway verifies ${config.authMode} tokens`);
        }
        return devAuth.issue({
          phoneNumber,
          ...(opts.scopes === undefined ? {} : { scopes: opts.scopes }),
          ...(opts.ttlSeconds === undefined ? {} : { ttlSeconds: opts.ttlSeconds }),
          ...(opts.deviceId === undefined ? {} : { deviceId: opts.deviceId }),
        });
      },
      async start() {
        try {
          await gateway.media.start?.();
        } catch (error) {
          throw new Error(`the media backend did not start (${(error as Error).message})`, { cause: error });
        }
        try {
          await transport.start?.();
        } catch (error) {
          throw new Error(`the webhook delivery thread did not start (${(error as Error).message})`, {
            cause: error,
          });
        }
      },
      close: () => {
        closing = true;
        closed ??= app.close();
        return closed;
      },
    };
  } catch (error) {
    await shutDownCore().catch(() => {});
    throw error;
  }
}

function withoutTokenContextCode(error: unknown): unknown {
  return error instanceof ApiError && error.code === 'INVALID_TOKEN_CONTEXT'
    ? new PermissionDeniedError(error.message)
    : error;
}

function announcesExpiredToken(event: { type: string; data?: unknown }): boolean {
  const data = event.data as { terminationReason?: unknown } | undefined;
  return event.type.endsWith('.subscription-ended') && data?.terminationReason === 'ACCESS_TOKEN_EXPIRED';
}
