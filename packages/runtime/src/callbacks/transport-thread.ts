/**
 * The worker thread behind `createWorkerTransport`: it runs the node transport's
 * exchange (HTTP, TLS, keep-alive sockets) for requests posted by the main
 * thread and posts back each response's status and headers, or its error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createNodeExchange, type NodeTransportOptions } from './transport.js';
import type { ThreadMessage, ThreadReply } from './worker-transport.js';

const port = parentPort;
if (port === null) throw new Error('transport-thread runs as a worker thread only');

const exchange = createNodeExchange(workerData as NodeTransportOptions);
const inFlight = new Map<number, AbortController>();

function errorOf(error: unknown): Extract<ThreadReply, { error: unknown }>['error'] {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

port.on('message', (message: ThreadMessage) => {
  switch (message.kind) {
    case 'abort':
      inFlight.get(message.id)?.abort(new Error(message.reason));
      return;
    case 'close':
      for (const abort of inFlight.values()) abort.abort(new Error('transport closed'));
      exchange.close();
      port.close();
      return;
    case 'send': {
      const { id } = message;
      const abort = new AbortController();
      inFlight.set(id, abort);
      // Whatever goes wrong with one request (a bad URL included) is that request's error, not the thread's end.
      Promise.resolve()
        .then(() =>
          exchange.send({
            sink: { url: new URL(message.url), addresses: message.addresses },
            method: message.method,
            headers: message.headers,
            body: message.body,
            signal: abort.signal,
          }),
        )
        .then(
          ({ status, headers }) => port.postMessage({ id, status, headers } satisfies ThreadReply),
          (error: unknown) => port.postMessage({ id, error: errorOf(error) } satisfies ThreadReply),
        )
        .finally(() => inFlight.delete(id));
    }
  }
});

// Built the exchange (its TLS context included) and listening: the transport's `start()` resolves.
port.postMessage({ ready: true } satisfies ThreadReply);
