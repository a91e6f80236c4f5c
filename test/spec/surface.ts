/**
 * API-surface extractor for OpenAPI 3.0 documents.
 *
 * Flattens everything that changes wire behaviour (servers, operations, parameters, bodies,
 * responses, headers, security, callbacks, named schemas, security schemes) into a flat map of
 * stable keys to canonical JSON values, so two documents can be compared key by key while prose
 * (descriptions, summaries, titles), examples, tags, externalDocs and `x-` extensions are ignored.
 *
 * Key format: `<kind>:<location>:<facet>`
 *
 *   document:openapi:version
 *   server:<index>:url
 *   path:<path>/<method>:<facet>                      e.g. path:/sessions/post:operationId
 *   callback:<parentOperationId>/<name>/<expression>/<method>:<facet>
 *   schema:<SchemaName>[/<sub-location>]:<facet>      e.g. schema:Foo/properties/bar:maxLength
 *   securityScheme:<name>:<facet>
 *
 * Sub-locations inside an operation:
 *   /parameters/<in>/<name>          (:required, :style, :explode, /schema…)
 *   /requestBody                     (:required, /content/<media-type>:present, /content/<media-type>/schema…)
 *   /responses/<status>              (:present, /headers/<name>:required, /headers/<name>/schema…, /content/…)
 *   /security/<scheme+scheme|(none)> (:scopes, :allowed)
 * Sub-locations inside a schema: /properties/<name>, /items, /additionalProperties, /not,
 * /allOf/<i>, /oneOf/<i>, /anyOf/<i>; facets are the schema keywords (`type`, `enum`, `required`,
 * `discriminator.propertyName`, `discriminator.mapping.<value>`, `$ref`, …).
 *
 * A `$ref` to a named schema (`…#/components/schemas/X`, in this file or another one) is kept as
 * the value `ref:X` and never inlined, which makes recursion cycle-safe; all other references
 * (parameters, responses, headers, request bodies, examples, path items, callbacks) are resolved
 * inline, so moving those between `components` and their use site changes nothing.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type Surface = Map<string, string>;

export interface SurfaceOptions {
  /** Keep `x-` extensions as facets (ignored by default). */
  includeExtensions?: boolean;
}

/** A loaded document and where it lives (for relative external references). */
interface DocContext {
  file: string;
  root: JsonObject;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Schema keywords that carry no wire semantics. */
const IGNORED_SCHEMA_KEYS = new Set(['description', 'title', 'example', 'examples', 'externalDocs', 'xml']);
/** Boolean schema keywords whose absence means `false`: only `true` is recorded. */
const FLAG_SCHEMA_KEYS = new Set([
  'nullable',
  'readOnly',
  'writeOnly',
  'deprecated',
  'uniqueItems',
  'exclusiveMinimum',
  'exclusiveMaximum',
]);
const SCHEMA_LIST_KEYS = new Set(['allOf', 'oneOf', 'anyOf']);
const SCHEMA_SINGLE_KEYS = new Set(['items', 'not']);

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with object keys sorted, so equal values always serialise identically. */
export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

function sortedCanonicalArray(values: readonly unknown[]): string {
  return `[${values
    .map(canonical)
    .sort()
    .filter((v, i, all) => i === 0 || all[i - 1] !== v)
    .join(',')}]`;
}

/** Parses a YAML (or JSON) text into an object; throws if the top level is not a mapping. */
export function parseDocument(text: string): JsonObject {
  const root: unknown = parse(text);
  if (!isObject(root)) throw new Error('document root is not a mapping');
  return root;
}

/** Decodes a JSON pointer (as found after `#` in a `$ref`) into its segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return pointer === '' ? [] : [''];
  if (!pointer.startsWith('/')) throw new Error(`invalid JSON pointer: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Returns the node a JSON pointer designates in `root`, or `undefined`. */
export function resolvePointer(root: Json, pointer: string): Json | undefined {
  let node: Json | undefined = root;
  for (const segment of pointerSegments(pointer)) {
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isObject(node)) node = Object.hasOwn(node, segment) ? node[segment] : undefined;
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** Loads documents from disk once each (external `$ref` targets included). */
class DocumentStore {
  private readonly cache = new Map<string, DocContext>();

  constructor(private readonly readText: (file: string) => string) {}

  add(file: string, root: JsonObject): DocContext {
    const ctx = { file, root };
    this.cache.set(file, ctx);
    return ctx;
  }

  load(file: string): DocContext {
    const cached = this.cache.get(file);
    if (cached) return cached;
    return this.add(file, parseDocument(this.readText(file)));
  }
}

interface Resolved {
  node: Json;
  ctx: DocContext;
  /** `file#pointer`, unique per target. */
  id: string;
}

class Extractor {
  readonly out: Surface = new Map();
  /** Named schemas reached through references into other files: name -> where they live. */
  private readonly externalSchemas = new Map<string, Resolved>();
  private readonly flattenedExternal = new Set<string>();
  /** Operations being flattened right now (guards against callbacks that refer back to themselves). */
  private readonly activeOperations = new Set<JsonObject>();
  /** The document whose surface is being extracted. */
  private mainCtx: DocContext | undefined;

  constructor(
    private readonly store: DocumentStore,
    private readonly options: SurfaceOptions,
  ) {}

  private emit(key: string, value: unknown): void {
    if (this.out.has(key) && this.out.get(key) !== canonical(value)) {
      throw new Error(`surface key emitted twice with different values: ${key}`);
    }
    this.out.set(key, canonical(value));
  }

  private emitRaw(key: string, canonicalValue: string): void {
    this.out.set(key, canonicalValue);
  }

  resolveRef(ref: string, ctx: DocContext): Resolved {
    const hash = ref.indexOf('#');
    const filePart = hash < 0 ? ref : ref.slice(0, hash);
    const pointer = hash < 0 ? '' : ref.slice(hash + 1);
    const target = filePart === '' ? ctx : this.store.load(resolve(dirname(ctx.file), filePart));
    const node = resolvePointer(target.root, pointer);
    if (node === undefined) throw new Error(`unresolvable $ref ${ref} (from ${ctx.file})`);
    return { node, ctx: target, id: `${target.file}#${pointer}` };
  }

  /** Follows `$ref` chains of non-schema objects to the real object. */
  deref(node: Json | undefined, ctx: DocContext): { node: JsonObject; ctx: DocContext } {
    let current: Json | undefined = node;
    let currentCtx = ctx;
    const seen = new Set<string>();
    while (isObject(current) && typeof current.$ref === 'string') {
      const r = this.resolveRef(current.$ref, currentCtx);
      if (seen.has(r.id)) throw new Error(`$ref cycle at ${r.id}`);
      seen.add(r.id);
      current = r.node;
      currentCtx = r.ctx;
    }
    if (!isObject(current)) throw new Error(`expected an object, got ${canonical(current)}`);
    return { node: current, ctx: currentCtx };
  }

  /** `ref:Name` for named schemas; records external ones so their definitions join the surface. */
  private schemaRefValue(ref: string, ctx: DocContext): string | undefined {
    const hash = ref.indexOf('#');
    const segments = pointerSegments(hash < 0 ? '' : ref.slice(hash + 1));
    if (segments.length !== 3 || segments[0] !== 'components' || segments[1] !== 'schemas') return undefined;
    const name = segments[2]!;
    const resolved = this.resolveRef(ref, ctx);
    if (resolved.ctx === this.mainCtx) return `ref:${name}`;
    // A schema in another file: referenced by name too, unless the main document defines a
    // different schema of the same name (then the file qualifies it).
    const local = this.mainSchemas()[name];
    if (local !== undefined && local !== resolved.node) {
      const qualified = `${resolved.ctx.file.split('/').pop()}#${name}`;
      this.externalSchemas.set(qualified, resolved);
      return `ref:${qualified}`;
    }
    this.externalSchemas.set(name, resolved);
    return `ref:${name}`;
  }

  private mainSchemas(): JsonObject {
    const components = this.mainCtx?.root.components;
    const schemas = isObject(components) ? components.schemas : undefined;
    return isObject(schemas) ? schemas : {};
  }

  schema(node: Json | undefined, ctx: DocContext, loc: string, inlineStack: readonly string[] = []): void {
    if (typeof node === 'boolean') {
      this.emit(`${loc}:schema`, node);
      return;
    }
    if (!isObject(node)) return;
    for (const key of Object.keys(node).sort()) {
      const value = node[key];
      if (value === undefined) continue;
      if (key.startsWith('x-')) {
        if (this.options.includeExtensions) this.emit(`${loc}:${key}`, value);
        continue;
      }
      if (IGNORED_SCHEMA_KEYS.has(key)) continue;
      if (key === '$ref' && typeof value === 'string') {
        const named = this.schemaRefValue(value, ctx);
        if (named !== undefined) {
          this.emit(`${loc}:$ref`, named);
        } else {
          // A reference into some other place (not a named schema): inline it, cycle-safe.
          const r = this.resolveRef(value, ctx);
          if (inlineStack.includes(r.id)) this.emit(`${loc}:$ref`, `ref:${value}`);
          else this.schema(r.node, r.ctx, loc, [...inlineStack, r.id]);
        }
      } else if (key === 'properties' && isObject(value)) {
        for (const name of Object.keys(value).sort()) {
          this.schema(value[name], ctx, `${loc}/properties/${name}`, inlineStack);
        }
      } else if (SCHEMA_LIST_KEYS.has(key) && Array.isArray(value)) {
        value.forEach((member, i) => {
          this.schema(member, ctx, `${loc}/${key}/${i}`, inlineStack);
        });
      } else if (SCHEMA_SINGLE_KEYS.has(key)) {
        this.schema(value, ctx, `${loc}/${key}`, inlineStack);
      } else if (key === 'additionalProperties') {
        if (value === false) this.emit(`${loc}:additionalProperties`, false);
        else if (isObject(value) && Object.keys(value).length > 0) {
          this.schema(value, ctx, `${loc}/additionalProperties`, inlineStack);
        }
      } else if (key === 'required' && Array.isArray(value)) {
        if (value.length > 0) this.emitRaw(`${loc}:required`, sortedCanonicalArray(value));
      } else if (key === 'enum' && Array.isArray(value)) {
        this.emitRaw(`${loc}:enum`, sortedCanonicalArray(value));
      } else if (key === 'discriminator' && isObject(value)) {
        this.emit(`${loc}:discriminator.propertyName`, value.propertyName ?? null);
        const mapping = isObject(value.mapping) ? value.mapping : {};
        for (const tag of Object.keys(mapping).sort()) {
          const target = mapping[tag];
          const ref =
            typeof target === 'string' && target.includes('#') ? target : `#/components/schemas/${target}`;
          this.emit(`${loc}:discriminator.mapping.${tag}`, this.schemaRefValue(ref, ctx) ?? `ref:${ref}`);
        }
      } else if (FLAG_SCHEMA_KEYS.has(key)) {
        if (value === true) this.emit(`${loc}:${key}`, true);
      } else {
        this.emit(`${loc}:${key}`, value);
      }
    }
  }

  private content(content: Json | undefined, ctx: DocContext, loc: string): void {
    if (!isObject(content)) return;
    for (const mediaType of Object.keys(content).sort()) {
      const media = content[mediaType];
      this.emit(`${loc}/content/${mediaType}:present`, true);
      if (isObject(media)) this.schema(media.schema, ctx, `${loc}/content/${mediaType}/schema`);
    }
  }

  private parameter(param: JsonObject, ctx: DocContext, loc: string): void {
    const where = String(param.in);
    const defaultStyle = where === 'query' || where === 'cookie' ? 'form' : 'simple';
    const style = typeof param.style === 'string' ? param.style : defaultStyle;
    const explode = typeof param.explode === 'boolean' ? param.explode : style === 'form';
    this.emit(`${loc}:required`, param.required === true);
    if (style !== defaultStyle) this.emit(`${loc}:style`, style);
    if (explode !== (style === 'form')) this.emit(`${loc}:explode`, explode);
    if (param.allowEmptyValue === true) this.emit(`${loc}:allowEmptyValue`, true);
    if (param.allowReserved === true) this.emit(`${loc}:allowReserved`, true);
    this.schema(param.schema, ctx, `${loc}/schema`);
    this.content(param.content, ctx, loc);
  }

  private parameterKey(param: JsonObject): string {
    const where = String(param.in);
    const name = String(param.name);
    return `${where}/${where === 'header' ? name.toLowerCase() : name}`;
  }

  operation(
    opNode: JsonObject,
    ctx: DocContext,
    loc: string,
    inherited: { params: Json | undefined; paramsCtx: DocContext; security: Json | undefined },
  ): void {
    if (this.activeOperations.has(opNode)) return;
    this.activeOperations.add(opNode);
    this.emit(`${loc}:present`, true);
    if (typeof opNode.operationId === 'string') this.emit(`${loc}:operationId`, opNode.operationId);
    if (opNode.deprecated === true) this.emit(`${loc}:deprecated`, true);
    if (Array.isArray(opNode.servers)) {
      this.emit(
        `${loc}:servers`,
        opNode.servers.map((s) => (isObject(s) ? s.url : s)),
      );
    }

    // Parameters: path-item level first, overridden by operation level (same in + name).
    const params = new Map<string, { node: JsonObject; ctx: DocContext }>();
    const addParams = (list: Json | undefined, listCtx: DocContext) => {
      if (!Array.isArray(list)) return;
      for (const p of list) {
        const r = this.deref(p, listCtx);
        params.set(this.parameterKey(r.node), r);
      }
    };
    addParams(inherited.params, inherited.paramsCtx);
    addParams(opNode.parameters, ctx);
    for (const key of [...params.keys()].sort()) {
      const p = params.get(key)!;
      this.parameter(p.node, p.ctx, `${loc}/parameters/${key}`);
    }

    if (opNode.requestBody !== undefined) {
      const body = this.deref(opNode.requestBody, ctx);
      this.emit(`${loc}/requestBody:required`, body.node.required === true);
      this.content(body.node.content, body.ctx, `${loc}/requestBody`);
    }

    if (isObject(opNode.responses)) {
      for (const status of Object.keys(opNode.responses).sort()) {
        const rloc = `${loc}/responses/${status}`;
        const response = this.deref(opNode.responses[status], ctx);
        this.emit(`${rloc}:present`, true);
        const headers = response.node.headers;
        if (isObject(headers)) {
          for (const name of Object.keys(headers).sort()) {
            const header = this.deref(headers[name], response.ctx);
            const hloc = `${rloc}/headers/${name.toLowerCase()}`;
            this.emit(`${hloc}:required`, header.node.required === true);
            this.schema(header.node.schema, header.ctx, `${hloc}/schema`);
            this.content(header.node.content, header.ctx, hloc);
          }
        }
        this.content(response.node.content, response.ctx, rloc);
      }
    }

    this.security(opNode.security ?? inherited.security, loc);

    if (isObject(opNode.callbacks)) {
      const parent = typeof opNode.operationId === 'string' ? opNode.operationId : loc;
      for (const name of Object.keys(opNode.callbacks).sort()) {
        const callback = this.deref(opNode.callbacks[name], ctx);
        for (const expression of Object.keys(callback.node).sort()) {
          if (expression.startsWith('x-')) continue;
          this.pathItem(callback.node[expression], callback.ctx, `callback:${parent}/${name}/${expression}`);
        }
      }
    }
    this.activeOperations.delete(opNode);
  }

  private security(requirements: Json | undefined, loc: string): void {
    if (!Array.isArray(requirements)) return;
    const seen = new Map<string, number>();
    for (const req of requirements.filter(isObject)) {
      const names = Object.keys(req).sort();
      const base = names.length === 0 ? '(none)' : names.join('+');
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const sloc = `${loc}/security/${n === 1 ? base : `${base}~${n}`}`;
      if (names.length === 0) this.emit(`${sloc}:allowed`, true);
      for (const scheme of names) {
        const scopes = req[scheme];
        this.emitRaw(
          names.length === 1 ? `${sloc}:scopes` : `${sloc}/${scheme}:scopes`,
          sortedCanonicalArray(Array.isArray(scopes) ? scopes : []),
        );
      }
    }
  }

  pathItem(node: Json | undefined, ctx: DocContext, loc: string, security?: Json): void {
    const item = this.deref(node, ctx);
    for (const method of HTTP_METHODS) {
      const op = item.node[method];
      if (!isObject(op)) continue;
      this.operation(op, item.ctx, `${loc}/${method}`, {
        params: item.node.parameters,
        paramsCtx: item.ctx,
        security,
      });
    }
  }

  securityScheme(name: string, node: Json | undefined, ctx: DocContext): void {
    const scheme = this.deref(node, ctx).node;
    const loc = `securityScheme:${name}`;
    for (const key of Object.keys(scheme).sort()) {
      const value = scheme[key];
      if (key === 'description' || (key.startsWith('x-') && !this.options.includeExtensions)) continue;
      if (key === 'flows' && isObject(value)) {
        for (const flow of Object.keys(value).sort()) {
          const f = value[flow];
          if (!isObject(f)) continue;
          for (const fk of Object.keys(f).sort()) {
            if (fk === 'scopes')
              this.emitRaw(
                `${loc}/flows/${flow}:scopes`,
                sortedCanonicalArray(Object.keys(isObject(f.scopes) ? f.scopes : {})),
              );
            else this.emit(`${loc}/flows/${flow}:${fk}`, f[fk]);
          }
        }
      } else {
        this.emit(`${loc}:${key}`, value);
      }
    }
  }

  document(ctx: DocContext): void {
    this.mainCtx = ctx;
    const root = ctx.root;
    if (typeof root.openapi === 'string') this.emit('document:openapi:version', root.openapi);
    if (Array.isArray(root.servers)) {
      root.servers.forEach((server, i) => {
        if (!isObject(server)) return;
        this.emit(`server:${i}:url`, server.url ?? null);
        const variables = isObject(server.variables) ? server.variables : {};
        for (const name of Object.keys(variables).sort()) {
          const v = variables[name];
          this.emit(`server:${i}/variables/${name}:present`, true);
          if (isObject(v) && Array.isArray(v.enum))
            this.emitRaw(`server:${i}/variables/${name}:enum`, sortedCanonicalArray(v.enum));
        }
      });
    }
    if (isObject(root.paths)) {
      for (const path of Object.keys(root.paths).sort()) {
        if (path.startsWith('x-')) continue;
        this.pathItem(root.paths[path], ctx, `path:${path}`, root.security);
      }
    }
    const components = isObject(root.components) ? root.components : {};
    const schemas = isObject(components.schemas) ? components.schemas : {};
    for (const name of Object.keys(schemas).sort()) this.schema(schemas[name], ctx, `schema:${name}`);
    const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
    for (const name of Object.keys(schemes).sort()) this.securityScheme(name, schemes[name], ctx);
    // Named schemas of other files that this document uses: flatten until no new ones appear.
    for (;;) {
      const pending = [...this.externalSchemas.keys()].filter((n) => !this.flattenedExternal.has(n));
      if (pending.length === 0) break;
      for (const name of pending) {
        this.flattenedExternal.add(name);
        const r = this.externalSchemas.get(name)!;
        this.schema(r.node, r.ctx, `schema:${name}`);
      }
    }
  }
}

/** Surface of an already parsed document; `file` anchors relative external references. */
export function extractSurface(
  root: JsonObject,
  options: SurfaceOptions & { file?: string; readText?: (file: string) => string } = {},
): Surface {
  const store = new DocumentStore(options.readText ?? ((f) => readFileSync(f, 'utf8')));
  const file = resolve(options.file ?? 'inline.yaml');
  const extractor = new Extractor(store, options);
  extractor.document(store.add(file, root));
  return new Map([...extractor.out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Surface of a YAML text (inline test documents). */
export function surfaceOfYaml(text: string, options: SurfaceOptions = {}): Surface {
  return extractSurface(parseDocument(text), options);
}

/** Surface of a YAML file; external references are read relative to it. */
export function surfaceOfFile(file: string | URL, options: SurfaceOptions = {}): Surface {
  const path = resolve(typeof file === 'string' ? file : fileURLToPath(file));
  return extractSurface(parseDocument(readFileSync(path, 'utf8')), { ...options, file: path });
}

/** Keys whose values differ (or that exist on one side only), sorted. */
export function diffSurfaces(a: Surface, b: Surface): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

/** Human-readable `key: upstream -> ours` lines for failure messages. */
export function describeDiff(keys: readonly string[], ours: Surface, upstream: Surface): string[] {
  return keys.map((k) => `${k}: ${upstream.get(k) ?? '(absent)'} -> ${ours.get(k) ?? '(absent)'}`);
}

/**
 * Reads the surface keys listed in ERRATA.md: every line inside a fenced block whose info string
 * is `surface`, written as `<document>#<key>` (document = spec file name without `.yaml`).
 */
export function parseErrata(markdown: string): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  let inBlock = false;
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw.trim();
    if (!inBlock) {
      if (/^```\s*surface\s*$/.test(line)) inBlock = true;
      continue;
    }
    if (line.startsWith('```')) {
      inBlock = false;
      continue;
    }
    if (line === '' || line.startsWith('//')) continue;
    const hash = line.indexOf('#');
    if (hash <= 0) throw new Error(`malformed ERRATA surface line: ${line}`);
    const doc = line.slice(0, hash);
    const key = line.slice(hash + 1);
    const set = result.get(doc) ?? new Set<string>();
    set.add(key);
    result.set(doc, set);
  }
  if (inBlock) throw new Error('unterminated ```surface block in ERRATA.md');
  return result;
}

/** Every `$ref` string in a document, with the JSON pointer of the object holding it. */
export function collectRefs(root: Json): { at: string; ref: string }[] {
  const found: { at: string; ref: string }[] = [];
  const walk = (node: Json, at: string): void => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        walk(v, `${at}/${i}`);
      });
    } else if (isObject(node)) {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string') found.push({ at, ref: v });
        else walk(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      }
    }
  };
  walk(root, '#');
  return found;
}
