export {
  bindOperations,
  createOperationClient,
  type OperationClientSpec,
  type OperationInit,
  type OperationResult,
  type OperationRoute,
} from './bind.js';
export { NetworkError } from './errors.js';
export { CORRELATOR_HEADER, createClientMiddleware } from './middleware.js';
export {
  type ApiRootClientOptions,
  type BaseUrlClientOptions,
  type ClientOptions,
  resolveBaseUrl,
  type TokenSource,
} from './options.js';
export {
  type ClientValidators,
  createValidationMiddleware,
  ResponseValidationError,
  type ValidateOption,
} from './validation.js';
