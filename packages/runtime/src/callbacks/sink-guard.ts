import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * The sink of a subscription is refused: not a URL, not `https` (unless
 * allowed), or its host is or resolves to an address the API provider must
 * not call (loopback, private, link-local, cloud metadata, ...). A server
 * answers it with `400 INVALID_SINK`.
 */
export class InvalidSinkError extends Error {
  override readonly name = 'InvalidSinkError';
  readonly status = 400;
  readonly code = 'INVALID_SINK';

  /** The CAMARA error body for this refusal. */
  toErrorInfo(): { status: 400; code: 'INVALID_SINK'; message: string } {
    return { status: this.status, code: this.code, message: this.message };
  }
}

/** The sink's host name could not be resolved (temporary: a delivery retries it). */
export class SinkLookupError extends Error {
  override readonly name = 'SinkLookupError';
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (default: `dns.lookup` with `all: true`). */
export type SinkLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SinkPolicy {
  /** Accept `http:` sinks too (default: only `https:`). For tests and closed networks. */
  allowHttp?: boolean;
  /**
   * Addresses (`127.0.0.1`, `::1`), CIDR ranges (`10.1.0.0/16`, `fd00::/8`) and host
   * names (`sink.internal.example`) that are accepted even though they are not public.
   * A host name listed here is trusted whatever it resolves to.
   */
  allowlist?: readonly string[];
  /** Name resolution (default: the system resolver); tests inject one so they need no DNS. */
  lookup?: SinkLookup;
}

/** A sink that passed the checks, with the addresses a connection may use. */
export interface VettedSink {
  url: URL;
  /** Every address the host resolved to, all checked; connect only to these. */
  addresses: ResolvedAddress[];
}

/**
 * Ranges a webhook must never reach. `net.BlockList` matches IPv4-mapped IPv6
 * addresses (`::ffff:10.0.0.1`, `::ffff:a00:1`) against the IPv4 rules, so
 * every IPv4 range below also covers its mapped form.
 */
const BLOCKED: readonly { label: string; v4?: [string, number][]; v6?: [string, number][] }[] = [
  { label: 'unspecified', v4: [['0.0.0.0', 8]], v6: [['::', 128]] },
  { label: 'loopback', v4: [['127.0.0.0', 8]], v6: [['::1', 128]] },
  { label: 'a cloud metadata address', v4: [['169.254.169.254', 32]], v6: [['fd00:ec2::254', 128]] },
  {
    label: 'private',
    v4: [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
    ],
    v6: [['fc00::', 7]],
  },
  { label: 'link-local', v4: [['169.254.0.0', 16]], v6: [['fe80::', 10]] },
  { label: 'shared (CGNAT)', v4: [['100.64.0.0', 10]] },
  {
    label: 'reserved',
    v4: [
      ['192.0.0.0', 24],
      ['198.18.0.0', 15],
      ['240.0.0.0', 4],
    ],
    // IPv4-compatible (deprecated) addresses embed an IPv4 address the rules above would miss.
    v6: [['::', 96]],
  },
  { label: 'multicast', v4: [['224.0.0.0', 4]], v6: [['ff00::', 8]] },
];

const BLOCK_LISTS = BLOCKED.map(({ label, v4 = [], v6 = [] }) => {
  const list = new BlockList();
  for (const [network, prefix] of v4) list.addSubnet(network, prefix, 'ipv4');
  for (const [network, prefix] of v6) list.addSubnet(network, prefix, 'ipv6');
  return { label, list };
});

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/**
 * Why `address` may not be called (`"loopback"`, `"private"`, ...), or
 * `undefined` for a public unicast address. `address` must be an IP literal
 * (no brackets).
 */
export function blockedAddressKind(address: string): string | undefined {
  if (isIP(address) === 0) return 'not an IP address';
  const family = familyOf(address);
  return BLOCK_LISTS.find(({ list }) => list.check(address, family))?.label;
}

interface Allowlist {
  addresses: BlockList;
  hosts: Set<string>;
}

function parseAllowlist(entries: readonly string[]): Allowlist {
  const addresses = new BlockList();
  const hosts = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim().replace(/^\[(.*)\]$/, '$1');
    const [network = '', prefix] = entry.split('/');
    const kind = isIP(network);
    if (kind !== 0 && prefix === undefined) {
      addresses.addAddress(network, kind === 6 ? 'ipv6' : 'ipv4');
    } else if (kind !== 0 && /^\d{1,3}$/.test(prefix ?? '')) {
      const bits = Number(prefix);
      if (bits > (kind === 6 ? 128 : 32))
        throw new TypeError(`sink allowlist: bad prefix length in "${raw}"`);
      addresses.addSubnet(network, bits, kind === 6 ? 'ipv6' : 'ipv4');
    } else if (/^[a-z0-9.-]+$/i.test(entry)) {
      hosts.add(entry.toLowerCase().replace(/\.$/, ''));
    } else {
      throw new TypeError(`sink allowlist: "${raw}" is not an IP address, CIDR range or host name`);
    }
  }
  return { addresses, hosts };
}

const systemLookup: SinkLookup = async (hostname) => {
  const results = await dnsLookup(hostname, { all: true, verbatim: true });
  return results.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/**
 * The URL as it may appear in logs and error messages: no user info, no query
 * or fragment (either may carry a token).
 */
export function redactSink(url: string | URL): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export interface SinkGuard {
  /**
   * Parses and checks `sink`, resolves its host and checks every address.
   * Throws `InvalidSinkError` when the sink is refused and `SinkLookupError`
   * when its host does not resolve.
   */
  vet(sink: string | URL): Promise<VettedSink>;
}

/**
 * The SSRF guard. Call `vet` when a subscription is created (refusal →
 * `400 INVALID_SINK`) and again before every delivery, connecting only to the
 * addresses it returns: a host that resolved to a public address at
 * subscription time may resolve to an internal one later (DNS rebinding).
 */
export function createSinkGuard(policy: SinkPolicy = {}): SinkGuard {
  const allow = parseAllowlist(policy.allowlist ?? []);
  const lookup = policy.lookup ?? systemLookup;
  const allowed = (address: string) => allow.addresses.check(address, familyOf(address));

  return {
    async vet(sink) {
      let url: URL;
      try {
        url = typeof sink === 'string' ? new URL(sink) : new URL(sink.href);
      } catch {
        throw new InvalidSinkError('sink is not a valid absolute URL');
      }
      const shown = redactSink(url);
      if (url.protocol !== 'https:' && !(policy.allowHttp === true && url.protocol === 'http:')) {
        throw new InvalidSinkError(`sink ${shown} must use https`);
      }
      if (url.username !== '' || url.password !== '') {
        throw new InvalidSinkError(`sink ${shown} must not contain credentials`);
      }
      // WHATWG URL parsing already turned `0x7f.1`, `2130706433` and friends into dotted IPv4.
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
      const literal = isIP(host);
      let addresses: ResolvedAddress[];
      if (literal !== 0) {
        addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
      } else {
        try {
          addresses = await lookup(host.replace(/\.$/, ''));
        } catch (error) {
          throw new SinkLookupError(`sink host ${url.hostname} could not be resolved`, { cause: error });
        }
        if (addresses.length === 0) throw new SinkLookupError(`sink host ${url.hostname} has no address`);
        if (allow.hosts.has(host.replace(/\.$/, ''))) return { url, addresses };
      }
      for (const { address } of addresses) {
        const kind = blockedAddressKind(address);
        if (kind !== undefined && !allowed(address)) {
          const via = literal === 0 ? ` (${url.hostname} resolves to ${address})` : '';
          throw new InvalidSinkError(`sink ${shown} is not allowed: ${kind} address${via}`);
        }
      }
      return { url, addresses };
    },
  };
}

/**
 * Subscription-time check: resolves when `sink` may be used, throws
 * `InvalidSinkError` (→ `400 INVALID_SINK`) otherwise, also when its host
 * does not resolve.
 */
export async function assertSafeSink(sink: string, policy: SinkPolicy = {}): Promise<void> {
  try {
    await createSinkGuard(policy).vet(sink);
  } catch (error) {
    if (error instanceof SinkLookupError) throw new InvalidSinkError(error.message, { cause: error });
    throw error;
  }
}
