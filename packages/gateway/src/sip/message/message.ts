/**
 * SIP messages as the stack passes them around (RFC 3261 §7). Header names
 * are kept in their canonical lower-case long form; compact forms (§7.3.3)
 * are expanded by the parser. Values are raw strings: parse them with
 * `headers.ts` before use, since everything here may come from the network.
 */

export class SipHeaders {
  readonly #entries: Array<[name: string, value: string]> = [];

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [name, value] of entries) this.append(name, value);
  }

  /** The first value of `name`, or `undefined`. */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    for (const [n, v] of this.#entries) if (n === key) return v;
    return undefined;
  }

  /** Every value of `name`, in order; comma-separated lists are split (§7.3.1). */
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (const [n, v] of this.#entries) {
      if (n !== key) continue;
      if (LIST_HEADERS.has(key)) out.push(...splitList(v));
      else out.push(v);
    }
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  append(name: string, value: string): this {
    this.#entries.push([canonicalName(name), value]);
    return this;
  }

  /** Replaces every value of `name` with one. */
  set(name: string, value: string): this {
    const key = canonicalName(name);
    const index = this.#entries.findIndex(([n]) => n === key);
    this.delete(key);
    if (index < 0) this.#entries.push([key, value]);
    else this.#entries.splice(Math.min(index, this.#entries.length), 0, [key, value]);
    return this;
  }

  /** Adds `value` before every other value of `name` (a new top Via or Record-Route). */
  prepend(name: string, value: string): this {
    const key = canonicalName(name);
    const index = this.#entries.findIndex(([n]) => n === key);
    this.#entries.splice(Math.max(index, 0), 0, [key, value]);
    return this;
  }

  delete(name: string): this {
    const key = name.toLowerCase();
    for (let i = this.#entries.length - 1; i >= 0; i--)
      if (this.#entries[i]![0] === key) this.#entries.splice(i, 1);
    return this;
  }

  /** Removes the first list element of `name` (the top Via), keeping the rest. */
  shift(name: string): string | undefined {
    const key = name.toLowerCase();
    const index = this.#entries.findIndex(([n]) => n === key);
    if (index < 0) return undefined;
    const values = splitList(this.#entries[index]![1]);
    const first = values.shift();
    if (values.length === 0) this.#entries.splice(index, 1);
    else this.#entries[index]![1] = values.join(', ');
    return first;
  }

  entries(): IterableIterator<[string, string]> {
    return this.#entries.values();
  }

  get size(): number {
    return this.#entries.length;
  }

  clone(): SipHeaders {
    return new SipHeaders(this.#entries);
  }
}

export interface SipRequest {
  readonly kind: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: Buffer;
}

export interface SipResponse {
  readonly kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export function sipRequest(
  method: string,
  uri: string,
  headers: SipHeaders,
  body?: Buffer | string,
): SipRequest {
  return { kind: 'request', method, uri, headers, body: toBuffer(body) };
}

export function sipResponse(
  status: number,
  reason: string,
  headers: SipHeaders,
  body?: Buffer | string,
): SipResponse {
  return { kind: 'response', status, reason, headers, body: toBuffer(body) };
}

/** Shared by every message without a body: zero bytes can't be written to, and most SIP messages have none. */
const NO_BODY = Buffer.alloc(0);

function toBuffer(body: Buffer | string | undefined): Buffer {
  if (body === undefined) return NO_BODY;
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Compact header forms (RFC 3261 §7.3.3, RFC 3262, RFC 4028, RFC 3515). */
const COMPACT: Record<string, string> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  r: 'refer-to',
  x: 'session-expires',
  u: 'allow-events',
};

export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return (lower.length === 1 ? COMPACT[lower] : undefined) ?? lower;
}

/** Headers whose values are comma-separated lists that may be split or combined (§7.3.1). */
const LIST_HEADERS = new Set([
  'via',
  'route',
  'record-route',
  'contact',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'allow',
  'accept',
  'allow-events',
]);

/** Splits a header list on commas outside quoted strings and `<...>` (§7.3.1). */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') angle = true;
    else if (ch === '>') angle = false;
    else if (ch === ',' && !angle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

/** Canonical spelling of a header name on the wire. */
const WIRE_NAMES: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  www_authenticate: 'WWW-Authenticate',
  'www-authenticate': 'WWW-Authenticate',
  rseq: 'RSeq',
  rack: 'RAck',
  'p-asserted-identity': 'P-Asserted-Identity',
  'min-se': 'Min-SE',
};

/** Spellings already worked out, bounded: names from the network are arbitrary. */
const wireNameCache = new Map<string, string>();

export function wireName(name: string): string {
  const known = WIRE_NAMES[name] ?? wireNameCache.get(name);
  if (known !== undefined) return known;
  const spelled = name.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
  if (wireNameCache.size < 256) wireNameCache.set(name, spelled);
  return spelled;
}
