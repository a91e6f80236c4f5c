import { createWeriftMediaBackend } from '../../src/index.js';
import { describeMediaBackendContract } from './media-contract.js';

describeMediaBackendContract(
  'werift',
  async (config) =>
    createWeriftMediaBackend({
      bindAddress: config.address,
      rtpPortMin: config.rtpPortMin,
      rtpPortMax: config.rtpPortMax,
    }),
  { rtpPortMin: 47_100, rtpPortMax: 47_299 },
);
