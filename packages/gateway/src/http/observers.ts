import { randomUUID } from 'node:crypto';
import {
  CORRELATOR_HEADER,
  errorResponse,
  toErrorResponse,
  X_CORRELATOR_PATTERN,
} from '@telegate/runtime/server';
import {
  callHandlingMountPath,
  callHandlingOperations,
  eventsMountPath,
  eventsOperations,
  registrationMountPath,
  registrationOperations,
} from '@telegate/webrtc-server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayMetrics } from '../observability/metrics.js';

const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** `GET /webrtc-registration/vwip/sessions/:registrationId` → `getRegistrationById`, for metric labels. */
function operationTable(): Map<string, string> {
  const table = new Map<string, string>();
  const apis = [
    [registrationMountPath, registrationOperations],
    [callHandlingMountPath, callHandlingOperations],
    [eventsMountPath, eventsOperations],
  ] as const;
  for (const [mountPath, operations] of apis) {
    for (const [operationId, { method, path }] of Object.entries(operations)) {
      const route = `${mountPath}${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      table.set(`${method} ${route}`, operationId);
      if (method === 'GET') table.set(`HEAD ${route}`, operationId);
    }
  }
  return table;
}

/**
 * Fastify's `genReqId`: the request's `x-correlator` when it is valid, else a
 * fresh UUID, so every log line of a request carries the id the client sees.
 */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const value = request.headers[CORRELATOR_HEADER];
  return typeof value === 'string' && value !== '' && X_CORRELATOR_PATTERN.test(value) ? value : randomUUID();
}

function sendError(reply: FastifyReply, request: FastifyRequest, error: ReturnType<typeof errorResponse>) {
  return reply
    .code(error.status)
    .headers({ ...error.headers, [CORRELATOR_HEADER]: request.id })
    .type('application/json')
    .send(JSON.stringify(error.body));
}

/**
 * Per request: a request without `x-correlator` gets its log id as one (the
 * response echoes it), then one log line and the
 * metrics on response. Outside the API mount paths unknown routes and errors
 * are answered with CAMARA `ErrorInfo` bodies too.
 */
export function registerRequestObservers(app: FastifyInstance, metrics: GatewayMetrics): void {
  const operations = operationTable();
  app.addHook('onRequest', async (request) => {
    // The generated routers echo the request's correlator: make it the one the logs carry.
    const given = request.headers[CORRELATOR_HEADER];
    if (given === undefined || given === '') request.headers[CORRELATOR_HEADER] = request.id;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    const operation =
      (route === undefined ? undefined : operations.get(`${request.method} ${route}`)) ??
      route ??
      '(unmatched)';
    const seconds = reply.elapsedTime / 1000;
    metrics.observeRequest(operation, request.method, reply.statusCode, seconds);
    const fields = {
      operation,
      method: request.method,
      path: request.url.split('?', 1)[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (route !== undefined && QUIET_ROUTES.has(route)) request.log.debug(fields, 'request');
    else if (reply.statusCode >= 500) request.log.error(fields, 'request');
    else request.log.info(fields, 'request');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, request, errorResponse(404)));
  app.setErrorHandler((error, request, reply) => {
    const response = toErrorResponse(error);
    if (response.internal) request.log.error({ err: error }, 'request failed');
    return sendError(reply, request, response);
  });
}
