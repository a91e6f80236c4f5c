import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { completeCloudEvent, envelopeViolations } from './cloudevents.js';
import {
  type CallbackDefinition,
  type CallbackDefinitions,
  isCloudEvents,
  isJsonMediaType,
  type PayloadValidator,
} from './definitions.js';
import { type CallbackLogger, log } from './logger.js';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter, type RetryPolicy, statusVerdict } from './retry.js';
import { createWebhookSigner, WEBHOOK_ID_HEADER, type WebhookSigningKey } from './signature.js';
import {
  type CircuitBreakerOptions,
  OpenCircuitError,
  type SinkCircuitChange,
  SinkCircuits,
} from './sink-circuits.js';
import {
  createSinkGuard,
  InvalidSinkError,
  redactSink,
  type SinkGuard,
  SinkLookupError,
  type SinkPolicy,
  type VettedSink,
} from './sink-guard.js';
import { type CallbackTransport, createNodeTransport, type TransportResponse } from './transport.js';

/**
 * The `sinkCredential` of a CAMARA subscription. Only `ACCESSTOKEN` with
 * `accessTokenType: "bearer"` is defined: it is sent as
 * `Authorization: Bearer <accessToken>` and never logged.
 */
export interface SinkCredentialInput {
  credentialType: string;
  accessToken?: string;
  accessTokenExpiresUtc?: string;
  accessTokenType?: string;
}

export interface CallbackSendOptions {
  /** How to authenticate to the sink (the subscription's `sinkCredential`). */
  sinkCredential?: SinkCredentialInput;
  /** `x-correlator` of the delivery (default: a random UUID, the same for every retry). */
  correlator?: string;
  /**
   * Deliveries with the same key go out one at a time, in call order (default:
   * the sink URL). Use the subscription id for per-subscription order.
   */
  orderingKey?: string;
  /** Extra request headers (e.g. HTTP delivery settings agreed with the consumer). */
  headers?: Record<string, string>;
  /**
   * Send with `sinkCredential` even when its `accessTokenExpiresUtc` has passed
   * (for the notice that ends a subscription because the token expired);
   * otherwise an expired credential fails with `credential-expired`.
   */
  allowExpiredCredential?: boolean;
}

/** Why a delivery did not happen. */
export type DeliveryFailureReason =
  /** The payload failed validation or the CloudEvents envelope checks; nothing was sent. */
  | 'invalid-payload'
  /** The sink is refused by the SSRF guard (at delivery time: e.g. DNS now points inside). */
  | 'invalid-sink'
  /** The `sinkCredential` is not a usable bearer token. */
  | 'invalid-credential'
  /** `accessTokenExpiresUtc` has passed. */
  | 'credential-expired'
  /** The ordering key already had `maxQueue` deliveries waiting; this one was not queued. */
  | 'queue-full'
  /** The sink answered 410: it wants no more events; end the subscription. Later queued events were dropped. */
  | 'gone'
  /** The sink answered a non-retryable status (4xx other than 408/410/429, or 3xx). */
  | 'rejected'
  /** Every attempt failed (network error, timeout, 408, 429, 5xx), or `Retry-After` was too long. */
  | 'exhausted'
  /** The sender was closed before the delivery finished. */
  | 'closed';

interface DeliveryOutcome {
  /** Sender method (the callback's generated name) and callback id. */
  callbackId: string;
  /** CloudEvents `id`, or the `webhook-id` of other payloads. */
  eventId: string;
  /** The sink without user info, query or fragment. */
  sink: string;
  /** Attempts made, those an open circuit refused without connecting included (0 when refused before sending). */
  attempts: number;
  /** From the call to the outcome. */
  durationMs: number;
}

export interface DeliveryReport extends DeliveryOutcome {
  ok: true;
  status: number;
}

export interface DeliveryFailure extends DeliveryOutcome {
  ok: false;
  reason: DeliveryFailureReason;
  /** The last HTTP status, when the sink answered. */
  status?: number;
  /** What went wrong, for logs; never contains credentials. */
  message: string;
  /** `invalid-payload`: every violation. */
  violations?: string[];
}

export type DeliveryResult = DeliveryReport | DeliveryFailure;

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface CallbackSenderOptions {
  /** SSRF policy: `allowHttp`, `allowlist`, `lookup`. Every delivery re-checks the sink. */
  sinkPolicy?: SinkPolicy;
  /** Per attempt, from connect to response headers (default 15 000 ms, as Standard Webhooks suggests). */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /**
   * Bound of each ordering key's queue, the delivery in flight included
   * (default 100). When full, a new send is not queued: it resolves at once
   * with `reason: 'queue-full'` and `onFailure` is called. Earlier events are
   * kept, so what the sink gets stays in order without gaps up to the overflow.
   */
  maxQueue?: number;
  /** Sign every delivery (Standard Webhooks headers); several keys sign in parallel for rotation. */
  signing?: WebhookSigningKey | readonly WebhookSigningKey[];
  /**
   * Validates each payload before it is queued; wins over `validators`.
   * Return `null` when valid, else the violations.
   */
  validate?: (payload: unknown, callbackId: string) => string[] | null;
  /** Validators by callback id; generated code passes `callbackValidators`. */
  validators?: Readonly<Record<string, PayloadValidator>>;
  /** CloudEvents `source` for events that give none. */
  source?: string;
  logger?: CallbackLogger;
  /** Called once per delivered event (metrics). */
  onDelivery?: (report: DeliveryReport) => void;
  /** Called once per event that was not delivered, whatever the reason (metrics, ending subscriptions on `gone`). */
  onFailure?: (failure: DeliveryFailure) => void;
  /**
   * Requests in flight at once, every sink together (default: no limit). An
   * attempt beyond it waits, first come first served, for one to finish; the
   * wait does not count toward `timeoutMs`. Bounds the connections the sender
   * holds open however many subscriptions have events waiting.
   */
  maxConcurrent?: number;
  /**
   * A circuit breaker per sink origin (default: none): after `failures` failed
   * attempts in a row (no answer, or a status that is retried), attempts to that
   * origin are refused without connecting for `coolDownMs`, then one probe goes;
   * its success closes the circuit. A refused attempt is a failed attempt of the
   * retry policy (it is retried after the usual backoff, and counts toward
   * `maxAttempts`). The cool-down runs on the real time, not on `clock`.
   */
  circuitBreaker?: CircuitBreakerOptions;
  /** Called when a sink's circuit opens, half-opens or closes (metrics, logs). */
  onCircuitChange?: (change: SinkCircuitChange) => void;
  /** `User-Agent` header (default `telegate-callbacks`). */
  userAgent?: string;
  /** Replaces the HTTP client (default: `node:http(s)` connecting only to vetted addresses). */
  transport?: CallbackTransport;
  /** Time source and sleep, for tests. */
  clock?: Clock;
  /** Jitter source in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/** What a sender is doing now (gauges). */
export interface CallbackSenderLoad {
  /** Requests in flight. */
  inFlight: number;
  /** Attempts waiting for a free slot under `maxConcurrent`. */
  waiting: number;
  /** Events accepted and not finished, those being retried included. */
  queued: number;
  /** Sink origins whose circuit is open or half-open. */
  openCircuits: number;
}

/** Methods every generated sender has besides one per callback. */
export interface CallbackSenderControls {
  /** What the sender is doing now. */
  load(): CallbackSenderLoad;
  /** Resolves once every queued delivery has finished. */
  drain(): Promise<void>;
  /** Stops: queued deliveries end with `closed`, the one in flight is aborted; resolves when all have ended. */
  close(): Promise<void>;
}

interface Job {
  callbackId: string;
  definition: CallbackDefinition;
  sink: string;
  eventId: string;
  body: Uint8Array | undefined;
  headers: Record<string, string>;
  credential: SinkCredentialInput | undefined;
  allowExpiredCredential: boolean;
  /** Strings that must never appear in a message (the access token). */
  secrets: string[];
  started: number;
  finish: (result: DeliveryResult) => void;
}

type Send = (sink: string, payload: unknown, options?: CallbackSendOptions) => Promise<DeliveryResult>;

function scrub(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) if (secret !== '') clean = clean.split(secret).join('[redacted]');
  return clean;
}

function credentialProblem(
  credential: SinkCredentialInput | undefined,
  now: number,
  allowExpired = false,
): { reason: 'invalid-credential' | 'credential-expired'; message: string } | undefined {
  if (credential === undefined) return undefined;
  if (credential.credentialType !== 'ACCESSTOKEN') {
    return {
      reason: 'invalid-credential',
      message: `sinkCredential type ${JSON.stringify(String(credential.credentialType))} is not supported`,
    };
  }
  if (typeof credential.accessToken !== 'string' || credential.accessToken === '') {
    return { reason: 'invalid-credential', message: 'sinkCredential has no accessToken' };
  }
  if (credential.accessTokenType !== undefined && credential.accessTokenType.toLowerCase() !== 'bearer') {
    return { reason: 'invalid-credential', message: 'sinkCredential accessTokenType must be "bearer"' };
  }
  if (credential.accessTokenExpiresUtc !== undefined && !allowExpired) {
    const expires = Date.parse(credential.accessTokenExpiresUtc);
    if (!Number.isNaN(expires) && expires <= now) {
      return { reason: 'credential-expired', message: 'sinkCredential accessToken has expired' };
    }
  }
  return undefined;
}

/** TLS errors that mean the sink's certificate is not trusted (Node's codes). */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The engine behind a generated `create<Api>CallbackSender`: one method per
 * entry of `definitions`, plus `drain` and `close`.
 *
 * Each call validates the payload (CloudEvents: completes and checks the
 * envelope first), queues it on its ordering key, and resolves with the
 * outcome; it never rejects. Within a key, an event is sent only after the
 * previous one was acknowledged or dropped. Each attempt re-checks the sink
 * with the SSRF guard and connects only to the checked addresses.
 */

export function createCallbackSender<Sender>(
  definitions: CallbackDefinitions,
  options: CallbackSenderOptions = {},
): Sender {
  const guard: SinkGuard = createSinkGuard(options.sinkPolicy);
  const ownTransport = options.transport === undefined ? createNodeTransport() : undefined;
  const transport = options.transport ?? ownTransport!.send;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxQueue = options.maxQueue ?? 100;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const signer = options.signing === undefined ? undefined : createWebhookSigner(options.signing);
  const userAgent = options.userAgent ?? 'telegate-callbacks';
  const logger = options.logger;
  const closing = new AbortController();
  // Every delivery in flight listens for close(); there can be many.
  setMaxListeners(0, closing.signal);
  const queues = new Map<string, Job[]>();
  const running = new Set<Promise<void>>();
  let queued = 0;
  let inFlight = 0;
  const slots =
    options.maxConcurrent === undefined ? undefined : pLimit(Math.max(1, Math.floor(options.maxConcurrent)));
  // A sink that answers (even 4xx) is up; no answer or a status worth retrying counts against it.
  const circuits =
    options.circuitBreaker === undefined
      ? undefined
      : new SinkCircuits<TransportResponse>(
          options.circuitBreaker,
          (response) => statusVerdict(response.status) === 'retry',
          (change) => {
            log(
              logger,
              change.state === 'open' ? 'warn' : 'info',
              { sink: change.origin, circuit: change.state },
              `sink circuit ${change.state}`,
            );
            try {
              options.onCircuitChange?.(change);
            } catch (error) {
              log(logger, 'error', { sink: change.origin }, `circuit hook threw: ${error}`);
            }
          },
        );
  let idleWaiters: (() => void)[] = [];

  const outcome = (job: Pick<Job, 'callbackId' | 'eventId' | 'sink' | 'started'>, attempts: number) => ({
    callbackId: job.callbackId,
    eventId: job.eventId,
    sink: redactSink(job.sink),
    attempts,
    durationMs: clock.now() - job.started,
  });

  const report = (result: DeliveryResult) => {
    try {
      if (result.ok) options.onDelivery?.(result);
      else options.onFailure?.(result);
    } catch (error) {
      log(
        logger,
        'error',
        { callbackId: result.callbackId, eventId: result.eventId },
        `callback hook threw: ${error}`,
      );
    }
    return result;
  };

  const fail = (
    job: Pick<Job, 'callbackId' | 'eventId' | 'sink' | 'started' | 'secrets'>,
    attempts: number,
    reason: DeliveryFailureReason,
    message: string,
    extra: { status?: number; violations?: string[] } = {},
  ): DeliveryFailure => {
    const failure: DeliveryFailure = {
      ok: false,
      ...outcome(job, attempts),
      reason,
      message: scrub(message, job.secrets),
      ...extra,
    };
    log(
      logger,
      reason === 'invalid-payload' ? 'error' : 'warn',
      {
        callbackId: failure.callbackId,
        eventId: failure.eventId,
        sink: failure.sink,
        reason,
        attempts,
        ...(extra.status === undefined ? {} : { status: extra.status }),
      },
      `callback not delivered: ${failure.message}`,
    );
    return failure;
  };

  /** One request; a final result, or what went wrong and how long the sink asked to wait. */
  async function attemptOnce(
    job: Job,
    attempt: number,
  ): Promise<DeliveryResult | { problem: string; status?: number; retryAfter?: number }> {
    let sink: VettedSink;
    try {
      sink = await guard.vet(job.sink);
    } catch (error) {
      if (error instanceof InvalidSinkError) return fail(job, attempt - 1, 'invalid-sink', error.message);
      if (error instanceof SinkLookupError) return { problem: error.message };
      throw error;
    }
    const headers: Record<string, string> = { ...job.headers };
    if (job.credential?.accessToken !== undefined)
      headers.authorization = `Bearer ${job.credential.accessToken}`;
    const abort = new AbortController();
    const onClose = () => abort.abort(closing.signal.reason);
    closing.signal.addEventListener('abort', onClose, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The timeout runs from when the request may go, not while it waits for a slot.
    const exchange = async (): Promise<TransportResponse> => {
      abort.signal.throwIfAborted();
      if (signer) {
        const timestamp = Math.floor(clock.now() / 1000);
        headers['webhook-timestamp'] = String(timestamp);
        headers['webhook-signature'] = signer.sign(
          job.headers[WEBHOOK_ID_HEADER]!,
          timestamp,
          job.body ?? '',
        );
      }
      timer = setTimeout(() => abort.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      inFlight++;
      try {
        return await transport({
          sink,
          method: job.definition.method,
          headers,
          body: job.body,
          signal: abort.signal,
        });
      } finally {
        inFlight--;
      }
    };
    const limited = slots === undefined ? exchange : () => slots(exchange);
    try {
      const response = await (circuits === undefined ? limited() : circuits.run(sink.url.origin, limited));
      const status = response.status;
      switch (statusVerdict(status)) {
        case 'delivered':
          log(
            logger,
            'debug',
            {
              callbackId: job.callbackId,
              eventId: job.eventId,
              sink: redactSink(job.sink),
              status,
              attempts: attempt,
            },
            'callback delivered',
          );
          return { ok: true, ...outcome(job, attempt), status };
        case 'gone':
          return fail(job, attempt, 'gone', 'sink answered 410 Gone', { status });
        case 'rejected':
          return fail(job, attempt, 'rejected', `sink answered ${status}`, { status });
        default: {
          const retryAfter = parseRetryAfter(response.headers.get('retry-after'), clock.now());
          if (retryAfter !== undefined && retryAfter > retry.maxRetryAfterMs) {
            const asked = Math.ceil(retryAfter / 1000);
            return fail(
              job,
              attempt,
              'exhausted',
              `sink answered ${status} with Retry-After ${asked} s, over the limit`,
              {
                status,
              },
            );
          }
          return {
            problem: `sink answered ${status}`,
            status,
            ...(retryAfter === undefined ? {} : { retryAfter }),
          };
        }
      }
    } catch (error) {
      if (closing.signal.aborted) return fail(job, attempt, 'closed', 'sender closed');
      if (error instanceof OpenCircuitError) return { problem: error.message };
      const cause = abort.signal.aborted ? abort.signal.reason : error;
      let problem = cause instanceof Error ? cause.message : String(cause);
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && !problem.includes(code)) problem += ` (${code})`;
      // A certificate that does not verify will not verify on the next attempt either.
      if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
        return fail(job, attempt, 'rejected', `sink certificate not trusted: ${problem}`);
      }
      return { problem };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      closing.signal.removeEventListener('abort', onClose);
    }
  }

  /** Attempts until delivered, refused, or out of attempts; backoff (or `Retry-After`) between attempts. */
  async function attemptAll(job: Job): Promise<DeliveryResult> {
    for (let attempt = 1; ; attempt++) {
      if (closing.signal.aborted) return fail(job, attempt - 1, 'closed', 'sender closed');
      const credential = credentialProblem(job.credential, clock.now(), job.allowExpiredCredential);
      if (credential) return fail(job, attempt - 1, credential.reason, credential.message);
      const result = await attemptOnce(job, attempt);
      if ('ok' in result) return result;
      const status = result.status === undefined ? {} : { status: result.status };
      const problem = scrub(result.problem, job.secrets);
      if (attempt >= retry.maxAttempts) {
        return fail(job, attempt, 'exhausted', `gave up after ${attempt} attempts: ${problem}`, status);
      }
      const delayMs = result.retryAfter ?? backoffDelay(attempt, retry, random);
      log(
        logger,
        'info',
        {
          callbackId: job.callbackId,
          eventId: job.eventId,
          sink: redactSink(job.sink),
          attempt,
          delayMs,
          ...status,
        },
        `callback attempt failed, retrying: ${problem}`,
      );
      await clock.sleep(delayMs, closing.signal);
    }
  }

  async function runQueue(key: string, jobs: Job[]): Promise<void> {
    try {
      while (jobs.length > 0) {
        const job = jobs[0]!;
        let result: DeliveryResult;
        try {
          result = await attemptAll(job);
        } catch (error) {
          result = fail(
            job,
            0,
            'exhausted',
            `unexpected error: ${error instanceof Error ? error.message : error}`,
          );
        }
        jobs.shift();
        queued--;
        job.finish(report(result));
        if (!result.ok && result.reason === 'gone') {
          // The consumer asked to stop: what is queued behind would get the same answer.
          for (const dropped of jobs.splice(0)) {
            queued--;
            dropped.finish(
              report(fail(dropped, 0, 'gone', 'dropped: the sink answered 410 Gone to an earlier event')),
            );
          }
        }
      }
    } finally {
      queues.delete(key);
    }
  }

  function start(key: string, jobs: Job[]) {
    const worker = runQueue(key, jobs).finally(() => {
      running.delete(worker);
      if (running.size === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const wake of waiters) wake();
      }
    });
    running.add(worker);
  }

  function send(definition: CallbackDefinition): Send {
    const callbackId = definition.id;
    const validate: PayloadValidator | undefined =
      options.validate !== undefined
        ? (payload) => options.validate!(payload, callbackId)
        : options.validators?.[callbackId];
    const cloudEvents = isCloudEvents(definition);
    const allowedTypes = Object.keys(definition.eventTypes ?? {});

    return async (sink, payload, sendOptions = {}) => {
      const started = clock.now();
      const secrets = [sendOptions.sinkCredential?.accessToken ?? ''];
      let body = payload;
      // Stable across retries; the receiver's duplicate window keys plain payloads on it.
      const webhookId = `msg_${randomUUID().replace(/-/g, '')}`;
      let eventId = webhookId;
      const refuse = (reason: DeliveryFailureReason, message: string, violations?: string[]) =>
        report(
          fail({ callbackId, eventId, sink, started, secrets }, 0, reason, message, {
            ...(violations === undefined ? {} : { violations }),
          }),
        );

      if (closing.signal.aborted) return refuse('closed', 'sender closed');
      if (cloudEvents) {
        if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
          return refuse('invalid-payload', 'event must be an object', ['event must be an object']);
        }
        body = completeCloudEvent(payload as Record<string, unknown>, {
          source: options.source,
          now: started,
        });
        const id = (body as { id?: unknown }).id;
        if (typeof id === 'string') eventId = id;
        const envelope = envelopeViolations(body, allowedTypes);
        if (envelope.length > 0) {
          return refuse('invalid-payload', `invalid CloudEvent: ${envelope.join('; ')}`, envelope);
        }
      }
      let violations: string[] | null;
      try {
        violations = validate?.(body) ?? null;
      } catch (error) {
        violations = [`the validator failed: ${error instanceof Error ? error.message : String(error)}`];
      }
      if (violations !== null && violations.length > 0) {
        return refuse('invalid-payload', `invalid payload: ${violations.join('; ')}`, violations);
      }
      const credential = credentialProblem(
        sendOptions.sinkCredential,
        started,
        sendOptions.allowExpiredCredential === true,
      );
      if (credential) return refuse(credential.reason, credential.message);

      const headers: Record<string, string> = {
        ...sendOptions.headers,
        'user-agent': userAgent,
        'x-correlator': sendOptions.correlator ?? randomUUID(),
        [WEBHOOK_ID_HEADER]: webhookId,
      };
      let bytes: Uint8Array | undefined;
      if (definition.mediaType !== null) {
        headers['content-type'] = definition.mediaType;
        let text: string | undefined;
        try {
          text =
            typeof body === 'string' && !isJsonMediaType(definition.mediaType) ? body : JSON.stringify(body);
        } catch (error) {
          const problem = `payload is not serialisable: ${error instanceof Error ? error.message : String(error)}`;
          return refuse('invalid-payload', problem, [problem]);
        }
        bytes = new TextEncoder().encode(text ?? 'null');
      }

      const key = sendOptions.orderingKey ?? sink;
      let jobs = queues.get(key);
      if (jobs !== undefined && jobs.length >= maxQueue) {
        return refuse('queue-full', `queue for this sink already holds ${maxQueue} deliveries`);
      }
      return new Promise<DeliveryResult>((finish) => {
        const job: Job = {
          callbackId,
          definition,
          sink,
          eventId,
          body: bytes,
          headers,
          credential: sendOptions.sinkCredential,
          allowExpiredCredential: sendOptions.allowExpiredCredential === true,
          secrets,
          started,
          finish,
        };
        queued++;
        if (jobs === undefined) {
          jobs = [job];
          queues.set(key, jobs);
          start(key, jobs);
        } else {
          jobs.push(job);
        }
      });
    };
  }

  const sender: Record<string, unknown> & CallbackSenderControls = {
    load: () => ({
      inFlight,
      waiting: slots?.pendingCount ?? 0,
      queued,
      openCircuits: circuits?.openCount ?? 0,
    }),
    drain: () =>
      running.size === 0 ? Promise.resolve() : new Promise<void>((wake) => idleWaiters.push(wake)),
    async close() {
      closing.abort(new Error('sender closed'));
      for (const jobs of queues.values()) {
        // The head is in flight and ends itself; the rest never start.
        for (const job of jobs.splice(1)) {
          queued--;
          job.finish(report(fail(job, 0, 'closed', 'sender closed')));
        }
      }
      await Promise.all(running);
      ownTransport?.close();
    },
  };
  for (const [methodName, definition] of Object.entries(definitions)) sender[methodName] = send(definition);
  return sender as Sender;
}
