/**
 * The real programs the suites start on 127.0.0.1, checked once before any test runs: a missing
 * one fails the run with one line naming it and the command that gets it, rather than its suites
 * being skipped unnoticed. `TELEGATE_ALLOW_MISSING_PEERS=1` lets the run go on; the suites of a
 * missing peer then skip with their own line (those of redis-server and openssl fail with theirs:
 * a store or a TLS sink is never skipped).
 */
import { spawnSync } from 'node:child_process';
import { locateWorkerBin } from '../../packages/gateway/test/media/mediasoup-worker.js';
import { HAVE_CHROMIUM } from '../e2e/chromium.js';
import { haveKamailio } from '../sip/support/kamailio.js';
import { haveSipp } from '../sip/support/sipp.js';

export interface TestPeer {
  /** What the suites need, as a user would name it. */
  name: string;
  /** The Debian package that installs it, if one does. */
  debianPackage?: string;
  /** The command that gets it otherwise. */
  command?: string;
  present(): boolean;
}

/** Whether `binary args` runs and exits 0. */
function runs(binary: string, args: string[]): boolean {
  return spawnSync(binary, args, { stdio: 'ignore' }).status === 0;
}

export const TEST_PEERS: readonly TestPeer[] = [
  {
    name: 'redis-server',
    debianPackage: 'redis-server',
    present: () => runs(process.env.REDIS_SERVER || 'redis-server', ['--version']),
  },
  { name: 'sipp', debianPackage: 'sip-tester', present: haveSipp },
  { name: 'kamailio', debianPackage: 'kamailio', present: haveKamailio },
  { name: 'chromium', debianPackage: 'chromium', present: () => HAVE_CHROMIUM },
  { name: 'openssl', debianPackage: 'openssl', present: () => runs('openssl', ['version']) },
  { name: 'tcpdump', debianPackage: 'tcpdump', present: () => runs('tcpdump', ['--version']) },
  {
    name: 'the mediasoup worker',
    command: 'npm run build:mediasoup-worker',
    present: () => locateWorkerBin() !== undefined,
  },
];

export const ALLOW_MISSING_PEERS_ENV = 'TELEGATE_ALLOW_MISSING_PEERS';

/**
 * The one line that names the missing peers and how to get them; undefined when none is missing.
 * Under the opt-out it only says what the run goes on without.
 */
export function missingPeersLine(
  peers: readonly TestPeer[] = TEST_PEERS,
  optedOut = process.env[ALLOW_MISSING_PEERS_ENV] === '1',
): string | undefined {
  const missing = peers.filter((peer) => !peer.present());
  if (missing.length === 0) return undefined;
  const names = missing.map((peer) => peer.name).join(', ');
  if (optedOut) return `${ALLOW_MISSING_PEERS_ENV}=1: the tests run without ${names}`;
  const packages = missing.flatMap((peer) => (peer.debianPackage ? [peer.debianPackage] : []));
  const commands = [
    ...(packages.length > 0 ? [`apt-get install -y ${packages.join(' ')}`] : []),
    ...missing.flatMap((peer) => (peer.command ? [peer.command] : [])),
  ];
  return (
    `the tests need real peers that are missing: ${names}; ` +
    `get them with \`${commands.join(' && ')}\` ` +
    `(${ALLOW_MISSING_PEERS_ENV}=1 runs the tests without them)`
  );
}
