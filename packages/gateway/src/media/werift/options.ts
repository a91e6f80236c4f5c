import { isIP } from 'node:net';

/** Settings of the werift media backend. */
export interface WeriftMediaOptions {
  /**
   * Local address every media socket binds to (RTP leg and ICE). Default
   * `127.0.0.1`: nothing is reachable from elsewhere until an operator says so.
   */
  bindAddress?: string;
  /**
   * Address written into SDP: the RTP leg's `c=` and the one ICE host
   * candidate (`MEDIA_ANNOUNCED_ADDRESS`, e.g. a 1:1 NAT's public address).
   * Default: `bindAddress`, which must then not be a wildcard.
   */
  announcedAddress?: string;
  /** Lowest UDP port used for media (RTP, RTCP, ICE). Default 40000. */
  rtpPortMin?: number;
  /** Highest UDP port used for media. Default 49999. Each call takes four ports. */
  rtpPortMax?: number;
}

export interface ResolvedWeriftMediaOptions {
  bindAddress: string;
  announcedAddress: string;
  rtpPortMin: number;
  rtpPortMax: number;
}

export const DEFAULT_RTP_PORT_MIN = 40_000;
export const DEFAULT_RTP_PORT_MAX = 49_999;

/** Checks the options once, at startup (a bad address must not surface at the first call). */
export function resolveWeriftMediaOptions(options: WeriftMediaOptions = {}): ResolvedWeriftMediaOptions {
  const bindAddress = options.bindAddress ?? '127.0.0.1';
  if (isIP(bindAddress) === 0)
    throw new RangeError(`media bindAddress "${bindAddress}" is not an IP address`);
  const announcedAddress = options.announcedAddress ?? bindAddress;
  if (isIP(announcedAddress) === 0) {
    throw new RangeError(`media announcedAddress "${announcedAddress}" is not an IP address`);
  }
  if (announcedAddress === '0.0.0.0' || announcedAddress === '::') {
    throw new RangeError('media announcedAddress is required when bindAddress is a wildcard address');
  }
  const rtpPortMin = options.rtpPortMin ?? DEFAULT_RTP_PORT_MIN;
  const rtpPortMax = options.rtpPortMax ?? DEFAULT_RTP_PORT_MAX;
  if (!(rtpPortMin < rtpPortMax))
    throw new RangeError(`rtpPortMin ${rtpPortMin} must be below rtpPortMax ${rtpPortMax}`);
  return { bindAddress, announcedAddress, rtpPortMin, rtpPortMax };
}
