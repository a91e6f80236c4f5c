import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The worker binary: MEDIASOUP_WORKER_BIN, else the path `npm run build:mediasoup-worker` caches
 * it at for this mediasoup version and these patches.
 */
export function locateWorkerBin(): string | undefined {
  const script = fileURLToPath(new URL('../../../../scripts/build-mediasoup-worker.mjs', import.meta.url));
  const cached = spawnSync(process.execPath, [script, '--print-path'], { encoding: 'utf8' }).stdout?.trim();
  for (const candidate of [process.env.MEDIASOUP_WORKER_BIN, cached]) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}
