import { accessSync, constants } from 'node:fs';

const HOW_TO_BUILD =
  'build it with `npm run build:mediasoup-worker` and set MEDIASOUP_WORKER_BIN to the path it prints (its last line)';

/**
 * The mediasoup worker binary, checked before anything starts: no npm package ships one for
 * this platform, so a gateway without it stops with one line saying how to build it.
 */
export function checkWorkerBin(workerBin: string | undefined): string {
  if (workerBin === undefined || workerBin === '') {
    throw new Error(`the mediasoup media backend needs its worker binary: ${HOW_TO_BUILD}`);
  }
  try {
    accessSync(workerBin, constants.X_OK);
  } catch {
    throw new Error(`MEDIASOUP_WORKER_BIN ${workerBin} is not an executable file: ${HOW_TO_BUILD}`);
  }
  return workerBin;
}
