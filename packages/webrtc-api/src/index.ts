/**
 * The CAMARA WebRTC APIs as generated from spec/, shared by
 * `@telegate/webrtc-client` and `@telegate/webrtc-server`: per API the schema
 * and operation types (`Registration`, `CallHandling`, `Events`), the
 * validators (`RegistrationValidators`, ...), and for webrtc-events the
 * CloudEvents callback sender and receiver.
 */
export * from './gen/index.js';
