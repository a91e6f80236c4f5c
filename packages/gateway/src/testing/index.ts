/**
 * Test helpers for code built on the gateway: a recording `deliver`
 * function and ready-made WebRTC SDP (from the CAMARA call flows).
 */
import type { WebRtcCloudEvent } from '../events/cloud-events.js';
import type { DeliverFunction, DeliveryOutcome, DeliveryTarget } from '../events/event-bus.js';

export interface RecordedDelivery {
  target: DeliveryTarget;
  event: WebRtcCloudEvent;
}

export interface RecordingSink {
  deliver: DeliverFunction;
  /** Every delivery, in order. */
  readonly deliveries: RecordedDelivery[];
  /** The CloudEvents delivered to one subscription, in order. */
  eventsFor(subscriptionId: string): WebRtcCloudEvent[];
  /** Makes deliveries to a subscription answer with this outcome from now on (e.g. `{ ok: false, reason: 'gone' }`). */
  respond(subscriptionId: string, outcome: DeliveryOutcome): void;
  clear(): void;
}

/** A `deliver` function that records what it is given and reports success (or a programmed outcome). */
export function createRecordingSink(): RecordingSink {
  const deliveries: RecordedDelivery[] = [];
  const outcomes = new Map<string, DeliveryOutcome>();
  return {
    deliveries,
    deliver: async (target, event) => {
      deliveries.push({ target: structuredClone(target), event: structuredClone(event) });
      return outcomes.get(target.subscriptionId) ?? { ok: true };
    },
    eventsFor: (id) => deliveries.filter((d) => d.target.subscriptionId === id).map((d) => d.event),
    respond: (id, outcome) => outcomes.set(id, outcome),
    clear: () => {
      deliveries.length = 0;
    },
  };
}

/** The device offer of call flow 3.3.1 [7] (Chrome-like: opus, PCMU, PCMA; actpass). */
export const FLOW_WEBRTC_OFFER =
  'v=0\r\no=- 8066321617929821805 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS local-stream\r\nm=audio 42988 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 203.0.113.50\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=candidate:1645903805 1 udp 2122262783 203.0.113.50 42988 typ host generation 0\r\na=ice-ufrag:4eKp\r\na=ice-pwd:D4sF5Pv9vx9ggaqxBlHbAFMx\r\na=ice-options:trickle\r\na=fingerprint:sha-256 CF:56:D8:57:9B:68:B2:1C:F6:ED:6C:C0:02:7C:96:C2:88:A3:C2:38:AD:A2:CA:F5:0D:47:BB:81:74:7B:75:17\r\na=setup:actpass\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n';

/** The device answer of call flow 3.4.1 [13] (setup:active). */
export const FLOW_WEBRTC_ANSWER =
  'v=0\r\no=- 8066321617929821805 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS local-stream\r\nm=audio 42988 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 203.0.113.50\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=candidate:1645903805 1 udp 2122262783 203.0.113.50 42988 typ host generation 0\r\na=ice-ufrag:4eKp\r\na=ice-pwd:D4sF5Pv9vx9ggaqxBlHbAFMx\r\na=ice-options:trickle\r\na=fingerprint:sha-256 CF:56:D8:57:9B:68:B2:1C:F6:ED:6C:C0:02:7C:96:C2:88:A3:C2:38:AD:A2:CA:F5:0D:47:BB:81:74:7B:75:17\r\na=setup:active\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n';
export * from './media/index.js';
