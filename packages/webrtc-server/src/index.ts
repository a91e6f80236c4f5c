/**
 * Server side of the CAMARA WebRTC APIs, generated from spec/: per API a
 * typed handlers interface (`RegistrationHandlers`, ...), its operation table
 * and mount path. The Fastify plugins (`createRegistrationPlugin`) are in
 * `@telegate/webrtc-server/fastify` and the Express routers
 * (`createRegistrationRouter`) in `@telegate/webrtc-server/express`, so each
 * framework is loaded only where it is used. The types, validators and the
 * events CloudEvents callback sender come from `@telegate/webrtc-api` and are
 * exported here too.
 */
export * from '@telegate/webrtc-api';
export * from './gen/webrtc-call-handling.handlers.gen.js';
export * from './gen/webrtc-events.handlers.gen.js';
export * from './gen/webrtc-registration.handlers.gen.js';
