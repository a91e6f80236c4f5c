// Type-only imports: the runtime loads without Express installed; the generated
// router passes the `express` module in.
import type { IncomingMessage } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler, Response, Router, RouterOptions } from 'express';
import type { ApiDefinition } from './operations.js';
import { documentParams, missingParamRoutes, type RoutePath, routePath } from './paths.js';
import {
  allowedMethods,
  consoleLogger,
  createOperationRunner,
  frameworkErrorResponse,
  hasRequestBody,
  isJsonMediaType,
  mediaTypeOf,
  type OperationRunner,
  resolveHandlers,
  resolveServerOptions,
  type ServerOptions,
  type ServerResponse,
  UnreadableBody,
  unmatchedResponse,
} from './pipeline.js';
import { createResponseSerializers } from './serializers.js';

/** The parts of the `express` module the router uses. */
export interface ExpressModule {
  Router(options?: RouterOptions): Router;
  json(options?: {
    limit?: number | string;
    strict?: boolean;
    type?: (request: IncomingMessage) => boolean;
  }): RequestHandler;
}

type RouteMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';

function write(res: Response, response: ServerResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (response.body === undefined) {
    res.end();
    return;
  }
  res.setHeader('content-length', Buffer.byteLength(response.body));
  res.end(response.body);
}

/**
 * An Express 5 router serving the operations of `api` with `handlers`, paths
 * relative to where it is mounted (the document's base path). Unknown paths get
 * `404`, undocumented methods `405` with `Allow`, and every error an `ErrorInfo`.
 * Throws at once when a handler method is missing (unless `allowPartial`).
 */
export function createExpressRouter<Auth, Req extends Request = Request>(
  express: ExpressModule,
  api: ApiDefinition,
  handlers: object,
  options: ServerOptions<Auth, Req> = {},
  factory = 'createRouter',
): Router {
  const resolved = resolveServerOptions(options);
  const handlerFunctions = resolveHandlers(api, handlers, resolved, factory);
  const serializers = createResponseSerializers(api.responseSchemas);
  const logger = resolved.logger ?? consoleLogger;
  const generate = resolved.generateCorrelator;
  // Paths match exactly, as in the document and in Fastify: `/sessions/` is not `/sessions`.
  const router = express.Router({ caseSensitive: true, strict: true });
  const parseJson = express.json({
    limit: resolved.bodyLimit,
    strict: false,
    type: (request) => isJsonMediaType(mediaTypeOf(request.headers['content-type'])),
  });
  // Malformed JSON is answered by the pipeline after `authenticate` (no token: 401 first).
  const json: RequestHandler = (req, res, next) =>
    parseJson(req, res, (error?: unknown) => {
      if ((error as { type?: unknown } | undefined)?.type === 'entity.parse.failed') {
        req.body = new UnreadableBody(error);
        next();
      } else next(error);
    });

  const allow = allowedMethods(api);
  const byPath = new Map<string, [string, ApiDefinition['operations'][string]][]>();
  for (const entry of Object.entries(api.operations)) {
    const list = byPath.get(entry[1].path) ?? [];
    list.push(entry);
    byPath.set(entry[1].path, list);
  }

  const runners = new Map<string, OperationRunner<Req>>();
  for (const [operationId, operation] of Object.entries(api.operations)) {
    runners.set(
      operationId,
      createOperationRunner<Auth, Req>({
        operationId,
        operation,
        handler: handlerFunctions.get(operationId)!,
        parser: api.requestParsers?.[operationId],
        responseValidator: api.responseValidators?.[operationId],
        serializers: serializers.get(operationId),
        options: resolved,
        logger: () => logger,
      }),
    );
  }

  /** The route handler running `run`, with the framework's params read as `route` names them. */
  const handler =
    (run: OperationRunner<Req>, route: RoutePath): RequestHandler =>
    (req, res) => {
      const response = run(
        {
          params: documentParams(route, req.params as Record<string, string>),
          query: req.query as Record<string, string | string[] | undefined>,
          headers: req.headers,
          body: req.body,
          hasBody: hasRequestBody(req.headers),
        },
        req as Req,
      );
      if (response instanceof Promise) return response.then((settled) => write(res, settled));
      write(res, response);
      return undefined;
    };

  // First the requests missing a path parameter (`DELETE /sessions`, `PUT /sessions//status`):
  // their operation runs without it and its validator answers 400 naming it.
  for (const gap of missingParamRoutes(api.operations)) {
    const route = routePath(gap.template, 'express');
    const operation = api.operations[gap.operationId]!;
    const method = gap.method.toLowerCase() as RouteMethod;
    const handle = handler(runners.get(gap.operationId)!, route);
    if (operation.hasBody) router.route(route.path)[method](json, handle);
    else router.route(route.path)[method](handle);
  }

  for (const [template, operations] of byPath) {
    const route = routePath(template, 'express');
    const expressRoute = router.route(route.path);
    for (const [operationId, operation] of operations) {
      const handle = handler(runners.get(operationId)!, route);
      const method = operation.method.toLowerCase() as RouteMethod;
      if (operation.hasBody) expressRoute[method](json, handle);
      else expressRoute[method](handle);
    }
    const methods = allow.get(template)!;
    expressRoute.all((req, res) => write(res, unmatchedResponse(req.headers, methods, generate)));
  }

  router.use((req, res) => write(res, unmatchedResponse(req.headers, undefined, generate)));
  const onError: ErrorRequestHandler = (error, req, res, _next) =>
    write(res, frameworkErrorResponse(error, req.headers, logger, generate));
  router.use(onError);
  return router;
}
