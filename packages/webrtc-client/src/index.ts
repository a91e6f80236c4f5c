/**
 * Typed clients for the CAMARA WebRTC APIs: registration, call handling and
 * events. `createRegistrationClient`, `createCallHandlingClient` and
 * `createEventsClient` take `{ baseUrl | apiRoot, token?, fetch?, correlator?, headers? }`;
 * each method returns openapi-fetch's `{ data, error, response }`. The types,
 * validators and the events callback receiver come from `@telegate/webrtc-api`
 * and are exported here too.
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
export * from '@telegate/webrtc-api';
export * from './gen/index.js';
