import { joinPointer } from './pointer.js';

/**
 * `pattern`s are ECMA-262 regular expressions in OpenAPI, but documents are
 * written against other dialects (PCRE, Java, Python). The validators compile
 * them as Ajv does, with the `u` flag. A pattern that is not one is rewritten
 * only where the rewrite means the same in the dialect it was written for;
 * otherwise it is not checked, with a warning: never an error at run time,
 * never a check that means something else.
 */

export type PatternResult =
  | { pattern: string; changed: boolean }
  | {
      /** Why the pattern cannot be checked. */
      unsupported: string;
    };

const compiles = (pattern: string): string | undefined => {
  try {
    new RegExp(pattern, 'u');
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^Invalid regular expression: (\/.*\/u: )?/, '');
  }
};

/** POSIX bracket classes (`[[:alpha:]]`), spelled out in ASCII as POSIX defines them. */
const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  xdigit: '0-9A-Fa-f',
  word: 'A-Za-z0-9_',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
};

/** Characters that may follow `\` in a `u` pattern as themselves. */
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

/**
 * Rewrites, token by token, what other dialects write differently but mean
 * the same: needless escapes of punctuation (`\@`, `\:`), a literal `{`, `}`
 * or `]`, POSIX classes, `\A`, `\z`, `\Z`. Returns `undefined` for a construct
 * with no faithful rewrite (inline flags, possessive quantifiers, atomic
 * groups, `\h`, …).
 */
function rewrite(pattern: string): string | undefined {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return undefined;
      i++;
      if (/[A-Za-z0-9]/.test(next)) {
        if (!inClass && next === 'A') out += '^';
        else if (!inClass && next === 'z') out += '$';
        else if (!inClass && next === 'Z') out += '(?=\\n?$)';
        else if ('dDwWsSbBnrtfv0'.includes(next) || /[1-9]/.test(next)) out += `\\${next}`;
        else if (next === 'x' || next === 'u' || next === 'c' || next === 'p' || next === 'P' || next === 'k')
          out += `\\${next}`;
        else return undefined; // \h, \R, \Q…\E, \G, \K, \e, …: no exact counterpart here
      } else if (SYNTAX.has(next) || (inClass && next === '-')) {
        out += `\\${next}`;
      } else {
        // `\@`, `\:`, `\ `, `\-` outside a class…: the character itself in every dialect.
        out += next;
      }
      continue;
    }
    if (inClass) {
      if (c === '[' && pattern[i + 1] === ':') {
        const end = pattern.indexOf(':]', i + 2);
        const name = end === -1 ? undefined : pattern.slice(i + 2, end);
        const expansion = name === undefined ? undefined : POSIX_CLASSES[name];
        if (expansion === undefined) return undefined;
        out += expansion;
        i = end + 1;
        continue;
      }
      if (c === '[') {
        out += '\\[';
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A `]` or `^]` right after `[` is a literal `]` in POSIX-derived dialects.
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2);
      // Groups JavaScript reads the same: non-capturing, lookaround, named.
      if (/^(:|=|!|<=|<!|<[A-Za-z])/.test(rest)) {
        const named = /^<([A-Za-z][A-Za-z0-9]*)>/.exec(rest);
        if (named) {
          out += `(?<${named[1]}>`;
          i += 1 + named[0].length;
          continue;
        }
        out += c;
        continue;
      }
      const pythonNamed = /^P<([A-Za-z][A-Za-z0-9]*)>/.exec(rest);
      if (pythonNamed) {
        out += `(?<${pythonNamed[1]}>`;
        i += 1 + pythonNamed[0].length;
        continue;
      }
      return undefined; // inline flags (?i), atomic (?>…), comments (?#…), conditionals
    }
    if (c === '{') {
      const quantifier = /^\{\d+(,\d*)?\}/.exec(pattern.slice(i));
      if (quantifier && out !== '' && !/[(|]$/.test(out)) {
        out += quantifier[0];
        i += quantifier[0].length - 1;
        const after = pattern[i + 1];
        if (after === '+') return undefined; // possessive
        continue;
      }
      if (/^\{,\d+\}/.test(pattern.slice(i))) return undefined; // `{,n}`: literal in PCRE, a bound in Python
      out += '\\{';
      continue;
    }
    if (c === '}' || c === ']') {
      out += `\\${c}`;
      continue;
    }
    if ((c === '+' || c === '*' || c === '?') && pattern[i + 1] === '+') return undefined; // possessive
    out += c;
  }
  return inClass ? undefined : out;
}

/** The pattern Ajv can check with the meaning its author gave it, or why there is none. */
export function translatePattern(pattern: string): PatternResult {
  const error = compiles(pattern);
  // POSIX classes compile in JavaScript, meaning a set of the characters `[:alph`.
  if (error === undefined && !/\[\[:[a-z]+:\]/.test(pattern)) return { pattern, changed: false };
  const rewritten = rewrite(pattern);
  if (rewritten !== undefined && compiles(rewritten) === undefined) {
    return { pattern: rewritten, changed: rewritten !== pattern };
  }
  return { unsupported: error ?? 'POSIX character class' };
}

type Json = { [key: string]: unknown };
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Keys whose values are data, never schemas. */
const DATA_KEYS = new Set(['example', 'examples', 'default', 'enum', 'const', 'x-examples']);

/**
 * Applies `translatePattern` to every `pattern` in the document, in place. A
 * rewritten one is replaced; one that cannot be checked moves to
 * `x-telegate-unchecked-pattern` (so it stays documented) with a warning
 * naming its pointer.
 */
export function normalisePatterns(document: Json, file: string, warnings: string[]): void {
  const visit = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        visit(item, joinPointer(pointer, i));
      });
      return;
    }
    if (!isObject(node)) return;
    if (node.pattern !== undefined && typeof node.pattern !== 'string' && !isObject(node.pattern)) {
      warnings.push(
        `${file}#${joinPointer(pointer, 'pattern')}: a pattern must be a string, not ${JSON.stringify(node.pattern)}; the validators do not check it`,
      );
      node['x-telegate-unchecked-pattern'] = node.pattern;
      delete node.pattern;
    }
    if (typeof node.pattern === 'string') {
      const result = translatePattern(node.pattern);
      if ('unsupported' in result) {
        warnings.push(
          `${file}#${joinPointer(pointer, 'pattern')}: pattern ${JSON.stringify(node.pattern)} is not a JavaScript regular expression (${result.unsupported}); the validators do not check it`,
        );
        node['x-telegate-unchecked-pattern'] = node.pattern;
        delete node.pattern;
      } else if (result.changed) {
        node.pattern = result.pattern;
      }
    }
    if (isObject(node.patternProperties)) {
      const entries: [string, unknown][] = [];
      for (const [pattern, schema] of Object.entries(node.patternProperties)) {
        const result = translatePattern(pattern);
        if ('unsupported' in result) {
          warnings.push(
            `${file}#${joinPointer(pointer, 'patternProperties', pattern)}: pattern ${JSON.stringify(pattern)} is not a JavaScript regular expression (${result.unsupported}); left out, so the validators do not check the properties it names`,
          );
        } else entries.push([result.pattern, schema]);
      }
      node.patternProperties = Object.fromEntries(entries);
    }
    for (const [key, value] of Object.entries(node)) {
      if (DATA_KEYS.has(key) || key === 'pattern') continue;
      visit(value, joinPointer(pointer, key));
    }
  };
  visit(document, '');
}
