import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALLOW_MISSING_PEERS_ENV, missingPeersLine } from './peers.js';

const repoRoot = new URL('../../', import.meta.url).pathname;

/**
 * One folder per test run for `repoTempDir` (inside the repository, so
 * generated code resolves `node_modules`), removed when the run ends; set
 * `TELEGATE_KEEP_TEST_TMP=1` to keep it for a look after a failure.
 */
export default function setup(): () => void {
  const missing = missingPeersLine();
  if (missing !== undefined) {
    if (process.env[ALLOW_MISSING_PEERS_ENV] !== '1') {
      // One line, no stack: what is missing and the command that gets it.
      const error = new Error(missing);
      error.stack = `Error: ${missing}`;
      throw error;
    }
    console.warn(missing);
  }
  const dir = join(repoRoot, '.tmp', `test-run-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  process.env.TELEGATE_TEST_TMP = dir;
  return () => {
    if (process.env.TELEGATE_KEEP_TEST_TMP !== '1') rmSync(dir, { recursive: true, force: true });
  };
}
