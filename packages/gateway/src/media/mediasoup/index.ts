export type { CallCodecs, RelayedCodecName } from './codecs.js';
export {
  createMediasoupMediaBackend,
  MediasoupMediaBackend,
  type MediasoupMediaBackendOptions,
  type MediasoupMediaStats,
} from './mediasoup-backend.js';
export { MediasoupMediaEndpoint } from './mediasoup-endpoint.js';
export { checkWorkerBin } from './worker-bin.js';
