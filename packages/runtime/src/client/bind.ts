import type { Client } from 'openapi-fetch';

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
