import type { Ajv as AjvCore, AnySchema } from 'ajv';
import AjvDraft7 from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import ajvFormats from 'ajv-formats/dist/formats.js';
import type { ApiDocument, CallbackOperation, MediaContent, Operation, Parameter } from '../../ir/types.js';
import { SpecError } from '../../parse/errors.js';
import { escapeToken } from '../../parse/pointer.js';
import { headerPlan, type ParameterPlan, parameterPlan } from './plan.js';
import { type ConvertContext, convertSchema, type Direction, discriminatorOf } from './schema.js';
import { standaloneModule } from './standalone.js';

/** Modules Ajv's standalone code may load; `@telegate/runtime/ajv-runtime` provides the same map. */
export const AJV_RUNTIME_MODULES = [
  'ajv/dist/runtime/equal',
  'ajv/dist/runtime/ucs2length',
  'ajv/dist/runtime/uri',
  'ajv/dist/runtime/validation_error',
  'ajv-formats/dist/formats',
];

/** Formats `@telegate/runtime/validation` checks with code (`formatCheckers`); the rest are regular expressions. */
export const RUNTIME_FORMATS = [
  'date',
  'time',
  'date-time',
  'iso-time',
  'iso-date-time',
  'uri',
  'byte',
  'regex',
  'int32',
  'int64',
  'float',
  'double',
];

/** What the rewritten standalone code needs from `@telegate/runtime`. */
export type RuntimeImport = 'ucs2length' | 'deepEqual' | 'formatCheckers' | 'ajvRuntime';

const JSON_MEDIA = /^application\/(?:[\w.+-]*\+)?json(?:;|$)/i;

/** The schema of the JSON media type (or the only one) of a body. */
export function jsonContent(content: readonly MediaContent[]): MediaContent | undefined {
  return (
    content.find((c) => JSON_MEDIA.test(c.mediaType) && c.schema) ??
    (content.length === 1 ? content[0] : undefined)
  );
}

function usesReadWrite(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(usesReadWrite);
  if (value === null || typeof value !== 'object') return false;
  const object = value as Record<string, unknown>;
  if (object.readOnly === true || object.writeOnly === true) return true;
  return Object.values(object).some(usesReadWrite);
}

export interface RequestEntry {
  op: Operation;
  validator: string;
  bodyValidator?: string;
  plan: { path: ParameterPlan[]; query: ParameterPlan[]; header: ParameterPlan[] };
}

export interface ResponseEntry {
  status: string;
  validator: string;
  header: ParameterPlan[];
  hasBody: boolean;
  /** The JSON Schema of a JSON body (`$ref`s into `CompiledValidators.responseDefinitions`). */
  bodySchema?: unknown;
}

export interface CompiledValidators {
  /** Ajv standalone code (ESM, `require`s rewritten, see `rewriteStandalone`; nothing exported). */
  code: string;
  /** Runtime helpers `code` uses. */
  imports: Set<RuntimeImport>;
  requests: RequestEntry[];
  responses: Map<string, ResponseEntry[]>;
  callbacks: { callback: CallbackOperation; validator: string | undefined }[];
  /** The named schemas response bodies refer to (`$id` and `definitions`), as response bodies see them. */
  responseDefinitions: { id: string; definitions: Record<string, unknown> };
}

/**
 * Compiles every validator of a document with Ajv at generation time and
 * returns its standalone code; nothing is compiled at run time.
 */
export function compileValidators(ir: ApiDocument): CompiledValidators {
  const AjvClass = (ir.openapiVersion === '3.1' ? Ajv2020 : AjvDraft7) as unknown as typeof AjvDraft7.default;
  const ajv = new AjvClass({
    code: { source: true, esm: true, lines: false },
    // Small definitions are inlined (one call less); larger ones become shared functions.
    inlineRefs: 12,
    allErrors: true,
    strict: false,
    logger: false,
    // The OpenAPI `format`s CAMARA uses are all in ajv-formats' full set.
    validateFormats: true,
  });
  (addFormats as unknown as (a: unknown) => void)(ajv);

  // Every schema is checked against Ajv's meta-schema before it is added, so
  // a problem in the document is reported at its pointer, not as Ajv's error.
  const checkSchema = (schema: unknown, pointer: string): void => {
    if (ajv.validateSchema(schema as AnySchema) !== false) return;
    const first = ajv.errors?.[0];
    throw new SpecError(
      ir.source,
      `${pointer}${first?.instancePath ?? ''}`,
      `invalid schema: ${first ? `${first.instancePath.split('/').pop() || 'schema'} ${first.message}` : ajv.errorsText()}`,
    );
  };

  const directions: Direction[] = usesReadWrite(ir) ? ['request', 'response'] : ['request'];
  const defsId = (direction: Direction) => `telegate:${directions.length === 1 ? 'defs' : direction}`;

  // Discriminators on a base schema (the `allOf` inheritance pattern): the
  // mapped schemas extend the base, so they refer to a copy without the
  // dispatch, or validation would loop.
  const bases = new Map<string, Set<string>>();
  for (const [name, schema] of Object.entries(ir.schemas)) {
    const info = discriminatorOf(schema);
    if (!info || Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) continue;
    for (const target of Object.values(info.mapping)) {
      if (target === name) continue;
      if (!bases.has(target)) bases.set(target, new Set());
      bases.get(target)!.add(name);
    }
  }
  const baseCopyName = (name: string) => `${name}__base`;

  const definitionsByDirection = new Map<Direction, Record<string, unknown>>();
  for (const direction of directions) {
    const id = defsId(direction);
    const refFor = (name: string) => `${id}#/definitions/${encodeURIComponent(name)}`;
    const ctx: ConvertContext = { openapiVersion: ir.openapiVersion, direction, refFor };
    const definitions: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries(ir.schemas)) {
      const parents = bases.get(name);
      const local: ConvertContext = parents
        ? { ...ctx, refFor: (ref) => (parents.has(ref) ? refFor(baseCopyName(ref)) : refFor(ref)) }
        : ctx;
      definitions[name] = convertSchema(schema, local, name);
    }
    for (const parents of bases.values()) {
      for (const parent of parents) {
        const { discriminator: _dropped, ...plain } = ir.schemas[parent]!;
        definitions[baseCopyName(parent)] = convertSchema(plain, ctx, parent);
      }
    }
    for (const [name, definition] of Object.entries(definitions)) {
      checkSchema(definition, `/components/schemas/${escapeToken(name.replace(/__base$/, ''))}`);
    }
    ajv.addSchema({ $id: id, definitions } as AnySchema);
    definitionsByDirection.set(direction, definitions);
  }

  const contextFor = (direction: Direction): ConvertContext => {
    const id = defsId(directions.includes(direction) ? direction : 'request');
    return {
      openapiVersion: ir.openapiVersion,
      direction,
      refFor: (name) => `${id}#/definitions/${encodeURIComponent(name)}`,
    };
  };
  const requestCtx = contextFor('request');
  const responseCtx = contextFor('response');

  const exportsMap: Record<string, string> = {};
  let counter = 0;
  // Identical schemas (the same error response on every operation) compile once.
  const byContent = new Map<string, string>();
  const add = (schema: Record<string, unknown>, id: string, pointer: string): string => {
    const key = JSON.stringify(schema);
    const known = byContent.get(key);
    if (known) return known;
    const exportName = `v${counter++}`;
    checkSchema(schema, pointer);
    ajv.addSchema({ ...schema, $id: id } as AnySchema);
    exportsMap[exportName] = id;
    byContent.set(key, exportName);
    return exportName;
  };

  const location = (parameters: readonly Parameter[], lowerCase: boolean) => ({
    type: 'object',
    properties: Object.fromEntries(
      parameters.map((p) => [lowerCase ? p.name.toLowerCase() : p.name, convertSchema(p.schema, requestCtx)]),
    ),
    required: parameters.filter((p) => p.required).map((p) => (lowerCase ? p.name.toLowerCase() : p.name)),
  });

  const requests: RequestEntry[] = [];
  const responses = new Map<string, ResponseEntry[]>();
  for (const op of [...ir.operations, ...ir.callbacks]) {
    const body = op.requestBody ? jsonContent(op.requestBody.content) : undefined;
    const bodySchema = body?.schema ? convertSchema(body.schema, requestCtx) : {};
    const required = ['path', 'query', 'header'];
    if (op.requestBody?.required) required.push('body');
    const validator = add(
      {
        type: 'object',
        properties: {
          path: location(op.parameters.path, false),
          query: location(op.parameters.query, false),
          header: location(op.parameters.header, true),
          body: bodySchema,
        },
        required,
      },
      `telegate:request/${op.id}`,
      op.pointer,
    );
    const entry: RequestEntry = {
      op,
      validator,
      plan: {
        path: op.parameters.path.map((p) => parameterPlan(p, ir.schemas)),
        query: op.parameters.query.map((p) => parameterPlan(p, ir.schemas)),
        header: op.parameters.header.map((p) => parameterPlan(p, ir.schemas)),
      },
    };
    if (body?.schema)
      entry.bodyValidator = add(
        bodySchema as Record<string, unknown>,
        `telegate:body/${op.id}`,
        `${op.pointer}/requestBody`,
      );
    requests.push(entry);

    responses.set(
      op.id,
      op.responses.map((response) => {
        const content = jsonContent(response.content);
        const hasBody = response.content.length > 0;
        const headers = response.headers.filter((h) => h.name.toLowerCase() !== 'content-type');
        const properties: Record<string, unknown> = {
          header: {
            type: 'object',
            properties: Object.fromEntries(
              headers.map((h) => [h.name.toLowerCase(), convertSchema(h.schema, responseCtx)]),
            ),
            required: headers.filter((h) => h.required).map((h) => h.name.toLowerCase()),
          },
        };
        const responseRequired = ['header'];
        let bodySchema: unknown;
        if (content?.schema) {
          bodySchema = convertSchema(content.schema, responseCtx);
          properties.body = bodySchema;
          responseRequired.push('body');
        }
        const isJson = content !== undefined && JSON_MEDIA.test(content.mediaType);
        return {
          ...(isJson && bodySchema !== undefined ? { bodySchema } : {}),
          status: response.status,
          validator: add(
            { type: 'object', properties, required: responseRequired },
            `telegate:response/${op.id}/${response.status}`,
            `${op.pointer}/responses/${response.status}`,
          ),
          header: headers.map((h) => headerPlan(h, ir.schemas)),
          hasBody,
        };
      }),
    );
  }

  const callbacks = ir.callbacks.map((callback) => ({
    callback,
    validator: requests.find((r) => r.op === callback)?.bodyValidator,
  }));

  let raw: string;
  try {
    raw = standaloneModule(ajv as unknown as AjvCore, exportsMap);
  } catch (error) {
    // Ajv compiles lazily: what it still refuses here (an unresolvable reference) is in the document.
    throw new SpecError(ir.source, '', `cannot compile the validators: ${(error as Error).message}`);
  }
  const responseDirection: Direction = directions.includes('response') ? 'response' : 'request';
  return {
    ...rewriteStandalone(raw),
    requests,
    responses,
    callbacks,
    responseDefinitions: {
      id: defsId(responseDirection),
      definitions: definitionsByDirection.get(responseDirection)!,
    },
  };
}

const FULL_FORMATS = (ajvFormats as unknown as { fullFormats: Record<string, unknown> }).fullFormats;
const REQUIRE =
  /require\("([^"]+)"\)(?:(\.default)|(\.fullFormats)(?:\.([A-Za-z_$][\w$]*)|\["([^"\\]+)"\])?)?/g;

/**
 * Makes Ajv's ESM standalone output self-contained ES module code with no
 * CommonJS to load: the string-length and deep-equality helpers become the
 * runtime's ES helpers, a regular-expression format becomes its expression
 * (taken from ajv-formats now, at generation time), a format checked by code
 * becomes `formatCheckers[name]`, and only anything else falls back to Ajv's
 * own modules (`ajvRuntime["m"]`; an unknown module is an error). The
 * exports become module-local constants.
 */
export function rewriteStandalone(source: string): { code: string; imports: Set<RuntimeImport> } {
  const imports = new Set<RuntimeImport>();
  let code = source.replace(/^"use strict";/, '').replace(/export const (v\d+) = /g, 'const $1 = ');
  code = code.replace(
    REQUIRE,
    (
      whole,
      module: string,
      dotDefault?: string,
      dotFormats?: string,
      plainName?: string,
      quotedName?: string,
    ) => {
      if (module === 'ajv/dist/runtime/ucs2length' && dotDefault) {
        imports.add('ucs2length');
        return 'ucs2length';
      }
      if (module === 'ajv/dist/runtime/equal' && dotDefault) {
        imports.add('deepEqual');
        return 'deepEqual';
      }
      const name = plainName ?? quotedName;
      if (module === 'ajv-formats/dist/formats' && dotFormats && name !== undefined) {
        const format = FULL_FORMATS[name];
        if (format instanceof RegExp)
          return `new RegExp(${JSON.stringify(format.source)}, ${JSON.stringify(format.flags)})`;
        if (RUNTIME_FORMATS.includes(name)) {
          imports.add('formatCheckers');
          return `formatCheckers[${JSON.stringify(name)}]`;
        }
      }
      if (!AJV_RUNTIME_MODULES.includes(module))
        throw new Error(`validators: unsupported Ajv runtime module "${module}"`);
      imports.add('ajvRuntime');
      return `ajvRuntime[${JSON.stringify(module)}]${whole.slice(`require("${module}")`.length)}`;
    },
  );
  // maxLength: a string no longer in UTF-16 units than the limit is within it
  // in code points too, so count code points only past that.
  const counters = [...code.matchAll(/const (func\d+) = ucs2length;/g)].map((m) => m[1]!);
  for (const counter of counters) {
    code = code.replace(
      new RegExp(`\\b${counter}\\((data\\d*)\\) > (\\d+)`, 'g'),
      (_, data: string, limit: string) => `(${data}.length > ${limit} && ${counter}(${data}) > ${limit})`,
    );
  }
  return { code, imports };
}
