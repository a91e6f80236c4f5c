import type { FastifyInstance } from 'fastify';
import type { Gateway } from '../gateway.js';
import type { GatewayMetrics } from '../observability/metrics.js';

export interface HealthOptions {
  gateway: Gateway;
  metrics: GatewayMetrics;
  /** Whether shutdown has begun. */
  closing: () => boolean;
  /** Longest a readiness probe waits for the store (default 2 000 ms). */
  storeTimeoutMs?: number;
}

const PROBE_ID = 'readyz-probe';

/** Resolves `true` when the store answers a lookup within `ms`. */
async function storeAnswers(gateway: Gateway, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([gateway.store.getRegistration(PROBE_ID).then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz`: the process serves requests (liveness). `/readyz`: it should be
 * sent traffic: the store answers and shutdown has not begun (503 otherwise).
 * `/metrics`: Prometheus exposition. None needs a token; expose them to the
 * operator's network only.
 */
export function registerHealthRoutes(app: FastifyInstance, options: HealthOptions): void {
  const { gateway, metrics } = options;
  app.get('/healthz', async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'ok' });
  });
  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (options.closing()) return reply.code(503).send({ status: 'unavailable', reason: 'shutting down' });
    if (!(await storeAnswers(gateway, options.storeTimeoutMs ?? 2000))) {
      return reply.code(503).send({ status: 'unavailable', reason: 'store not answering' });
    }
    return reply.send({ status: 'ready' });
  });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
}
