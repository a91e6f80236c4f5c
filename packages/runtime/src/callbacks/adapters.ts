/**
 * Framework adapters of the callback receiver. They take the framework's
 * objects structurally, so this module imports neither express nor fastify
 * and works in an app that has only one of them (or neither: `fetch`, `node`).
 */
import type { CallbackDefinitions } from './definitions.js';
import {
  type CallbackReceiverCore,
  type CallbackReceiverOptions,
  type CallbackReply,
  createCallbackReceiverCore,
  type HeaderReader,
  type IncomingCallbackRequest,
} from './receiver.js';

/** The parts of a Node `IncomingMessage` (Express `Request`) the adapter reads. */
export interface NodeLikeRequest extends AsyncIterable<unknown> {
  method?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Set when a body parser ran first (`express.raw()` gives a Buffer, `express.json()` an object). */
  body?: unknown;
}

/** The parts of a Node `ServerResponse` (Express `Response`) the adapter writes. */
export interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(chunk?: string): unknown;
}

/** Express-compatible middleware; also a plain `http.createServer` listener. */
export type NodeCallbackHandler = (
  req: NodeLikeRequest,
  res: NodeLikeResponse,
  next?: (error?: unknown) => void,
) => void;

/** The parts of a Fastify reply the plugin uses. */
export interface FastifyLikeReply {
  code(status: number): FastifyLikeReply;
  header(name: string, value: string): FastifyLikeReply;
  send(payload?: string): unknown;
}

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyLikeInstance {
  removeAllContentTypeParsers(): unknown;
  addContentTypeParser(
    contentType: string,
    options: { parseAs: 'buffer'; bodyLimit: number },
    parser: (request: unknown, body: Buffer, done: (error: Error | null, body?: unknown) => void) => void,
  ): unknown;
  route(options: {
    method: string[];
    url: string;
    handler(
      request: { method: string; headers: Record<string, unknown>; body: unknown },
      reply: FastifyLikeReply,
    ): Promise<unknown>;
  }): unknown;
}

export interface FastifyCallbackPluginOptions {
  /** Route path inside the plugin's prefix (default `/`). */
  path?: string;
}

/** A Fastify plugin: `app.register(receiver.fastify, { prefix: '/webhooks' })`. */
export type FastifyCallbackPlugin = (
  instance: FastifyLikeInstance,
  options: FastifyCallbackPluginOptions,
) => Promise<void>;

/** A receiver with one adapter per way of serving HTTP. */
export interface CallbackReceiver {
  /** Framework-free core: a request in, a reply out. */
  handle(request: IncomingCallbackRequest): Promise<CallbackReply>;
  /** WHATWG fetch handler (`(Request) => Promise<Response>`): Node, Deno, Bun, workers, Hono. */
  fetch(request: Request): Promise<Response>;
  /** Express middleware, mount it where the sink is: `app.post('/webhooks', receiver.express)`. Mount it before any body parser. */
  express: NodeCallbackHandler;
  /** Listener for `http.createServer(receiver.node)`. */
  node: NodeCallbackHandler;
  /** Fastify plugin; registers the route at `options.path` with its own raw-body parser. */
  fastify: FastifyCallbackPlugin;
  /** The same receiver restricted to one callback id, for a dedicated endpoint. */
  only(callbackId: string): CallbackReceiver;
}

function headersOf(record: Record<string, unknown>): HeaderReader {
  return {
    get(name) {
      const value = record[name.toLowerCase()];
      if (value === undefined || value === null) return null;
      return Array.isArray(value) ? value.join(', ') : String(value);
    },
  };
}

class BodyTooLarge extends Error {}

async function readBody(req: NodeLikeRequest, limit: number): Promise<Uint8Array> {
  const { body } = req;
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return new TextEncoder().encode(body);
  // A JSON body parser ran first: the raw bytes are gone, so a signature check will fail.
  if (body !== undefined && body !== null && typeof body === 'object') {
    return new TextEncoder().encode(JSON.stringify(body));
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req) {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : (chunk as Uint8Array);
    size += bytes.byteLength;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

const tooLarge = (limit: number): CallbackReply => ({
  status: 400,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    status: 400,
    code: 'INVALID_ARGUMENT',
    message: `Body is larger than ${limit} bytes.`,
  }),
});

function adapt(core: CallbackReceiverCore, only: (callbackId: string) => CallbackReceiver): CallbackReceiver {
  const node: NodeCallbackHandler = (req, res, next) => {
    const run = async () => {
      let reply: CallbackReply;
      try {
        const body = await readBody(req, core.maxBodyBytes);
        reply = await core.handle({ method: req.method ?? 'GET', headers: headersOf(req.headers), body });
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        reply = tooLarge(core.maxBodyBytes);
      }
      res.statusCode = reply.status;
      for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
      res.end(reply.body);
    };
    run().catch((error: unknown) => {
      if (next) next(error);
      else {
        res.statusCode = 500;
        res.end();
      }
    });
  };

  return {
    handle: core.handle,
    async fetch(request) {
      const declared = Number(request.headers.get('content-length') ?? '0');
      let reply: CallbackReply;
      if (declared > core.maxBodyBytes) {
        reply = tooLarge(core.maxBodyBytes);
      } else {
        const body = new Uint8Array(await request.arrayBuffer());
        reply = await core.handle({ method: request.method, headers: request.headers, body });
      }
      return new Response(reply.body ?? null, { status: reply.status, headers: reply.headers });
    },
    express: node,
    node,
    async fastify(instance, options) {
      // Encapsulated in this plugin's context: the app's own JSON parser is untouched elsewhere.
      instance.removeAllContentTypeParsers();
      instance.addContentTypeParser(
        '*',
        { parseAs: 'buffer', bodyLimit: core.maxBodyBytes },
        (_request, body, done) => done(null, body),
      );
      instance.route({
        method: [...core.methods],
        url: options.path ?? '/',
        async handler(request, reply) {
          const body = request.body instanceof Uint8Array ? request.body : new Uint8Array();
          const answer = await core.handle({
            method: request.method,
            headers: headersOf(request.headers),
            body,
          });
          reply.code(answer.status);
          for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
          return reply.send(answer.body);
        },
      });
    },
    only,
  };
}

/**
 * The receiver behind a generated `create<Api>CallbackReceiver`: validates
 * each request, drops duplicates and calls the handler of its callback or
 * CloudEvents `type`; answers 204, 400 `INVALID_ARGUMENT`, 401
 * `UNAUTHENTICATED`, or 500 when a handler throws.
 */
export function createCallbackReceiver(
  definitions: CallbackDefinitions,
  handlers: object,
  options: CallbackReceiverOptions = {},
): CallbackReceiver {
  const only = (callbackId: string): CallbackReceiver => {
    const subset = Object.fromEntries(Object.entries(definitions).filter(([, d]) => d.id === callbackId));
    if (Object.keys(subset).length === 0)
      throw new TypeError(`callback receiver: unknown callback id "${callbackId}"`);
    return adapt(createCallbackReceiverCore(subset, handlers, options), only);
  };
  return adapt(createCallbackReceiverCore(definitions, handlers, options), only);
}
