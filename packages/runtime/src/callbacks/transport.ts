import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { VettedSink } from './sink-guard.js';

export interface TransportRequest {
  sink: VettedSink;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  /** Aborts the attempt (timeout or `close()`). */
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: { get(name: string): string | null };
}

/** Sends one HTTP request to a vetted sink; rejects on network errors. */
export type CallbackTransport = (request: TransportRequest) => Promise<TransportResponse>;

/** A transport that is closed with the sender (keep-alive sockets). */
export interface ClosableTransport {
  send: CallbackTransport;
  /**
   * Starts, ahead of the first request, what the transport would otherwise start then (the worker
   * transport's thread); rejects when that cannot start. Optional: a transport with nothing to start has none.
   */
  start?(): Promise<void>;
  close(): void;
}

/**
 * A `lookup` that answers only with the vetted addresses, so the socket goes
 * to an address the guard checked rather than to whatever a second DNS
 * query returns (DNS rebinding).
 */
function pinnedLookup(sink: VettedSink): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
    const candidates = sink.addresses.filter((a) => wanted === undefined || a.family === wanted);
    const done = callback as (error: Error | null, address: unknown, family?: number) => void;
    if (candidates.length === 0) {
      done(Object.assign(new Error('no vetted address of the requested family'), { code: 'ENOTFOUND' }), '');
    } else if (options.all === true) {
      done(null, candidates);
    } else {
      done(null, candidates[0]!.address, candidates[0]!.family);
    }
  };
}

/** `get` over Node's parsed response headers (lower-case names; repeated ones as arrays). */
export function headerReader(headers: IncomingHttpHeaders): TransportResponse['headers'] {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

export interface NodeTransportOptions {
  /**
   * Certificate authorities trusted for `https` sinks, as `https.Agent` takes
   * them: they replace Node's default roots, so pass
   * `[...tls.rootCertificates, ownCa]` to trust a private CA as well.
   */
  ca?: SecureContextOptions['ca'];
  /**
   * An idle kept-alive connection is closed after this long (default 5 000 ms),
   * so sinks on many origins do not leave a connection each open behind them.
   */
  idleSocketTimeoutMs?: number;
}

/** A response's status and headers as Node parsed them (what a transport thread can pass on). */
export interface RawTransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
}

/** `createNodeTransport`'s exchange, answering with Node's own header object. */
export interface NodeExchange {
  send(request: TransportRequest): Promise<RawTransportResponse>;
  close(): void;
}

/**
 * The default transport: `node:http`/`node:https` with keep-alive agents and a
 * pinned `lookup`. (Node's built-in fetch does not expose undici's `Agent`
 * without installing undici, and a `lookup` hook is all the pinning needs.)
 * Redirects are not followed. The response body is drained and discarded.
 */
export function createNodeTransport(options: NodeTransportOptions = {}): ClosableTransport {
  const exchange = createNodeExchange(options);
  return {
    send: async (request) => {
      const { status, headers } = await exchange.send(request);
      return { status, headers: headerReader(headers) };
    },
    close: () => exchange.close(),
  };
}

/** The exchange behind `createNodeTransport`, also what its worker thread runs (`createWorkerTransport`). */
export function createNodeExchange(options: NodeTransportOptions = {}): NodeExchange {
  // The agents' socket timeout closes idle kept-alive sockets (Node destroys a free socket that
  // times out); a request in flight is bounded by the sender's own attempt timeout instead.
  const timeout = Math.max(1, options.idleSocketTimeoutMs ?? 5000);
  const agents = {
    http: new HttpAgent({ keepAlive: true, timeout }),
    // The CAs go in as one secure context built here: given as `ca`, Node would fold the whole
    // certificate list into the agent's pool key on every request.
    https: new HttpsAgent({
      keepAlive: true,
      timeout,
      ...(options.ca === undefined ? {} : { secureContext: createSecureContext({ ca: options.ca }) }),
    }),
  };
  const send = ({ sink, method, headers, body, signal }: TransportRequest) =>
    new Promise<RawTransportResponse>((resolve, reject) => {
      const secure = sink.url.protocol === 'https:';
      const request = (secure ? httpsRequest : httpRequest)(sink.url, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(body.byteLength) },
        agent: secure ? agents.https : agents.http,
        lookup: pinnedLookup(sink),
        signal,
      });
      request.on('error', reject);
      request.on('response', (response) => {
        // Only status and headers matter; drain the body so the socket can be reused.
        response.on('error', () => {});
        response.resume();
        resolve({ status: response.statusCode ?? 0, headers: response.headers });
      });
      request.end(
        body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      );
    });
  return {
    send,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
