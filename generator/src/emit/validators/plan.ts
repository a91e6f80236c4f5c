import type { Parameter, ResponseHeader, Schema } from '../../ir/types.js';
import { componentName } from './schema.js';

export type PrimitiveType = 'string' | 'integer' | 'number' | 'boolean';

/** The coercion plan of one parameter, as `@telegate/runtime/validation` reads it. */
export interface ParameterPlan {
  name: string;
  type: PrimitiveType | 'array' | 'object';
  items?: PrimitiveType;
  style: string;
  explode: boolean;
}

const PRIMITIVES = new Set(['string', 'integer', 'number', 'boolean']);

/** The effective `type` of a schema: through `$ref`s and `allOf`, ignoring `null`. */
export function schemaType(
  schema: unknown,
  schemas: Record<string, Schema>,
  seen = new Set<string>(),
): string | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const s = schema as Schema;
  if (typeof s.$ref === 'string') {
    const name = componentName(s.$ref);
    if (!name || seen.has(name)) return undefined;
    seen.add(name);
    return schemaType(schemas[name], schemas, seen);
  }
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.type)) return s.type.find((t): t is string => typeof t === 'string' && t !== 'null');
  for (const list of [s.allOf, s.oneOf, s.anyOf]) {
    if (!Array.isArray(list)) continue;
    for (const member of list) {
      const type = schemaType(member, schemas, seen);
      if (type) return type;
    }
  }
  if (s.properties) return 'object';
  if (s.items) return 'array';
  return undefined;
}

function itemsSchema(schema: unknown, schemas: Record<string, Schema>): unknown {
  let s = schema as Schema | undefined;
  for (let depth = 0; s && typeof s.$ref === 'string' && depth < 20; depth++) {
    const name = componentName(s.$ref);
    s = name ? schemas[name] : undefined;
  }
  return s?.items;
}

export function parameterPlan(parameter: Parameter, schemas: Record<string, Schema>): ParameterPlan {
  const type = schemaType(parameter.schema, schemas);
  const plan: ParameterPlan = {
    name: parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name,
    type:
      type === 'array' || type === 'object' || PRIMITIVES.has(type ?? '')
        ? (type as ParameterPlan['type'])
        : 'string',
    style: parameter.style,
    explode: parameter.explode,
  };
  if (plan.type === 'array') {
    const items = schemaType(itemsSchema(parameter.schema, schemas), schemas);
    plan.items = PRIMITIVES.has(items ?? '') ? (items as PrimitiveType) : 'string';
  }
  return plan;
}

/** Response headers are plain `simple` values. */
export function headerPlan(header: ResponseHeader, schemas: Record<string, Schema>): ParameterPlan {
  return parameterPlan(
    {
      name: header.name,
      in: 'header',
      required: header.required,
      deprecated: false,
      schema: header.schema,
      style: 'simple',
      explode: false,
      examples: [],
    },
    schemas,
  );
}
