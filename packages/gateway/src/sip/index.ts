export {
  ADDRESS_PATTERN,
  ANONYMOUS_ADDRESS,
  cleanDisplayName,
  e164Of,
  isPhoneNumber,
  type PartyAddress,
  PHONE_NUMBER_PATTERN,
  parseAddress,
  parseDisplayName,
  telAddress,
} from './address.js';
export {
  type DemoBehaviour,
  DemoTelcoNetwork,
  type DemoTelcoNetworkOptions,
} from './demo/demo-telco-network.js';
export {
  createDrachtioSipBackend,
  DrachtioSipBackend,
  type DrachtioSipBackendOptions,
} from './drachtio/drachtio-sip-backend.js';
export { assertSipHeaderSafe, isPlainText, isSipHeaderSafe } from './header-safety.js';
export * from './message/headers.js';
export {
  canonicalName,
  SipHeaders,
  type SipMessage as SipWireMessage,
  type SipRequest,
  type SipResponse,
  sipRequest,
  sipResponse,
  splitList,
} from './message/message.js';
export * from './message/parser.js';
export * from './message/serializer.js';
export * from './transaction/index.js';
export * from './transport/index.js';
export { SipDialog } from './ua/dialog.js';
export {
  type DigestChallenge,
  digestAuthorization,
  parseDigestChallenge,
  pickChallenge,
} from './ua/digest.js';
export { EmbeddedSipBackend, type EmbeddedSipBackendOptions } from './ua/embedded-sip-backend.js';
export {
  formatNameAddr,
  partyUri,
  phoneNumberFromUri,
  phoneNumberUri,
  type SipDisplayName,
  type SipHost,
  type SipNameAddr,
  type SipUri,
  sipDisplayName,
  sipHost,
} from './uri.js';
