/**
 * `@telegate/gateway`: the reference CAMARA WebRTC gateway. `new Gateway(options)`
 * is the domain core (store, auth, event bus, SIP and media backends, the
 * registration, call and subscription services); `buildGateway(config)` serves it
 * over HTTP with the generated Fastify plugins; `telegate-gateway` is the CLI.
 */
export * from './api-types.js';
export * from './auth/index.js';
export * from './calls/index.js';
export * from './config/index.js';
export * from './core/index.js';
export * from './errors.js';
export * from './events/index.js';
export { Gateway, type GatewayOptions } from './gateway.js';
export * from './http/index.js';
export * from './location/index.js';
export * from './media/index.js';
export * from './media/mediasoup/index.js';
export * from './network/index.js';
export * from './observability/index.js';
export * from './registrations/index.js';
export * from './sdp/index.js';
export * from './sip/index.js';
export * from './store/index.js';
