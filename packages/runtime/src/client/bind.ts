import createFetchClient, { type Client, type FetchOptions, type FetchResponse } from 'openapi-fetch';
import { createClientMiddleware } from './middleware.js';
import { type ClientOptions, resolveBaseUrl } from './options.js';
import { type ClientValidators, createValidationMiddleware, type ValidateOption } from './validation.js';

export type OperationRoute = readonly [
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS' | 'TRACE',
  path: string,
];

type AnyClient = Client<Record<string, Record<string, unknown>>, `${string}/${string}`>;

/**
 * Turns a table `operationId → [method, path]` into an object with one
 * method per operationId calling the openapi-fetch client. The generated
 * interface gives each method its precise type.
 */
export function bindOperations<Api>(client: object, routes: Record<string, OperationRoute>): Api {
  const fetchClient = client as AnyClient;
  const api: Record<string, unknown> = { fetchClient: client };
  for (const [operationId, [method, path]] of Object.entries(routes)) {
    const call = fetchClient[method] as (path: string, init?: unknown) => Promise<unknown>;
    api[operationId] = (init?: unknown) => call(path, init);
  }
  return api as Api;
}

type MediaType = `${string}/${string}`;

/**
 * The argument of a generated client method for operation type `Op`: params,
 * body and fetch options. Not generic in the argument, so object literals get
 * excess-property checks (an unknown body field is a compile error).
 */
export type OperationInit<Op> = FetchOptions<Op>;

/** What a generated client method resolves to: `{ data, error, response }`, typed from the documented responses. */
// biome-ignore lint/suspicious/noExplicitAny: the same constraint openapi-fetch puts on operation types
export type OperationResult<Op extends Record<string | number, any>> = FetchResponse<
  Op,
  FetchOptions<Op>,
  MediaType
>;

export interface OperationClientSpec {
  /** The API's base path, appended to `apiRoot`. */
  basePath: string;
  routes: Record<string, OperationRoute>;
  /** Loads the generated validators (only when a caller asks for `validate`). */
  validators?: () => Promise<ClientValidators>;
}

/**
 * What every generated `createXxxClient` does: an openapi-fetch client with
 * the auth/correlator middleware (and validation when asked for), and one
 * method per operation.
 */
export function createOperationClient<Api>(
  options: ClientOptions & { validate?: ValidateOption },
  spec: OperationClientSpec,
): Api {
  const fetchClient = createFetchClient({
    baseUrl: resolveBaseUrl(options, spec.basePath),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  fetchClient.use(createClientMiddleware(options));
  if (options.validate) {
    if (!spec.validators) throw new TypeError('validate: this client was generated without validators');
    fetchClient.use(createValidationMiddleware(spec.routes, spec.validators, options.validate));
  }
  return bindOperations<Api>(fetchClient, spec.routes);
}
