// Helpers the generated validators call instead of loading Ajv's CommonJS
// runtime modules: plain ES code with no dependency, so importing the
// validators costs no CommonJS loading. Each one behaves exactly like the
// Ajv / ajv-formats function it replaces (a differential test checks it).

/** Length in Unicode code points (a surrogate pair counts once), as JSON Schema's min/maxLength count. */
export function ucs2length(value: string): number {
  const units = value.length;
  let count = 0;
  let index = 0;
  while (index < units) {
    count++;
    const code = value.charCodeAt(index++);
    if (code >= 0xd800 && code <= 0xdbff && index < units) {
      // A high surrogate followed by a low one is one code point.
      if ((value.charCodeAt(index) & 0xfc00) === 0xdc00) index++;
    }
  }
  return count;
}

/**
 * Deep equality for `enum`, `const` and `uniqueItems` (two NaNs are equal, as
 * in Ajv). Unlike Ajv's helper it does not throw on JSON objects with keys
 * such as `toString` or `valueOf`: plain objects compare by their keys only.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || a.length !== b.length) return false;
      for (let i = a.length; i-- !== 0; ) if (!deepEqual(a[i], b[i])) return false;
      return true;
    }
    const prototype = Object.getPrototypeOf(a) as object | null;
    if (prototype !== Object.getPrototypeOf(b)) return false;
    if (prototype !== Object.prototype && prototype !== null) {
      if (a instanceof RegExp) return a.source === (b as RegExp).source && a.flags === (b as RegExp).flags;
      if (a.valueOf !== Object.prototype.valueOf) return a.valueOf() === b.valueOf();
      if (a.toString !== Object.prototype.toString) return a.toString() === b.toString();
    }
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const key of keys) if (!Object.hasOwn(b, key)) return false;
    for (const key of keys) {
      if (!deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
    }
    return true;
  }
  return Number.isNaN(a) && Number.isNaN(b);
}

// ---------------------------------------------------------------------------
// Formats whose check is code rather than one regular expression. The
// generator inlines the regular-expression formats itself; these follow
// ajv-formats' "full" mode (RFC 3339 dates and times, RFC 3986 URIs).

const DATE = /^(\d\d\d\d)-(\d\d)-(\d\d)$/;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** RFC 3339 full-date, with the real number of days in the month. */
function isDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const year = +match[1]!;
  const month = +match[2]!;
  const day = +match[3]!;
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month]!)
  );
}

const TIME = /^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|([+-])(\d\d)(?::?(\d\d))?)?$/i;

/** RFC 3339 time (an offset is required when `requireOffset`), leap seconds only at 23:59:60 UTC. */
function timeChecker(requireOffset: boolean): (value: string) => boolean {
  return (value) => {
    const match = TIME.exec(value);
    if (!match) return false;
    const hour = +match[1]!;
    const minute = +match[2]!;
    const second = +match[3]!;
    const offset = match[4];
    const sign = match[5] === '-' ? -1 : 1;
    const offsetHours = +(match[6] || 0);
    const offsetMinutes = +(match[7] || 0);
    if (offsetHours > 23 || offsetMinutes > 59 || (requireOffset && !offset)) return false;
    if (hour <= 23 && minute <= 59 && second < 60) return true;
    const utcMinute = minute - offsetMinutes * sign;
    const utcHour = hour - offsetHours * sign - (utcMinute < 0 ? 1 : 0);
    return (utcHour === 23 || utcHour === -1) && (utcMinute === 59 || utcMinute === -1) && second < 61;
  };
}

const DATE_TIME_SEPARATOR = /t|\s/i;

function dateTimeChecker(requireOffset: boolean): (value: string) => boolean {
  const isTime = timeChecker(requireOffset);
  return (value) => {
    const parts = value.split(DATE_TIME_SEPARATOR);
    return parts.length === 2 && isDate(parts[0]!) && isTime(parts[1]!);
  };
}

function compareStrings(a: string, b: string): number | undefined {
  if (!(a && b)) return undefined;
  return a > b ? 1 : a < b ? -1 : 0;
}

function compareTime(a: string, b: string): number | undefined {
  if (!(a && b)) return undefined;
  const first = new Date(`2020-01-01T${a}`).valueOf();
  const second = new Date(`2020-01-01T${b}`).valueOf();
  if (!(first && second)) return undefined;
  return first - second;
}

function compareIsoTime(a: string, b: string): number | undefined {
  if (!(a && b)) return undefined;
  const first = TIME.exec(a);
  const second = TIME.exec(b);
  if (!(first && second)) return undefined;
  return compareStrings(first[1]! + first[2]! + first[3]!, second[1]! + second[2]! + second[3]!);
}

function compareDateTime(a: string, b: string): number | undefined {
  if (!(a && b)) return undefined;
  const first = new Date(a).valueOf();
  const second = new Date(b).valueOf();
  if (!(first && second)) return undefined;
  return first - second;
}

function compareIsoDateTime(a: string, b: string): number | undefined {
  if (!(a && b)) return undefined;
  const [dateA, timeA] = a.split(DATE_TIME_SEPARATOR);
  const [dateB, timeB] = b.split(DATE_TIME_SEPARATOR);
  const byDate = compareStrings(dateA!, dateB!);
  if (byDate === undefined) return undefined;
  return byDate || compareTime(timeA!, timeB!);
}

// RFC 3986 absolute URI (scheme required), the expression ajv-formats uses
// (after jmrware's URI_regex), with a "/" or ":" required beyond the scheme.
const H16 = '[0-9a-f]{1,4}';
const DEC_OCTET = '(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)';
const IPV4 = `(?:${DEC_OCTET}\\.){3}${DEC_OCTET}`;
const LS32 = `(?:${H16}:${H16}|${IPV4})`;
const IPV6 =
  `(?:(?:(?:${H16}:){6}|::(?:${H16}:){5}|(?:${H16})?::(?:${H16}:){4}|(?:(?:${H16}:){0,1}${H16})?::(?:${H16}:){3}` +
  `|(?:(?:${H16}:){0,2}${H16})?::(?:${H16}:){2}|(?:(?:${H16}:){0,3}${H16})?::${H16}:|(?:(?:${H16}:){0,4}${H16})?::)` +
  `${LS32}|(?:(?:${H16}:){0,5}${H16})?::${H16}|(?:(?:${H16}:){0,6}${H16})?::)`;
const PCT = '%[0-9a-f]{2}';
const UNRESERVED_SUB = "a-z0-9\\-._~!$&'()*+,;=";
const PCHAR = `(?:[${UNRESERVED_SUB}:@]|${PCT})`;
const URI = new RegExp(
  `^(?:[a-z][a-z0-9+\\-.]*:)` +
    `(?:\\/?\\/(?:(?:[${UNRESERVED_SUB}:]|${PCT})*@)?` +
    `(?:\\[(?:${IPV6}|[Vv][0-9a-f]+\\.[${UNRESERVED_SUB}:]+)\\]|${IPV4}|(?:[${UNRESERVED_SUB}]|${PCT})*)` +
    `(?::\\d*)?(?:\\/${PCHAR}*)*` +
    `|\\/(?:${PCHAR}+(?:\\/${PCHAR}*)*)?` +
    `|${PCHAR}+(?:\\/${PCHAR}*)*)` +
    `(?:\\?(?:[${UNRESERVED_SUB}:@/?]|${PCT})*)?` +
    `(?:#(?:[${UNRESERVED_SUB}:@/?]|${PCT})*)?$`,
  'i',
);
const NOT_URI_FRAGMENT = /\/|:/;

function isUri(value: string): boolean {
  return NOT_URI_FRAGMENT.test(value) && URI.test(value);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/gm;

function isBase64(value: string): boolean {
  BASE64.lastIndex = 0;
  return BASE64.test(value);
}

const MIN_INT32 = -(2 ** 31);
const MAX_INT32 = 2 ** 31 - 1;
const Z_ANCHOR = /[^\\]\\Z/;

function isRegex(value: string): boolean {
  if (Z_ANCHOR.test(value)) return false;
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}

interface FormatDefinition {
  type?: 'number' | 'string';
  validate: (value: never) => boolean;
  compare?: (a: never, b: never) => number | undefined;
}

/**
 * The formats the generated validators check with code, keyed by format
 * name, in the shapes Ajv's standalone code calls (`f(x)` or `f.validate(x)`).
 */
export const formatCheckers: Readonly<Record<string, FormatDefinition | ((value: string) => boolean)>> = {
  date: { validate: isDate, compare: compareStrings },
  time: { validate: timeChecker(true), compare: compareTime },
  'date-time': { validate: dateTimeChecker(true), compare: compareDateTime },
  'iso-time': { validate: timeChecker(false), compare: compareIsoTime },
  'iso-date-time': { validate: dateTimeChecker(false), compare: compareIsoDateTime },
  uri: isUri,
  byte: isBase64,
  regex: isRegex,
  int32: {
    type: 'number',
    validate: (value: number) => Number.isInteger(value) && value <= MAX_INT32 && value >= MIN_INT32,
  },
  // Every integer JavaScript can hold fits in 64 bits.
  int64: { type: 'number', validate: (value: number) => Number.isInteger(value) },
  float: { type: 'number', validate: () => true },
  double: { type: 'number', validate: () => true },
};
