import { SpecError } from './errors.js';
import { joinPointer } from './pointer.js';

type Json = { [key: string]: unknown };
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** After bundling, a schema refers to schemas by name (`#/components/schemas/X`) only. */
const NAMED_SCHEMA = /^#\/components\/schemas\/[^/]+$/;

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

const SUBSCHEMA = [
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
];
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
// `definitions` is no OpenAPI keyword (documents use it for anything); `$defs` is JSON Schema 2020-12's.
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];
/** Keys whose values are data, never OpenAPI structure. */
const DATA_KEYS = new Set(['example', 'examples', 'default', 'enum', 'const', 'x-examples']);

/**
 * Checks every schema of the document for what no generator can read the
 * same way: an unknown `type` is an error naming its pointer. `required: true`
 * on a property (Swagger 2.0's spelling) means nothing in OpenAPI 3: it is
 * dropped, with a warning. Runs for every emitter, so `--emit types` alone
 * reports the same errors as the validators.
 */
export function checkSchemas(document: Json, file: string, warnings: string[]): void {
  const checked = new Set<object>();
  const schema = (node: unknown, pointer: string): void => {
    if (!isObject(node) || checked.has(node)) return;
    checked.add(node);
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#/') && !NAMED_SCHEMA.test(node.$ref)) {
      warnings.push(
        `${file}#${joinPointer(pointer, '$ref')}: "${node.$ref}" is not a schema; this schema accepts any value`,
      );
      delete node.$ref;
    }
    const type = node.type;
    if (type !== undefined) {
      const types = Array.isArray(type) ? type : [type];
      types.forEach((t, i) => {
        if (typeof t !== 'string' || !TYPES.has(t)) {
          throw new SpecError(
            file,
            joinPointer(pointer, 'type', ...(Array.isArray(type) ? [i] : [])),
            `unknown type ${JSON.stringify(t)} (one of ${[...TYPES].join(', ')})`,
          );
        }
      });
    }
    if (node.required !== undefined && !Array.isArray(node.required)) {
      warnings.push(
        `${file}#${joinPointer(pointer, 'required')}: \`required\` must list property names (as in the parent's \`required\`); ignored`,
      );
      delete node.required;
    }
    if (node.enum !== undefined && !Array.isArray(node.enum)) {
      throw new SpecError(file, joinPointer(pointer, 'enum'), '`enum` must be a list of values');
    }
    if (Array.isArray(node.enum)) {
      // JSON Schema asks for unique values; a repeated one adds nothing, so it is dropped (same
      // value by JSON text, as a validator compares them).
      const seen = new Set<string>();
      const unique = node.enum.filter((value) => {
        const key = JSON.stringify(value);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      if (unique.length < node.enum.length) {
        warnings.push(
          `${file}#${joinPointer(pointer, 'enum')}: ${node.enum.length - unique.length} repeated value(s) dropped`,
        );
        node.enum = unique;
      }
    }
    for (const key of SUBSCHEMA) if (isObject(node[key])) schema(node[key], joinPointer(pointer, key));
    for (const key of SUBSCHEMA_LISTS) {
      const list = node[key];
      if (!Array.isArray(list)) continue;
      for (const [i, item] of list.entries()) schema(item, joinPointer(pointer, key, i));
    }
    for (const key of SUBSCHEMA_MAPS) {
      const map = node[key];
      if (isObject(map))
        for (const [name, item] of Object.entries(map)) schema(item, joinPointer(pointer, key, name));
    }
  };
  // Schemas are under `components/schemas` and at every `schema` key of the document's structure.
  const structure = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) structure(item, joinPointer(pointer, i));
      return;
    }
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (DATA_KEYS.has(key)) continue;
      const here = joinPointer(pointer, key);
      if (key === 'schema') schema(value, here);
      else structure(value, here);
    }
  };
  const schemas = isObject(document.components) ? document.components.schemas : undefined;
  if (isObject(schemas))
    for (const [name, item] of Object.entries(schemas))
      schema(item, joinPointer('/components/schemas', name));
  structure(document, '');
}
