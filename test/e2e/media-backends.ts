import type { GatewayConfig } from '../../packages/gateway/src/index.js';
import { locateWorkerBin } from '../../packages/gateway/test/media/mediasoup-worker.js';

/** Ports one backend's calls may use in a test file, apart from every other file's. */
export interface PortRange {
  rtpPortMin: number;
  rtpPortMax: number;
}

/**
 * The gateway settings of each media backend for an end-to-end test, by name; `undefined` for
 * mediasoup where its worker binary is absent (said in one line): CI builds it (.ci/run), so
 * there it runs.
 */
export function gatewayMediaBackends(
  what: string,
  ports: { werift: PortRange; mediasoup: PortRange },
): [string, Partial<GatewayConfig> | undefined][] {
  const workerBin = locateWorkerBin();
  if (workerBin === undefined) {
    console.warn(
      `${what} through mediasoup skipped: no worker binary; build it with \`npm run build:mediasoup-worker\` (or set MEDIASOUP_WORKER_BIN)`,
    );
  }
  return [
    ['werift', { mediaBackend: 'werift', ...ports.werift }],
    [
      'mediasoup',
      workerBin === undefined
        ? undefined
        : {
            mediaBackend: 'mediasoup',
            mediasoupWorkerBin: workerBin,
            mediasoupWorkers: 1,
            ...ports.mediasoup,
          },
    ],
  ];
}
