/** A route path in a framework's syntax, and how its parameter keys map back to the document's names. */
export interface RoutePath {
  path: string;
  /** `[name in the document, key in the framework's params]`. */
  params: (readonly [name: string, key: string])[];
}

const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `/sessions/{registrationId}` → `/sessions/:registrationId`. Parameter names
 * that are not plain identifiers become `p0`, `p1`, ... (both routers end a
 * name at `-` or `.`); literal characters either router treats as syntax are
 * escaped.
 */
export function routePath(template: string, style: 'express' | 'fastify'): RoutePath {
  const params: (readonly [string, string])[] = [];
  const escapeLiteral =
    style === 'express'
      ? (text: string) => text.replace(/[{}()[\]+?!:*\\]/g, '\\$&')
      : (text: string) => text.replace(/:/g, '::');
  let path = '';
  let last = 0;
  for (const match of template.matchAll(/\{([^{}]+)\}/g)) {
    const name = match[1]!;
    const key = SAFE_NAME.test(name) ? name : `p${params.length}`;
    params.push([name, key]);
    const end = match.index + match[0].length;
    // find-my-way reads `:a::b` as one name: a parameter followed by text in its segment needs a pattern.
    const bounded = style === 'fastify' && end < template.length && template[end] !== '/';
    path += `${escapeLiteral(template.slice(last, match.index))}:${key}${bounded ? '(^[^/]+)' : ''}`;
    last = end;
  }
  path += escapeLiteral(template.slice(last));
  return { path, params };
}

/** The framework's params object keyed by the document's parameter names. */
export function documentParams(
  route: RoutePath,
  frameworkParams: Record<string, string | undefined> | undefined,
): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, key] of route.params) {
    const value = frameworkParams?.[key];
    // An empty value is a missing one: the operation's validator names it (400).
    if (value !== undefined && value !== '') params[name] = value;
  }
  return params;
}

/**
 * A request that would match an operation's path template but for a missing or
 * empty path parameter (`DELETE /sessions`, `DELETE /sessions/`, `PUT /sessions//status`):
 * CAMARA's test definitions expect `400 INVALID_ARGUMENT` naming the parameter, which
 * the operation's own validator gives when the router runs it without that parameter.
 */
export interface MissingParamRoute {
  operationId: string;
  method: string;
  /** The template the request has: the operation's, with a parameter dropped or left empty. */
  template: string;
  /** Whether the template has an empty segment (`//`), which only some routers can declare. */
  emptySegment: boolean;
}

const PARAM_SEGMENT = /^\{[^{}]+\}$/;

/** A regular expression matching the paths of `template` (any non-empty value per parameter). */
function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^{}]+\})/)
    .map((part) => (PARAM_SEGMENT.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/**
 * Every missing-parameter route of `operations`: per parameter that fills a whole path
 * segment, the path cut before it (with and without the trailing `/`), the path without
 * that segment, and the path with it empty. A route another operation serves for the same
 * method (`GET /subscriptions` is the list) is left to that operation.
 */
export function missingParamRoutes(
  operations: Readonly<Record<string, { method: string; path: string }>>,
): MissingParamRoute[] {
  const served = Object.values(operations).map((op) => ({
    method: op.method,
    pattern: templatePattern(op.path),
  }));
  const isServed = (method: string, template: string) => {
    const sample = template.replace(/\{[^{}]+\}/g, 'x');
    return served.some((op) => op.method === method && op.pattern.test(sample));
  };
  const routes: MissingParamRoute[] = [];
  const seen = new Set<string>();
  const add = (operationId: string, method: string, template: string) => {
    const key = `${method} ${template}`;
    if (seen.has(key) || isServed(method, template)) return;
    seen.add(key);
    routes.push({ operationId, method, template, emptySegment: template.includes('//') });
  };
  for (const [operationId, op] of Object.entries(operations)) {
    const segments = op.path.split('/');
    segments.forEach((segment, i) => {
      if (!PARAM_SEGMENT.test(segment)) return;
      const before = segments.slice(0, i).join('/');
      add(operationId, op.method, before === '' ? '/' : before);
      add(operationId, op.method, `${before}/`);
      if (i < segments.length - 1)
        add(operationId, op.method, [...segments.slice(0, i), ...segments.slice(i + 1)].join('/'));
      if (i < segments.length - 1)
        add(operationId, op.method, [...segments.slice(0, i), '', ...segments.slice(i + 1)].join('/'));
    });
  }
  return routes;
}
