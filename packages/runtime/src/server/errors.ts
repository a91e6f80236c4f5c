/** The CAMARA error body: every error response of a generated server carries one. */
export interface ErrorInfo {
  status: number;
  code: string;
  message: string;
}

export interface ApiErrorOptions {
  /** A CAMARA code other than the class's default, e.g. `OUT_OF_RANGE`, `MAX_REGISTRATION_PER_USER`. */
  code?: string;
  /** Extra response headers, e.g. `retry-after`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

const API_ERROR: unique symbol = Symbol.for('telegate.ApiError');

/**
 * Base of the errors a handler (or `authenticate`) throws to answer with a
 * CAMARA `ErrorInfo`: the status, code and message are sent as they are.
 * Anything else thrown becomes `500 INTERNAL` with a fixed message.
 */
export class ApiError extends Error {
  /** Recognised across copies of this package (`instanceof` is not, with two installed). */
  readonly [API_ERROR]: true = true;
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, options: Omit<ApiErrorOptions, 'code'> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
  }

  toErrorInfo(): ErrorInfo {
    return { status: this.status, code: this.code, message: this.message };
  }
}

/**
 * Default code and message per status, worded as in CAMARA_common.yaml. 413 has
 * no CAMARA code; `CONTENT_TOO_LARGE` is the RFC 9110 name of the status.
 */
export const CAMARA_ERRORS: Readonly<Record<number, { code: string; message: string }>> = {
  400: {
    code: 'INVALID_ARGUMENT',
    message: 'Client specified an invalid argument, request body or query param.',
  },
  401: {
    code: 'UNAUTHENTICATED',
    message:
      'Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.',
  },
  403: {
    code: 'PERMISSION_DENIED',
    message: 'Client does not have sufficient permissions to perform this action.',
  },
  404: { code: 'NOT_FOUND', message: 'The specified resource is not found.' },
  405: {
    code: 'METHOD_NOT_ALLOWED',
    message: 'The requested method is not allowed/supported on the target resource.',
  },
  406: {
    code: 'NOT_ACCEPTABLE',
    message:
      'The server cannot produce a response matching the content requested by the client through `Accept-*` headers.',
  },
  409: { code: 'ALREADY_EXISTS', message: 'The resource that a client tried to create already exists.' },
  410: { code: 'GONE', message: 'Access to the target resource is no longer available.' },
  412: { code: 'FAILED_PRECONDITION', message: 'Request cannot be executed in the current system state.' },
  413: { code: 'CONTENT_TOO_LARGE', message: 'The request body is larger than the server accepts.' },
  415: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message:
      'The server refuses to accept the request because the payload format is in an unsupported format.',
  },
  429: { code: 'TOO_MANY_REQUESTS', message: 'Rate limit reached.' },
  500: { code: 'INTERNAL', message: 'Unknown server error. Typically a server bug.' },
  501: { code: 'NOT_IMPLEMENTED', message: 'This functionality is not implemented yet.' },
  502: { code: 'BAD_GATEWAY', message: 'An upstream internal service cannot be reached.' },
  503: { code: 'UNAVAILABLE', message: 'Service Unavailable.' },
  504: { code: 'TIMEOUT', message: 'Request timeout exceeded.' },
};

function defaults(status: number): { code: string; message: string } {
  return CAMARA_ERRORS[status] ?? CAMARA_ERRORS[status >= 500 ? 500 : 400]!;
}

/** 400 `INVALID_ARGUMENT` (or e.g. `OUT_OF_RANGE`). */
export class InvalidArgumentError extends ApiError {
  override name = 'InvalidArgumentError';
  constructor(message: string = defaults(400).message, options: ApiErrorOptions = {}) {
    super(400, options.code ?? defaults(400).code, message, options);
  }
}

/** 401 `UNAUTHENTICATED`: missing, invalid or expired credentials. */
export class UnauthenticatedError extends ApiError {
  override name = 'UnauthenticatedError';
  constructor(message: string = defaults(401).message, options: ApiErrorOptions = {}) {
    super(401, options.code ?? defaults(401).code, message, options);
  }
}

/** 403 `PERMISSION_DENIED` (or e.g. `INVALID_TOKEN_CONTEXT`, `MAX_REGISTRATION_PER_USER`). */
export class PermissionDeniedError extends ApiError {
  override name = 'PermissionDeniedError';
  constructor(message: string = defaults(403).message, options: ApiErrorOptions = {}) {
    super(403, options.code ?? defaults(403).code, message, options);
  }
}

/** 404 `NOT_FOUND` (or e.g. `IDENTIFIER_NOT_FOUND`). */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
  constructor(message: string = defaults(404).message, options: ApiErrorOptions = {}) {
    super(404, options.code ?? defaults(404).code, message, options);
  }
}

/** 409 `ALREADY_EXISTS` (or e.g. `CONFLICT`, `INCOMPATIBLE_STATE`). */
export class ConflictError extends ApiError {
  override name = 'ConflictError';
  constructor(message: string = defaults(409).message, options: ApiErrorOptions = {}) {
    super(409, options.code ?? defaults(409).code, message, options);
  }
}

/** 409 `ABORTED`: a concurrent modification; the client may retry. */
export class AbortedError extends ApiError {
  override name = 'AbortedError';
  constructor(
    message: string = 'Resource is being modified by another operation. Please wait, and retry if appropriate.',
    options: ApiErrorOptions = {},
  ) {
    super(409, options.code ?? 'ABORTED', message, options);
  }
}

/** 501 `NOT_IMPLEMENTED`: what scaffolded handler methods throw until they are written. */
export class NotImplementedError extends ApiError {
  override name = 'NotImplementedError';
  constructor(message: string = defaults(501).message, options: ApiErrorOptions = {}) {
    super(501, options.code ?? defaults(501).code, message, options);
  }
}

/** 422 with an API-specific code (`SERVICE_NOT_APPLICABLE`, `MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED`, ...). */
export class UnprocessableError extends ApiError {
  override name = 'UnprocessableError';
  constructor(message: string, options: ApiErrorOptions & { code: string }) {
    super(422, options.code, message, options);
  }
}

function withRetryAfter(options: ApiErrorOptions & { retryAfter?: number }): ApiErrorOptions {
  if (options.retryAfter === undefined) return options;
  return {
    ...options,
    headers: { ...options.headers, 'retry-after': String(Math.ceil(options.retryAfter)) },
  };
}

/** 429 `TOO_MANY_REQUESTS` (or `QUOTA_EXCEEDED`); `retryAfter` in seconds sets `Retry-After`. */
export class TooManyRequestsError extends ApiError {
  override name = 'TooManyRequestsError';
  constructor(
    message: string = defaults(429).message,
    options: ApiErrorOptions & { retryAfter?: number } = {},
  ) {
    super(429, options.code ?? defaults(429).code, message, withRetryAfter(options));
  }
}

/** 503 `UNAVAILABLE`; `retryAfter` in seconds sets `Retry-After`. */
export class ServiceUnavailableError extends ApiError {
  override name = 'ServiceUnavailableError';
  constructor(
    message: string = defaults(503).message,
    options: ApiErrorOptions & { retryAfter?: number } = {},
  ) {
    super(503, options.code ?? defaults(503).code, message, withRetryAfter(options));
  }
}

/** An error response ready to send. `internal` errors are logged by the caller, never shown. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorInfo;
  internal: boolean;
}

/** The `ErrorInfo` response for a status, with the CAMARA default code and message. */
export function errorResponse(status: number, code?: string, message?: string): ErrorResponse {
  const fallback = defaults(status);
  return {
    status,
    headers: {},
    body: { status, code: code ?? fallback.code, message: message ?? fallback.message },
    internal: false,
  };
}

/**
 * A client error raised by the framework while reading the request (body-parser's
 * http-errors with `expose`, Fastify's `FST_ERR_CTP_*`): bad JSON, body too large,
 * unsupported media type.
 */
function transportStatus(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { status?: unknown; statusCode?: unknown; expose?: unknown; code?: unknown };
  const status = typeof e.statusCode === 'number' ? e.statusCode : e.status;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  const fromFramework = e.expose === true || (typeof e.code === 'string' && e.code.startsWith('FST_'));
  return fromFramework ? status : undefined;
}

export function isApiError(error: unknown): error is ApiError {
  return (
    error instanceof ApiError ||
    (typeof error === 'object' && error !== null && (error as { [API_ERROR]?: unknown })[API_ERROR] === true)
  );
}

/**
 * The one place thrown values become responses: an `ApiError` is sent as it is,
 * a framework's request-reading error by its status (with a fixed message, never
 * the parser's), anything else as `500 INTERNAL` marked `internal` for logging.
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (isApiError(error)) {
    return {
      status: error.status,
      headers: { ...error.headers },
      body: error.toErrorInfo(),
      internal: false,
    };
  }
  const status = transportStatus(error);
  if (status === 400)
    return errorResponse(400, 'INVALID_ARGUMENT', 'The request body is malformed or is not valid JSON.');
  if (status !== undefined) return errorResponse(status);
  return { ...errorResponse(500), internal: true };
}
