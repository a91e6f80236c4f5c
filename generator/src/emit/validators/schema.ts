import type { Schema } from '../../ir/types.js';

/**
 * Turns OpenAPI schema objects into JSON Schema that Ajv validates with
 * OpenAPI's meaning: one function per keyword family, each small enough to
 * table-test.
 */

export type Direction = 'request' | 'response';

export interface ConvertContext {
  openapiVersion: '3.0' | '3.1';
  /** `$ref` target for a named schema, e.g. `X` → `telegate:request#/definitions/X`. */
  refFor(name: string): string;
  direction: Direction;
}

const COMPONENT_REF = /^#\/components\/schemas\/(.+)$/;

/** Keywords that document but do not constrain. */
const ANNOTATIONS = new Set([
  'description',
  'title',
  'example',
  'examples',
  'externalDocs',
  'xml',
  'deprecated',
  'discriminator',
  'nullable',
  'readOnly',
  'writeOnly',
  '$comment',
]);

/** Schema-valued keywords whose values are converted recursively. */
const SUBSCHEMA = new Set([
  'items',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'additionalItems',
  'unevaluatedProperties',
  'unevaluatedItems',
]);
const SUBSCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SUBSCHEMA_MAPS = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
]);

function isObject(value: unknown): value is Schema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function componentName(ref: string): string | undefined {
  const match = COMPONENT_REF.exec(ref);
  return match ? decodeURIComponent(match[1]!).replace(/~1/g, '/').replace(/~0/g, '~') : undefined;
}

/** 3.0 `nullable: true`: `type: T` → `type: [T, "null"]`; without a type, `anyOf` with null. */
export function applyNullable(schema: Schema, converted: Schema): Schema {
  if (schema.nullable !== true) return converted;
  if (typeof converted.type === 'string') {
    const out: Schema = { ...converted, type: [converted.type, 'null'] };
    if (Array.isArray(converted.enum) && !converted.enum.includes(null)) out.enum = [...converted.enum, null];
    return out;
  }
  if (Array.isArray(converted.type)) {
    return converted.type.includes('null') ? converted : { ...converted, type: [...converted.type, 'null'] };
  }
  return { anyOf: [{ type: 'null' }, converted] };
}

/** 3.0 boolean `exclusiveMinimum`/`exclusiveMaximum` → the numeric form Ajv uses. */
export function applyExclusiveBounds(schema: Schema): Schema {
  const out = { ...schema };
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (out[flag] === true && typeof out[bound] === 'number') {
      out[flag] = out[bound];
      delete out[bound];
    } else if (out[flag] === false) {
      delete out[flag];
    }
  }
  return out;
}

/**
 * `readOnly` properties are refused in requests (and not required there);
 * `writeOnly` properties are not required in responses.
 */
export function applyReadWrite(schema: Schema, direction: Direction): Schema {
  if (!isObject(schema.properties)) return schema;
  const hidden = direction === 'request' ? 'readOnly' : 'writeOnly';
  const dropped = Object.entries(schema.properties)
    .filter(([, property]) => isObject(property) && property[hidden] === true)
    .map(([name]) => name);
  if (dropped.length === 0) return schema;
  const out: Schema = { ...schema };
  if (Array.isArray(schema.required))
    out.required = schema.required.filter((name) => !dropped.includes(String(name)));
  if (direction === 'request') {
    out.properties = { ...schema.properties };
    for (const name of dropped) (out.properties as Schema)[name] = { not: {}, description: 'readOnly' };
  }
  return out;
}

export interface DiscriminatorInfo {
  propertyName: string;
  /** Discriminator value → schema name. */
  mapping: Record<string, string>;
}

/**
 * The discriminator of a schema, with OpenAPI's implicit mapping (a `oneOf`/`anyOf`
 * branch `$ref: .../Name` is selected by the value `Name`) filled in.
 */
export function discriminatorOf(schema: Schema): DiscriminatorInfo | undefined {
  const discriminator = schema.discriminator;
  if (!isObject(discriminator) || typeof discriminator.propertyName !== 'string') return undefined;
  const mapping: Record<string, string> = {};
  const explicit = isObject(discriminator.mapping) ? discriminator.mapping : {};
  for (const [value, target] of Object.entries(explicit)) {
    const name = typeof target === 'string' ? (componentName(target) ?? target) : undefined;
    if (name) mapping[value] = name;
  }
  // A branch named by no explicit entry is selected by its schema name.
  const mapped = new Set(Object.values(mapping));
  const branches = [
    ...(Array.isArray(schema.oneOf) ? schema.oneOf : []),
    ...(Array.isArray(schema.anyOf) ? schema.anyOf : []),
  ];
  for (const branch of branches) {
    const name = isObject(branch) && typeof branch.$ref === 'string' ? componentName(branch.$ref) : undefined;
    if (name && !mapped.has(name)) mapping[name] = name;
  }
  return { propertyName: discriminator.propertyName, mapping };
}

/**
 * Ajv's own `discriminator` keyword refuses `mapping`, so a discriminator
 * becomes explicit dispatch: one `if (property == value) then $ref` per
 * mapping entry. With `oneOf`/`anyOf` the branches are replaced by the
 * dispatch and the value must be one of the mapped ones; on a base schema
 * (the `allOf` inheritance pattern) the dispatch is added to the base.
 */
export function discriminatorDispatch(info: DiscriminatorInfo, refFor: (name: string) => string): Schema[] {
  return Object.entries(info.mapping).map(([value, name]) => ({
    if: { properties: { [info.propertyName]: { const: value } }, required: [info.propertyName] },
    then: { $ref: refFor(name) },
  }));
}

/** Converts one schema (and everything nested in it). `self` is the component's own name, if any. */
export function convertSchema(schema: unknown, ctx: ConvertContext, self?: string): Schema | boolean {
  if (typeof schema === 'boolean') return schema;
  if (!isObject(schema)) return {};
  if (typeof schema.$ref === 'string') {
    const name = componentName(schema.$ref);
    const ref: Schema = { $ref: name === undefined ? schema.$ref : ctx.refFor(name) };
    // OpenAPI 3.0 ignores siblings of $ref; 3.1 applies them.
    if (ctx.openapiVersion === '3.0') return applyNullable(schema, ref);
    const { $ref: _ignored, ...siblings } = schema;
    const rest = convertSchema(siblings, ctx);
    return isObject(rest) && Object.keys(rest).length > 0 ? { allOf: [ref, rest] } : ref;
  }
  let source = ctx.openapiVersion === '3.0' ? applyExclusiveBounds(schema) : schema;
  source = applyReadWrite(source, ctx.direction);
  const out: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    if (ANNOTATIONS.has(key) || key.startsWith('x-')) continue;
    // Not an OpenAPI 3.0 keyword: documents put anything there, and Ajv would check it as JSON Schema.
    if (key === 'definitions' && ctx.openapiVersion === '3.0') continue;
    if (SUBSCHEMA.has(key)) out[key] = convertSchema(value, ctx);
    else if (SUBSCHEMA_LISTS.has(key) && Array.isArray(value))
      out[key] = value.map((item) => convertSchema(item, ctx));
    else if (SUBSCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, convertSchema(sub, ctx)]),
      );
    } else out[key] = value;
  }
  const info = discriminatorOf(schema);
  if (info && Object.keys(info.mapping).length > 0) {
    const dispatch = discriminatorDispatch(info, ctx.refFor).filter(
      // A base schema dispatching to itself would loop.
      (entry) => (entry.then as Schema).$ref !== (self ? ctx.refFor(self) : undefined),
    );
    const hadBranches = Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf);
    if (hadBranches) {
      delete out.oneOf;
      delete out.anyOf;
      const values = Object.keys(info.mapping);
      out.required = [...new Set([...(Array.isArray(out.required) ? out.required : []), info.propertyName])];
      out.properties = {
        ...(isObject(out.properties) ? out.properties : {}),
        [info.propertyName]: { enum: values },
      };
    }
    if (dispatch.length > 0) out.allOf = [...(Array.isArray(out.allOf) ? out.allOf : []), ...dispatch];
  }
  return applyNullable(schema, out);
}
