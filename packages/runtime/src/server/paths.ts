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
    if (value !== undefined) params[name] = value;
  }
  return params;
}
