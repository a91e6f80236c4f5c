export {
  type LegFormat,
  relayable,
} from './codec-plan.js';
export {
  A_LAW_TO_MU_LAW,
  aLawToLinear,
  decodeG711,
  encodeG711,
  linearToALaw,
  linearToMuLaw,
  MU_LAW_TO_A_LAW,
  muLawToLinear,
  transcodeG711,
} from './g711.js';
export { PortAllocator } from './port-allocator.js';
export { checkNicePermitted, realtimePriority, setHelperThreadsRealtime, setRealtime } from './priority.js';
export type { MediaThreadDiagnostics } from './werift/media-thread-protocol.js';
export {
  DEFAULT_RTP_PORT_MAX,
  DEFAULT_RTP_PORT_MIN,
  type ResolvedWeriftMediaOptions,
  resolveWeriftMediaOptions,
  type WeriftMediaOptions,
} from './werift/options.js';
export {
  createThreadedWeriftMediaBackend,
  ThreadedWeriftMediaBackend,
  type ThreadedWeriftMediaOptions,
} from './werift/threaded-werift-backend.js';
export { createWeriftMediaBackend, WeriftMediaBackend } from './werift/werift-media-backend.js';
export { WeriftMediaEndpoint } from './werift/werift-media-endpoint.js';
