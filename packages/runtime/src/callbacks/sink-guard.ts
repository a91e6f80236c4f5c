import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

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
 * IPv4 ranges of `ipaddr.js` (which follows the IANA special-purpose registry)
 * whose addresses are globally reachable. Every other range it names is refused.
 */
const GLOBAL_V4 = new Set(['unicast', 'as112', 'amt']);

/**
 * IPv6 ranges of `ipaddr.js` whose addresses are globally reachable (IANA registry,
 * "Globally Reachable: True"); `unicast` counts only inside 2000::/3, the one block
 * IANA allocates for global unicast.
 */
const GLOBAL_V6 = new Set(['unicast', 'amt', 'as112v6', 'orchid2', 'droneRemoteIdProtocolEntityTags']);

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
/** RFC 8215: the local-use NAT64 prefix, inside the range `ipaddr.js` calls `rfc6052`. */
const LOCAL_NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b:1::/48');
const METADATA = [ipaddr.parse('169.254.169.254'), ipaddr.parse('fd00:ec2::254')].map(String);

/** How a refused range reads in a message: "sink … is not allowed: a loopback address". */
const RANGE_LABELS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'reserved',
  reserved: 'reserved',
  benchmarking: 'reserved',
  discard: 'reserved',
  deprecatedOrchid: 'reserved',
  segmentRouting: 'reserved',
  loopback: 'loopback',
  private: 'private',
  uniqueLocal: 'private',
  linkLocal: 'link-local',
  deprecatedSiteLocal: 'site-local',
  carrierGradeNat: 'shared (CGNAT)',
  multicast: 'multicast',
  teredo: 'Teredo',
  rfc6145: 'IPv4-translated',
};

/** The IPv4 address in the low 32 bits of an IPv6 address. */
const low32 = (v6: ipaddr.IPv6): ipaddr.IPv4 =>
  new ipaddr.IPv4([v6.parts[6]! >> 8, v6.parts[6]! & 0xff, v6.parts[7]! >> 8, v6.parts[7]! & 0xff]);

function ipv4Kind(v4: ipaddr.IPv4): string | undefined {
  if (METADATA.includes(v4.toString())) return 'cloud metadata';
  const range = v4.range();
  return GLOBAL_V4.has(range) ? undefined : (RANGE_LABELS[range] ?? 'reserved');
}

function ipv6Kind(v6: ipaddr.IPv6): string | undefined {
  if (METADATA.includes(v6.toString())) return 'cloud metadata';
  // A form that carries an IPv4 address reaches that address: judge it instead.
  const embedded = (form: string, v4: ipaddr.IPv4) => {
    const kind = ipv4Kind(v4);
    return kind === undefined ? undefined : `${kind} (${form})`;
  };
  const range: string = v6.range();
  switch (range) {
    case 'ipv4Mapped':
      return embedded('IPv4-mapped', v6.toIPv4Address());
    case 'rfc6052':
      if (v6.match(LOCAL_NAT64)) return 'reserved (local-use NAT64)';
      return embedded('NAT64', low32(v6));
    case '6to4':
      return embedded(
        '6to4',
        new ipaddr.IPv4([v6.parts[1]! >> 8, v6.parts[1]! & 0xff, v6.parts[2]! >> 8, v6.parts[2]! & 0xff]),
      );
    case 'unicast':
      // ::/96 (IPv4-compatible, deprecated) and everything else outside 2000::/3 is not global.
      return v6.match(GLOBAL_UNICAST_V6) ? undefined : 'reserved';
    default:
      return GLOBAL_V6.has(range) ? undefined : (RANGE_LABELS[range] ?? 'reserved');
  }
}

/**
 * Why `address` may not be called (`"loopback"`, `"private"`, `"loopback (NAT64)"`,
 * ...), or `undefined` for a globally reachable unicast address. `address` must be
 * an IP literal (no brackets). The ranges come from `ipaddr.js`; the policy on top:
 * only what IANA lists as globally reachable passes, IPv6 outside 2000::/3 is refused,
 * and an IPv6 form that embeds an IPv4 address (IPv4-mapped, NAT64, 6to4) is judged
 * by that IPv4 address. Teredo, IPv4-translated (RFC 6145) and IPv4-compatible forms
 * are refused whatever they embed: none is globally reachable.
 */
export function blockedAddressKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 4) return ipv4Kind(ipaddr.IPv4.parse(address));
  // A zone index (`fe80::1%eth0`) scopes the address to one link: never global.
  if (address.includes('%')) return 'link-local';
  // `ipaddr.js` reads `::10.0.0.1` as `::ffff:a00:1`; the WHATWG serialisation is all hex.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  return ipv6Kind(ipaddr.IPv6.parse(canonical));
}

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

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
  const allowed = (address: string) => {
    try {
      return allow.addresses.check(address, familyOf(address));
    } catch {
      return false; // a form `BlockList` cannot read (a zone index) is never allowlisted
    }
  };

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
      if (literal !== 0) {
        const kind = blockedAddressKind(host);
        if (kind !== undefined && !allowed(host)) {
          throw new InvalidSinkError(`sink ${shown} is not allowed: not a public address (${kind})`);
        }
        return { url, addresses: [{ address: host, family: literal === 6 ? 6 : 4 }] };
      }
      // One message whether the name does not resolve or resolves to a refused address,
      // and never the address itself: an error must not map internal names for the caller.
      const refused = `sink ${shown} is not allowed: its host must resolve to public addresses only`;
      const name = host.replace(/\.$/, '');
      let addresses: ResolvedAddress[];
      try {
        addresses = await lookup(name);
      } catch (error) {
        throw new SinkLookupError(refused, { cause: error });
      }
      if (addresses.length === 0) throw new SinkLookupError(refused);
      if (allow.hosts.has(name)) return { url, addresses };
      if (addresses.some(({ address }) => blockedAddressKind(address) !== undefined && !allowed(address))) {
        throw new InvalidSinkError(refused);
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
