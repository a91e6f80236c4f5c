/**
 * The intermediate representation every emitter reads. It is built once per
 * document by `parse/` and never holds unresolved references to parameters,
 * responses, request bodies, headers or examples; schemas keep `$ref`s to named
 * schemas (`#/components/schemas/Name`) so emitters can refer to them by name.
 */

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';

export const HTTP_METHODS: readonly HttpMethod[] = [
  'get',
  'put',
  'post',
  'delete',
  'options',
  'head',
  'patch',
  'trace',
];

/** A JSON Schema object as written in the document (after bundling). */
export type Schema = { [keyword: string]: unknown };

export type ParameterLocation = 'path' | 'query' | 'header' | 'cookie';

export interface Example {
  name: string;
  summary?: string;
  value: unknown;
}

export interface Parameter {
  name: string;
  in: ParameterLocation;
  required: boolean;
  description?: string;
  deprecated: boolean;
  schema: Schema;
  /** Serialization style (defaults applied: `form` for query/cookie, `simple` for path/header). */
  style: string;
  explode: boolean;
  examples: Example[];
}

export interface MediaContent {
  mediaType: string;
  schema?: Schema;
  examples: Example[];
}

export interface RequestBody {
  required: boolean;
  description?: string;
  content: MediaContent[];
}

export interface ResponseHeader {
  name: string;
  required: boolean;
  description?: string;
  schema: Schema;
}

export interface Response {
  /** `"201"`, `"4XX"` or `"default"`, as written in the document. */
  status: string;
  description: string;
  headers: ResponseHeader[];
  content: MediaContent[];
}

/** One alternative of an operation's `security`: every scheme listed must be satisfied. */
export interface SecurityRequirement {
  schemes: { name: string; scopes: string[] }[];
}

export interface Operation {
  /**
   * The operation's name in generated code (method, table key, type prefix):
   * its operationId when that is an identifier, else made one by `naming`
   * (`get-accounts` → `getAccounts`), or from method + path when it has none
   * or shares it; unique within the document.
   */
  id: string;
  /** Whether `id` is the operationId as written (`document`) or made by telegate (`derived`). */
  idSource: 'document' | 'derived';
  /** The operationId as written in the document, if any. */
  operationId?: string;
  method: HttpMethod;
  path: string;
  summary?: string;
  description?: string;
  deprecated: boolean;
  tags: string[];
  parameters: Record<ParameterLocation, Parameter[]>;
  requestBody?: RequestBody;
  responses: Response[];
  /** Effective security (operation level, else document level); an empty list means no auth. */
  security: SecurityRequirement[];
  /** JSON pointer of the operation in the bundled document, for error messages. */
  pointer: string;
}

/** An operation the API provider calls on the consumer: a 3.0 callback or a 3.1 webhook. */
export interface CallbackOperation extends Operation {
  kind: 'callback' | 'webhook';
  /** Callback name (3.0 `callbacks` key) or webhook name (3.1 `webhooks` key). */
  name: string;
  /** For callbacks: the operationId of the operation that declares it. */
  parentOperationId?: string;
  /** For callbacks: the runtime expression giving the URL, e.g. `{$request.body#/sink}`. */
  expression?: string;
}

export interface SecurityScheme {
  name: string;
  type: string;
  scheme?: string;
  bearerFormat?: string;
  openIdConnectUrl?: string;
  flows?: Record<string, { scopes: Record<string, string>; [key: string]: unknown }>;
}

export interface Server {
  url: string;
  /** The path part of `url` with variables at their defaults, e.g. `/webrtc-registration/vwip`. */
  basePath: string;
  variables: Record<string, { default: string; enum?: string[] }>;
}

export interface ApiDocument {
  /** File name without extension, e.g. `webrtc-registration`. */
  name: string;
  /** Absolute path of the root file. */
  source: string;
  openapiVersion: '3.0' | '3.1';
  title: string;
  version: string;
  description?: string;
  servers: Server[];
  operations: Operation[];
  callbacks: CallbackOperation[];
  schemas: Record<string, Schema>;
  securitySchemes: SecurityScheme[];
  /**
   * The bundled document (external refs pulled into `components`). Only emitters
   * that delegate to openapi-typescript read it; everything else reads the IR.
   */
  bundled: Record<string, unknown>;
}
