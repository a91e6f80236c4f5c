import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { type FastifyPluginAsync, fastify } from 'fastify';

/** One request of a shared test table; `body` is sent as JSON unless `raw` is given. */
export interface TestRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as is (no content-type added). */
  raw?: string;
}

export interface TestResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, or the text when it is not JSON, or `undefined` when empty. */
  body: unknown;
}

/** A server under test: the same requests against Express or Fastify. */
export interface Target {
  name: 'express' | 'fastify';
  request(request: TestRequest): Promise<TestResponse>;
  close(): Promise<void>;
}

function requestParts(request: TestRequest): { headers: Record<string, string>; payload?: string } {
  const headers = { ...request.headers };
  if (request.raw !== undefined) return { headers, payload: request.raw };
  if (request.body === undefined) return { headers };
  headers['content-type'] ??= 'application/json';
  return { headers, payload: JSON.stringify(request.body) };
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Express behind a real loopback listener, requests with `fetch`. */
export async function expressTarget(router: Router, mountPath: string): Promise<Target> {
  const app = express();
  app.use(mountPath || '/', router);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    name: 'express',
    async request(request) {
      const { headers, payload } = requestParts(request);
      const init: RequestInit = { method: request.method, headers };
      // A Uint8Array body keeps fetch from adding `content-type: text/plain`.
      if (payload !== undefined) init.body = new TextEncoder().encode(payload);
      const response = await fetch(`http://127.0.0.1:${port}${request.path}`, init);
      const text = await response.text();
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: parseBody(text),
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Fastify with `inject`, the plugin registered under `mountPath`. `maxParamLength`
 * as `telegate scaffold`'s `buildServer()` sets it: Fastify's default (100)
 * answers longer path parameters with 404 before any plugin sees them.
 */
export async function fastifyTarget(plugin: FastifyPluginAsync, mountPath: string): Promise<Target> {
  const app = fastify({ routerOptions: { maxParamLength: 1024 } });
  await app.register(plugin, { prefix: mountPath });
  await app.ready();
  return {
    name: 'fastify',
    async request(request) {
      const { headers, payload } = requestParts(request);
      const response = await app.inject({
        method: request.method as 'GET',
        url: request.path,
        headers,
        ...(payload === undefined ? {} : { payload: Buffer.from(payload) }),
      });
      const responseHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined)
          responseHeaders[name] = Array.isArray(value) ? value.join(', ') : String(value);
      }
      return { status: response.statusCode, headers: responseHeaders, body: parseBody(response.body) };
    },
    close: () => app.close(),
  };
}

/** A logger that records what the router logs. */
export function recordingLogger(): {
  entries: { details: Record<string, unknown>; message: string }[];
  error(details: Record<string, unknown>, message: string): void;
} {
  const entries: { details: Record<string, unknown>; message: string }[] = [];
  return { entries, error: (details, message) => entries.push({ details, message }) };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
