/**
 * Query, path and header values arrive as strings. A coercion plan, computed
 * from each parameter's schema at generation time, turns them into the types
 * the schema expects before validation. Values that do not convert are left
 * as strings so the validator reports them.
 */

export type PrimitiveType = 'string' | 'integer' | 'number' | 'boolean';

export interface ParameterPlan {
  name: string;
  /** The schema's type (`string` when unknown). */
  type: PrimitiveType | 'array' | 'object';
  /** For arrays: the items' type. */
  items?: PrimitiveType;
  style: string;
  explode: boolean;
}

/** A parameter value as received: a string, repeated strings, or (from a typed client) already a value. */
export type RawValue = unknown;

export function coercePrimitive(value: string, type: PrimitiveType): unknown {
  switch (type) {
    case 'integer':
      return /^-?\d+$/.test(value) ? Number(value) : value;
    case 'number':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    default:
      return value;
  }
}

const DELIMITERS: Record<string, string> = {
  form: ',',
  simple: ',',
  spaceDelimited: ' ',
  pipeDelimited: '|',
};

/** One parameter's value, converted per its plan. Values that are not strings are taken as already typed. */
export function coerceParameter(raw: RawValue, plan: ParameterPlan): unknown {
  if (raw === undefined) return undefined;
  const delimiter = DELIMITERS[plan.style] ?? ',';
  if (plan.type === 'array') {
    const items = plan.items ?? 'string';
    let parts: unknown[];
    if (Array.isArray(raw)) {
      // Repeated keys (`?a=1&a=2`, form + explode) or a framework's own split.
      parts = plan.explode
        ? raw
        : raw.flatMap((part) => (typeof part === 'string' ? part.split(delimiter) : [part]));
    } else if (typeof raw === 'string') {
      parts = raw === '' ? [] : raw.split(delimiter);
    } else {
      return raw;
    }
    return parts.map((part) => (typeof part === 'string' ? coercePrimitive(part, items) : part));
  }
  const single: unknown = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (typeof single !== 'string' || plan.type === 'object') return single;
  return coercePrimitive(single, plan.type);
}

/** The value of header `lowerName` in `source` whose keys may have any case (first match). */
function findCaseInsensitive(source: Record<string, RawValue>, lowerName: string): RawValue {
  for (const key in source) {
    if (key.length === lowerName.length && key.toLowerCase() === lowerName) return source[key];
  }
  return undefined;
}

/**
 * A new object holding the documented parameters of one location, converted.
 * With `lowerCaseNames` (headers) names match in any case and come out in
 * lower case; a lower-case key (as Node delivers headers) is found directly,
 * and `sourceNamesLowerCase` says there is no other spelling to look for.
 */
export function coerceLocation(
  source: Record<string, RawValue> | undefined,
  plans: readonly ParameterPlan[],
  lowerCaseNames: boolean,
  sourceNamesLowerCase = false,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!source || plans.length === 0) return out;
  for (const plan of plans) {
    const key = lowerCaseNames ? plan.name.toLowerCase() : plan.name;
    let raw = source[key];
    if (raw === undefined && lowerCaseNames && !sourceNamesLowerCase) raw = findCaseInsensitive(source, key);
    const value = coerceParameter(raw, plan);
    if (value !== undefined) out[key] = value;
  }
  return out;
}
