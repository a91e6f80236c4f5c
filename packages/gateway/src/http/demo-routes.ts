import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ApiError, PermissionDeniedError, TooManyRequestsError } from '@telegate/runtime/server';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuthContext } from '../auth/auth.js';
import { registrationEndsEvent, sessionInvitationEvent, sessionStatusEvent } from '../events/cloud-events.js';
import type { SubscriberEvent } from '../events/subscriber-events.js';
import type { Gateway } from '../gateway.js';
import { PHONE_NUMBER_PATTERN } from '../sip/address.js';

/** Where the build (`npm run build`) writes the device page: `dist/demo/`, from `src/http/` and `dist/http/` alike. */
const PAGE_DIR = new URL('../../dist/demo/', import.meta.url);

/** The files of the device page, by URL path under `/demo`. */
const PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/device-page.js': { file: 'device-page.js', type: 'text/javascript; charset=utf-8' },
};

export interface DemoRoutesOptions {
  gateway: Gateway;
  /** Issues a dev token, or `undefined` when the gateway does not issue tokens (not `AUTH_MODE=dev`). */
  issueToken: ((phoneNumber: string) => Promise<string>) | undefined;
  /** The address the gateway listens on: tokens are only handed out on loopback. */
  host: string;
  /** Open event streams allowed per subscriber number (default 4). */
  maxStreamsPerSubscriber?: number;
  /** Interval of the SSE comment that keeps idle streams (and proxies) alive, ms (default 15 000). */
  heartbeatMs?: number;
  source: string;
}

/** Whether `host` is an address only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const version = isIP(host);
  if (version === 4) return host.startsWith('127.');
  if (version === 6) return host === '::1' || host.startsWith('::ffff:127.');
  return false;
}

function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const apiError =
    error instanceof ApiError ? error : new ApiError(500, 'INTERNAL', 'The request could not be completed.');
  for (const [name, value] of Object.entries(apiError.headers)) void reply.header(name, value);
  return reply.code(apiError.status).send(apiError.toErrorInfo());
}

/**
 * The device page at `/demo`, a dev token for it (`POST /demo/token`, only
 * in dev auth mode on a loopback listener), and `GET /demo/events`: the
 * token's subscriber's own events as server-sent events, because the CAMARA
 * events API only pushes to https sinks, which a browser is not.
 */
export function registerDemoRoutes(app: FastifyInstance, options: DemoRoutesOptions): { close(): void } {
  const { gateway } = options;
  const maxStreams = options.maxStreamsPerSubscriber ?? 4;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const streams = new Set<() => void>();

  for (const [path, { file, type }] of Object.entries(PAGE_FILES)) {
    app.get(`/demo${path}`, async (_request, reply) => {
      try {
        const body = await readFile(new URL(file, PAGE_DIR));
        return reply.type(type).header('cache-control', 'no-cache').send(body);
      } catch {
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send('The device page is not built: run `npm run build`.\n');
      }
    });
  }

  app.post('/demo/token', async (request, reply) => {
    try {
      if (options.issueToken === undefined) {
        throw new PermissionDeniedError('Dev tokens are only issued when AUTH_MODE is dev.');
      }
      // A token for any number to whoever asks: only for someone on this very machine.
      if (!isLoopbackHost(options.host) || !isLoopbackHost(request.socket.remoteAddress ?? '')) {
        throw new PermissionDeniedError('Dev tokens are only issued on a gateway listening on loopback.');
      }
      const phoneNumber = (request.body as { phoneNumber?: unknown } | undefined)?.phoneNumber;
      if (typeof phoneNumber !== 'string' || !PHONE_NUMBER_PATTERN.test(phoneNumber)) {
        throw new ApiError(
          400,
          'INVALID_ARGUMENT',
          'phoneNumber must be an E.164 number (+ and 5 to 15 digits).',
        );
      }
      return reply.send({ accessToken: await options.issueToken(phoneNumber), phoneNumber });
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get('/demo/events', async (request, reply) => {
    let auth: AuthContext;
    try {
      auth = await gateway.authenticate(request.headers.authorization, []);
      if (gateway.subscriberWatchers(auth.phoneNumber) >= maxStreams) {
        throw new TooManyRequestsError(`At most ${maxStreams} event streams may be open per subscriber.`);
      }
    } catch (error) {
      return sendError(reply, error);
    }
    const streamId = `stream-${randomUUID()}`;
    const raw = reply.hijack().raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      connection: 'close',
    });
    const write = (text: string) => {
      if (!raw.writableEnded) raw.write(text);
    };
    write(`: events of ${auth.phoneNumber}\n\n`);
    const unwatch = gateway.watchSubscriber(auth.phoneNumber, (event) => {
      const cloudEvent = toCloudEvent(event, streamId, options.source);
      write(`event: ${cloudEvent.type}\nid: ${cloudEvent.id}\ndata: ${JSON.stringify(cloudEvent)}\n\n`);
    });
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
    const end = () => {
      if (!streams.delete(end)) return;
      clearInterval(heartbeat);
      unwatch();
      // The socket goes with the stream (it is not reused): a lingering one would hold up shutdown.
      const socket = request.raw.socket;
      if (raw.writableEnded || raw.destroyed) socket.destroy();
      else raw.end(() => socket.destroy());
    };
    streams.add(end);
    raw.on('close', end);
  });

  return {
    /** Ends every open event stream (the gateway is closing). */
    close() {
      for (const end of [...streams]) end();
    },
  };
}

function toCloudEvent(event: SubscriberEvent, streamId: string, source: string) {
  const fields = { id: randomUUID(), source, at: event.at, subscriptionId: streamId };
  switch (event.type) {
    case 'session-invitation':
      return sessionInvitationEvent({
        ...fields,
        session: event.session,
        sequenceNumber: event.sequenceNumber,
        ...(event.reason === undefined ? {} : { reason: event.reason }),
      });
    case 'session-status':
      return sessionStatusEvent({
        ...fields,
        session: event.session,
        sequenceNumber: event.sequenceNumber,
        reason: event.reason,
        includeSdp: event.includeSdp,
      });
    case 'registration-ends':
      return registrationEndsEvent({
        ...fields,
        registrationId: event.registration.registrationId,
        terminationReason: event.terminationReason,
        terminationDescription: event.terminationDescription,
      });
  }
}
