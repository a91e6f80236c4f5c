/**
 * Typed clients for the CAMARA WebRTC APIs: registration, call handling and
 * events. `createRegistrationClient`, `createCallHandlingClient` and
 * `createEventsClient` take `{ baseUrl | apiRoot, token?, fetch?, correlator?, headers? }`;
 * each method returns openapi-fetch's `{ data, error, response }`.
 */

export {
  type ApiRootClientOptions,
  type BaseUrlClientOptions,
  type ClientOptions,
  CORRELATOR_HEADER,
  NetworkError,
  ResponseValidationError,
  type TokenSource,
  type ValidateOption,
} from '@telegate/runtime/client';
export * from './gen/index.js';
