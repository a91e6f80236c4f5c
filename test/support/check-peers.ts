/**
 * First step of `npm test`: fails at once, before the build, with one line naming the real peers
 * the suites need that are missing and the command that gets them (see peers.ts).
 */
import { ALLOW_MISSING_PEERS_ENV, missingPeersLine } from './peers.js';

const line = missingPeersLine();
if (line !== undefined) {
  if (process.env[ALLOW_MISSING_PEERS_ENV] === '1') console.warn(line);
  else {
    console.error(line);
    process.exit(1);
  }
}
