import type { Middleware } from 'openapi-fetch';
import { NetworkError } from './errors.js';
import type { ClientOptions } from './options.js';
import { ResponseValidationError } from './validation.js';

export const CORRELATOR_HEADER = 'x-correlator';

function nextCorrelator(option: ClientOptions['correlator']): string {
  if (typeof option === 'string') return option;
  if (typeof option === 'function') return option();
  return crypto.randomUUID();
}

/**
 * Adds `Authorization: Bearer`, `x-correlator` and fixed headers to every
 * request (a header the call passes wins), and turns fetch failures into a
 * `NetworkError` that names the request but never its credentials.
 */
export function createClientMiddleware(options: ClientOptions): Middleware {
  return {
    async onRequest({ request }) {
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        if (!request.headers.has(name)) request.headers.set(name, value);
      }
      if (!request.headers.has(CORRELATOR_HEADER)) {
        request.headers.set(CORRELATOR_HEADER, nextCorrelator(options.correlator));
      }
      if (options.token !== undefined && !request.headers.has('authorization')) {
        const token = typeof options.token === 'function' ? await options.token() : options.token;
        if (token) request.headers.set('authorization', `Bearer ${token}`);
      }
      return request;
    },
    onError({ error, request }) {
      if (error instanceof NetworkError || error instanceof ResponseValidationError) return error;
      return new NetworkError(request.method, request.url, error);
    },
  };
}
