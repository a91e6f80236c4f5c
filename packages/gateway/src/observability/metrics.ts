import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Gateway } from '../gateway.js';

/**
 * Prometheus metrics of one gateway, in their own registry (several gateways
 * in one process, as in tests, do not collide): HTTP requests by operation and
 * status, active calls and registrations (read at scrape time), and event
 * deliveries by outcome.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'operation' | 'method' | 'status'>;
  readonly #duration: Histogram<'operation' | 'method' | 'status'>;
  readonly #delivered: Counter<'type'>;
  readonly #failed: Counter<'type' | 'reason'>;

  constructor(gateway: Gateway) {
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
    gateway.events.on('delivered', ({ event }) => this.#delivered.inc({ type: event.type }));
    gateway.events.on('failed', ({ event, reason }) => this.#failed.inc({ type: event.type, reason }));
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
