import { CORRELATOR_HEADER, newCorrelator, resolveCorrelator } from './correlator.js';
import { type ErrorResponse, errorResponse, NotImplementedError, toErrorResponse } from './errors.js';
import type {
  ApiDefinition,
  OperationDescriptor,
  ParsedRequest,
  RequestParser,
  ResponseValidator,
} from './operations.js';
import type { ResponseSerializers } from './serializers.js';

/** pino-style logger (`fastify.log` fits); `error`, and `debug` when it has one. */
export interface ServerLogger {
  error(details: Record<string, unknown>, message: string): void;
  debug?(details: Record<string, unknown>, message: string): void;
}

/**
 * What `authenticate` learns about the operation. It runs before the request is
 * validated (a request without a valid token gets 401, whatever else is wrong with
 * it), so it sees the raw request only; compare the token with validated input in
 * the handler.
 */
export interface AuthenticateContext {
  operationId: string;
  /** `false` when the operation's `security` allows anonymous calls (`{}`): do not refuse a missing token. */
  required: boolean;
}

/**
 * Decides who is calling. Return what handlers receive as `input.auth`; throw
 * `UnauthenticatedError` (401), `PermissionDeniedError` (403) or any `ApiError`
 * to refuse. `scopes` are the scopes the operation's `security` names.
 */
export type AuthenticateHook<Auth, Req> = (
  request: Req,
  scopes: readonly string[],
  context: AuthenticateContext,
) => Auth | Promise<Auth>;

export interface ServerOptions<Auth = unknown, Req = unknown> {
  /** Called before the handler of every operation that documents `security`; required when there is one. */
  authenticate?: AuthenticateHook<Auth, Req>;
  /**
   * Check every handler result against the documented responses; a violation is
   * logged and answered with `500 INTERNAL`. Default: on unless `NODE_ENV` is `production`.
   */
  validateResponses?: boolean;
  /** Answer operations without a handler method with `501 NOT_IMPLEMENTED` instead of refusing to start. */
  allowPartial?: boolean;
  /** Largest accepted request body in bytes (default 1 MiB); larger ones get `413`. */
  bodyLimit?: number;
  /** Where internal errors and response violations go (default: the framework's logger or `console`). */
  logger?: ServerLogger;
  /** Makes the `x-correlator` of a request that has none (default: UUID-shaped, unique per process). */
  generateCorrelator?: () => string;
}

/** `ServerOptions` with `authenticate` required: the options type for documents with secured operations. */
export type SecuredServerOptions<Auth = unknown, Req = unknown> = ServerOptions<Auth, Req> & {
  authenticate: AuthenticateHook<Auth, Req>;
};

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** The request as a framework hands it over (strings, not yet validated). */
export interface RawRequest {
  params: Record<string, string>;
  query: Record<string, string | string[] | undefined>;
  /** Names in lower case, as Node delivers them. */
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, `undefined` when the request carries none. */
  body: unknown;
  /** Whether the request carries a body (`content-length` > 0 or `transfer-encoding`). */
  hasBody: boolean;
}

/**
 * A request body the framework could not read as JSON, handed to the pipeline as
 * `RawRequest.body` instead of failing at once: the pipeline answers it (400) only
 * after `authenticate`, so a caller without a valid token always gets 401 first.
 */
export class UnreadableBody {
  constructor(readonly error: unknown) {}
}

/**
 * A response ready to write: `body` is the serialized payload, or `json` a
 * JSON value for a framework that serializes itself (then without a
 * `content-type` header: the framework sets its JSON one), or neither.
 */
export interface ServerResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
  json?: unknown;
}

/** A plain object or array: what a framework serializes as JSON, never mistaking it for a stream or buffer. */
function isJsonValue(value: unknown): value is object {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype)
    return false;
  const shape = value as { pipe?: unknown; getReader?: unknown; buffer?: unknown };
  return (
    typeof shape.pipe !== 'function' &&
    typeof shape.getReader !== 'function' &&
    !(shape.buffer instanceof ArrayBuffer)
  );
}

/**
 * Runs one request through an operation. The response comes back at once when
 * `authenticate` and the handler answered synchronously, else as a promise.
 */
export type OperationRunner<Req> = (
  raw: RawRequest,
  request: Req,
) => ServerResponse | Promise<ServerResponse>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Thrown at construction when handler methods are missing. */
export class MissingHandlerError extends Error {
  override name = 'MissingHandlerError';
  constructor(
    readonly operationIds: readonly string[],
    factory: string,
  ) {
    super(
      `${factory}: no handler for ${operationIds.map((id) => `"${id}"`).join(', ')}; implement ${operationIds.length === 1 ? 'it' : 'them'} or pass \`allowPartial: true\` to answer with 501 NOT_IMPLEMENTED`,
    );
  }
}

type HandlerFunction = (input: unknown) => unknown;

const JSON_TYPE = 'application/json';

export function hasRequestBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  if (typeof length === 'string') return length !== '0';
  return headers['transfer-encoding'] !== undefined;
}

/** `application/json; charset=utf-8` → `application/json`. */
export function mediaTypeOf(contentType: string | string[] | undefined): string {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return (value ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

export function isJsonMediaType(mediaType: string): boolean {
  return mediaType === JSON_TYPE || /^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(mediaType);
}

/** The default logger where the framework offers none (Express). */
export const consoleLogger: ServerLogger = {
  error: (details, message) => console.error(message, details),
};

function defaultValidateResponses(): boolean {
  return process.env.NODE_ENV !== 'production';
}

/** Options with defaults applied, shared by every operation of a router. */
export interface ResolvedServerOptions<Auth, Req> {
  authenticate: AuthenticateHook<Auth, Req> | undefined;
  validateResponses: boolean;
  allowPartial: boolean;
  bodyLimit: number;
  logger: ServerLogger | undefined;
  generateCorrelator: () => string;
}

export function resolveServerOptions<Auth, Req>(
  options: ServerOptions<Auth, Req>,
): ResolvedServerOptions<Auth, Req> {
  return {
    authenticate: options.authenticate,
    validateResponses: options.validateResponses ?? defaultValidateResponses(),
    allowPartial: options.allowPartial ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    logger: options.logger,
    generateCorrelator: options.generateCorrelator ?? newCorrelator,
  };
}

/**
 * Checks the handlers object against the operation table: every operation has
 * a method (else `MissingHandlerError`, or 501 stubs with `allowPartial`), and
 * secured operations have an `authenticate` hook.
 */
export function resolveHandlers(
  api: ApiDefinition,
  handlers: object,
  options: { allowPartial: boolean; authenticate: unknown },
  factory: string,
): Map<string, HandlerFunction> {
  const resolved = new Map<string, HandlerFunction>();
  const missing: string[] = [];
  for (const operationId of Object.keys(api.operations)) {
    const method = (handlers as Record<string, unknown>)[operationId];
    if (typeof method === 'function') {
      resolved.set(operationId, (input) => (method as HandlerFunction).call(handlers, input));
    } else if (options.allowPartial) {
      resolved.set(operationId, () => {
        throw new NotImplementedError();
      });
    } else {
      missing.push(operationId);
    }
  }
  if (missing.length > 0) throw new MissingHandlerError(missing, factory);
  const secured = Object.entries(api.operations).filter(([, op]) => op.auth !== 'none');
  if (secured.length > 0 && options.authenticate === undefined) {
    throw new TypeError(
      `${factory}: ${secured.map(([id]) => `"${id}"`).join(', ')} require authorization; pass \`authenticate\` in the options`,
    );
  }
  return resolved;
}

function passThroughParser(input: Parameters<RequestParser>[0]) {
  return {
    ok: true as const,
    value: {
      params: input.params ?? {},
      query: input.query ?? {},
      headers: input.headers ?? {},
      body: input.body,
    },
  };
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function headerValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String).join(', ');
  return String(value);
}

/** Serializes an `ErrorInfo` response with the exchange's correlator. */
export function sendError(error: ErrorResponse, correlator: string): ServerResponse {
  const headers: Record<string, string> = {
    ...error.headers,
    'content-type': JSON_TYPE,
    [CORRELATOR_HEADER]: correlator,
  };
  // RFC 6750 §3: every 401 names the scheme the client must use.
  if (error.status === 401) headers['www-authenticate'] ??= 'Bearer';
  return { status: error.status, headers, body: JSON.stringify(error.body) };
}

/**
 * Maps an error a framework raised outside an operation handler (bad JSON,
 * body too large, unknown media type, a body its serializer refused) to an
 * `ErrorInfo` response; logs internal ones with the exchange's correlator.
 */
export function frameworkErrorResponse(
  error: unknown,
  headers: Record<string, string | string[] | undefined>,
  logger: ServerLogger,
  generate: () => string,
): ServerResponse {
  const { correlator } = resolveCorrelator(headers[CORRELATOR_HEADER], generate);
  if (isClientAbort(error)) {
    // The client's doing, not a fault: no stack, and nobody left to answer.
    logger.debug?.({ correlator }, 'the client closed the connection before its request was read');
    return sendError(
      errorResponse(400, 'INVALID_ARGUMENT', 'The request was not received whole.'),
      correlator,
    );
  }
  const response = toErrorResponse(error);
  if (response.internal)
    logger.error({ err: error, correlator }, 'request failed outside an operation handler');
  return sendError(response, correlator);
}

/** Node's `aborted` (a client that hung up mid-body), as a framework hands it on. */
export function isClientAbort(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === 'ECONNRESET' || code === 'ECONNABORTED' || message === 'aborted';
}

/** `404 NOT_FOUND` or `405 METHOD_NOT_ALLOWED` (with `Allow`) for requests no operation matches. */
export function unmatchedResponse(
  headers: Record<string, string | string[] | undefined>,
  allow: readonly string[] | undefined,
  generate: () => string,
): ServerResponse {
  const { correlator } = resolveCorrelator(headers[CORRELATOR_HEADER], generate);
  if (allow === undefined) return sendError(errorResponse(404), correlator);
  const response = sendError(errorResponse(405), correlator);
  response.headers.allow = allow.join(', ');
  return response;
}

/**
 * The per-request pipeline of one operation, framework-independent:
 * correlator → media type → parse (coerce + validate) → authenticate → handler
 * → validate the result → serialize. Never throws: every failure becomes a
 * CAMARA `ErrorInfo` response.
 */
export function createOperationRunner<Auth, Req>(config: {
  operationId: string;
  operation: OperationDescriptor;
  handler: HandlerFunction;
  parser: RequestParser | undefined;
  responseValidator: ResponseValidator | undefined;
  /** Serializers of the documented JSON bodies; `JSON.stringify` for any other. */
  serializers?: ResponseSerializers | undefined;
  options: ResolvedServerOptions<Auth, Req>;
  logger: (request: Req) => ServerLogger;
  /**
   * Hand JSON bodies over unserialized (`ServerResponse.json`) when the
   * handler set no `content-type`, for a framework that serializes itself.
   */
  frameworkSerializesJson?: boolean;
}): OperationRunner<Req> {
  const { operationId, operation, handler, responseValidator, serializers, options } = config;
  const frameworkSerializesJson = config.frameworkSerializesJson ?? false;
  const parse = config.parser ?? passThroughParser;
  const documentedHeaders = operation.headers.map((name) => [name, name.toLowerCase()] as const);
  const mediaTypes = new Set(operation.mediaTypes);
  const scopes = operation.scopes;

  function fail(error: unknown, correlator: string, request: Req): ServerResponse {
    const response = toErrorResponse(error);
    if (response.internal) {
      (options.logger ?? config.logger(request)).error(
        { err: error, operationId, correlator },
        'handler failed',
      );
      return sendError(response, correlator);
    }
    const sent = sendError(response, correlator);
    // A thrown error is an answer too: one the operation does not document is caught like a returned
    // one. Not 501 NOT_IMPLEMENTED: that is a stub the implementer has not filled in yet, not an answer.
    if (options.validateResponses && responseValidator && response.status !== 501) {
      const violations = responseValidator(response.status, response.body, sent.headers);
      if (violations && violations.length > 0) {
        (options.logger ?? config.logger(request)).error(
          { operationId, correlator, status: response.status, violations },
          `error answer of ${operationId} does not match the documented responses`,
        );
        return sendError(errorResponse(500), correlator);
      }
    }
    return sent;
  }

  function serialize(result: unknown, correlator: string, request: Req): ServerResponse {
    const shape = result as { status?: unknown; body?: unknown; headers?: Record<string, unknown> } | null;
    const status = shape?.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
      return invalidResult([`status must be an integer HTTP status, got ${JSON.stringify(status)}`]);
    }
    const headers: Record<string, string> = {};
    const resultHeaders = shape?.headers;
    if (resultHeaders !== undefined && resultHeaders !== null) {
      for (const name of Object.keys(resultHeaders)) {
        const text = headerValue(resultHeaders[name]);
        if (text === undefined) continue;
        // Never hand the framework a header it would throw on (or a CRLF it would have to refuse).
        if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(text)) {
          return invalidResult([`headers/${name} is not a valid HTTP header`]);
        }
        headers[name.toLowerCase()] = text;
      }
    }
    headers[CORRELATOR_HEADER] = correlator;
    if (options.validateResponses && responseValidator) {
      const violations = responseValidator(status, shape?.body, headers);
      if (violations && violations.length > 0) return invalidResult(violations);
    }
    if (shape?.body === undefined || status === 204 || status === 304) return { status, headers };
    const serializer = serializers?.(status);
    const contentType = headers['content-type'];
    if (
      serializer !== undefined &&
      (contentType === undefined || isJsonMediaType(mediaTypeOf(contentType)))
    ) {
      headers['content-type'] = contentType ?? JSON_TYPE;
      return { status, headers, body: serializer(shape.body) };
    }
    if (frameworkSerializesJson && contentType === undefined && isJsonValue(shape.body)) {
      return { status, headers, json: shape.body };
    }
    headers['content-type'] ??= JSON_TYPE;
    return { status, headers, body: JSON.stringify(shape.body) };

    function invalidResult(violations: string[]): ServerResponse {
      (options.logger ?? config.logger(request)).error(
        { operationId, correlator, status, violations },
        `handler result of ${operationId} does not match the documented responses`,
      );
      return sendError(errorResponse(500), correlator);
    }
  }

  /** The handler's result as a response; a throw (an unserializable body, say) becomes an error response. */
  function finish(result: unknown, correlator: string, request: Req): ServerResponse {
    try {
      return serialize(result, correlator, request);
    } catch (error) {
      return fail(error, correlator, request);
    }
  }

  /** Calls the handler and turns its result, or what it threw or rejected with, into a response; never throws. */
  function callHandler(
    auth: unknown,
    input: ParsedRequest,
    correlator: string,
    request: Req,
  ): ServerResponse | Promise<ServerResponse> {
    const headers: Record<string, unknown> = {};
    for (const [name, lower] of documentedHeaders) {
      const value = input.headers[lower] ?? input.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    let result: unknown;
    try {
      result = handler({
        params: input.params,
        query: input.query,
        headers,
        body: input.body,
        correlator,
        auth,
        request,
      });
    } catch (error) {
      return fail(error, correlator, request);
    }
    if (!isThenable(result)) return finish(result, correlator, request);
    return Promise.resolve(result).then(
      (value) => finish(value, correlator, request),
      (error: unknown) => fail(error, correlator, request),
    );
  }

  /** Everything after authentication: media type, body, parse and validate, handler. */
  function proceed(
    auth: unknown,
    raw: RawRequest,
    request: Req,
    resolved: ReturnType<typeof resolveCorrelator>,
  ): ServerResponse | Promise<ServerResponse> {
    const { correlator } = resolved;
    if (!resolved.ok) return sendError(resolved.error, correlator);
    try {
      let body = raw.body;
      if (!operation.hasBody || !raw.hasBody) body = undefined;
      else {
        const contentType = raw.headers['content-type'];
        if (
          !(typeof contentType === 'string' && mediaTypes.has(contentType)) &&
          !mediaTypes.has(mediaTypeOf(contentType))
        ) {
          return sendError(errorResponse(415), correlator);
        }
        if (body instanceof UnreadableBody) return fail(body.error, correlator, request);
      }
      if (operation.bodyRequired && body === undefined) {
        return sendError(errorResponse(400, 'INVALID_ARGUMENT', 'request body is required'), correlator);
      }
      const parsed = parse({
        params: raw.params,
        query: raw.query,
        headers: raw.headers,
        body,
        headerNamesLowerCase: true,
      });
      if (!parsed.ok) {
        const { status, code, message } = parsed.error;
        return sendError(errorResponse(status, code, message), correlator);
      }
      return callHandler(auth, parsed.value as ParsedRequest, correlator, request);
    } catch (error) {
      return fail(error, correlator, request);
    }
  }

  // Authenticate first (CAMARA's test definitions and RFC 6750 expect 401 before any
  // 400/415), then validate. Synchronous until something answers with a promise: a sync
  // `authenticate` and handler cost no extra turns of the event loop.
  return (raw, request) => {
    const resolved = resolveCorrelator(raw.headers[CORRELATOR_HEADER], options.generateCorrelator);
    if (operation.auth === 'none' || !options.authenticate) return proceed(undefined, raw, request, resolved);
    let auth: Auth | Promise<Auth>;
    try {
      auth = options.authenticate(request, scopes, {
        operationId,
        required: operation.auth === 'required',
      });
    } catch (error) {
      return fail(error, resolved.correlator, request);
    }
    if (!isThenable(auth)) return proceed(auth, raw, request, resolved);
    return Promise.resolve(auth).then(
      (value) => proceed(value, raw, request, resolved),
      (error: unknown) => fail(error, resolved.correlator, request),
    );
  };
}

/** `Allow` values per OpenAPI path: the documented methods (and HEAD wherever GET is). */
export function allowedMethods(api: ApiDefinition): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const op of Object.values(api.operations)) {
    const methods = byPath.get(op.path) ?? [];
    methods.push(op.method);
    if (op.method === 'GET' && !methods.includes('HEAD')) methods.push('HEAD');
    byPath.set(op.path, methods);
  }
  return byPath;
}
