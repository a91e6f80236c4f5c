export * from './loopback/index.js';
export type { MediaBackend, MediaBackendStats, MediaEndpoint } from './media-backend.js';
export type {
  IncomingInvite,
  OutgoingInvite,
  ProvisionalStatus,
  SipBackend,
  SipBackendEvents,
} from './sip-backend.js';
