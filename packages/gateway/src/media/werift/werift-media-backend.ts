import type { RTCPeerConnection } from 'werift';
import { unavailable } from '../../errors.js';
import type { MediaBackend, MediaBackendStats } from '../../network/media-backend.js';
import type { CheckedRtpSdp } from '../../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../../sdp/webrtc.js';
import { PortAllocator } from '../port-allocator.js';
import { RtpLeg } from '../rtp-leg.js';
import {
  type ResolvedWeriftMediaOptions,
  resolveWeriftMediaOptions,
  type WeriftMediaOptions,
} from './options.js';
import { type EndpointContext, WeriftMediaEndpoint } from './werift-media-endpoint.js';

/** How many port blocks to try when other processes hold some of the range. */
const MAX_BIND_ATTEMPTS = 32;

/**
 * The default `MediaBackend`: terminates ICE + DTLS-SRTP with werift (pure
 * TypeScript) and relays RTP to a plain UDP leg per call. Tracks its open
 * endpoints; `close()` closes them all.
 */
export class WeriftMediaBackend implements MediaBackend {
  readonly options: ResolvedWeriftMediaOptions;
  readonly #ports: PortAllocator;
  readonly #endpoints = new Map<string, WeriftMediaEndpoint>();
  /** Every peer connection the endpoints created, until werift reports it closed. */
  readonly #peerConnections = new Set<RTCPeerConnection>();
  #next = 1;
  #closed = false;

  constructor(options: WeriftMediaOptions = {}) {
    this.options = resolveWeriftMediaOptions(options);
    this.#ports = new PortAllocator(this.options.rtpPortMin, this.options.rtpPortMax);
  }

  async createFromWebRtcOffer(offer: CheckedWebRtcSdp) {
    return this.#create((id, ctx) => WeriftMediaEndpoint.answering(id, ctx, offer));
  }

  async createFromRtpOffer(offer: CheckedRtpSdp) {
    return this.#create((id, ctx) => WeriftMediaEndpoint.offering(id, ctx, offer));
  }

  async createOffers() {
    return this.#create((id, ctx) => WeriftMediaEndpoint.offeringBoth(id, ctx));
  }

  stats(): MediaBackendStats {
    let udpSockets = 0;
    for (const endpoint of this.#endpoints.values()) udpSockets += endpoint.udpSockets;
    let webRtcTransports = 0;
    for (const pc of this.#peerConnections) {
      if (pc.signalingState === 'closed') this.#peerConnections.delete(pc);
      else webRtcTransports++;
    }
    return { endpoints: this.#endpoints.size, udpSockets, webRtcTransports };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#endpoints.values()].map((endpoint) => endpoint.close()));
  }

  async #create<T extends { endpoint: WeriftMediaEndpoint }>(
    make: (id: string, ctx: EndpointContext) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw unavailable('The media backend is shut down.');
    const { base, leg } = await this.#openLeg();
    const id = `media-${this.#next++}`;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#ports.release(base);
    };
    const ctx: EndpointContext = {
      leg,
      peerConnections: this.#peerConnections,
      network: {
        bindAddress: this.options.bindAddress,
        announcedAddress: this.options.announcedAddress,
        icePortRange: [base + 2, base + 3],
      },
      onClosed: async (endpoint) => {
        this.#endpoints.delete(endpoint.id);
        release();
      },
    };
    try {
      const created = await make(id, ctx);
      if (created.endpoint.udpSockets < 3) {
        // werift found no free ICE port in the block and gathered no candidate.
        await created.endpoint.close();
        throw unavailable('No free UDP port for the WebRTC leg; try again later.');
      }
      if (this.#closed) {
        await created.endpoint.close();
        throw unavailable('The media backend is shut down.');
      }
      this.#endpoints.set(id, created.endpoint);
      return created;
    } catch (error) {
      // `make` closes its endpoint (and so the leg) on failure; this covers a failure before that.
      await leg.close();
      release();
      throw error;
    }
  }

  /** Reserves a port block and binds the RTP leg in it, trying further blocks when another process holds ports. */
  async #openLeg(): Promise<{ base: number; leg: RtpLeg }> {
    for (let attempt = 0; attempt < Math.min(MAX_BIND_ATTEMPTS, this.#ports.capacity); attempt++) {
      const base = this.#ports.reserve();
      if (base === undefined) break;
      try {
        return { base, leg: await RtpLeg.open(this.options.bindAddress, base) };
      } catch {
        this.#ports.release(base);
      }
    }
    throw unavailable('No free media port in the configured RTP port range; try again later.');
  }
}

/** The werift media backend with `options` (defaults: loopback, ports 40000-49999). */
export function createWeriftMediaBackend(options: WeriftMediaOptions = {}): WeriftMediaBackend {
  return new WeriftMediaBackend(options);
}
