import type { Middleware } from 'openapi-fetch';
import type { RequestInput } from '../validation/validators.js';
import type { OperationRoute } from './bind.js';

/** `true` validates both ways; `{ request: true }` or `{ response: true }` only one. Off by default. */
export type ValidateOption = boolean | { request?: boolean; response?: boolean };

interface ErrorInfo {
  status: number;
  code: string;
  message: string;
}

/** What a generated `*.validators.gen.ts` module provides to the client. */
export interface ClientValidators {
  requestValidators: Record<string, (input: RequestInput) => ErrorInfo | null>;
  responseValidators: Record<
    string,
    (status: number, body: unknown, headers?: Record<string, string>) => string[] | null
  >;
}

/** The server's response did not match the API description. */
export class ResponseValidationError extends Error {
  override readonly name = 'ResponseValidationError';
  constructor(
    readonly operationId: string,
    readonly status: number,
    readonly violations: string[],
  ) {
    super(`${operationId}: response ${status} does not match the API description: ${violations.join('; ')}`);
  }
}

/** The response of a request the client refused to send: the ErrorInfo as JSON, with the request's x-correlator. */
function requestRefused(request: Request, error: ErrorInfo): Response {
  const headers = new Headers({ 'content-type': 'application/json' });
  const correlator = request.headers.get('x-correlator');
  if (correlator !== null) headers.set('x-correlator', correlator);
  return new Response(JSON.stringify(error), { status: error.status, headers });
}

function stringRecord(value: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

async function readJson(message: Request | Response): Promise<unknown> {
  const text = await message.clone().text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Validates requests before they are sent and responses on receipt with the
 * generated validators, loaded on first use so clients that never validate
 * do not pay for them.
 */
export function createValidationMiddleware(
  routes: Record<string, OperationRoute>,
  load: () => Promise<ClientValidators>,
  option: ValidateOption,
): Middleware {
  const checkRequests = option === true || (typeof option === 'object' && option.request === true);
  const checkResponses = option === true || (typeof option === 'object' && option.response === true);
  const byRoute = new Map(Object.entries(routes).map(([id, [method, path]]) => [`${method} ${path}`, id]));
  let validators: Promise<ClientValidators> | undefined;
  const operationOf = (request: Request, schemaPath: string) =>
    byRoute.get(`${request.method} ${schemaPath}`);
  return {
    async onRequest({ request, schemaPath, params }) {
      const operationId = operationOf(request, schemaPath);
      if (!checkRequests || !operationId) return undefined;
      validators ??= load();
      const { requestValidators } = await validators;
      const headers: Record<string, string> = {};
      request.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const input: RequestInput = {
        headers,
        query: params.query ?? {},
      };
      const path = stringRecord(params.path);
      if (path) input.params = path;
      if (request.body !== null) input.body = await readJson(request);
      const error = requestValidators[operationId]?.(input);
      // Not sent: answered here with the 400 ErrorInfo a server would give, so every ErrorInfo reaches
      // the caller one way, as `error` (exceptions are kept for "no usable response": NetworkError,
      // ResponseValidationError).
      if (error) return requestRefused(request, error);
      return undefined;
    },
    async onResponse({ request, response, schemaPath }) {
      const operationId = operationOf(request, schemaPath);
      if (!checkResponses || !operationId) return undefined;
      validators ??= load();
      const { responseValidators } = await validators;
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const violations = responseValidators[operationId]?.(
        response.status,
        await readJson(response),
        headers,
      );
      if (violations) throw new ResponseValidationError(operationId, response.status, violations);
      return undefined;
    },
  };
}
