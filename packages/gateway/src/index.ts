/**
 * `@telegate/gateway`: the domain core of the reference CAMARA WebRTC
 * gateway. `new Gateway(options)` owns the store, auth, event bus, SIP and
 * media backends and the registration, call and subscription services.
 */
export * from './api-types.js';
export * from './auth/index.js';
export * from './calls/index.js';
export * from './core/index.js';
export * from './errors.js';
export * from './events/index.js';
export { Gateway, type GatewayOptions } from './gateway.js';
export * from './location/index.js';
export * from './network/index.js';
export * from './registrations/index.js';
export * from './sdp/index.js';
export * from './sip/index.js';
export * from './store/index.js';
