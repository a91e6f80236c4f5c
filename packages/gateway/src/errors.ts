/**
 * Every CAMARA error the gateway raises, in one place: the codes the three
 * specs document, built on the runtime's named error classes (which the
 * generated routers turn into `ErrorInfo` responses).
 */
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
  PermissionDeniedError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnprocessableError,
} from '@telegate/runtime/server';

export {
  ApiError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
  PermissionDeniedError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnprocessableError,
} from '@telegate/runtime/server';

// 400
export const invalidArgument = (message: string): InvalidArgumentError => new InvalidArgumentError(message);
export const outOfRange = (message: string): InvalidArgumentError =>
  new InvalidArgumentError(message, { code: 'OUT_OF_RANGE' });
export const emergencyAddressMissing = (message = 'Emergency address missing'): InvalidArgumentError =>
  new InvalidArgumentError(message, { code: 'EMERGENCY_ADDRESS_MISSING' });
export const invalidProtocol = (message = 'Only HTTP is supported'): InvalidArgumentError =>
  new InvalidArgumentError(message, { code: 'INVALID_PROTOCOL' });
export const invalidCredential = (message = 'Only Access token is supported'): InvalidArgumentError =>
  new InvalidArgumentError(message, { code: 'INVALID_CREDENTIAL' });
export const invalidToken = (message = 'Only bearer token is supported'): InvalidArgumentError =>
  new InvalidArgumentError(message, { code: 'INVALID_TOKEN' });
export const invalidSink = (message = 'sink not valid for the specified protocol'): InvalidArgumentError =>
  new InvalidArgumentError(message, { code: 'INVALID_SINK' });

// 401
export const unauthenticated = (message?: string): UnauthenticatedError => new UnauthenticatedError(message);

// 403
export const permissionDenied = (message?: string): PermissionDeniedError =>
  new PermissionDeniedError(message);
/** `{{field}} is not consistent with access token.` */
export const invalidTokenContext = (field: string, detail?: string): PermissionDeniedError =>
  new PermissionDeniedError(`${field} is not consistent with access token.${detail ? ` ${detail}` : ''}`, {
    code: 'INVALID_TOKEN_CONTEXT',
  });
export const maxRegistrationPerUser = (): PermissionDeniedError =>
  new PermissionDeniedError('The maximum number of service registrations per user has been reached', {
    code: 'MAX_REGISTRATION_PER_USER',
  });
export const maxRegistrationPerMsisdn = (): PermissionDeniedError =>
  new PermissionDeniedError('The maximum number of service registrations per MSISDN has been reached', {
    code: 'MAX_REGISTRATION_PER_MSISDN',
  });
export const maxDevicesPerUser = (): PermissionDeniedError =>
  new PermissionDeniedError('The maximum number of device instances per user has been reached', {
    code: 'MAX_DEVICES_PER_USER',
  });
export const subscriptionMismatch = (
  message = 'Inconsistent access token for requested events subscription',
): PermissionDeniedError => new PermissionDeniedError(message, { code: 'SUBSCRIPTION_MISMATCH' });

// 404
export const notFound = (message = 'The specified resource is not found.'): NotFoundError =>
  new NotFoundError(message);

// 409
export const alreadyExists = (message: string): ConflictError => new ConflictError(message);

// 422
export const serviceNotApplicable = (
  message = 'The service is not available for the provided identifier.',
): UnprocessableError => new UnprocessableError(message, { code: 'SERVICE_NOT_APPLICABLE' });
export const missingIdentifier = (message = 'The device cannot be identified.'): UnprocessableError =>
  new UnprocessableError(message, { code: 'MISSING_IDENTIFIER' });
export const unsupportedIdentifier = (
  message = 'The identifier provided is not supported.',
): UnprocessableError => new UnprocessableError(message, { code: 'UNSUPPORTED_IDENTIFIER' });
export const unnecessaryIdentifier = (
  message = 'The device is already identified by the access token.',
): UnprocessableError => new UnprocessableError(message, { code: 'UNNECESSARY_IDENTIFIER' });
export const multiEventNotSupported = (
  message = 'Multi event types subscription not managed',
): UnprocessableError => new UnprocessableError(message, { code: 'MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED' });
export const multiEventCombinationUnavailable = (
  message = 'The requested combination of event types is temporarily not supported.',
): UnprocessableError =>
  new UnprocessableError(message, { code: 'MULTIEVENT_COMBINATION_TEMPORARILY_NOT_SUPPORTED' });

// 429
export const quotaExceeded = (message = 'Out of resource quota.'): TooManyRequestsError =>
  new TooManyRequestsError(message, { code: 'QUOTA_EXCEEDED' });

// 501
export const emergencyNotSupported = (): NotImplementedError =>
  new NotImplementedError('Server does not support call type EMERGENCY.', {
    code: 'CALLTYPE_EMERGENCY_NOT_SUPPORTED',
  });

// 503
export const unavailable = (message: string): ServiceUnavailableError => new ServiceUnavailableError(message);
/**
 * Too many events wait for delivery (`EVENT_QUEUE_MAX`): work that would queue
 * more is refused, `503 UNAVAILABLE` with `Retry-After`, before anything changes.
 */
export const eventQueueFull = (retryAfterSeconds = 1): ServiceUnavailableError =>
  new ServiceUnavailableError('Too many events are waiting for delivery; try again shortly.', {
    retryAfter: retryAfterSeconds,
  });

/**
 * The shared store did not answer in time, or refused: `503 UNAVAILABLE` with
 * `Retry-After`, never a 500. Background work recognises it: the store has
 * already logged the outage once, so callers log it at debug level only.
 */
export class StoreUnavailableError extends ServiceUnavailableError {
  override name = 'StoreUnavailableError';
  constructor(cause?: unknown, retryAfterSeconds = 2) {
    super('The gateway cannot reach its state store; try again shortly.', {
      retryAfter: retryAfterSeconds,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

export const isStoreUnavailable = (error: unknown): error is StoreUnavailableError =>
  error instanceof StoreUnavailableError;
