/** Express 5 routers serving the CAMARA WebRTC APIs: `createRegistrationRouter`, `createCallHandlingRouter`, `createEventsRouter`. */
export * from './gen/webrtc-call-handling.express.gen.js';
export * from './gen/webrtc-events.express.gen.js';
export * from './gen/webrtc-registration.express.gen.js';
