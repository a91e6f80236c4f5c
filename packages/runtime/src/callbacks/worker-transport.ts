import type { IncomingHttpHeaders } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { ResolvedAddress } from './sink-guard.js';
import {
  type CallbackTransport,
  type ClosableTransport,
  headerReader,
  type NodeTransportOptions,
  type TransportResponse,
} from './transport.js';

/** What the main thread posts to the transport thread. */
export type ThreadMessage =
  | {
      kind: 'send';
      id: number;
      url: string;
      addresses: ResolvedAddress[];
      method: string;
      headers: Record<string, string>;
      body: Uint8Array | undefined;
    }
  | { kind: 'abort'; id: number; reason: string }
  | { kind: 'close' };

/** What the transport thread posts back: once `ready` when it has started, then one per `send`. */
export type ThreadReply =
  | { ready: true }
  | { id: number; status: number; headers: IncomingHttpHeaders }
  | { id: number; error: { name?: string; message: string; code?: string } };

interface Pending {
  resolve(response: TransportResponse): void;
  reject(error: Error): void;
  signal: AbortSignal;
  onAbort(): void;
}

/**
 * The thread's entry. From the built package it is the compiled module beside
 * this one; run from the TypeScript sources (this repository's tests), it is
 * loaded through tsx, which is then among the dev dependencies.
 */
function startThread(options: NodeTransportOptions): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  if (!fromSources) {
    return new Worker(new URL('./transport-thread.js', import.meta.url), { workerData: options });
  }
  const entry = JSON.stringify(new URL('./transport-thread.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${entry}, ${entry}));`, {
    eval: true,
    workerData: options,
  });
}

function errorFrom(reply: Extract<ThreadReply, { error: unknown }>['error']): Error {
  const error = new Error(reply.message);
  if (reply.name !== undefined) error.name = reply.name;
  if (reply.code !== undefined) Object.assign(error, { code: reply.code });
  return error;
}

/**
 * The node transport (`createNodeTransport`: keep-alive agents, pinned
 * `lookup`, the same options) run on a worker thread of its own, so the
 * requests' HTTP and TLS work (encryption, parsing, socket events, and the
 * garbage they leave) stays off the thread that answers the API and signals
 * calls. The main thread posts each request and gets back its status and
 * headers. The thread starts with `start()` or else the first request, keeps
 * the process alive only while a request is in flight, and, should it ever
 * stop, fails the requests in flight and is started again by the next one.
 */
export function createWorkerTransport(options: NodeTransportOptions = {}): ClosableTransport {
  let thread: Worker | undefined;
  /** Settles when the current thread has started (its module loaded, its TLS context built) or failed to. */
  let ready: Promise<void> = Promise.resolve();
  let closed = false;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const settle = (id: number): Pending | undefined => {
    const entry = pending.get(id);
    if (entry === undefined) return undefined;
    pending.delete(id);
    entry.signal.removeEventListener('abort', entry.onAbort);
    if (pending.size === 0) thread?.unref();
    return entry;
  };

  const failAll = (error: Error) => {
    for (const id of [...pending.keys()]) settle(id)?.reject(error);
  };

  const threadFor = (): Worker => {
    if (thread !== undefined) return thread;
    const started = startThread(options);
    let markReady = () => {};
    let failReady = (_error: Error) => {};
    ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    // Awaited by `start()` only; a thread that fails unawaited fails its requests instead.
    ready.catch(() => {});
    started.on('message', (reply: ThreadReply) => {
      if ('ready' in reply) {
        markReady();
        return;
      }
      const entry = settle(reply.id);
      if (entry === undefined) return;
      if ('error' in reply) entry.reject(errorFrom(reply.error));
      else entry.resolve({ status: reply.status, headers: headerReader(reply.headers) });
    });
    const stopped = (error: Error) => {
      failReady(error);
      if (thread !== started) return;
      thread = undefined;
      failAll(error);
    };
    started.on('error', (error) => stopped(new Error(`callback transport thread failed: ${error.message}`)));
    started.on('exit', (code) => stopped(new Error(`callback transport thread exited (code ${code})`)));
    thread = started;
    return started;
  };

  const send: CallbackTransport = ({ sink, method, headers, body, signal }) =>
    new Promise<TransportResponse>((resolve, reject) => {
      if (closed) return reject(new Error('transport closed'));
      if (signal.aborted) return reject(signal.reason as Error);
      const id = nextId++;
      const worker = threadFor();
      const onAbort = () => {
        const reason = signal.reason as unknown;
        worker.postMessage({
          kind: 'abort',
          id,
          reason: reason instanceof Error ? reason.message : String(reason),
        } satisfies ThreadMessage);
        settle(id)?.reject(reason instanceof Error ? reason : new Error(String(reason)));
      };
      pending.set(id, { resolve, reject, signal, onAbort });
      signal.addEventListener('abort', onAbort, { once: true });
      worker.ref();
      // An exact copy (a pooled Buffer's view would post its whole pool slab), handed over, not cloned.
      const bytes = body === undefined ? undefined : new Uint8Array(body);
      worker.postMessage(
        {
          kind: 'send',
          id,
          url: sink.url.href,
          addresses: sink.addresses,
          method,
          headers,
          body: bytes,
        } satisfies ThreadMessage,
        bytes === undefined ? [] : [bytes.buffer],
      );
    });

  return {
    send,
    async start() {
      if (closed) throw new Error('transport closed');
      threadFor();
      await ready;
      if (pending.size === 0) thread?.unref();
    },
    close() {
      if (closed) return;
      closed = true;
      failAll(new Error('transport closed'));
      const worker = thread;
      thread = undefined;
      if (worker === undefined) return;
      worker.postMessage({ kind: 'close' } satisfies ThreadMessage);
      // The thread ends once its port closes; terminate bounds that if a socket holds it.
      const timer = setTimeout(() => void worker.terminate(), 1_000);
      timer.unref();
      worker.once('exit', () => clearTimeout(timer));
      worker.unref();
    },
  };
}
