import build from 'fast-json-stringify';
import type { ResponseSchemas } from '../validation/validators.js';

/** Writes one JSON response body; throws when a required property is missing. */
export type BodySerializer = (body: unknown) => string;

/** The serializer of an operation's documented response for `status`, if it has a JSON body schema. */
export type ResponseSerializers = (status: number) => BodySerializer | undefined;

type Schema = Record<string, unknown>;

const COMPOSED = ['allOf', 'anyOf', 'oneOf', 'if', '$ref'];
const NESTED_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const NESTED = ['items', 'additionalProperties', 'if', 'then', 'else', 'not', 'contains'];
const NESTED_MAPS = ['properties', 'patternProperties', 'definitions', '$defs'];

function isSchema(value: unknown): value is Schema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function allowsObject(schema: Schema): boolean {
  const { type } = schema;
  return type === 'object' || (Array.isArray(type) && type.includes('object'));
}

/**
 * A copy of `schema` that fast-json-stringify writes without losing data a
 * valid body may hold: an object schema that names no properties (a
 * free-form map) keeps every property. Objects with documented properties
 * keep only those, as with any Fastify response schema.
 */
export function serializationSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(serializationSchema);
  if (!isSchema(schema)) return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (NESTED.includes(key)) out[key] = serializationSchema(value);
    else if (NESTED_LISTS.includes(key) && Array.isArray(value)) out[key] = value.map(serializationSchema);
    else if (NESTED_MAPS.includes(key) && isSchema(value))
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, serializationSchema(sub)]),
      );
    else out[key] = value;
  }
  if (Array.isArray(out.allOf)) out.allOf = chainDispatch(out.allOf);
  const named = ['properties', 'patternProperties', 'additionalProperties', ...COMPOSED].some(
    (key) => key in schema,
  );
  if (allowsObject(schema) && !named) out.additionalProperties = true;
  return out;
}

/** The property a discriminator dispatch entry tests (`if: { properties: { P: { const } }, required: [P] }, then`). */
function dispatchProperty(member: unknown): string | undefined {
  if (!isSchema(member) || Object.keys(member).sort().join() !== 'if,then' || !isSchema(member.if))
    return undefined;
  const { properties, required } = member.if;
  if (!isSchema(properties) || !Array.isArray(required) || required.length !== 1) return undefined;
  const name = required[0];
  if (typeof name !== 'string' || Object.keys(properties).join() !== name) return undefined;
  const test = properties[name];
  return isSchema(test) && 'const' in test ? name : undefined;
}

/**
 * A discriminator's dispatch (`allOf` of `if: { P: const v } then: $ref` entries, one per
 * value of one property P) as one `if`/`then`/`else` chain: the values exclude each other,
 * so it selects the same subtype, and fast-json-stringify then merges only that subtype
 * with the base, not every subtype with each other.
 */
function chainDispatch(members: unknown[]): unknown[] {
  const properties = members.map(dispatchProperty);
  const dispatch = members.filter((_, index) => properties[index] !== undefined) as Schema[];
  if (dispatch.length < 2 || new Set(properties.filter(Boolean)).size !== 1) return members;
  let chain: Schema | undefined;
  for (const entry of [...dispatch].reverse()) {
    chain = { if: entry.if, then: entry.then, ...(chain ? { else: chain } : {}) };
  }
  return [...members.filter((_, index) => properties[index] === undefined), chain];
}

// The keywords fast-json-stringify walks when it looks for recursive schemas (its
// `detectRecursiveSchemas`), following every `$ref`.
const WALKED = ['additionalItems', 'additionalProperties', 'contains', 'else', 'if', 'not', 'then'];
const WALKED_LISTS = ['allOf', 'anyOf', 'oneOf'];
const WALKED_MAPS = ['definitions', 'patternProperties', 'properties'];

/**
 * The most schema visits a body's serializer may cost to compile.
 * fast-json-stringify looks for recursion by walking every path through the
 * schema's references without remembering what it has seen, so a document
 * whose schemas share many references (Stripe's expandable objects) takes
 * exponential time and would stall start-up; such a body is left to
 * `JSON.stringify`.
 */
export const MAX_SERIALIZER_WALK = 20_000;

/**
 * How many schema visits that walk makes from `schema`, the same walk
 * (every path, a schema already on the path not entered again), stopped as
 * soon as it reaches `limit`, so it costs at most `limit` visits. `$ref`s are
 * resolved against `documents` by `$id` (`id#/json/pointer`; a bare `#/…`
 * within `schema`).
 */
export function serializerWalkSize(
  schema: unknown,
  documents: Record<string, unknown>,
  limit = MAX_SERIALIZER_WALK,
): number {
  const onPath = new Set<object>();
  let count = 0;
  const resolve = (ref: string): unknown => {
    const hash = ref.indexOf('#');
    let node: unknown = hash === 0 ? schema : documents[hash === -1 ? ref : ref.slice(0, hash)];
    for (const token of hash === -1
      ? []
      : ref
          .slice(hash + 1)
          .split('/')
          .slice(1)) {
      if (node === null || typeof node !== 'object') return undefined;
      node = (node as Record<string, unknown>)[
        decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~')
      ];
    }
    return node;
  };
  const visit = (node: unknown): void => {
    if (!isSchema(node) || count >= limit || onPath.has(node)) return;
    count++;
    onPath.add(node);
    if (typeof node.$ref === 'string') visit(resolve(node.$ref));
    for (const key of WALKED) visit(node[key]);
    for (const key of WALKED_LISTS) if (Array.isArray(node[key])) for (const child of node[key]) visit(child);
    if (Array.isArray(node.items)) for (const child of node.items) visit(child);
    else visit(node.items);
    for (const key of WALKED_MAPS)
      if (isSchema(node[key])) for (const child of Object.values(node[key])) visit(child);
    if (isSchema(node.dependencies)) for (const child of Object.values(node.dependencies)) visit(child);
    onPath.delete(node);
  };
  visit(schema);
  return count;
}

/** A documented response body whose schema fast-json-stringify could not compile. */
export interface UncompiledResponse {
  operationId: string;
  status: string;
  error: unknown;
}

/**
 * Compiles a serializer (fast-json-stringify) for every documented JSON
 * response body of every operation in `schemas`, once per distinct schema.
 * A body schema fast-json-stringify cannot compile is left to `JSON.stringify`
 * and reported to `onUncompiled`.
 */
export function createResponseSerializers(
  schemas: ResponseSchemas | undefined,
  onUncompiled?: (failure: UncompiledResponse) => void,
): Map<string, ResponseSerializers> {
  const byOperation = new Map<string, ResponseSerializers>();
  if (schemas === undefined) return byOperation;
  const external = {
    [schemas.id]: serializationSchema({ $id: schemas.id, definitions: schemas.definitions }),
  };
  const compiled = new Map<string, BodySerializer | { error: unknown }>();
  const compile = (schema: unknown): BodySerializer | { error: unknown } => {
    const key = JSON.stringify(schema);
    let serializer = compiled.get(key);
    if (serializer !== undefined) return serializer;
    const prepared = serializationSchema(schema);
    const walk = serializerWalkSize(prepared, external);
    if (walk >= MAX_SERIALIZER_WALK) {
      serializer = {
        error: new Error(
          `its references make fast-json-stringify walk more than ${MAX_SERIALIZER_WALK.toLocaleString('en')} schemas to compile it`,
        ),
      };
      compiled.set(key, serializer);
      return serializer;
    }
    try {
      serializer = build(prepared as Parameters<typeof build>[0], {
        schema: external as never,
      }) as BodySerializer;
    } catch (error) {
      serializer = { error };
    }
    compiled.set(key, serializer);
    return serializer;
  };
  for (const [operationId, statuses] of Object.entries(schemas.operations)) {
    const exact = new Map<number, BodySerializer>();
    const ranges = new Map<number, BodySerializer>();
    let fallback: BodySerializer | undefined;
    for (const [status, schema] of Object.entries(statuses)) {
      const serializer = compile(schema);
      if (typeof serializer !== 'function') {
        onUncompiled?.({ operationId, status, error: serializer.error });
        continue;
      }
      if (/^[1-5]\d\d$/.test(status)) exact.set(Number(status), serializer);
      else if (/^[1-5]XX$/i.test(status)) ranges.set(Number(status[0]), serializer);
      else if (status === 'default') fallback = serializer;
    }
    byOperation.set(
      operationId,
      (status) => exact.get(status) ?? ranges.get(Math.floor(status / 100)) ?? fallback,
    );
  }
  return byOperation;
}
