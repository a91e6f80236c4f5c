import type {
  ApiDocument,
  CallbackOperation,
  Example,
  HttpMethod,
  MediaContent,
  Operation,
  Parameter,
  ParameterLocation,
  RequestBody,
  Response,
  ResponseHeader,
  Schema,
  SecurityRequirement,
  SecurityScheme,
  Server,
} from '../ir/types.js';
import { HTTP_METHODS } from '../ir/types.js';
import {
  camelCase,
  methodPathName,
  operationName,
  pascalCase,
  toIdentifier,
  uniqueName,
} from '../naming/index.js';
import { SpecError } from './errors.js';
import { getAtPointer, joinPointer } from './pointer.js';

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Assigns optional properties only when defined (exactOptionalPropertyTypes). */
function withOptional<T extends object, K extends string, V>(target: T, key: K, value: V | undefined): T {
  if (value !== undefined) (target as Record<string, unknown>)[key] = value;
  return target;
}

export { camelCase, pascalCase } from '../naming/index.js';

/** `get` + `/sessions/{registrationId}/status` → `getSessionsByRegistrationIdStatus`. */
export const deriveOperationId = (method: HttpMethod, path: string): string => methodPathName(method, path);

interface BuildContext {
  file: string;
  doc: JsonObject;
  warnings: string[];
}

/**
 * Follows `$ref` chains for non-schema objects (parameters, responses, ...),
 * returning the target and its pointer. Cycles are an error.
 */
function deref(ctx: BuildContext, value: unknown, pointer: string): { value: JsonObject; pointer: string } {
  const seen = new Set<string>();
  let current = value;
  let at = pointer;
  while (isObject(current) && typeof current.$ref === 'string') {
    const ref = current.$ref;
    if (!ref.startsWith('#')) throw new SpecError(ctx.file, at, `unresolvable $ref "${ref}"`);
    if (seen.has(ref)) throw new SpecError(ctx.file, at, `circular $ref "${ref}"`);
    seen.add(ref);
    const target = getAtPointer(ctx.doc, decodeURIComponent(ref.slice(1)));
    if (target === undefined) throw new SpecError(ctx.file, at, `unresolvable $ref "${ref}"`);
    current = target;
    at = ref.slice(1);
  }
  if (!isObject(current)) throw new SpecError(ctx.file, at, 'expected an object');
  return { value: current, pointer: at };
}

function buildExamples(ctx: BuildContext, media: JsonObject, pointer: string): Example[] {
  const examples: Example[] = [];
  if (isObject(media.examples)) {
    for (const [name, raw] of Object.entries(media.examples)) {
      const { value } = deref(ctx, raw, joinPointer(pointer, 'examples', name));
      if (!('value' in value)) continue; // externalValue examples are not loaded
      examples.push(withOptional({ name, value: value.value }, 'summary', optionalString(value.summary)));
    }
  } else if ('example' in media) {
    examples.push({ name: 'example', value: media.example });
  }
  return examples;
}

function buildContent(ctx: BuildContext, content: unknown, pointer: string): MediaContent[] {
  if (content === undefined) return [];
  if (!isObject(content)) throw new SpecError(ctx.file, pointer, '`content` must be an object');
  return Object.entries(content).map(([mediaType, raw]) => {
    const at = joinPointer(pointer, mediaType);
    if (!isObject(raw)) throw new SpecError(ctx.file, at, 'a media type object must be an object');
    const entry: MediaContent = { mediaType, examples: buildExamples(ctx, raw, at) };
    if (raw.schema !== undefined) {
      if (!isObject(raw.schema))
        throw new SpecError(ctx.file, joinPointer(at, 'schema'), 'a schema must be an object');
      entry.schema = raw.schema;
    }
    return entry;
  });
}

const LOCATIONS: readonly ParameterLocation[] = ['path', 'query', 'header', 'cookie'];

/** The parameter, or `undefined` for one named `""`: nothing can be sent under that name, so it is left out. */
function buildParameter(ctx: BuildContext, raw: unknown, pointer: string): Parameter | undefined {
  const { value: p, pointer: at } = deref(ctx, raw, pointer);
  const name = p.name;
  const location = p.in;
  if (typeof name !== 'string') throw new SpecError(ctx.file, at, 'a parameter needs a `name`');
  if (name === '') {
    ctx.warnings.push(`${ctx.file}#${joinPointer(at, 'name')}: a parameter named "" is left out`);
    return undefined;
  }
  if (!LOCATIONS.includes(location as ParameterLocation)) {
    throw new SpecError(
      ctx.file,
      joinPointer(at, 'in'),
      `unsupported parameter location "${String(location)}"`,
    );
  }
  let schema: Schema;
  if (isObject(p.schema)) {
    schema = p.schema;
  } else if (isObject(p.content)) {
    const first = Object.values(p.content)[0];
    schema = isObject(first) && isObject(first.schema) ? first.schema : {};
  } else {
    throw new SpecError(ctx.file, at, `parameter "${name}" has neither \`schema\` nor \`content\``);
  }
  const inLocation = location as ParameterLocation;
  const style =
    optionalString(p.style) ?? (inLocation === 'query' || inLocation === 'cookie' ? 'form' : 'simple');
  const parameter: Parameter = {
    name,
    in: inLocation,
    required: inLocation === 'path' ? true : p.required === true,
    deprecated: p.deprecated === true,
    schema,
    style,
    explode: typeof p.explode === 'boolean' ? p.explode : style === 'form',
    examples: buildExamples(ctx, p, at),
  };
  return withOptional(parameter, 'description', optionalString(p.description));
}

function buildParameters(
  ctx: BuildContext,
  pathLevel: unknown,
  opLevel: unknown,
  pointers: { path: string; op: string },
): Record<ParameterLocation, Parameter[]> {
  // Operation-level parameters override path-level ones with the same name + location.
  const byKey = new Map<string, Parameter>();
  for (const [list, base] of [
    [pathLevel, pointers.path],
    [opLevel, pointers.op],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new SpecError(ctx.file, base, '`parameters` must be an array');
    list.forEach((raw, i) => {
      const parameter = buildParameter(ctx, raw, joinPointer(base, i));
      if (parameter === undefined) return;
      const key = `${parameter.in}:${parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name}`;
      byKey.set(key, parameter);
    });
  }
  const result: Record<ParameterLocation, Parameter[]> = { path: [], query: [], header: [], cookie: [] };
  for (const parameter of byKey.values()) result[parameter.in].push(parameter);
  return result;
}

function buildRequestBody(ctx: BuildContext, raw: unknown, pointer: string): RequestBody | undefined {
  if (raw === undefined) return undefined;
  const { value, pointer: at } = deref(ctx, raw, pointer);
  const body: RequestBody = {
    required: value.required === true,
    content: buildContent(ctx, value.content, joinPointer(at, 'content')),
  };
  return withOptional(body, 'description', optionalString(value.description));
}

function buildHeaders(ctx: BuildContext, raw: unknown, pointer: string): ResponseHeader[] {
  if (raw === undefined) return [];
  if (!isObject(raw)) throw new SpecError(ctx.file, pointer, '`headers` must be an object');
  return Object.entries(raw).map(([name, entry]) => {
    const { value, pointer: at } = deref(ctx, entry, joinPointer(pointer, name));
    let schema: Schema = {};
    if (isObject(value.schema)) schema = value.schema;
    else if (isObject(value.content)) {
      const first = Object.values(value.content)[0];
      if (isObject(first) && isObject(first.schema)) schema = first.schema;
    } else if (value.schema !== undefined) {
      throw new SpecError(ctx.file, joinPointer(at, 'schema'), 'a schema must be an object');
    }
    const header: ResponseHeader = { name, required: value.required === true, schema };
    return withOptional(header, 'description', optionalString(value.description));
  });
}

function buildResponses(ctx: BuildContext, raw: unknown, pointer: string): Response[] {
  if (raw === undefined) return [];
  if (!isObject(raw)) throw new SpecError(ctx.file, pointer, '`responses` must be an object');
  return Object.entries(raw).map(([status, entry]) => {
    if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) {
      throw new SpecError(ctx.file, joinPointer(pointer, status), `invalid response status "${status}"`);
    }
    const { value, pointer: at } = deref(ctx, entry, joinPointer(pointer, status));
    return {
      status,
      description: optionalString(value.description) ?? '',
      headers: buildHeaders(ctx, value.headers, joinPointer(at, 'headers')),
      content: buildContent(ctx, value.content, joinPointer(at, 'content')),
    };
  });
}

function buildSecurity(ctx: BuildContext, raw: unknown, pointer: string): SecurityRequirement[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new SpecError(ctx.file, pointer, '`security` must be an array');
  return raw.map((requirement, i) => {
    if (!isObject(requirement)) throw new SpecError(ctx.file, joinPointer(pointer, i), 'expected an object');
    return {
      schemes: Object.entries(requirement).map(([name, scopes]) => ({
        name,
        scopes: Array.isArray(scopes) ? scopes.map(String) : [],
      })),
    };
  });
}

interface RawOperation {
  method: HttpMethod;
  path: string;
  op: JsonObject;
  pathItem: JsonObject;
  pointer: string;
  pathItemPointer: string;
}

function* operationsOf(ctx: BuildContext, pathItems: unknown, pointer: string): Generator<RawOperation> {
  if (pathItems === undefined) return;
  if (!isObject(pathItems)) throw new SpecError(ctx.file, pointer, 'expected an object of path items');
  for (const [path, rawItem] of Object.entries(pathItems)) {
    if (path.startsWith('x-')) continue;
    const { value: pathItem, pointer: itemPointer } = deref(ctx, rawItem, joinPointer(pointer, path));
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (op === undefined) continue;
      const opPointer = joinPointer(itemPointer, method);
      if (!isObject(op)) throw new SpecError(ctx.file, opPointer, 'an operation must be an object');
      yield { method, path, op, pathItem, pointer: opPointer, pathItemPointer: itemPointer };
    }
  }
}

function buildOperation(
  ctx: BuildContext,
  raw: RawOperation,
  id: string,
  idSource: Operation['idSource'],
  defaultSecurity: unknown,
  isCallback = false,
): Operation {
  const { op } = raw;
  const operation: Operation = {
    id,
    idSource,
    method: raw.method,
    path: raw.path,
    deprecated: op.deprecated === true,
    tags: Array.isArray(op.tags) ? op.tags.map(String) : [],
    parameters: buildParameters(ctx, raw.pathItem.parameters, op.parameters, {
      path: joinPointer(raw.pathItemPointer, 'parameters'),
      op: joinPointer(raw.pointer, 'parameters'),
    }),
    responses: buildResponses(ctx, op.responses, joinPointer(raw.pointer, 'responses')),
    security: buildSecurity(
      ctx,
      op.security ?? defaultSecurity,
      op.security !== undefined ? joinPointer(raw.pointer, 'security') : '/security',
    ),
    pointer: raw.pointer,
  };
  withOptional(operation, 'summary', optionalString(op.summary));
  withOptional(operation, 'description', optionalString(op.description));
  const body = buildRequestBody(ctx, op.requestBody, joinPointer(raw.pointer, 'requestBody'));
  if (body) operation.requestBody = body;
  // A callback's "path" is a runtime expression, not a template.
  if (isCallback) return operation;
  for (const parameter of operation.parameters.path) {
    if (!raw.path.includes(`{${parameter.name}}`)) {
      throw new SpecError(
        ctx.file,
        raw.pointer,
        `path parameter "${parameter.name}" is not in the path "${raw.path}"`,
      );
    }
  }
  // A template with no parameter (OpenAPI asks for one) is taken as a required string
  // path parameter, written into the operation so every emitter sees the same one.
  const undeclared = [...raw.path.matchAll(/\{([^}]+)\}/g)]
    .map((match) => match[1] as string)
    .filter(
      (name, i, all) => all.indexOf(name) === i && !operation.parameters.path.some((p) => p.name === name),
    );
  if (undeclared.length > 0) {
    const added = undeclared.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    op.parameters = [...(Array.isArray(op.parameters) ? op.parameters : []), ...added];
    for (const name of undeclared) {
      ctx.warnings.push(
        `${ctx.file}#${raw.pointer}: path template "{${name}}" has no path parameter; taken as a required string`,
      );
    }
    operation.parameters = buildParameters(ctx, raw.pathItem.parameters, op.parameters, {
      path: joinPointer(raw.pathItemPointer, 'parameters'),
      op: joinPointer(raw.pointer, 'parameters'),
    });
  }
  return operation;
}

function buildServers(ctx: BuildContext): Server[] {
  const raw = ctx.doc.servers;
  if (raw === undefined) return [{ url: '/', basePath: '', variables: {} }];
  if (!Array.isArray(raw)) throw new SpecError(ctx.file, '/servers', '`servers` must be an array');
  return raw.map((server, i) => {
    if (!isObject(server) || typeof server.url !== 'string') {
      throw new SpecError(ctx.file, joinPointer('/servers', i), 'a server needs a `url`');
    }
    const variables: Server['variables'] = {};
    if (isObject(server.variables)) {
      for (const [name, variable] of Object.entries(server.variables)) {
        if (!isObject(variable)) continue;
        const entry: { default: string; enum?: string[] } = { default: String(variable.default ?? '') };
        if (Array.isArray(variable.enum)) entry.enum = variable.enum.map(String);
        variables[name] = entry;
      }
    }
    return { url: server.url, basePath: serverBasePath(server.url, variables), variables };
  });
}

/** `{apiRoot}/webrtc-registration/vwip` → `/webrtc-registration/vwip`. */
export function serverBasePath(url: string, variables: Server['variables']): string {
  // A variable at the very start stands for scheme + host (CAMARA's `{apiRoot}`): drop it.
  const withoutRoot = url.replace(/^\{[^}]+\}/, '');
  const expanded = withoutRoot.replace(/\{([^}]+)\}/g, (_, name: string) => variables[name]?.default ?? '');
  const path = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.test(expanded)
    ? expanded.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')
    : expanded;
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function buildSecuritySchemes(ctx: BuildContext): SecurityScheme[] {
  const raw = getAtPointer(ctx.doc, '/components/securitySchemes');
  if (!isObject(raw)) return [];
  return Object.entries(raw).map(([name, entry]) => {
    const { value } = deref(ctx, entry, joinPointer('/components/securitySchemes', name));
    const scheme: SecurityScheme = { name, type: String(value.type ?? '') };
    withOptional(scheme, 'scheme', optionalString(value.scheme));
    withOptional(scheme, 'bearerFormat', optionalString(value.bearerFormat));
    withOptional(scheme, 'openIdConnectUrl', optionalString(value.openIdConnectUrl));
    if (isObject(value.flows)) scheme.flows = value.flows as NonNullable<SecurityScheme['flows']>;
    return scheme;
  });
}

/** Builds the IR from a bundled document (see `bundle`). */
export function buildIr(
  file: string,
  name: string,
  doc: JsonObject,
): { ir: ApiDocument; warnings: string[] } {
  const ctx: BuildContext = { file, doc, warnings: [] };
  // `swagger: 2.0` unquoted is the number 2 in YAML.
  if (doc.swagger !== undefined) {
    throw new SpecError(
      file,
      '/swagger',
      `unsupported: Swagger ${String(doc.swagger)} (OpenAPI 2.0) documents; convert to OpenAPI 3.0 or 3.1 first (for example with swagger2openapi)`,
    );
  }
  let version = doc.openapi;
  if (
    version === undefined &&
    doc.paths === undefined &&
    doc.webhooks === undefined &&
    isObject(doc.components)
  ) {
    // A shared components file (like CAMARA_common.yaml): no operations, only schemas.
    ctx.warnings.push(`${file}: no \`openapi\` field; read as an OpenAPI 3.0 components library`);
    version = '3.0.3';
    doc = { openapi: version, info: doc.info ?? { title: name, version: '' }, paths: {}, ...doc };
    ctx.doc = doc;
  }
  if (typeof version !== 'string' || !/^3\.[01](\.\d+)?(-[\w.]+)?$/.test(version)) {
    throw new SpecError(
      file,
      '/openapi',
      `unsupported OpenAPI version "${String(version)}" (3.0.x and 3.1.x are supported)`,
    );
  }
  const openapiVersion = version.startsWith('3.1') ? '3.1' : '3.0';
  const info = isObject(doc.info) ? doc.info : {};
  if (openapiVersion === '3.0' && doc.webhooks !== undefined) {
    throw new SpecError(file, '/webhooks', 'unsupported: `webhooks` needs OpenAPI 3.1');
  }

  // Operation names (`Operation.id`) are identifiers made by `naming`, unique across
  // operations, callbacks and webhooks, so each can be a method, a key and a type prefix.
  const usedIds = new Set<string>();
  const uniqueId = (wanted: string): string => uniqueName(toIdentifier(wanted, 'operation'), usedIds);

  const operations: Operation[] = [];
  const callbacks: CallbackOperation[] = [];
  const rawOperations = [...operationsOf(ctx, doc.paths, '/paths')];

  // Documented operationIds first, so a derived name never takes a documented one.
  const documentIds = new Map<RawOperation, string>();
  for (const raw of rawOperations) {
    const written = optionalString(raw.op.operationId);
    if (written === undefined) continue;
    const id = operationName(written, raw.method, raw.path);
    if (!usedIds.has(id)) {
      usedIds.add(id);
      documentIds.set(raw, id);
    }
  }
  for (const raw of rawOperations) {
    const written = optionalString(raw.op.operationId);
    const documented = documentIds.get(raw);
    const id = documented ?? uniqueId(deriveOperationId(raw.method, raw.path));
    if (written !== undefined && documented === undefined) {
      ctx.warnings.push(
        `${file}#${joinPointer(raw.pointer, 'operationId')}: operationId "${written}" is already used (OpenAPI requires unique operationIds); this operation is named "${id}"`,
      );
    }
    const operation = buildOperation(ctx, raw, id, id === written ? 'document' : 'derived', doc.security);
    withOptional(operation, 'operationId', written);
    operations.push(operation);
  }

  const pushCallback = (
    raw: RawOperation,
    extra: Pick<CallbackOperation, 'kind' | 'name'> & { parentOperationId?: string; expression?: string },
    fallbackName: string,
  ) => {
    const written = optionalString(raw.op.operationId);
    const wanted = written === undefined ? undefined : toIdentifier(written, '');
    let id: string;
    if (wanted && !usedIds.has(wanted)) {
      id = wanted;
      usedIds.add(id);
    } else {
      id = uniqueId(fallbackName);
      if (written !== undefined) {
        ctx.warnings.push(
          `${file}#${joinPointer(raw.pointer, 'operationId')}: operationId "${written}" is already used (OpenAPI requires unique operationIds); this callback is named "${id}"`,
        );
      }
    }
    const idSource: Operation['idSource'] = id === written ? 'document' : 'derived';
    // Callbacks do not inherit the document's security: the provider calls the consumer.
    const operation = buildOperation(ctx, raw, id, idSource, undefined, true);
    withOptional(operation, 'operationId', written);
    const callback: CallbackOperation = { ...operation, kind: extra.kind, name: extra.name };
    withOptional(callback, 'parentOperationId', extra.parentOperationId);
    withOptional(callback, 'expression', extra.expression);
    callbacks.push(callback);
  };

  operations.forEach((operation, i) => {
    const raw = rawOperations[i]!;
    const declared = raw.op.callbacks;
    if (declared === undefined) return;
    const callbacksPointer = joinPointer(raw.pointer, 'callbacks');
    if (!isObject(declared)) throw new SpecError(file, callbacksPointer, '`callbacks` must be an object');
    for (const [callbackName, rawCallback] of Object.entries(declared)) {
      const { value: callbackObject, pointer: at } = deref(
        ctx,
        rawCallback,
        joinPointer(callbacksPointer, callbackName),
      );
      const inner = [...operationsOf(ctx, callbackObject, at)];
      for (const cbRaw of inner) {
        const suffix = inner.length > 1 ? pascalCase(cbRaw.method) : '';
        pushCallback(
          cbRaw,
          { kind: 'callback', name: callbackName, parentOperationId: operation.id, expression: cbRaw.path },
          `${operation.id}${pascalCase(callbackName)}${suffix}`,
        );
      }
    }
  });

  if (doc.webhooks !== undefined) {
    if (!isObject(doc.webhooks)) throw new SpecError(file, '/webhooks', '`webhooks` must be an object');
    for (const [webhookName, rawItem] of Object.entries(doc.webhooks)) {
      const inner = [...operationsOf(ctx, { [webhookName]: rawItem }, '/webhooks')];
      for (const whRaw of inner) {
        const suffix = inner.length > 1 ? pascalCase(whRaw.method) : '';
        pushCallback(
          whRaw,
          { kind: 'webhook', name: webhookName },
          `${camelCase(webhookName)}Webhook${suffix}`,
        );
      }
    }
  }

  const schemasRaw = getAtPointer(doc, '/components/schemas');
  const schemas: Record<string, Schema> = {};
  if (schemasRaw !== undefined) {
    if (!isObject(schemasRaw)) throw new SpecError(file, '/components/schemas', 'expected an object');
    for (const [schemaName, schema] of Object.entries(schemasRaw)) {
      if (!isObject(schema) && typeof schema !== 'boolean') {
        throw new SpecError(
          file,
          joinPointer('/components/schemas', schemaName),
          'a schema must be an object',
        );
      }
      schemas[schemaName] = isObject(schema) ? schema : {};
    }
  }

  const ir: ApiDocument = {
    name,
    source: file,
    openapiVersion,
    title: optionalString(info.title) ?? name,
    version: optionalString(info.version) ?? '',
    servers: buildServers(ctx),
    operations,
    callbacks,
    schemas,
    securitySchemes: buildSecuritySchemes(ctx),
    bundled: doc,
  };
  withOptional(ir, 'description', optionalString(info.description));
  return { ir, warnings: ctx.warnings };
}
