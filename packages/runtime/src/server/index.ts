export { createClientErrorListener } from './client-error.js';
export {
  CORRELATOR_HEADER,
  type CorrelatorResult,
  newCorrelator,
  resolveCorrelator,
  X_CORRELATOR_PATTERN,
} from './correlator.js';
export {
  AbortedError,
  ApiError,
  type ApiErrorOptions,
  CAMARA_ERRORS,
  ConflictError,
  type ErrorInfo,
  type ErrorResponse,
  errorResponse,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
  PermissionDeniedError,
  ServiceUnavailableError,
  TooManyRequestsError,
  toErrorResponse,
  UnauthenticatedError,
  UnprocessableError,
} from './errors.js';
export { createExpressRouter, type ExpressModule } from './express.js';
export { createFastifyPlugin } from './fastify.js';
export type {
  ApiDefinition,
  HandlerInput,
  HandlerInputOf,
  HandlerResult,
  HandlerResultOf,
  HandlerReturn,
  HttpMethod,
  OperationDescriptor,
  OperationTable,
  ParsedRequest,
  RequestInput,
  RequestParser,
  ResponseValidator,
} from './operations.js';
export {
  type AuthenticateContext,
  type AuthenticateHook,
  createOperationRunner,
  DEFAULT_BODY_LIMIT,
  MissingHandlerError,
  type OperationRunner,
  type RawRequest,
  type SecuredServerOptions,
  type ServerLogger,
  type ServerOptions,
  type ServerResponse,
  UnreadableBody,
} from './pipeline.js';
export {
  type BodySerializer,
  createResponseSerializers,
  type ResponseSerializers,
  serializationSchema,
  type UncompiledResponse,
} from './serializers.js';
