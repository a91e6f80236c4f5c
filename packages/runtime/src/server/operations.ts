import type { ResponseSchemas } from '../validation/validators.js';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'OPTIONS' | 'HEAD' | 'PATCH' | 'TRACE';

/** What a router needs to know about one operation; generated per document (`xxxOperations`). */
export interface OperationDescriptor {
  readonly method: HttpMethod;
  /** OpenAPI path template relative to the mount path, e.g. `/sessions/{registrationId}`. */
  readonly path: string;
  /**
   * From the operation's `security`: `required` when every alternative names a
   * scheme, `optional` when one is empty (`{}`), `none` without security
   * (`authenticate` is not called and handlers get `auth: undefined`).
   */
  readonly auth: 'required' | 'optional' | 'none';
  /** Every scope its security requirements name, passed to `authenticate`. */
  readonly scopes: readonly string[];
  /** Documented header parameters, as spelled in the document; handlers receive these. */
  readonly headers: readonly string[];
  readonly hasBody: boolean;
  readonly bodyRequired: boolean;
  /** Request media types, lower case (empty without a body). */
  readonly mediaTypes: readonly string[];
}

export type OperationTable = Readonly<Record<string, OperationDescriptor>>;

/** The request as the validators see it: path, query and header values are strings. */
export interface RequestInput {
  params?: Record<string, string>;
  query?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string | string[] | undefined>;
  body?: unknown;
  /** Every header name is lower case (as Node delivers them): no other spelling to look for. */
  headerNamesLowerCase?: boolean;
}

export interface ParsedRequest {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
}

/**
 * `requestParsers[operationId]` of the generated validators: coerces and
 * validates, returning a `ParsedRequest` (header names in lower case), or says why not.
 */
export type RequestParser = (
  input: RequestInput,
) => { ok: true; value: unknown } | { ok: false; error: { status: number; code: string; message: string } };

/** `responseValidators[operationId]`: the violations of a response, or `null` when it conforms. */
export type ResponseValidator = (
  status: number,
  body: unknown,
  headers?: Record<string, unknown>,
) => string[] | null;

/** Everything generated for one document that the Express and Fastify glue reads. */
export interface ApiDefinition {
  operations: OperationTable;
  requestParsers?: Readonly<Record<string, RequestParser>>;
  responseValidators?: Readonly<Record<string, ResponseValidator>>;
  /** The documented JSON response bodies, from which responses are serialized (`JSON.stringify` without). */
  responseSchemas?: ResponseSchemas;
}

type Part<R, K extends PropertyKey> = K extends keyof R ? NonNullable<R[K]> : Record<string, never>;

/**
 * What a handler method receives for an operation whose request type
 * (`XxxRequest` of the generated types) is `R`: validated and coerced
 * `params`, `query`, documented `headers` and `body`, the `x-correlator` of the
 * exchange, what `authenticate` returned, and the framework's request.
 */
export interface HandlerInput<R, Auth = unknown, Req = unknown> {
  params: Part<R, 'params'>;
  query: Part<R, 'query'>;
  headers: Part<R, 'headers'>;
  body: 'body' extends keyof R ? R['body'] : undefined;
  correlator: string;
  auth: Auth;
  request: Req;
}

/** Response headers without `x-correlator`, which the router sets. */
type ResultHeaders<H> = { [K in keyof H as K extends 'x-correlator' ? never : K]: H[K] } & {
  'x-correlator'?: string;
};

/**
 * One documented response of `R` (the generated `XxxResponse` union): the
 * `status`, a `body` of the documented type, optional `headers`.
 */
export type HandlerResult<R> = R extends unknown
  ? { [K in keyof R]: K extends 'headers' ? ResultHeaders<NonNullable<R[K]>> : R[K] }
  : never;

/** What a handler method returns: a documented response, or a promise of one. */
export type HandlerReturn<R> = HandlerResult<R> | Promise<HandlerResult<R>>;

/**
 * The input of method `K` of a handlers interface `H`. `any` when `K` is not
 * (any more) an operation of `H`, so a method kept after its operation left the
 * spec still compiles; `telegate scaffold` warns about it.
 */
export type HandlerInputOf<H, K extends string> = K extends keyof H
  ? H[K] extends (input: infer I) => unknown
    ? I
    : never
  : // biome-ignore lint/suspicious/noExplicitAny: the documented fallback for removed operations
    any;

/** The result of method `K` of a handlers interface `H` (without the promise); `any` when `K` is gone. */
export type HandlerResultOf<H, K extends string> = K extends keyof H
  ? H[K] extends (input: never) => infer O
    ? Awaited<O>
    : never
  : // biome-ignore lint/suspicious/noExplicitAny: see HandlerInputOf
    any;
