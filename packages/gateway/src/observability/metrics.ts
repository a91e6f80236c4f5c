import type { CallbackSenderLoad, SinkCircuitState } from '@telegate/runtime/callbacks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Gateway } from '../gateway.js';
import type { MediaBackendStats } from '../network/media-backend.js';

/**
 * Prometheus metrics of one gateway, in their own registry (several gateways
 * in one process, as in tests, do not collide): HTTP requests by operation and
 * status, active calls, registrations and the media backend's open endpoints,
 * sockets and WebRTC transports (read at scrape time), event
 * deliveries by outcome, and the delivery limits at work: events waiting,
 * requests in flight and waiting for a slot, refused API work, dropped
 * events, sink circuits.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'operation' | 'method' | 'status'>;
  readonly #duration: Histogram<'operation' | 'method' | 'status'>;
  readonly #delivered: Counter<'type'>;
  readonly #failed: Counter<'type' | 'reason'>;
  readonly #circuitChanges: Counter<'state'>;

  /** `sender`: the CloudEvents sender, for its in-flight, waiting and open-circuit gauges. */
  constructor(gateway: Gateway, sender?: { load(): CallbackSenderLoad }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#requests = new Counter({
      name: 'telegate_http_requests_total',
      help: 'HTTP requests answered, by operationId (or route) and status',
      labelNames: ['operation', 'method', 'status'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'telegate_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by operationId (or route) and status',
      labelNames: ['operation', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'telegate_active_calls',
      help: 'Media sessions in progress on this node',
      registers,
      collect() {
        this.set(gateway.calls.live.length);
      },
    });
    const media = gateway.media;
    if (media.stats !== undefined) {
      const stats = () => media.stats!();
      const mediaGauge = (name: string, help: string, read: (s: MediaBackendStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(read(stats()));
          },
        });
      mediaGauge('telegate_media_endpoints', 'Media endpoints (calls with media) open', (m) => m.endpoints);
      mediaGauge(
        'telegate_media_udp_sockets',
        'UDP sockets the media endpoints hold (RTP legs and ICE)',
        (m) => m.udpSockets,
      );
      mediaGauge(
        'telegate_media_webrtc_transports',
        'ICE + DTLS transports towards devices not yet closed (peer connections, WebRtcTransports)',
        (m) => m.webRtcTransports,
      );
    }
    new Gauge({
      name: 'telegate_registrations',
      help: 'Active (unexpired) registrations in the store',
      registers,
      async collect() {
        try {
          this.set(await gateway.store.countActiveRegistrations(gateway.clock.now()));
        } catch {
          // The store is unreachable (readyz says so): the gauge keeps its last value.
        }
      },
    });
    this.#delivered = new Counter({
      name: 'telegate_events_delivered_total',
      help: 'CloudEvents delivered to subscription sinks, by type',
      labelNames: ['type'],
      registers,
    });
    this.#failed = new Counter({
      name: 'telegate_events_failed_total',
      help: 'CloudEvents not delivered, by type and reason',
      labelNames: ['type', 'reason'],
      registers,
    });
    new Gauge({
      name: 'telegate_events_waiting',
      help: 'Events not yet delivered (or given up), retries included; with a Redis store, every node’s',
      registers,
      async collect() {
        try {
          this.set(await gateway.events.size());
        } catch {
          // The store is unreachable (readyz says so): the gauge keeps its last value.
        }
      },
    });
    const refused = new Counter({
      name: 'telegate_events_refused_total',
      help: 'API requests refused with 503 because too many events wait for delivery (EVENT_QUEUE_MAX), by operationId',
      labelNames: ['operation'],
      registers,
    });
    const dropped = new Counter({
      name: 'telegate_events_dropped_total',
      help: 'Events raised without a request (SIP, timers) and not queued because the event queue was full, by type',
      labelNames: ['type'],
      registers,
    });
    gateway.events.on('refused', ({ operation }) => refused.inc({ operation }));
    gateway.events.on('dropped', ({ type }) => dropped.inc({ type }));
    if (sender !== undefined) {
      const gauge = (name: string, help: string, read: (load: CallbackSenderLoad) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(read(sender.load()));
          },
        });
      gauge(
        'telegate_deliveries_in_flight',
        'Event deliveries (HTTP requests to sinks) in flight',
        (l) => l.inFlight,
      );
      gauge(
        'telegate_deliveries_waiting',
        'Event deliveries waiting for a free slot under DELIVERY_MAX_CONCURRENT',
        (l) => l.waiting,
      );
      gauge(
        'telegate_sink_circuits_open',
        'Sink origins whose circuit is open or half-open',
        (l) => l.openCircuits,
      );
    }
    this.#circuitChanges = new Counter({
      name: 'telegate_sink_circuit_transitions_total',
      help: 'Sink circuit breaker transitions, by the state entered (open, half-open, closed)',
      labelNames: ['state'],
      registers,
    });
    gateway.events.on('delivered', ({ event }) => this.#delivered.inc({ type: event.type }));
    gateway.events.on('failed', ({ event, reason }) => this.#failed.inc({ type: event.type, reason }));
  }

  /** A sink's circuit entered `state`. */
  circuitChanged(state: SinkCircuitState): void {
    this.#circuitChanges.inc({ state });
  }

  observeRequest(operation: string, method: string, status: number, seconds: number): void {
    const labels = { operation, method, status: String(status) };
    this.#requests.inc(labels);
    this.#duration.observe(labels, seconds);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
