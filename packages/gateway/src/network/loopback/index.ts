export { DEFAULT_PROGRESS, type FarEndBehaviour, type ProgressStep, reasonPhrase } from './behaviours.js';
export { LoopbackMediaBackend, LoopbackMediaEndpoint, type LoopbackMediaOptions } from './loopback-media.js';
export {
  type InboundCall,
  type InboundCallOptions,
  LoopbackNetwork,
  type LoopbackNetworkOptions,
} from './loopback-network.js';
export {
  describeMessage,
  type LoopbackDialog,
  LoopbackSipBackend,
  type SipMessage,
  targetOf,
} from './loopback-sip.js';
