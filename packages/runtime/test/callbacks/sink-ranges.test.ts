/**
 * The SSRF classifier against the IANA special-purpose registries: one row per range
 * that is not globally reachable, one per IPv6 form that embeds an IPv4 address, and a
 * property test that no address of a refused range passes in any textual form, as a
 * URL literal or as what a (stub) resolver answers. Nothing here opens a connection.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertSafeSink,
  blockedAddressKind,
  createSinkGuard,
  InvalidSinkError,
} from '../../src/callbacks/index.js';

/** IANA IPv4 special-purpose registry entries that are not globally reachable, plus multicast. */
const REFUSED_V4: [cidr: string, sample: string][] = [
  ['0.0.0.0/8', '0.1.2.3'],
  ['10.0.0.0/8', '10.200.0.1'],
  ['100.64.0.0/10', '100.100.0.1'],
  ['127.0.0.0/8', '127.0.0.1'],
  ['169.254.0.0/16', '169.254.169.254'],
  ['172.16.0.0/12', '172.20.1.1'],
  ['192.0.0.0/24', '192.0.0.8'],
  ['192.0.2.0/24', '192.0.2.10'],
  ['192.88.99.0/24', '192.88.99.1'],
  ['192.168.0.0/16', '192.168.1.1'],
  ['198.18.0.0/15', '198.19.0.1'],
  ['198.51.100.0/24', '198.51.100.7'],
  ['203.0.113.0/24', '203.0.113.9'],
  ['224.0.0.0/4', '239.1.1.1'],
  ['240.0.0.0/4', '250.0.0.1'],
  ['255.255.255.255/32', '255.255.255.255'],
];

/** IANA IPv6 special-purpose registry entries that are not globally reachable, and what lies outside 2000::/3. */
const REFUSED_V6: [cidr: string, sample: string][] = [
  ['::1/128', '::1'],
  ['::/128', '::'],
  ['::/96 (IPv4-compatible)', '::808:808'],
  ['::ffff:0:0:0/96 (IPv4-translated)', '::ffff:0:808:808'],
  ['64:ff9b:1::/48 (local-use NAT64)', '64:ff9b:1::808:808'],
  ['100::/64 (discard-only)', '100::1'],
  ['2001::/23 (IETF protocol assignments)', '2001:1::1'],
  ['2001::/32 (Teredo)', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  ['2001:2::/48 (benchmarking)', '2001:2::1'],
  ['2001:10::/28 (ORCHID, deprecated)', '2001:10::1'],
  ['2001:db8::/32 (documentation)', '2001:db8::1'],
  ['3fff::/20 (documentation)', '3fff:0:1::1'],
  ['5f00::/16 (SRv6 SIDs)', '5f00::1'],
  ['fc00::/7 (unique local)', 'fd12:3456::1'],
  ['fe80::/10 (link-local)', 'fe80::1'],
  ['fec0::/10 (site-local, deprecated)', 'fec0::1'],
  ['ff00::/8 (multicast)', 'ff02::1'],
  ['4000::/3 (not allocated)', '4000::1'],
];

/** IPv6 forms carrying a refused IPv4 address; the cases first. */
const EMBEDDED: [form: string, address: string][] = [
  ['NAT64 of link-local', '64:ff9b::a9fe:a9fe'],
  ['NAT64 of loopback', '64:ff9b::7f00:1'],
  ['6to4 of loopback', '2002:7f00:1::1'],
  ['6to4 of link-local', '2002:a9fe:a9fe::1'],
  ['Teredo', '2001::1'],
  ['IPv4-translated loopback', '::ffff:0:7f00:1'],
  ['site-local', 'fec0::1'],
  ['IPv4-mapped private', '::ffff:10.0.0.1'],
  ['IPv4-mapped, hex', '::ffff:c0a8:101'],
  ['NAT64, dotted tail', '64:ff9b::10.1.2.3'],
  ['IPv4-compatible loopback', '::127.0.0.1'],
];

/** Globally reachable addresses, also behind a form that embeds them. */
const PUBLIC: string[] = [
  '8.8.8.8',
  '93.184.215.14',
  '192.31.196.1', // AS112, globally reachable
  '2606:4700:4700::1111',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
  '2001:3::1', // AMT
];

const refusedBy = (address: string) =>
  createSinkGuard({ lookup: async () => [{ address, family: address.includes(':') ? 6 : 4 }] });

describe('blockedAddressKind: every range that is not globally reachable', () => {
  it.each([...REFUSED_V4, ...REFUSED_V6])('%s (%s) is refused', (_range, sample) => {
    expect(blockedAddressKind(sample)).toBeDefined();
  });

  it.each(EMBEDDED)('%s %s is refused', (_form, address) => {
    expect(blockedAddressKind(address)).toBeDefined();
  });

  it.each(PUBLIC)('%s is public', (address) => {
    expect(blockedAddressKind(address)).toBeUndefined();
  });
});

describe('vet: the issue’s sinks, as literals and as resolved names', () => {
  it.each(EMBEDDED)('%s: https://[%s]/s is INVALID_SINK', async (_form, address) => {
    const host = address.includes(':') ? `[${address}]` : address;
    await expect(createSinkGuard().vet(`https://${host}/s`)).rejects.toBeInstanceOf(InvalidSinkError);
    await expect(refusedBy(address).vet('https://hooks.example/s')).rejects.toBeInstanceOf(InvalidSinkError);
  });

  it.each(PUBLIC)('%s is accepted', async (address) => {
    const host = address.includes(':') ? `[${address}]` : address;
    await expect(createSinkGuard().vet(`https://${host}/s`)).resolves.toBeDefined();
    await expect(refusedBy(address).vet('https://hooks.example/s')).resolves.toBeDefined();
  });
});

// ---- property: any address of a refused range, in any textual form ----

const toInt = (dotted: string) => dotted.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const toDotted = (n: number) => [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join('.');

/** A random IPv4 address inside `cidr`, as a 32-bit number. */
const inV4Range = (cidr: string) => {
  const [network = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return fc.integer({ min: 0, max: size - 1 }).map((offset) => (toInt(network) + offset) >>> 0);
};

const hex4 = (n: number) => n.toString(16);
const hi = (n: number) => hex4(n >>> 16);
const lo = (n: number) => hex4(n & 0xffff);

/** Every way a URL may spell IPv4 address `n`: WHATWG URL parsing and IPv6 forms that embed it. */
const v4Spellings = (n: number): string[] => {
  const octets = toDotted(n).split('.').map(Number);
  return [
    toDotted(n),
    String(n),
    `0x${n.toString(16)}`,
    `0${n.toString(8)}`,
    octets.map((o) => `0x${o.toString(16)}`).join('.'),
    octets.map((o) => `0${o.toString(8)}`).join('.'),
    `${octets[0]}.${(n & 0xffffff) >>> 0}`,
    `${octets[0]}.${octets[1]}.${n & 0xffff}`,
    `[::ffff:${toDotted(n)}]`,
    `[::ffff:${hi(n)}:${lo(n)}]`,
    `[0:0:0:0:0:FFFF:${hi(n).toUpperCase()}:${lo(n).toUpperCase()}]`,
    `[64:ff9b::${toDotted(n)}]`,
    `[64:ff9b::${hi(n)}:${lo(n)}]`,
    `[0064:FF9B:0000:0000:0000:0000:${hi(n)}:${lo(n)}]`,
    `[2002:${hi(n)}:${lo(n)}::1]`,
    `[2002:${hi(n)}:${lo(n)}:ffff:0:0:0:1]`,
    `[::ffff:0:${toDotted(n)}]`,
    `[::${toDotted(n)}]`,
  ];
};

/** A random IPv6 address inside `cidr` (the sample's prefix), as eight 16-bit groups. */
const inV6Range = (sample: string, bits: number) =>
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((random) => {
    const base = new URL(`http://[${sample}]/`).hostname.slice(1, -1);
    const groups = expand(base);
    return groups.map((group, i) => {
      const keep = Math.max(0, Math.min(16, bits - i * 16));
      const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
      return (group & mask) | (random[i]! & ~mask & 0xffff);
    });
  });

function expand(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = Array(8 - left.length - right.length).fill('0');
  return [...left, ...(tail === undefined ? [] : middle), ...right].map((g) => Number.parseInt(g, 16));
}

/** Textual forms of an IPv6 address: full, zero-padded, upper case, compressed, dotted tail. */
const v6Spellings = (groups: number[]): string[] => {
  const full = groups.map((g) => g.toString(16));
  const tail = `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  const canonical = new URL(`http://[${full.join(':')}]/`).hostname;
  return [
    `[${full.join(':')}]`,
    `[${groups.map((g) => g.toString(16).padStart(4, '0')).join(':')}]`,
    `[${full.join(':').toUpperCase()}]`,
    canonical,
    `[${full.slice(0, 6).join(':')}:${tail}]`,
  ];
};

const V6_RANGES: [sample: string, bits: number][] = [
  ['::1', 128],
  ['::', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['3fff::', 20],
  ['5f00::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['4000::', 3],
  ['::', 96],
  ['::ffff:0:0:0', 96],
];

/** The blocks inside 2001::/23 IANA lists as globally reachable: AMT, AS112, ORCHIDv2, DRIP. */
const GLOBAL_IN_2001_23 = ([a, b, c]: number[]) =>
  a === 0x2001 && (b === 3 || (b === 4 && c === 0x112) || (b! >= 0x20 && b! <= 0x3f));

describe('property: no address in a refused range passes in any textual form', () => {
  const guard = createSinkGuard({
    lookup: async () => {
      throw new Error('a literal must never be resolved');
    },
  });

  const refusedEverywhere = async (host: string) => {
    const error = await guard.vet(`https://${host}/s`).catch((e: unknown) => e);
    expect(error, host).toBeInstanceOf(InvalidSinkError);
    // What a resolver may answer for a name: the bare literal (never bracketed).
    const literal = new URL(`https://${host}/`).hostname.replace(/^\[(.*)\]$/, '$1');
    await expect(refusedBy(literal).vet('https://hooks.example/s'), literal).rejects.toBeInstanceOf(
      InvalidSinkError,
    );
  };

  it('IPv4 ranges, spelled as IPv4 and in every IPv6 form that embeds IPv4', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...REFUSED_V4.map(([cidr]) => cidr)).chain(inV4Range), async (n) => {
        for (const host of v4Spellings(n)) await refusedEverywhere(host);
      }),
      { numRuns: 300 },
    );
  });

  it('IPv6 ranges, in every IPv6 spelling', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...V6_RANGES)
          .chain(([sample, bits]) => inV6Range(sample, bits))
          .filter((groups) => !GLOBAL_IN_2001_23(groups)),
        async (groups) => {
          for (const host of v6Spellings(groups)) await refusedEverywhere(host);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('no resolver oracle', () => {
  it('a name that does not resolve and one that resolves to a refused address get the same message, without the address', async () => {
    const lookup = async (host: string) => {
      if (host === 'vm') return [{ address: '127.0.0.1', family: 4 as const }];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    const refused = await assertSafeSink('https://vm/s', { lookup }).catch((e: Error) => e.message);
    const missing = await assertSafeSink('https://vm2/s', { lookup }).catch((e: Error) => e.message);
    expect(refused).not.toMatch(/127\.0\.0\.1|loopback|resolves to/);
    expect(refused.replace('vm/', 'X/')).toBe(missing.replace('vm2/', 'X/'));
  });
});
