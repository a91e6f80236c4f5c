// Type-only imports: the runtime loads without Fastify installed.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { CORRELATOR_HEADER } from './correlator.js';
import type { ApiDefinition } from './operations.js';
import { documentParams, missingParamRoutes, type RoutePath, routePath } from './paths.js';
import {
  allowedMethods,
  createOperationRunner,
  frameworkErrorResponse,
  hasRequestBody,
  type OperationRunner,
  resolveHandlers,
  resolveServerOptions,
  type ServerOptions,
  type ServerResponse,
  UnreadableBody,
  unmatchedResponse,
} from './pipeline.js';
import { createResponseSerializers } from './serializers.js';

/** Methods a 405 route answers for; HEAD is left to Fastify's automatic HEAD route where GET exists. */
const ANSWERED_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** find-my-way matches `/sessions/` to `/sessions/:id` with an empty `id`; Express (and the document) do not. */
function hasEmptyParam(params: unknown): boolean {
  return Object.values(params as Record<string, string>).some((value) => value === '');
}

/**
 * What Fastify turns a bare `application/json` into. Set as this one constant,
 * the header stays a flat string: Fastify's own `${type}; charset=utf-8` is
 * built anew per response, and Node flattens it again to check it.
 */
const JSON_WITH_CHARSET = 'application/json; charset=utf-8';

function write(reply: FastifyReply, response: ServerResponse): FastifyReply {
  const headers = response.headers;
  if (headers['content-type'] === 'application/json') headers['content-type'] = JSON_WITH_CHARSET;
  reply.code(response.status).headers(headers);
  // A JSON value goes to Fastify's own serializer, which also sets the JSON content type.
  if (response.json !== undefined) return reply.send(response.json);
  return response.body === undefined ? reply.send() : reply.send(response.body);
}

/**
 * JSON only, in this plugin's scope: an empty body counts as none (as with
 * Express). Malformed JSON and other media types are not refused here but handed
 * on (`UnreadableBody`, a body of another type read and dropped), so the pipeline
 * answers them with 400 / 415 after `authenticate`: no token is 401 whatever the body.
 */
function useJsonParser(fastify: FastifyInstance, bodyLimit: number): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  for (const type of ['application/json', /^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]+\+json$/i]) {
    fastify.addContentTypeParser(type, { parseAs: 'string', bodyLimit }, (request, body, done) => {
      if (body.length === 0) {
        done(null, undefined);
        return;
      }
      parseJson(request, body.toString(), (error, value) =>
        done(null, error === null ? value : new UnreadableBody(error)),
      );
    });
  }
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, _body, done) =>
    done(null, undefined),
  );
}

/**
 * A Fastify 5 plugin serving the operations of `api` with `handlers`; register
 * it with `{ prefix: <mount path> }`. Encapsulated: its JSON parser, error and
 * not-found handlers apply to its routes only. Throws at once when a handler
 * method is missing (unless `allowPartial`).
 *
 * Create the Fastify instance with `routerOptions.maxParamLength` above the
 * longest path parameter the document allows: Fastify answers longer ones with
 * 404 before any plugin runs (its default is 100).
 */
export function createFastifyPlugin<Auth, Req extends FastifyRequest = FastifyRequest>(
  api: ApiDefinition,
  handlers: object,
  options: ServerOptions<Auth, Req> = {},
  factory = 'createPlugin',
): FastifyPluginAsync {
  const resolved = resolveServerOptions(options);
  const handlerFunctions = resolveHandlers(api, handlers, resolved, factory);
  const serializers = createResponseSerializers(api.responseSchemas);
  const generate = resolved.generateCorrelator;
  const allow = allowedMethods(api);

  return async function telegatePlugin(fastify) {
    useJsonParser(fastify, resolved.bodyLimit);
    fastify.setErrorHandler((error, request, reply) => {
      // Keep the correlator the response already carries (Fastify's serializer fails after the pipeline set it).
      const chosen = reply.getHeader(CORRELATOR_HEADER);
      const headers =
        typeof chosen === 'string' ? { ...request.headers, [CORRELATOR_HEADER]: chosen } : request.headers;
      write(reply, frameworkErrorResponse(error, headers, resolved.logger ?? request.log, generate));
    });
    fastify.setNotFoundHandler((request, reply) =>
      write(reply, unmatchedResponse(request.headers, undefined, generate)),
    );

    const runners = new Map<string, OperationRunner<Req>>();
    for (const [operationId, operation] of Object.entries(api.operations)) {
      const route = routePath(operation.path, 'fastify');
      const run = createOperationRunner<Auth, Req>({
        operationId,
        operation,
        handler: handlerFunctions.get(operationId)!,
        parser: api.requestParsers?.[operationId],
        responseValidator: api.responseValidators?.[operationId],
        serializers: serializers.get(operationId),
        options: resolved,
        logger: (request) => request.log,
        frameworkSerializesJson: true,
      });
      runners.set(operationId, run);
      fastify.route({
        method: operation.method,
        url: route.path,
        bodyLimit: resolved.bodyLimit,
        handler: handle(run, route),
      });
    }

    // Requests missing a path parameter run their operation without it: its validator answers 400.
    // (An empty parameter, `/sessions//status`, reaches the operation's own route with `''`.)
    const missingMethods = new Map<string, string[]>();
    for (const gap of missingParamRoutes(api.operations)) {
      if (gap.emptySegment) continue;
      const route = routePath(gap.template, 'fastify');
      const methods = missingMethods.get(gap.template) ?? [];
      methods.push(gap.method);
      if (gap.method === 'GET') methods.push('HEAD');
      missingMethods.set(gap.template, methods);
      fastify.route({
        method: gap.method as HTTPMethods,
        url: route.path,
        bodyLimit: resolved.bodyLimit,
        handler: handle(runners.get(gap.operationId)!, route),
      });
    }

    /** The route handler running `run`; not `async`: the response is written at once when nothing in the pipeline answered with a promise. */
    function handle(run: OperationRunner<Req>, route: RoutePath) {
      const hasParams = route.params.length > 0;
      return (request: FastifyRequest, reply: FastifyReply) => {
        const response = run(
          {
            params: hasParams ? documentParams(route, request.params as Record<string, string>) : {},
            query: request.query as Record<string, string | string[] | undefined>,
            headers: request.headers,
            body: request.body,
            hasBody: hasRequestBody(request.headers),
          },
          request as Req,
        );
        // Callback style (no promise handed back to Fastify): one turn of the event loop fewer.
        if (response instanceof Promise) {
          response.then(
            (settled) => {
              try {
                write(reply, settled);
              } catch (error) {
                reply.send(error);
              }
            },
            (error: unknown) => reply.send(error),
          );
        } else {
          write(reply, response);
        }
      };
    }

    for (const [template, documented] of allow) {
      const methods = [...documented, ...(missingMethods.get(template) ?? [])];
      const others = ANSWERED_METHODS.filter((method) => !methods.includes(method));
      if (others.length === 0) continue;
      fastify.route({
        method: others,
        url: routePath(template, 'fastify').path,
        handler: (request, reply) =>
          write(
            reply,
            unmatchedResponse(
              request.headers,
              hasEmptyParam(request.params) ? undefined : documented,
              generate,
            ),
          ),
      });
    }
  };
}
