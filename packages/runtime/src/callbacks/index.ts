export {
  type CallbackReceiver,
  createCallbackReceiver,
  type FastifyCallbackPlugin,
  type FastifyCallbackPluginOptions,
  type FastifyLikeInstance,
  type FastifyLikeReply,
  type NodeCallbackHandler,
  type NodeLikeRequest,
  type NodeLikeResponse,
} from './adapters.js';
export {
  CLOUDEVENTS_MEDIA_TYPE,
  type CloudEventInput,
  type CloudEventSenderOptions,
  completeCloudEvent,
  envelopeViolations,
} from './cloudevents.js';
export type { CallbackDefinition, CallbackDefinitions, PayloadValidator } from './definitions.js';
export { DuplicateWindow, type DuplicateWindowOptions } from './duplicate-window.js';
export type { CallbackLogger } from './logger.js';
export {
  type CallbackReceiverAuth,
  type CallbackReceiverCore,
  type CallbackReceiverOptions,
  CallbackRejection,
  type CallbackReply,
  createCallbackReceiverCore,
  type HeaderReader,
  type IncomingCallbackRequest,
  type ReceivedCallback,
} from './receiver.js';
export { backoffDelay, DEFAULT_RETRY, parseRetryAfter, type RetryPolicy, statusVerdict } from './retry.js';
export {
  type CallbackSenderControls,
  type CallbackSenderLoad,
  type CallbackSenderOptions,
  type CallbackSendOptions,
  type Clock,
  createCallbackSender,
  type DeliveryFailure,
  type DeliveryFailureReason,
  type DeliveryReport,
  type DeliveryResult,
  type SinkCredentialInput,
} from './sender.js';
export {
  createWebhookSigner,
  createWebhookVerifier,
  generateWebhookKeyPair,
  generateWebhookSecret,
  type SignedHeaders,
  signWebhook,
  verifyWebhook,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  type WebhookSigner,
  type WebhookSigningKey,
  type WebhookVerification,
  type WebhookVerificationKey,
  type WebhookVerifier,
  type WebhookVerifyOptions,
} from './signature.js';
export {
  type CircuitBreakerOptions,
  OpenCircuitError,
  type SinkCircuitChange,
  type SinkCircuitState,
} from './sink-circuits.js';
export {
  assertSafeSink,
  blockedAddressKind,
  createSinkGuard,
  InvalidSinkError,
  type ResolvedAddress,
  redactSink,
  type SinkGuard,
  type SinkLookup,
  SinkLookupError,
  type SinkPolicy,
  type VettedSink,
} from './sink-guard.js';
export {
  type CallbackTransport,
  type ClosableTransport,
  createNodeTransport,
  type NodeTransportOptions,
  type TransportRequest,
  type TransportResponse,
} from './transport.js';
export { createWorkerTransport } from './worker-transport.js';
