/**
 * A media thread's entry (see `ThreadedWeriftMediaBackend`): a werift media
 * backend of its own, on its share of the port range, running what the main
 * thread asks and posting back results, errors and endpoint failures.
 */
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { MediaEndpoint } from '../../network/media-backend.js';
import { watchGcPauses } from '../../observability/gc-pauses.js';
import { currentThreadId, failureCode, realtimePriority, setRealtime, setThreadNice } from '../priority.js';
import type {
  MediaThreadData,
  MediaThreadDiagnostics,
  MediaThreadReply,
  MediaThreadRequest,
} from './media-thread-protocol.js';
import { toThreadError } from './media-thread-protocol.js';
import { WeriftMediaBackend } from './werift-media-backend.js';

const port = parentPort;
if (port === null) throw new Error('media-thread runs as a worker thread');
const data = workerData as MediaThreadData;
const backend = new WeriftMediaBackend(data.options);
const endpoints = new Map<string, MediaEndpoint>();
const post = (reply: MediaThreadReply) => port.postMessage(reply);

// Before any packet: the relay runs ahead of other work on the machine from the start.
if (data.nice !== undefined) {
  try {
    setThreadNice(data.nice);
  } catch (error) {
    post({
      warning: `media thread runs at nice ${getPriority(0)}, not ${data.nice} (MEDIA_NICE): ${failureCode(error)}`,
    });
  }
}

if (data.realtime !== undefined) {
  try {
    setRealtime(currentThreadId(), data.realtime);
  } catch (error) {
    post({ warning: `media thread runs as a normal thread (MEDIA_REALTIME): ${(error as Error).message}` });
  }
}

const gc = watchGcPauses();

function ownRealtimePriority(): number {
  try {
    return realtimePriority();
  } catch {
    return Number.NaN; // not Linux
  }
}

function diagnostics(reset: boolean): MediaThreadDiagnostics {
  let runDelayMs = Number.NaN;
  try {
    // The second field: nanoseconds spent runnable, waiting for a core.
    runDelayMs = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  } catch {
    // Not Linux, or a kernel without schedstats.
  }
  const { count, totalMs, maxMs } = gc.read(reset);
  return {
    gcCount: count,
    gcTotalMs: totalMs,
    gcMaxMs: maxMs,
    runDelayMs,
    nice: getPriority(0),
    realtime: ownRealtimePriority(),
  };
}

async function run(request: MediaThreadRequest): Promise<unknown> {
  switch (request.op) {
    case 'create': {
      const { endpoint, ...sdp } =
        request.kind === 'webrtc'
          ? await backend.createFromWebRtcOffer(request.offer)
          : request.kind === 'rtp'
            ? await backend.createFromRtpOffer(request.offer)
            : await backend.createOffers();
      endpoints.set(endpoint.id, endpoint);
      endpoint.onFailure?.((reason) => post({ failure: endpoint.id, reason }));
      return { endpoint: endpoint.id, ...sdp };
    }
    case 'call': {
      const endpoint = endpoints.get(request.endpoint);
      if (request.method === 'close') {
        endpoints.delete(request.endpoint);
        return endpoint?.close();
      }
      // As the endpoint itself answers once closed.
      if (endpoint === undefined) throw new Error(`media endpoint ${request.endpoint} is closed`);
      return (endpoint[request.method] as (arg: unknown) => Promise<unknown>).call(endpoint, request.arg);
    }
    case 'diagnostics':
      return diagnostics(request.reset);
    case 'close':
      endpoints.clear();
      return backend.close();
  }
}

port.on('message', (request: MediaThreadRequest) => {
  run(request).then(
    (value) => post({ id: request.id, value, stats: backend.stats() }),
    (error: unknown) => post({ id: request.id, error: toThreadError(error), stats: backend.stats() }),
  );
});
