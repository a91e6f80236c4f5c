import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallbackLogger } from '../../src/callbacks/index.js';

export interface SinkRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SinkAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Wait before answering. */
  delayMs?: number;
}

/**
 * An HTTP sink on 127.0.0.1 that records requests. `answer` decides each
 * reply (default 204); `pass` hands the request to a real handler instead.
 */
export async function startSink(
  answer: (request: SinkRequest, index: number) => SinkAnswer | 'pass' = () => ({ status: 204 }),
  pass?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void,
) {
  const requests: SinkRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: body.toString(),
      };
      requests.push(recorded);
      const reply = answer(recorded, requests.length - 1);
      if (reply === 'pass') {
        pass!(req, res, body);
        return;
      }
      setTimeout(() => {
        res.writeHead(reply.status, reply.headers);
        res.end();
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sink`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A logger that keeps every line as text, to search for leaked secrets. */
export function captureLogger(): { logger: CallbackLogger; lines: string[] } {
  const lines: string[] = [];
  const write = (level: string) => (fields: Record<string, unknown>, message: string) =>
    lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  return {
    lines,
    logger: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') },
  };
}

/** A clock whose sleeps return at once and are recorded. */
export function instantClock(start = Date.parse('2025-06-01T12:00:00Z')) {
  const sleeps: number[] = [];
  let now = start;
  return {
    sleeps,
    clock: {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    },
  };
}

/** Policy for tests: plain HTTP to the loopback sink, allowlisted explicitly. */
export const LOOPBACK_POLICY = { allowHttp: true, allowlist: ['127.0.0.1'] } as const;
