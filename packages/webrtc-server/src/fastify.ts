/** Fastify 5 plugins serving the CAMARA WebRTC APIs: `createRegistrationPlugin`, `createCallHandlingPlugin`, `createEventsPlugin`. */
export * from './gen/webrtc-call-handling.fastify.gen.js';
export * from './gen/webrtc-events.fastify.gen.js';
export * from './gen/webrtc-registration.fastify.gen.js';
