/**
 * Server side of the CAMARA WebRTC APIs, generated from spec/: per API a
 * typed handlers interface (`RegistrationHandlers`, ...), an Express router
 * (`createRegistrationRouter`), a Fastify plugin (`createRegistrationPlugin`),
 * validators, and for webrtc-events the CloudEvents callback sender.
 */
export * from './gen/index.js';
