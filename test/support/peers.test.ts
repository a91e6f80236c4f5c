import { describe, expect, it } from 'vitest';
import { missingPeersLine, TEST_PEERS, type TestPeer } from './peers.js';

const peer = (name: string, present: boolean, get: Partial<TestPeer>): TestPeer => ({
  name,
  ...get,
  present: () => present,
});

describe('the line naming missing test peers', () => {
  it.each([
    {
      name: 'nothing when every peer is there',
      peers: [peer('sipp', true, { debianPackage: 'sip-tester' })],
      expected: undefined,
    },
    {
      name: 'one apt-get for every missing Debian package, in order',
      peers: [
        peer('redis-server', false, { debianPackage: 'redis-server' }),
        peer('sipp', true, { debianPackage: 'sip-tester' }),
        peer('kamailio', false, { debianPackage: 'kamailio' }),
      ],
      expected:
        'the tests need real peers that are missing: redis-server, kamailio; get them with ' +
        '`apt-get install -y redis-server kamailio` (TELEGATE_ALLOW_MISSING_PEERS=1 runs the tests without them)',
    },
    {
      name: 'a peer no package installs comes with its own command, after the packages',
      peers: [
        peer('the mediasoup worker', false, { command: 'npm run build:mediasoup-worker' }),
        peer('openssl', false, { debianPackage: 'openssl' }),
      ],
      expected:
        'the tests need real peers that are missing: the mediasoup worker, openssl; get them with ' +
        '`apt-get install -y openssl && npm run build:mediasoup-worker` (TELEGATE_ALLOW_MISSING_PEERS=1 runs the tests without them)',
    },
  ])('$name', ({ peers, expected }) => {
    expect(missingPeersLine(peers, false)).toBe(expected);
  });

  it('under TELEGATE_ALLOW_MISSING_PEERS=1 only says what the run goes on without', () => {
    const peers = [peer('sipp', false, { debianPackage: 'sip-tester' }), peer('openssl', true, {})];
    expect(missingPeersLine(peers, true)).toBe('TELEGATE_ALLOW_MISSING_PEERS=1: the tests run without sipp');
  });

  it('knows how to get every peer the suites start', () => {
    expect(TEST_PEERS.map((p) => p.name)).toEqual([
      'redis-server',
      'sipp',
      'kamailio',
      'chromium',
      'openssl',
      'tcpdump',
      'the mediasoup worker',
    ]);
    expect(TEST_PEERS.filter((p) => !p.debianPackage && !p.command)).toEqual([]);
  });
});
