/**
 * Every name telegate writes into TypeScript comes from here: operation
 * method names, type names, property keys. A document may name things in any
 * way (`get-accounts`, `meta/root`, `2fa`, `package`); the output must compile
 * and a name must not change from one run to the next.
 */

/** Words that cannot name a variable, function, class or type (ES reserved, strict mode, and TS's own). */
const RESERVED_WORDS = new Set([
  // ECMAScript reserved words
  'break',
  'case',
  'catch',
  'class',
  'const',
  'continue',
  'debugger',
  'default',
  'delete',
  'do',
  'else',
  'enum',
  'export',
  'extends',
  'false',
  'finally',
  'for',
  'function',
  'if',
  'import',
  'in',
  'instanceof',
  'new',
  'null',
  'return',
  'super',
  'switch',
  'this',
  'throw',
  'true',
  'try',
  'typeof',
  'var',
  'void',
  'while',
  'with',
  // strict mode (every ES module)
  'implements',
  'interface',
  'let',
  'package',
  'private',
  'protected',
  'public',
  'static',
  'yield',
  'await',
  'arguments',
  'eval',
  // names a type alias may not have
  'any',
  'unknown',
  'never',
  'object',
  'string',
  'number',
  'bigint',
  'boolean',
  'symbol',
  'undefined',
  'type',
  'as',
  'satisfies',
  'infer',
  'keyof',
  'readonly',
  'unique',
  'is',
  'asserts',
  'declare',
  'module',
  'namespace',
  'require',
  'global',
]);

const IDENTIFIER_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Whether `name` can be written bare as a property key or member name (`a.delete` is fine). */
export function isIdentifierName(name: string): boolean {
  return IDENTIFIER_NAME.test(name);
}

/** Whether `name` can be written bare as a binding or type name (`const x`, `type X`). */
export function isSafeIdentifier(name: string): boolean {
  return isIdentifierName(name) && !RESERVED_WORDS.has(name);
}

/** `package` → `package_`: a reserved word gets a trailing underscore; anything else is kept. */
export function escapeReserved(name: string): string {
  return RESERVED_WORDS.has(name) ? `${name}_` : name;
}

/** The words of a name: split at anything that cannot be in an identifier. */
function words(text: string): string[] {
  return text.split(/[^A-Za-z0-9_$]+/).filter(Boolean);
}

const upperFirst = (word: string) => word[0]!.toUpperCase() + word.slice(1);
const lowerFirst = (word: string) => word[0]!.toLowerCase() + word.slice(1);

/** `webrtc-registration` → `WebrtcRegistration`, `call_handling v2` → `CallHandlingV2`. */
export function pascalCase(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map(upperFirst)
    .join('');
}

/** `webrtc-registration` → `webrtcRegistration`. */
export function camelCase(text: string): string {
  const pascal = pascalCase(text);
  return pascal.length === 0 ? pascal : lowerFirst(pascal);
}

/**
 * A binding-safe identifier made from `text`. An identifier is kept as it is
 * (only escaped when reserved); anything else is joined at its separators,
 * each word after the first capitalised: `get-accounts` → `getAccounts`,
 * `repos/get-content` → `reposGetContent`, `KYC_Fill-in` → `KYC_FillIn`.
 * A leading digit gets `_`; an empty result is `fallback`.
 */
export function toIdentifier(text: string, fallback = 'unnamed'): string {
  if (isIdentifierName(text)) return escapeReserved(text);
  const parts = words(text);
  if (parts.length === 0) return fallback;
  const joined = parts[0]! + parts.slice(1).map(upperFirst).join('');
  return escapeReserved(/^[0-9]/.test(joined) ? `_${joined}` : joined);
}

/** A type name made from `text`: `toIdentifier`, first letter upper-cased (`user` → `User`). */
export function toTypeName(text: string, fallback = 'Unnamed'): string {
  const id = toIdentifier(text, fallback);
  return /^[a-z]/.test(id) ? escapeReserved(upperFirst(id.replace(/_$/, ''))) : id;
}

/** `name`, or `name2`, `name3`… — the first not in `taken`; takes it. */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}${n}`;
  taken.add(candidate);
  return candidate;
}

/** `get` + `/sessions/{registrationId}/status` → `getSessionsByRegistrationIdStatus`. */
export function methodPathName(method: string, path: string): string {
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      return param ? `By${pascalCase(param[1]!)}` : pascalCase(segment);
    });
  return method + parts.join('');
}

/**
 * The method name of an operation: its operationId made an identifier, or,
 * without one, method + path. Never a reserved word, so the same name serves
 * as a class method, an object key and a variable.
 */
export function operationName(operationId: string | undefined, method: string, path: string): string {
  const fromId = operationId === undefined ? '' : toIdentifier(operationId, '');
  return fromId === '' ? methodPathName(method, path) : fromId;
}
