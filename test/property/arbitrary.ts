/**
 * OpenAPI 3.0 schema → fast-check arbitrary, for the subset of JSON Schema the
 * CAMARA documents use, plus a small reference checker (`conforms`) and
 * single-field mutations that take a valid value out of its schema.
 *
 * Supported keywords (anything else makes `buildSample` throw `Unsupported`,
 * and the caller counts the schema as skipped):
 *
 * - `$ref` to `#/components/schemas/*` (3.0: siblings ignored; recursion is refused);
 * - `type` (one of string, number, integer, boolean, object, array), `nullable` (with a `type`), `enum`;
 * - objects: `properties`, `required`, `additionalProperties` (`false`, `true` or a schema);
 *   `readOnly` properties are absent in requests (the validators' request direction);
 * - strings: `minLength`, `maxLength` (in code points, as Ajv counts), `pattern`
 *   (`fc.stringMatching(new RegExp(pattern, 'u'))`), `format` uuid, date-time, date, uri,
 *   uri-reference, email, hostname, ipv4, ipv6;
 * - numbers: `minimum`, `maximum`, `exclusiveMinimum`/`exclusiveMaximum: false`,
 *   `format` int32, int64, float, double;
 * - arrays: `items`, `minItems`, `maxItems`;
 * - `allOf` (merged: every member's constraints apply), `oneOf`/`anyOf` (one branch is
 *   picked; for `oneOf` values matching several branches are filtered out),
 *   `discriminator` on a base schema (the `allOf` inheritance pattern: the value either
 *   takes a mapped value and the mapped schema, or an unmapped value and the base alone).
 * - annotations (`description`, `example`, `x-*`, ...) are ignored.
 *
 * Formats are checked with ajv-formats' own `fullFormats` in the reference checker: the
 * point is the generated validators (OpenAPI → JSON Schema conversion, standalone code,
 * error reporting), not the format regexes.
 */

import { fullFormats } from 'ajv-formats/dist/formats.js';
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, unknown>;
type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

/** A schema this arbitrary cannot generate values for; the message names the keyword. */
export class Unsupported extends Error {}

const ANNOTATIONS = new Set([
  'description',
  'title',
  'example',
  'examples',
  'externalDocs',
  'xml',
  'deprecated',
  '$comment',
  'readOnly',
  'writeOnly',
  'default',
]);
const HANDLED = new Set([
  '$ref',
  'type',
  'nullable',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'allOf',
  'oneOf',
  'anyOf',
  'discriminator',
]);
const STRING_FORMATS = new Set([
  'uuid',
  'date-time',
  'date',
  'uri',
  'uri-reference',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
]);
const NUMBER_FORMATS = new Set(['int32', 'int64', 'float', 'double']);
const COMPONENT_REF = /^#\/components\/schemas\/(.+)$/;
const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;

/** A schema in its place: the component it sits in decides which discriminators apply. */
interface Ctx {
  schema: unknown;
  /** Bases whose discriminator is ignored here (the enclosing component extends them). */
  parents: ReadonlySet<string>;
  /** The enclosing component, if any. */
  self: string | undefined;
  /** Components being expanded (recursion guard). */
  stack: readonly string[];
}

interface Dispatch {
  property: string;
  /** Discriminator value → component name. */
  mapping: [string, string][];
  parents: ReadonlySet<string>;
  stack: readonly string[];
}

/** The merged constraints of a schema and its `allOf` members. */
interface Node {
  types: Set<JsonType> | undefined;
  enums: unknown[][];
  minLength: number | undefined;
  maxLength: number | undefined;
  patterns: string[];
  formats: string[];
  minimum: number | undefined;
  maximum: number | undefined;
  properties: Map<string, Ctx[]>;
  required: Set<string>;
  /** readOnly properties: refused in requests. */
  forbidden: Set<string>;
  /** One entry per (merged) schema with `additionalProperties`: keys it does not declare. */
  additional: { declared: Set<string>; schema: Ctx | false }[];
  items: Ctx[];
  minItems: number | undefined;
  maxItems: number | undefined;
  alternatives: { kind: 'oneOf' | 'anyOf'; branches: Ctx[] }[];
  dispatches: Dispatch[];
}

function emptyNode(): Node {
  return {
    types: undefined,
    enums: [],
    minLength: undefined,
    maxLength: undefined,
    patterns: [],
    formats: [],
    minimum: undefined,
    maximum: undefined,
    properties: new Map(),
    required: new Set(),
    forbidden: new Set(),
    additional: [],
    items: [],
    minItems: undefined,
    maxItems: undefined,
    alternatives: [],
    dispatches: [],
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const hasOwn = (object: object, key: string) => Object.hasOwn(object, key);

function intersectTypes(
  a: Set<JsonType> | undefined,
  b: Set<JsonType> | undefined,
): Set<JsonType> | undefined {
  if (!a) return b;
  if (!b) return a;
  const out = new Set<JsonType>();
  for (const t of a) {
    if (b.has(t)) out.add(t);
    else if (t === 'integer' && b.has('number')) out.add('integer');
    else if (t === 'number' && b.has('integer')) out.add('integer');
  }
  return out;
}

const maxOf = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);
const minOf = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

function merge(a: Node, b: Node): Node {
  const properties = new Map(a.properties);
  for (const [name, ctxs] of b.properties) properties.set(name, [...(properties.get(name) ?? []), ...ctxs]);
  return {
    types: intersectTypes(a.types, b.types),
    enums: [...a.enums, ...b.enums],
    minLength: maxOf(a.minLength, b.minLength),
    maxLength: minOf(a.maxLength, b.maxLength),
    patterns: [...a.patterns, ...b.patterns],
    formats: [...new Set([...a.formats, ...b.formats])],
    minimum: maxOf(a.minimum, b.minimum),
    maximum: minOf(a.maximum, b.maximum),
    properties,
    required: new Set([...a.required, ...b.required]),
    forbidden: new Set([...a.forbidden, ...b.forbidden]),
    additional: [...a.additional, ...b.additional],
    items: [...a.items, ...b.items],
    minItems: maxOf(a.minItems, b.minItems),
    maxItems: minOf(a.maxItems, b.maxItems),
    alternatives: [...a.alternatives, ...b.alternatives],
    dispatches: [...a.dispatches, ...b.dispatches],
  };
}

const typeOf = (value: unknown): JsonType | undefined => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'string' || typeof value === 'boolean') return typeof value as JsonType;
  return undefined;
};

function typeAllowed(types: Set<JsonType>, value: unknown): boolean {
  const t = typeOf(value);
  if (t === undefined) return false;
  if (typeof value === 'number' && !Number.isFinite(value)) return false;
  return types.has(t) || (t === 'integer' && types.has('number'));
}

const codePoints = (s: string) => [...s].length;
const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

function formatOk(format: string, value: unknown): boolean {
  const definition = (fullFormats as Record<string, unknown>)[format];
  if (definition instanceof RegExp) return typeof value !== 'string' || definition.test(value);
  const validate =
    typeof definition === 'function'
      ? definition
      : isObject(definition) && typeof definition.validate === 'function'
        ? definition.validate
        : undefined;
  if (!validate) throw new Unsupported(`format ${format}`);
  const type = isObject(definition) && typeof definition.type === 'string' ? definition.type : 'string';
  if (type === 'number' ? typeof value !== 'number' : typeof value !== 'string') return true;
  return (validate as (v: unknown) => boolean)(value);
}

/** A single change that takes a valid value out of its schema. */
export interface Mutation {
  kind: 'replace' | 'remove' | 'add';
  /** Where: the value replaced, or the object a property is removed from / added to. */
  path: (string | number)[];
  key?: string;
  value?: Json;
  /** The keyword the result violates. */
  keyword: string;
  /** Why the result is invalid, for failure messages. */
  reason: string;
  /**
   * The change happened under a `oneOf`/`anyOf` branch or a discriminator dispatch: another
   * branch might still accept the result, so the test checks it with `conforms` first.
   */
  guarded: boolean;
}

export interface Sample {
  value: Json;
  /** Paths are relative to `value`. */
  mutations: Mutation[];
}

const nameOf = (path: (string | number)[]) => (path.length === 0 ? 'value' : path.join('/'));

/** The field a mutation changes, as the validators name it: `a/b/0` (or `value` for the root). */
export function mutatedField(mutation: Mutation): string {
  return nameOf(mutation.kind === 'replace' ? mutation.path : [...mutation.path, mutation.key!]);
}

/** Sets an own property, `__proto__` included. */
function define(object: Record<string, Json>, key: string, value: Json): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy of `root` with the mutation applied (JSON values only). */
export function applyMutation(root: Json, mutation: Mutation): Json {
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  const parentPath = mutation.kind === 'replace' ? mutation.path.slice(0, -1) : mutation.path;
  if (mutation.kind === 'replace' && mutation.path.length === 0) return mutation.value ?? null;
  let target: Json = copy;
  for (const step of parentPath) target = (target as Record<string | number, Json>)[step] as Json;
  if (mutation.kind === 'replace') {
    const last = mutation.path[mutation.path.length - 1]!;
    if (Array.isArray(target)) target[last as number] = mutation.value ?? null;
    else define(target as Record<string, Json>, String(last), mutation.value ?? null);
  } else if (mutation.kind === 'remove') {
    delete (target as Record<string, Json>)[mutation.key!];
  } else {
    define(target as Record<string, Json>, mutation.key!, mutation.value ?? null);
  }
  return copy;
}

/** Arbitrary values (and their mutations) for the schemas of one OpenAPI 3.0 document. */
export class SchemaModel {
  /** Component → the bases whose discriminator maps to it (it extends them). */
  private readonly bases = new Map<string, Set<string>>();
  private readonly nodes = new WeakMap<Ctx, Node>();

  constructor(
    private readonly schemas: Record<string, Schema>,
    private readonly direction: 'request' | 'response' = 'request',
    /**
     * `false`: objects that declare properties get no others unless an
     * `additionalProperties` schema asks for them (free-form objects still do).
     */
    private readonly undeclaredKeys = true,
  ) {
    for (const [name, schema] of Object.entries(schemas)) {
      if (!isObject(schema.discriminator) || schema.oneOf || schema.anyOf) continue;
      for (const target of Object.values(this.mapping(schema))) {
        if (target === name) continue;
        if (!this.bases.has(target)) this.bases.set(target, new Set());
        this.bases.get(target)!.add(name);
      }
    }
  }

  /** The context of a root schema (a request body, a component `$ref`). */
  root(schema: unknown): Ctx {
    return { schema, parents: new Set(), self: undefined, stack: [] };
  }

  private mapping(schema: Schema): Record<string, string> {
    const discriminator = schema.discriminator as Schema;
    const out: Record<string, string> = {};
    for (const [value, target] of Object.entries(
      isObject(discriminator.mapping) ? discriminator.mapping : {},
    )) {
      const match = typeof target === 'string' ? COMPONENT_REF.exec(target) : null;
      out[value] = match ? decodeURIComponent(match[1]!) : String(target);
    }
    return out;
  }

  private child(ctx: Ctx, schema: unknown): Ctx {
    return { schema, parents: ctx.parents, self: ctx.self, stack: ctx.stack };
  }

  private readonly refs = new Map<string, Ctx>();

  /** `$ref` to a component from a place with these `parents` (cached, so its node is normalised once). */
  private refCtx(name: string, parents: ReadonlySet<string>, stack: readonly string[]): Ctx {
    const key = JSON.stringify([name, [...parents], stack]);
    let ctx = this.refs.get(key);
    if (!ctx) {
      ctx = { schema: { $ref: `#/components/schemas/${name}` }, parents, self: undefined, stack };
      this.refs.set(key, ctx);
    }
    return ctx;
  }

  normalize(ctx: Ctx): Node {
    const cached = this.nodes.get(ctx);
    if (cached) return cached;
    const node = this.compute(ctx);
    this.nodes.set(ctx, node);
    return node;
  }

  private compute(ctx: Ctx): Node {
    const schema = ctx.schema;
    if (schema === true || schema === undefined) return emptyNode();
    if (!isObject(schema)) throw new Unsupported(`schema ${JSON.stringify(schema)}`);
    if (typeof schema.$ref === 'string') {
      const match = COMPONENT_REF.exec(schema.$ref);
      if (!match) throw new Unsupported(`$ref ${schema.$ref}`);
      const name = decodeURIComponent(match[1]!);
      if (schema.nullable === true) throw new Unsupported('nullable $ref');
      // A component that extends a base refers to the base without its discriminator (so no loop).
      const dropDiscriminator = ctx.parents.has(name);
      if (ctx.stack.includes(name) && !dropDiscriminator) throw new Unsupported(`recursive $ref ${name}`);
      const target = this.schemas[name];
      if (!isObject(target)) throw new Unsupported(`unknown $ref ${name}`);
      const inner: Ctx = {
        schema: target,
        parents: this.bases.get(name) ?? new Set(),
        self: name,
        stack: [...ctx.stack, name],
      };
      return this.own(inner, dropDiscriminator);
    }
    return this.own(ctx, false);
  }

  private own(ctx: Ctx, dropDiscriminator: boolean): Node {
    const schema = ctx.schema as Schema;
    for (const key of Object.keys(schema)) {
      if (!HANDLED.has(key) && !ANNOTATIONS.has(key) && !key.startsWith('x-')) throw new Unsupported(key);
    }
    let node = emptyNode();
    if (schema.type !== undefined) {
      if (typeof schema.type !== 'string') throw new Unsupported('type list');
      node.types = new Set([schema.type as JsonType]);
    }
    if (schema.nullable === true) {
      if (!node.types) throw new Unsupported('nullable without type');
      node.types.add('null');
    }
    if (Array.isArray(schema.enum)) {
      node.enums.push(schema.nullable === true ? [...schema.enum, null] : [...schema.enum]);
    }
    for (const [key, bound] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      if (schema[key] === true) throw new Unsupported(`${key}: true`);
      if (schema[key] !== undefined && schema[key] !== false) throw new Unsupported(key);
      if (schema[bound] !== undefined && typeof schema[bound] !== 'number') throw new Unsupported(bound);
    }
    node.minimum = schema.minimum as number | undefined;
    node.maximum = schema.maximum as number | undefined;
    node.minLength = schema.minLength as number | undefined;
    node.maxLength = schema.maxLength as number | undefined;
    node.minItems = schema.minItems as number | undefined;
    node.maxItems = schema.maxItems as number | undefined;
    if (typeof schema.pattern === 'string') node.patterns.push(schema.pattern);
    if (typeof schema.format === 'string') {
      if (!STRING_FORMATS.has(schema.format) && !NUMBER_FORMATS.has(schema.format))
        throw new Unsupported(`format ${schema.format}`);
      node.formats.push(schema.format);
    }
    if (isObject(schema.properties)) {
      const hidden = this.direction === 'request' ? 'readOnly' : 'writeOnly';
      for (const [name, sub] of Object.entries(schema.properties)) {
        node.properties.set(name, [this.child(ctx, sub)]);
        if (this.direction === 'request' && isObject(sub) && sub[hidden] === true) node.forbidden.add(name);
      }
    }
    if (Array.isArray(schema.required)) {
      for (const name of schema.required) {
        if (!node.forbidden.has(String(name))) node.required.add(String(name));
      }
    }
    if (schema.additionalProperties === false || isObject(schema.additionalProperties)) {
      node.additional.push({
        declared: new Set(isObject(schema.properties) ? Object.keys(schema.properties) : []),
        schema: schema.additionalProperties === false ? false : this.child(ctx, schema.additionalProperties),
      });
    } else if (schema.additionalProperties !== undefined && schema.additionalProperties !== true) {
      throw new Unsupported('additionalProperties');
    }
    if (schema.items !== undefined) node.items.push(this.child(ctx, schema.items));
    for (const kind of ['oneOf', 'anyOf'] as const) {
      if (!Array.isArray(schema[kind])) continue;
      if (schema.discriminator) throw new Unsupported(`${kind} with discriminator`);
      node.alternatives.push({
        kind,
        branches: (schema[kind] as unknown[]).map((branch) => this.child(ctx, branch)),
      });
    }
    if (isObject(schema.discriminator) && !dropDiscriminator) {
      const property = schema.discriminator.propertyName;
      if (typeof property !== 'string') throw new Unsupported('discriminator');
      const mapping = Object.entries(this.mapping(schema)).filter(([, target]) => target !== ctx.self);
      if (mapping.length > 0)
        node.dispatches.push({ property, mapping, parents: ctx.parents, stack: ctx.stack });
    }
    if (Array.isArray(schema.allOf)) {
      for (const member of schema.allOf) node = merge(node, this.normalize(this.child(ctx, member)));
    }
    return node;
  }

  private mergeAll(ctxs: readonly Ctx[]): Node {
    return ctxs.reduce((node, ctx) => merge(node, this.normalize(ctx)), emptyNode());
  }

  /** The reference checker: does `value` satisfy the schema of `ctx` (OpenAPI 3.0, request direction)? */
  conforms(ctx: Ctx, value: unknown): boolean {
    return this.conformsNode(this.normalize(ctx), value);
  }

  private conformsLocal(node: Node, value: unknown): boolean {
    if (node.types && !typeAllowed(node.types, value)) return false;
    if (node.enums.some((list) => !list.some((v) => same(v, value)))) return false;
    if (typeof value === 'string') {
      const length = codePoints(value);
      if (node.minLength !== undefined && length < node.minLength) return false;
      if (node.maxLength !== undefined && length > node.maxLength) return false;
      if (node.patterns.some((p) => !new RegExp(p, 'u').test(value))) return false;
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return false;
      if (node.minimum !== undefined && value < node.minimum) return false;
      if (node.maximum !== undefined && value > node.maximum) return false;
    }
    if (node.formats.some((format) => !formatOk(format, value))) return false;
    if (Array.isArray(value)) {
      if (node.minItems !== undefined && value.length < node.minItems) return false;
      if (node.maxItems !== undefined && value.length > node.maxItems) return false;
    }
    return true;
  }

  private conformsNode(node: Node, value: unknown): boolean {
    if (!this.conformsLocal(node, value)) return false;
    if (isObject(value)) {
      for (const name of node.required) if (!hasOwn(value, name)) return false;
      for (const name of node.forbidden) if (hasOwn(value, name)) return false;
      for (const [name, ctxs] of node.properties) {
        if (hasOwn(value, name) && !ctxs.every((ctx) => this.conforms(ctx, value[name]))) return false;
      }
      for (const { declared, schema } of node.additional) {
        for (const key of Object.keys(value)) {
          if (declared.has(key)) continue;
          if (schema === false || !this.conforms(schema, value[key])) return false;
        }
      }
    }
    if (Array.isArray(value)) {
      if (!value.every((item) => node.items.every((ctx) => this.conforms(ctx, item)))) return false;
    }
    for (const { kind, branches } of node.alternatives) {
      const matching = branches.filter((branch) => this.conforms(branch, value)).length;
      if (kind === 'oneOf' ? matching !== 1 : matching === 0) return false;
    }
    for (const dispatch of node.dispatches) {
      if (!isObject(value) || !hasOwn(value, dispatch.property)) continue;
      const entry = dispatch.mapping.find(([v]) => same(v, value[dispatch.property]));
      if (entry && !this.conforms(this.refCtx(entry[1], dispatch.parents, dispatch.stack), value))
        return false;
    }
    return true;
  }

  /** Valid values of a schema, each with the mutations that would make it invalid. */
  sample(ctx: Ctx): fc.Arbitrary<Sample> {
    return this.build(this.normalize(ctx), false);
  }

  private build(node: Node, guarded: boolean): fc.Arbitrary<Sample> {
    const [alternative, ...otherAlternatives] = node.alternatives;
    if (alternative) {
      const base: Node = { ...node, alternatives: otherAlternatives };
      const options = alternative.branches.map((branch) => {
        const arb = this.build(merge(base, this.normalize(branch)), true);
        if (alternative.kind === 'anyOf') return arb;
        return checked(
          arb,
          (s) => alternative.branches.filter((b) => this.conforms(b, s.value)).length === 1,
          `oneOf exclusivity`,
        );
      });
      return fc.oneof(...options);
    }
    const [dispatch, ...otherDispatches] = node.dispatches;
    if (dispatch) {
      const base: Node = { ...node, dispatches: otherDispatches };
      const values = dispatch.mapping.map(([value]) => value);
      const options = dispatch.mapping.map(([value, name]) => {
        const forced = emptyNode();
        forced.properties.set(dispatch.property, [this.root({ enum: [value] })]);
        forced.required.add(dispatch.property);
        const target = this.normalize(this.refCtx(name, dispatch.parents, dispatch.stack));
        return this.build(merge(merge(base, target), forced), true);
      });
      const property = this.mergeAll(base.properties.get(dispatch.property) ?? []);
      const covered =
        base.required.has(dispatch.property) &&
        property.enums.length > 0 &&
        property.enums.some((list) => list.every((v) => values.includes(v as string)));
      if (!covered) {
        options.push(
          checked(
            this.build(base, true),
            (s) =>
              !isObject(s.value) ||
              !hasOwn(s.value, dispatch.property) ||
              !values.includes(s.value[dispatch.property] as string),
            'unmapped discriminator value',
          ),
        );
      }
      return fc.oneof(...options);
    }

    if (node.enums.length > 0) {
      const [first, ...rest] = node.enums;
      const plain: Node = { ...node, enums: [] };
      const candidates = first!.filter(
        (v) => rest.every((list) => list.some((w) => same(v, w))) && this.conformsNode(plain, v),
      ) as Json[];
      if (candidates.length === 0) throw new Unsupported('unsatisfiable enum');
      return fc.constantFrom(...candidates).map((value) => this.withMutations(node, value, [], guarded));
    }

    let types = node.types ? [...node.types] : this.inferTypes(node);
    if (types.includes('integer') && types.includes('number')) types = types.filter((t) => t !== 'integer');
    if (types.length === 0) throw new Unsupported('no type satisfies every allOf member');
    const arbs = types.map((type) => this.buildType(node, type, guarded));
    return arbs.length === 1 ? arbs[0]! : fc.oneof(...arbs);
  }

  private inferTypes(node: Node): JsonType[] {
    if (node.properties.size > 0 || node.required.size > 0 || node.additional.length > 0) return ['object'];
    if (node.items.length > 0 || node.minItems !== undefined || node.maxItems !== undefined) return ['array'];
    if (node.patterns.length > 0 || node.minLength !== undefined || node.maxLength !== undefined)
      return ['string'];
    if (node.formats.some((f) => STRING_FORMATS.has(f))) return ['string'];
    if (node.minimum !== undefined || node.maximum !== undefined) return ['number'];
    return ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'];
  }

  private buildType(node: Node, type: JsonType, guarded: boolean): fc.Arbitrary<Sample> {
    const leaf = (arb: fc.Arbitrary<Json>) =>
      arb.map((value) => this.withMutations(node, value, [], guarded));
    switch (type) {
      case 'null':
        return leaf(fc.constant(null));
      case 'boolean':
        return leaf(fc.boolean());
      case 'integer':
      case 'number':
        return leaf(this.numbers(node, type));
      case 'string':
        return leaf(this.strings(node));
      case 'array':
        return this.arrays(node, guarded);
      case 'object':
        return this.objects(node, guarded);
    }
  }

  private numbers(node: Node, type: 'integer' | 'number'): fc.Arbitrary<Json> {
    const formats = node.formats.filter((f) => NUMBER_FORMATS.has(f));
    const integer = type === 'integer' || formats.includes('int32') || formats.includes('int64');
    let lo = node.minimum;
    let hi = node.maximum;
    if (formats.includes('int32')) {
      lo = maxOf(lo, INT32[0]);
      hi = minOf(hi, INT32[1]);
    }
    if (integer) {
      const min = Math.max(Math.ceil(lo ?? Number.MIN_SAFE_INTEGER), Number.MIN_SAFE_INTEGER);
      const max = Math.min(Math.floor(hi ?? Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
      if (min > max) throw new Unsupported('empty integer range');
      const range = fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
      return fc.oneof({ arbitrary: range, weight: 4 }, fc.constantFrom(min, max));
    }
    const min = lo ?? -Number.MAX_VALUE;
    const max = hi ?? Number.MAX_VALUE;
    if (min > max) throw new Unsupported('empty number range');
    const doubles = fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    const edges = [lo, hi].filter((v): v is number => v !== undefined);
    return edges.length > 0
      ? fc.oneof({ arbitrary: doubles, weight: 4 }, fc.constantFrom(...edges))
      : doubles;
  }

  private strings(node: Node): fc.Arbitrary<Json> {
    const formats = node.formats.filter((f) => STRING_FORMATS.has(f));
    if (formats.length > 1) throw new Unsupported('several string formats');
    const [format] = formats;
    const [pattern] = node.patterns;
    const min = node.minLength ?? 0;
    const max = node.maxLength;
    let arb: fc.Arbitrary<string>;
    if (format) arb = formatArbitrary(format);
    else if (pattern !== undefined)
      arb = fc.stringMatching(new RegExp(pattern, 'u'), max === undefined ? {} : { maxLength: max });
    else {
      const cap = Math.min(max ?? 64, min + 64);
      const options: fc.Arbitrary<string>[] = [
        fc.string({ minLength: min, maxLength: cap }),
        fc.string({ unit: 'binary', minLength: min, maxLength: cap }),
      ];
      // Exactly maxLength code points, astral ones included: Ajv counts code points, not UTF-16 units.
      if (max !== undefined && max <= 2048) {
        options.push(fc.string({ unit: 'binary', minLength: max, maxLength: max }));
        options.push(fc.constant('😀'.repeat(max)));
      }
      arb = fc.oneof(...options);
    }
    const plain: Node = { ...emptyNode(), ...pick(node), types: new Set(['string']) };
    return checked(arb, (s) => this.conformsLocal(plain, s), `string constraints`) as fc.Arbitrary<Json>;
  }

  private arrays(node: Node, guarded: boolean): fc.Arbitrary<Sample> {
    const item = node.items.length > 0 ? this.build(this.mergeAll(node.items), guarded) : anySample;
    const minLength = node.minItems ?? 0;
    const maxLength = Math.min(node.maxItems ?? minLength + 4, minLength + 4);
    if (minLength > maxLength) throw new Unsupported('empty array range');
    return fc.array(item, { minLength, maxLength }).map((samples) => {
      const value = samples.map((s) => s.value);
      const own = this.withMutations(node, value, [], guarded);
      samples.forEach((s, i) => {
        for (const m of s.mutations) own.mutations.push({ ...m, path: [i, ...m.path] });
      });
      return own;
    });
  }

  /** The schema of property `name` of an object node: its declarations and any additionalProperties schemas. */
  private propertyNode(node: Node, name: string): Node | undefined {
    let out = this.mergeAll(node.properties.get(name) ?? []);
    for (const { declared, schema } of node.additional) {
      if (declared.has(name)) continue;
      if (schema === false) return undefined;
      out = merge(out, this.normalize(schema));
    }
    return out;
  }

  private objects(node: Node, guarded: boolean): fc.Arbitrary<Sample> {
    const model: Record<string, fc.Arbitrary<Sample>> = {};
    for (const name of node.properties.keys()) {
      if (node.forbidden.has(name)) continue;
      const property = this.propertyNode(node, name);
      if (!property) {
        if (node.required.has(name))
          throw new Unsupported(`required ${name} refused by additionalProperties`);
        continue;
      }
      model[name] = this.build(property, guarded);
    }
    for (const name of node.required) {
      if (!(name in model)) {
        const property = this.propertyNode(node, name);
        if (!property) throw new Unsupported(`required ${name} refused by additionalProperties`);
        model[name] = this.build(property, guarded);
      }
    }
    const requiredKeys = [...node.required];
    const declared = new Set([...node.properties.keys(), ...node.required]);
    // Extra keys: open objects take anything; with additionalProperties schemas, values of their merge.
    let extras: fc.Arbitrary<[string, Sample][]> = fc.constant([]);
    const closedByChoice = !this.undeclaredKeys && declared.size > 0 && node.additional.length === 0;
    if (!closedByChoice && !node.additional.some((a) => a.schema === false)) {
      const schemas = node.additional.map((a) => a.schema as Ctx);
      const value = schemas.length > 0 ? this.build(this.mergeAll(schemas), guarded) : anySample;
      const key = fc
        .oneof(
          fc.string({ maxLength: 8 }),
          fc.constantFrom('__proto__', 'constructor', 'toString', 'a/b', 'x~y'),
        )
        .filter((k) => !declared.has(k));
      extras = fc.uniqueArray(fc.tuple(key, value), {
        maxLength: schemas.length > 0 ? 3 : 2,
        selector: ([k]) => k,
      });
    }
    return fc
      .tuple(fc.record(model, { requiredKeys }) as fc.Arbitrary<Record<string, Sample>>, extras)
      .map(([properties, extra]) => {
        const value: Record<string, Json> = {};
        const children: [string, Sample][] = [...Object.entries(properties), ...extra];
        for (const [key, s] of children) define(value, key, s.value);
        const own = this.withMutations(node, value, [], guarded);
        for (const [key, s] of children) {
          for (const m of s.mutations) own.mutations.push({ ...m, path: [key, ...m.path] });
        }
        return own;
      });
  }

  /** The mutations of `value` itself (its children add theirs). */
  private withMutations(node: Node, value: Json, path: (string | number)[], guarded: boolean): Sample {
    const mutations: Mutation[] = [];
    const replace = (bad: Json, keyword: string, reason: string) =>
      mutations.push({ kind: 'replace', path, value: bad, keyword, reason, guarded });
    // Wrong type / not in the enum.
    for (const bad of ['mutant', 7, 7.5, true, null, {}, []] as Json[]) {
      const wrongType = node.types !== undefined && !typeAllowed(node.types, bad);
      const notInEnum = node.enums.some((list) => !list.some((v) => same(v, bad)));
      if (wrongType || notInEnum)
        replace(bad, wrongType ? 'type' : 'enum', wrongType ? `type ${typeOf(bad)}` : 'not in enum');
    }
    if (typeof value === 'string') {
      if (node.maxLength !== undefined && node.maxLength < 100_000)
        replace('x'.repeat(node.maxLength + 1), 'maxLength', `longer than maxLength ${node.maxLength}`);
      if (node.minLength !== undefined && node.minLength > 0)
        replace('x'.repeat(node.minLength - 1), 'minLength', `shorter than minLength ${node.minLength}`);
      for (const pattern of node.patterns) {
        const re = new RegExp(pattern, 'u');
        const bad = ['', ' ', '!', 'x', '\n', 'tel:+0', `${value}\n`, `\u0000${value}`].find(
          (s) => !re.test(s),
        );
        if (bad !== undefined) replace(bad, 'pattern', `not matching ${pattern}`);
      }
      for (const format of node.formats) {
        const bad = (BAD_FORMATS[format] ?? []).find((s) => !formatOk(format, s));
        if (bad !== undefined) replace(bad, 'format', `not a ${format}`);
      }
    }
    if (typeof value === 'number') {
      if (node.minimum !== undefined)
        replace(below(node.minimum), 'minimum', `below minimum ${node.minimum}`);
      if (node.maximum !== undefined)
        replace(above(node.maximum), 'maximum', `above maximum ${node.maximum}`);
      const integer =
        node.types?.has('integer') && !node.types.has('number')
          ? true
          : node.formats.includes('int32') || node.formats.includes('int64');
      if (integer) {
        const fraction = Math.trunc(value) + 0.5;
        if (Number.isFinite(fraction) && !Number.isInteger(fraction))
          replace(fraction, 'integer', 'not an integer');
      }
      if (node.formats.includes('int32')) replace(2 ** 31, 'format', 'outside int32');
    }
    if (Array.isArray(value)) {
      if (node.maxItems !== undefined) {
        const filler = value.length > 0 ? value[0]! : null;
        const longer = [...value];
        while (longer.length <= node.maxItems) longer.push(filler);
        replace(longer, 'maxItems', `more than maxItems ${node.maxItems}`);
      }
      if (node.minItems !== undefined && node.minItems > 0)
        replace(value.slice(0, node.minItems - 1), 'minItems', `fewer than minItems ${node.minItems}`);
    }
    if (isObject(value)) {
      for (const name of node.required) {
        mutations.push({
          kind: 'remove',
          path,
          key: name,
          keyword: 'required',
          reason: `required ${name} removed`,
          guarded,
        });
      }
      if (node.additional.some((a) => a.schema === false)) {
        for (const key of ['unexpected', '__proto__']) {
          if (node.properties.has(key)) continue;
          mutations.push({
            kind: 'add',
            path,
            key,
            value: 'x',
            keyword: 'additionalProperties',
            reason: `${key} added to a closed object`,
            guarded,
          });
        }
      }
    }
    return { value, mutations };
  }
}

/** Keeps the constraints of a node that apply to a string by itself. */
function pick(node: Node): Partial<Node> {
  return {
    enums: node.enums,
    minLength: node.minLength,
    maxLength: node.maxLength,
    patterns: node.patterns,
    formats: node.formats,
  };
}

function below(bound: number): number {
  const out = bound - Math.max(1, Math.abs(bound) * 1e-9);
  if (!(out < bound)) throw new Unsupported(`no number below ${bound}`);
  return out;
}
function above(bound: number): number {
  const out = bound + Math.max(1, Math.abs(bound) * 1e-9);
  if (!(out > bound)) throw new Unsupported(`no number above ${bound}`);
  return out;
}

const BAD_FORMATS: Record<string, string[]> = {
  uuid: ['not-a-uuid', '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e1', '4a6f0b0e8d2c4f379e532c1b9a7d5e10'],
  'date-time': ['2026-01-02T03:04:05', '2026-02-30T00:00:00Z', '2026-01-02 03:04:05Z x', 'yesterday'],
  date: ['2026-02-30', '2026-1-2'],
  uri: ['not a uri', '/relative/path', 'https://exa mple.com'],
  'uri-reference': ['a b', 'https://exa mple.com', '\\'],
  email: ['not an email'],
  hostname: ['-bad-.example'],
  ipv4: ['256.0.0.1'],
  ipv6: ['::g'],
};

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function formatArbitrary(format: string): fc.Arbitrary<string> {
  switch (format) {
    case 'uuid':
      return fc.tuple(fc.uuid(), fc.boolean()).map(([u, upper]) => (upper ? u.toUpperCase() : u));
    case 'date-time':
      return fc
        .tuple(
          fc.date({
            min: new Date('1970-01-01T00:00:00Z'),
            max: new Date('9999-12-31T23:59:59Z'),
            noInvalidDate: true,
          }),
          fc.boolean(),
          fc.option(
            fc.tuple(
              fc.constantFrom('+', '-'),
              fc.integer({ min: 0, max: 23 }),
              fc.integer({ min: 0, max: 59 }),
            ),
          ),
        )
        .map(([date, fraction, offset]) => {
          let text = date.toISOString();
          if (!fraction) text = text.replace(/\.\d+Z$/, 'Z');
          if (offset) text = text.replace(/Z$/, `${offset[0]}${pad(offset[1])}:${pad(offset[2])}`);
          return text;
        });
    case 'date':
      return fc
        .date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('9999-12-31T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString().slice(0, 10));
    case 'uri':
      return fc.webUrl({ withQueryParameters: true, withFragments: true });
    case 'uri-reference':
      return fc.oneof(
        fc.webUrl({ withQueryParameters: true }),
        fc.webPath(),
        fc.webSegment().filter((s) => s !== ''),
      );
    case 'email':
      return fc.emailAddress();
    case 'hostname':
      return fc.domain();
    case 'ipv4':
      return fc.ipV4();
    case 'ipv6':
      return fc.ipV6();
    default:
      throw new Unsupported(`format ${format}`);
  }
}

/** Any small JSON value (open objects' extra properties, untyped schemas); no mutations. */
const anySample: fc.Arbitrary<Sample> = fc
  .jsonValue({ maxDepth: 1 })
  .map((value) => ({ value: value as Json, mutations: [] }));

/**
 * `arb.filter(predicate)`, refused up front (`Unsupported`) when the predicate
 * rejects most values: a filter that rarely passes would make fast-check spin.
 */
function checked<T>(arb: fc.Arbitrary<T>, predicate: (value: T) => boolean, what: string): fc.Arbitrary<T> {
  const probe = fc.sample(arb, { numRuns: 40, seed: 42 });
  const passed = probe.filter(predicate).length;
  if (passed < probe.length / 5)
    throw new Unsupported(`${what}: ${passed}/${probe.length} generated values pass`);
  return arb.filter(predicate);
}
