import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { envelopeViolations } from './cloudevents.js';
import {
  type CallbackDefinition,
  type CallbackDefinitions,
  isCloudEvents,
  isJsonMediaType,
  type PayloadValidator,
} from './definitions.js';
import { DuplicateWindow, type DuplicateWindowOptions } from './duplicate-window.js';
import { type CallbackLogger, log } from './logger.js';
import { createWebhookVerifier, WEBHOOK_ID_HEADER, type WebhookVerificationKey } from './signature.js';

/** Header access, as `Headers` has it (names case-insensitive). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** A request as the receiver core sees it; the framework adapters build it. */
export interface IncomingCallbackRequest {
  method: string;
  headers: HeaderReader;
  /** The raw body, exactly as received (signatures cover these bytes). */
  body: Uint8Array;
}

/** The receiver's answer: 204, or a CAMARA `ErrorInfo` as JSON. */
export interface CallbackReply {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** What a handler gets besides the payload. */
export interface ReceivedCallback {
  /** The callback or webhook id the request was matched to. */
  callbackId: string;
  /** `x-correlator` of the request (echoed in the answer). */
  correlator: string;
  /** `webhook-id` of the request, when the sender set one. */
  webhookId: string | undefined;
  headers: HeaderReader;
}

/**
 * Throw from a handler to answer with this status and CAMARA error, e.g.
 * `new CallbackRejection(410, 'GONE', 'no longer interested')` so the
 * sender stops and ends the subscription.
 */
export class CallbackRejection extends Error {
  override readonly name = 'CallbackRejection';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CallbackReceiverAuth {
  /**
   * Accepted `Authorization: Bearer` tokens (the `accessToken` you gave as
   * `sinkCredential`), or a function deciding. Missing or wrong → 401.
   */
  bearer?: string | readonly string[] | ((token: string) => boolean | Promise<boolean>);
  /** Standard Webhooks keys: a request must carry a valid, fresh signature by one of them, else 401. */
  signature?: WebhookVerificationKey | readonly WebhookVerificationKey[];
  /** Accepted clock difference for `webhook-timestamp` (default 300 s). */
  toleranceSeconds?: number;
}

export interface CallbackReceiverOptions {
  auth?: CallbackReceiverAuth;
  /** Validates each payload; wins over `validators`. `null` when valid, else the violations. */
  validate?: (payload: unknown, callbackId: string) => string[] | null;
  /** Validators by callback id; generated code passes `callbackValidators`. */
  validators?: Readonly<Record<string, PayloadValidator>>;
  /**
   * The duplicate window: an event id seen again while remembered answers 204
   * without calling the handler (CloudEvents: `source` + `id`; other payloads:
   * the `webhook-id` header). `false` turns it off.
   */
  duplicates?: DuplicateWindowOptions | false;
  /** Larger bodies are refused with 400 (default 1 MiB). */
  maxBodyBytes?: number;
  logger?: CallbackLogger;
  /** Current time in milliseconds, for tests. */
  now?: () => number;
}

const XCORRELATOR = /^[a-zA-Z0-9-_:;./<>{}]{0,256}$/;
const JSON_HEADERS = { 'content-type': 'application/json' };
const UNAUTHENTICATED = 'Request not authenticated due to missing, invalid, or expired credentials.';

type Handler = (payload: unknown, context: ReceivedCallback) => unknown;

function tokenMatcher(bearer: NonNullable<CallbackReceiverAuth['bearer']>) {
  if (typeof bearer === 'function') return async (token: string) => (await bearer(token)) === true;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  const accepted = (typeof bearer === 'string' ? [bearer] : bearer).map(digest);
  // Compare digests in constant time, so the comparison leaks neither content nor length.
  return async (token: string) => {
    const given = digest(token);
    return accepted.reduce((match, expected) => timingSafeEqual(expected, given) || match, false);
  };
}

/** Selects the callback a request is for, among those sharing the endpoint. */
function selectDefinition(
  candidates: readonly CallbackDefinition[],
  payload: unknown,
  validatorOf: (definition: CallbackDefinition) => PayloadValidator | undefined,
): CallbackDefinition | undefined {
  const type =
    typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>).type : undefined;
  const cloudEvents = candidates.filter(isCloudEvents);
  const byType = cloudEvents.find((d) => typeof type === 'string' && Object.hasOwn(d.eventTypes!, type));
  if (byType) return byType;
  const looksLikeCloudEvent =
    typeof payload === 'object' && payload !== null && 'specversion' in (payload as Record<string, unknown>);
  // A CloudEvent of an unknown type goes to a CloudEvents callback, whose checks name the allowed types.
  if (looksLikeCloudEvent && cloudEvents.length > 0)
    return cloudEvents.find((d) => d.handler) ?? cloudEvents[0];
  const plain = candidates.filter((d) => !isCloudEvents(d));
  if (plain.length <= 1) return plain[0] ?? cloudEvents[0];
  // Several non-CloudEvents callbacks on one endpoint: the first whose schema the payload satisfies.
  return plain.find((d) => validatorOf(d)?.(payload) === null) ?? plain[0];
}

export interface CallbackReceiverCore {
  /** Handles one request: authenticate, parse, validate, drop duplicates, dispatch. Never rejects. */
  handle(request: IncomingCallbackRequest): Promise<CallbackReply>;
  /** Largest accepted body, for adapters that read it. */
  readonly maxBodyBytes: number;
  readonly methods: readonly string[];
}

/**
 * The framework-free receiver behind a generated `create<Api>CallbackReceiver`.
 * `handlers` holds one function per handler name of `definitions`; a
 * missing one is an error here, at startup, not at the first event.
 */
export function createCallbackReceiverCore(
  definitions: CallbackDefinitions,
  handlers: object,
  options: CallbackReceiverOptions = {},
): CallbackReceiverCore {
  const all = Object.values(definitions);
  const handlerNames = new Set(
    all.flatMap((d) => [
      ...Object.values(d.eventTypes ?? {}),
      ...(d.handler === undefined ? [] : [d.handler]),
    ]),
  );
  const table = handlers as Record<string, unknown>;
  const missing = [...handlerNames].filter((name) => typeof table[name] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      `callback receiver: missing handler${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  }
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const logger = options.logger;
  const duplicates = options.duplicates === false ? undefined : new DuplicateWindow(options.duplicates, now);
  const bearer = options.auth?.bearer === undefined ? undefined : tokenMatcher(options.auth.bearer);
  const verifier =
    options.auth?.signature === undefined
      ? undefined
      : createWebhookVerifier(options.auth.signature, {
          now,
          ...(options.auth.toleranceSeconds === undefined
            ? {}
            : { toleranceSeconds: options.auth.toleranceSeconds }),
        });
  const validatorOf = (definition: CallbackDefinition): PayloadValidator | undefined => {
    const validate =
      options.validate !== undefined
        ? (payload: unknown) => options.validate!(payload, definition.id)
        : options.validators?.[definition.id];
    if (validate === undefined) return undefined;
    return (payload) => {
      try {
        return validate(payload);
      } catch {
        return ['payload could not be validated'];
      }
    };
  };

  const reply = (status: number, correlator: string, code?: string, message?: string): CallbackReply => {
    const headers: Record<string, string> = { 'x-correlator': correlator };
    if (code === undefined) return { status, headers };
    const text = message ?? '';
    return {
      status,
      headers: { ...headers, ...JSON_HEADERS },
      body: JSON.stringify({ status, code, message: text.length > 512 ? `${text.slice(0, 509)}...` : text }),
    };
  };

  async function authenticate(request: IncomingCallbackRequest): Promise<boolean> {
    if (bearer) {
      const match = /^Bearer ([^\s]+)$/i.exec(request.headers.get('authorization') ?? '');
      if (!match || !(await bearer(match[1]!))) return false;
    }
    if (verifier && !verifier.verify(request.headers, request.body).ok) return false;
    return true;
  }

  async function dispatch(
    definition: CallbackDefinition,
    handlerName: string,
    payload: unknown,
    context: ReceivedCallback,
  ): Promise<CallbackReply> {
    try {
      await (table[handlerName] as Handler).call(handlers, payload, context);
      return reply(204, context.correlator);
    } catch (error) {
      if (error instanceof CallbackRejection) {
        return reply(error.status, context.correlator, error.code, error.message);
      }
      log(
        logger,
        'error',
        {
          callbackId: definition.id,
          handler: handlerName,
          error: error instanceof Error ? error.message : String(error),
        },
        'callback handler failed',
      );
      return reply(500, context.correlator, 'INTERNAL', 'The event could not be processed.');
    }
  }

  return {
    maxBodyBytes,
    methods: [...new Set(all.map((d) => d.method))],
    async handle(request) {
      const given = request.headers.get('x-correlator');
      const correlator = given !== null && XCORRELATOR.test(given) && given !== '' ? given : randomUUID();
      try {
        return await handleRequest(request, correlator);
      } catch (error) {
        // Only a throwing `auth.bearer` function or logger gets here; never answer with a stack trace.
        log(
          logger,
          'error',
          { error: error instanceof Error ? error.message : String(error) },
          'callback receiver failed',
        );
        return reply(500, correlator, 'INTERNAL', 'The event could not be processed.');
      }
    },
  };

  async function handleRequest(request: IncomingCallbackRequest, correlator: string): Promise<CallbackReply> {
    const candidates = all.filter((d) => d.method === request.method.toUpperCase());
    if (candidates.length === 0) {
      return reply(405, correlator, 'METHOD_NOT_ALLOWED', `Method ${request.method} is not allowed here.`);
    }
    if (!(await authenticate(request))) {
      const answer = reply(401, correlator, 'UNAUTHENTICATED', UNAUTHENTICATED);
      if (bearer) answer.headers['www-authenticate'] = 'Bearer';
      return answer;
    }
    if (request.body.byteLength > maxBodyBytes) {
      return reply(400, correlator, 'INVALID_ARGUMENT', `Body is larger than ${maxBodyBytes} bytes.`);
    }

    let payload: unknown;
    const text = new TextDecoder('utf-8', { fatal: false }).decode(request.body);
    if (candidates.some((d) => d.mediaType !== null && isJsonMediaType(d.mediaType))) {
      try {
        payload = text === '' ? undefined : JSON.parse(text);
      } catch {
        return reply(400, correlator, 'INVALID_ARGUMENT', 'Body is not valid JSON.');
      }
    } else {
      payload = text === '' ? undefined : text;
    }

    const definition = selectDefinition(candidates, payload, validatorOf);
    if (definition === undefined) return reply(400, correlator, 'INVALID_ARGUMENT', 'Unexpected request.');
    const violations: string[] = [];
    let handlerName = definition.handler;
    let dedupeKey: string | undefined;
    const webhookId = request.headers.get(WEBHOOK_ID_HEADER) ?? undefined;
    if (isCloudEvents(definition)) {
      const types = Object.keys(definition.eventTypes!);
      violations.push(...envelopeViolations(payload, definition.handler === undefined ? types : []));
      const event = (payload ?? {}) as Record<string, unknown>;
      if (typeof event.type === 'string' && Object.hasOwn(definition.eventTypes!, event.type)) {
        handlerName = definition.eventTypes![event.type];
      }
      if (typeof event.id === 'string') dedupeKey = `${definition.id}\n${String(event.source)}\n${event.id}`;
    } else if (webhookId !== undefined) {
      dedupeKey = `${definition.id}\n${webhookId}`;
    }
    if (definition.mediaType !== null && payload === undefined) violations.push('body is required');
    if (violations.length === 0) violations.push(...(validatorOf(definition)?.(payload) ?? []));
    if (violations.length > 0 || handlerName === undefined) {
      return reply(400, correlator, 'INVALID_ARGUMENT', violations.join('; ') || 'Unexpected event.');
    }

    const context: ReceivedCallback = {
      callbackId: definition.id,
      correlator,
      webhookId,
      headers: request.headers,
    };
    const name = handlerName;
    if (duplicates === undefined || dedupeKey === undefined)
      return dispatch(definition, name, payload, context);
    let answer: CallbackReply | undefined;
    const { duplicate, status } = await duplicates.run(dedupeKey, async () => {
      answer = await dispatch(definition, name, payload, context);
      return answer.status;
    });
    if (!duplicate && answer) return answer;
    log(logger, 'debug', { callbackId: definition.id, status }, 'duplicate event ignored');
    return status < 300
      ? reply(204, correlator)
      : reply(status, correlator, 'INTERNAL', 'An earlier delivery of this event failed.');
  }
}
