import { dirname, resolve } from 'node:path';
import { toTypeName, uniqueName } from '../naming/index.js';
import { SpecError } from './errors.js';
import { loadFile } from './load.js';
import { escapeToken, getAtPointer, joinPointer, splitPointer } from './pointer.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const COMPONENT_POINTER = /^\/components\/([^/]+)\/([^/]+)$/;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Walk contexts (never keys, which are strings of a document): a map of Example Objects, one entry of it. */
const EXAMPLES_MAP = '\u0000examples';
const EXAMPLE_OBJECT = '\u0000example';

/** Keys whose values are data, not OpenAPI structure: never look for `$ref` inside them. */
function isDataKey(key: string, context: string | undefined, value?: unknown): boolean {
  return (
    key === 'example' ||
    key === 'default' ||
    key === 'enum' ||
    key === 'const' ||
    // JSON Schema's `examples` is a list of values; OpenAPI's is a map of Example Objects.
    (key === 'examples' && Array.isArray(value)) ||
    (key === 'value' && context === EXAMPLE_OBJECT)
  );
}

/**
 * The context a walk passes to the children of `key`: the key itself, except that
 * the entries of an `examples` map are Example Objects (whose `value` is data,
 * `$ref`s in it included), unless `examples` is the name of a schema property.
 */
function childContext(key: string, context: string | undefined): string {
  if (context === EXAMPLES_MAP) return EXAMPLE_OBJECT;
  if (key === 'examples' && context !== 'properties') return EXAMPLES_MAP;
  return key;
}

/**
 * Pulls every external `$ref` (`other.yaml#/components/schemas/X`) into the
 * root document, keeping component names (a clash gets a numeric suffix), and
 * checks that every internal `$ref` resolves. Returns a new document; the
 * loaded file is left as parsed.
 */
export async function bundle(
  rootFile: string,
  display: (path: string) => string = (path) => path,
): Promise<{ document: JsonObject; files: string[]; warnings: string[] }> {
  const rootPath = resolve(rootFile);
  const warnings: string[] = [];
  const loaded = await loadAs(rootPath);
  if (!isObject(loaded)) throw new SpecError(display(rootPath), '', 'the document must be an object');
  const files = new Map<string, Json>([[rootPath, loaded]]);
  const placed = new Map<string, string>();
  const inlining = new Set<string>();
  async function loadAs(path: string): Promise<unknown> {
    try {
      return await loadFile(path);
    } catch (error) {
      if (error instanceof SpecError) throw new SpecError(display(path), error.pointer, error.detail);
      throw error;
    }
  }
  // Components pulled in from other files, merged into the root's `components` at the end.
  const imported: Record<string, JsonObject> = {};

  // Phase 1: load every file reachable through external refs (I/O is async, the walk below is not).
  const queue: { path: string; content: Json }[] = [{ path: rootPath, content: loaded }];
  for (let item = queue.shift(); item; item = queue.shift()) {
    for (const site of externalRefSites(item.content, item.path)) {
      if (files.has(site.target)) continue;
      let content: Json;
      try {
        content = (await loadAs(site.target)) as Json;
      } catch (error) {
        if (error instanceof SpecError && error.detail === 'file not found') {
          throw new SpecError(
            display(item.path),
            site.pointer,
            `unresolvable $ref "${site.ref}": file not found`,
          );
        }
        throw error;
      }
      files.set(site.target, content);
      queue.push({ path: site.target, content });
    }
  }

  function fileContent(path: string): Json {
    return files.get(path) as Json;
  }

  function uniqueComponentName(kind: string, name: string): string {
    const own = getAtPointer(loaded, joinPointer('/components', kind));
    imported[kind] ??= {};
    const section = imported[kind];
    const taken = (n: string) => Object.hasOwn(section, n) || (isObject(own) && Object.hasOwn(own, n));
    let candidate = name;
    for (let n = 2; taken(candidate); n++) candidate = `${name}${n}`;
    section[candidate] = null; // reserve the name before recursing (cycles)
    return candidate;
  }

  /** Returns the internal ref for an external target, or the copied value to inline. */
  function importTarget(
    path: string,
    pointer: string,
    site: { file: string; pointer: string },
    ref: string,
  ): { ref: string } | { inline: Json } {
    if (path === rootPath) {
      if (getAtPointer(loaded, pointer) === undefined) {
        throw new SpecError(display(site.file), site.pointer, `unresolvable $ref "${ref}"`);
      }
      return { ref: `#${pointer}` };
    }
    const key = `${path}#${pointer}`;
    const known = placed.get(key);
    if (known) return { ref: known };
    const content = fileContent(path);
    const target = getAtPointer(content, pointer) as Json | undefined;
    if (target === undefined)
      throw new SpecError(display(site.file), site.pointer, `unresolvable $ref "${ref}"`);
    const component = COMPONENT_POINTER.exec(pointer);
    if (component) {
      const [, kind = '', rawName = ''] = component;
      const name = uniqueComponentName(kind, rawName.replace(/~1/g, '/').replace(/~0/g, '~'));
      const internal = `#/components/${kind}/${escapeToken(name)}`;
      placed.set(key, internal);
      const copy = walk(target, path, pointer, undefined);
      (imported[kind] as JsonObject)[name] = copy;
      return { ref: internal };
    }
    if (inlining.has(key)) {
      throw new SpecError(
        display(site.file),
        site.pointer,
        `unsupported: recursive $ref "${ref}" outside components`,
      );
    }
    inlining.add(key);
    const copy = walk(target, path, pointer, undefined);
    inlining.delete(key);
    return { inline: copy };
  }

  function resolveRef(ref: string, file: string, pointer: string): { ref: string } | { inline: Json } {
    const hash = ref.indexOf('#');
    const filePart = hash === -1 ? ref : ref.slice(0, hash);
    const fragment = hash === -1 ? '' : decodeURIComponent(ref.slice(hash + 1));
    if (fragment !== '' && !fragment.startsWith('/')) {
      throw new SpecError(
        display(file),
        pointer,
        `unsupported $ref "${ref}": only JSON pointer fragments are supported`,
      );
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(filePart)) {
      throw new SpecError(
        display(file),
        pointer,
        `unsupported $ref "${ref}": remote references are not fetched`,
      );
    }
    const targetPath = filePart === '' ? file : refTarget(file, filePart);
    return importTarget(targetPath, fragment, { file, pointer }, ref);
  }

  function walk(node: Json, file: string, pointer: string, parentKey: string | undefined): Json {
    if (Array.isArray(node)) {
      const out: Json[] = [];
      for (let i = 0; i < node.length; i++)
        out.push(walk(node[i] as Json, file, joinPointer(pointer, i), parentKey));
      return out;
    }
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    let inline: Json | undefined;
    for (const [key, value] of Object.entries(node)) {
      const here = joinPointer(pointer, key);
      if (key === '$ref' && typeof value === 'string') {
        const result = resolveRef(value, file, here);
        if ('inline' in result) inline = result.inline;
        else out[key] = result.ref;
      } else if (key === 'mapping' && parentKey === 'discriminator' && isObject(value)) {
        out[key] = walkMapping(value, file, here);
      } else if (isDataKey(key, parentKey, value)) {
        out[key] = value;
      } else {
        out[key] = walk(value, file, here, childContext(key, parentKey));
      }
    }
    if (inline !== undefined) return isObject(inline) ? { ...inline, ...omitRef(out) } : inline;
    return out;
  }

  /**
   * A discriminator's `mapping` names schemas the way `$ref` does (or by bare
   * component name), relative to the file it is written in: each is pulled in
   * like a `$ref`. One that names no schema is left out with a warning, so
   * the other values still select their schemas.
   */
  function walkMapping(mapping: JsonObject, file: string, pointer: string): JsonObject {
    const out: JsonObject = {};
    for (const [value, target] of Object.entries(mapping)) {
      const here = joinPointer(pointer, value);
      if (typeof target !== 'string') continue;
      try {
        const result = resolveRef(mappingRef(target), file, here);
        if ('ref' in result) {
          out[value] = result.ref;
          continue;
        }
        warnings.push(
          `${display(file)}#${here}: discriminator mapping "${target}" does not name a schema; left out`,
        );
      } catch (error) {
        if (!(error instanceof SpecError)) throw error;
        warnings.push(`${error.message}; this discriminator value is left out`);
      }
    }
    return out;
  }

  const root = walk(loaded, rootPath, '', undefined) as JsonObject;
  if (Object.keys(imported).length > 0) {
    const components: JsonObject = isObject(root.components) ? { ...root.components } : {};
    for (const [kind, entries] of Object.entries(imported)) {
      const own = components[kind];
      components[kind] = { ...(isObject(own) ? own : {}), ...entries };
    }
    root.components = components;
  }
  dealiasComponents(root);
  hoistSchemaRefs(root);
  return { document: root, files: [...files.keys()], warnings };
}

/** Pointer tokens that say where a schema sits, not what it is: left out of a hoisted schema's name. */
const STRUCTURE_TOKENS = new Set([
  'paths',
  'components',
  'schemas',
  'content',
  'schema',
  'responses',
  'properties',
  'items',
  'parameters',
  'headers',
]);

/**
 * The `components` section a `$ref` target belongs in when it is not a named
 * component: a schema anywhere (`…/schema`, `#/components/schemas/A/properties/b`),
 * or a parameter, response, request body or header inside an operation.
 */
function hoistKind(tokens: string[]): string | undefined {
  if (tokens[0] === 'components' && tokens.length === 3) return undefined;
  if (tokens.includes('schema') || (tokens[0] === 'components' && tokens[1] === 'schemas')) return 'schemas';
  if (tokens[0] !== 'paths' && tokens[0] !== 'webhooks') return undefined;
  const last = tokens.at(-1);
  const parent = tokens.at(-2);
  if (last === 'requestBody') return 'requestBodies';
  if (parent === 'parameters') return 'parameters';
  if (parent === 'responses') return 'responses';
  if (parent === 'headers') return 'headers';
  return undefined;
}

/**
 * A `$ref` to a schema that is not a named one (`#/paths/~1a/get/responses/200/content/application~1json/schema`,
 * `#/components/schemas/A/properties/b`) points at it under a name of its own
 * in `components/schemas` (made from the pointer, unique), so every emitter
 * refers to schemas by name.
 */
function hoistSchemaRefs(root: JsonObject): void {
  const hoisted = new Map<string, string>();
  const visit = (node: Json, parentKey: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, parentKey);
      return;
    }
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (isDataKey(key, parentKey, value)) continue;
      if (key !== '$ref' || typeof value !== 'string' || !value.startsWith('#/')) {
        visit(value, childContext(key, parentKey));
        continue;
      }
      const pointer = value.slice(1);
      const tokens = splitPointer(pointer);
      const kind = hoistKind(tokens);
      if (kind === undefined) continue;
      let ref = hoisted.get(pointer);
      if (ref === undefined) {
        const target = getAtPointer(root, pointer) as Json | undefined;
        if (target === undefined) continue;
        const components = isObject(root.components) ? root.components : {};
        root.components = components;
        const section = isObject(components[kind]) ? components[kind] : {};
        components[kind] = section;
        const words = tokens.filter((t) => !STRUCTURE_TOKENS.has(t)).join('_');
        const name = uniqueName(toTypeName(words, 'Unnamed'), new Set(Object.keys(section)));
        section[name] = target;
        ref = `#/components/${kind}/${escapeToken(name)}`;
        hoisted.set(pointer, ref);
      }
      node[key] = ref;
    }
  };
  visit(root, undefined);
}

/** A mapping value as a `$ref`: a bare name (`Circle`) means `#/components/schemas/Circle`. */
export function mappingRef(target: string): string {
  return /^[A-Za-z0-9._-]+$/.test(target) && !/\.(ya?ml|json)$/i.test(target)
    ? `#/components/schemas/${escapeToken(target)}`
    : target;
}

/**
 * A component that is only a `$ref` to another component of its kind
 * (`responses: { Generic400: { $ref: common.yaml#/…/Generic400 } }`, which
 * bundling turns into a ref to the pulled-in copy) gets the target's content,
 * so every reader sees a response, parameter, … there rather than a bare
 * reference. Schemas stay references: a schema `$ref` is a type alias.
 */
function dealiasComponents(root: JsonObject): void {
  const components = root.components;
  if (!isObject(components)) return;
  for (const [kind, section] of Object.entries(components)) {
    if (kind === 'schemas' || !isObject(section)) continue;
    for (const [name, entry] of Object.entries(section)) {
      const seen = new Set<string>();
      let current: Json = entry;
      while (isObject(current) && typeof current.$ref === 'string' && !seen.has(current.$ref)) {
        seen.add(current.$ref);
        const match = COMPONENT_POINTER.exec(current.$ref.slice(1));
        if (!current.$ref.startsWith('#') || !match || match[1] !== kind) break;
        const next = getAtPointer(root, current.$ref.slice(1)) as Json | undefined;
        if (next === undefined) break;
        current = next;
      }
      if (current !== entry && isObject(current) && current.$ref === undefined) section[name] = current;
    }
  }
}

function omitRef(object: JsonObject): JsonObject {
  const { $ref: _ref, ...rest } = object;
  return rest;
}

function refTarget(file: string, filePart: string): string {
  return resolve(dirname(file), decodeURIComponent(filePart));
}

/** Every `$ref` in `node` that names another file, with the file's absolute path. */
function externalRefSites(node: Json, file: string): { target: string; ref: string; pointer: string }[] {
  const sites: { target: string; ref: string; pointer: string }[] = [];
  const visit = (value: Json, pointer: string, parentKey: string | undefined): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        visit(item, joinPointer(pointer, i), parentKey);
      });
    } else if (isObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (key === '$ref' && typeof child === 'string') {
          const filePart = child.split('#')[0] ?? '';
          if (filePart !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(filePart)) {
            sites.push({ target: refTarget(file, filePart), ref: child, pointer: joinPointer(pointer, key) });
          }
        } else if (key === 'mapping' && parentKey === 'discriminator' && isObject(child)) {
          for (const [value, target] of Object.entries(child)) {
            if (typeof target !== 'string') continue;
            const filePart = mappingRef(target).split('#')[0] ?? '';
            if (filePart !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(filePart)) {
              sites.push({
                target: refTarget(file, filePart),
                ref: target,
                pointer: joinPointer(pointer, key, value),
              });
            }
          }
        } else if (!isDataKey(key, parentKey, child)) {
          visit(child, joinPointer(pointer, key), childContext(key, parentKey));
        }
      }
    }
  };
  visit(node, '', undefined);
  return sites;
}
