/**
 * Readers for the header values the stack acts on. Every parameter map is a
 * `Map` (never a plain object), so a `;__proto__` or `;constructor`
 * parameter from the network is just a key.
 */

export type SipParams = Map<string, string | null>;

export interface ParsedUri {
  scheme: 'sip' | 'sips' | 'tel' | 'urn' | string;
  user: string | undefined;
  host: string;
  port: number | undefined;
  params: SipParams;
}

export interface ParsedNameAddr {
  displayName: string | undefined;
  uri: string;
  params: SipParams;
}

export interface ParsedVia {
  transport: string;
  host: string;
  port: number | undefined;
  params: SipParams;
}

export interface ParsedCSeq {
  seq: number;
  method: string;
}

/** `;a=b;c` → Map. Values keep their case; names are lower-cased (parameter names are case-insensitive). */
export function parseParams(text: string): SipParams {
  const params: SipParams = new Map();
  for (const part of text.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq < 0) params.set(trimmed.toLowerCase(), null);
    else params.set(trimmed.slice(0, eq).trim().toLowerCase(), trimmed.slice(eq + 1).trim());
  }
  return params;
}

const HOSTPORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/;

function hostPort(text: string): { host: string; port: number | undefined } | undefined {
  const match = HOSTPORT.exec(text);
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  return { host: match[1]!.toLowerCase(), port };
}

/** Parses a SIP, SIPS, tel or URN URI (RFC 3261 §19.1, RFC 3966); `undefined` when malformed. */
export function parseUri(text: string): ParsedUri | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = text.slice(0, colon).toLowerCase();
  let rest = text.slice(colon + 1);
  if (scheme === 'tel' || scheme === 'urn') {
    const semi = rest.indexOf(';');
    const main = semi < 0 ? rest : rest.slice(0, semi);
    if (main === '' || /[\s<>"]/.test(main)) return undefined;
    return {
      scheme,
      user: main,
      host: '',
      port: undefined,
      params: parseParams(semi < 0 ? '' : rest.slice(semi + 1)),
    };
  }
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  const question = rest.indexOf('?');
  if (question >= 0) rest = rest.slice(0, question);
  const at = rest.lastIndexOf('@');
  let user: string | undefined;
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const password = user.indexOf(':');
    if (password >= 0) user = user.slice(0, password);
    // A `;` in the user part is allowed (tel parameters in a SIP URI), but not a space or bracket.
    if (user === '' || /[\s<>"@]/.test(user)) return undefined;
  }
  const semi = rest.indexOf(';');
  const hp = hostPort(semi < 0 ? rest : rest.slice(0, semi));
  if (hp === undefined) return undefined;
  return {
    scheme,
    user,
    host: hp.host,
    port: hp.port,
    params: parseParams(semi < 0 ? '' : rest.slice(semi + 1)),
  };
}

/** `"Alice" <sip:a@b>;tag=x`, `<sip:a@b>`, `sip:a@b;tag=x` (From, To, Contact, Route). */
export function parseNameAddr(text: string): ParsedNameAddr | undefined {
  let value = text.trim();
  let displayName: string | undefined;
  if (value.startsWith('"')) {
    let i = 1;
    let name = '';
    for (; i < value.length; i++) {
      const ch = value[i]!;
      if (ch === '\\' && i + 1 < value.length) name += value[++i];
      else if (ch === '"') break;
      else name += ch;
    }
    if (i >= value.length) return undefined;
    displayName = name;
    value = value.slice(i + 1).trim();
  }
  const open = value.indexOf('<');
  if (open >= 0) {
    const close = value.indexOf('>', open);
    if (close < 0) return undefined;
    const token = value.slice(0, open).trim();
    if (displayName === undefined && token !== '') displayName = token;
    const uri = value.slice(open + 1, close).trim();
    if (uri === '') return undefined;
    return { displayName, uri, params: parseParams(value.slice(close + 1).replace(/^\s*;/, '')) };
  }
  if (displayName !== undefined) return undefined;
  // addr-spec form: header parameters follow the URI's own (§20.10: they belong to the header).
  const semi = value.indexOf(';');
  const uri = semi < 0 ? value : value.slice(0, semi);
  if (uri === '' || /\s/.test(uri)) return undefined;
  return { displayName: undefined, uri, params: parseParams(semi < 0 ? '' : value.slice(semi + 1)) };
}

/** `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport` (§20.42). */
export function parseVia(text: string): ParsedVia | undefined {
  const match = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+([^;\s]+)\s*(;.*)?$/i.exec(text.trim());
  if (!match) return undefined;
  const hp = hostPort(match[2]!);
  if (hp === undefined) return undefined;
  return {
    transport: match[1]!.toUpperCase(),
    host: hp.host,
    port: hp.port,
    params: parseParams(match[3] ?? ''),
  };
}

export function parseCSeq(text: string | undefined): ParsedCSeq | undefined {
  const match = /^\s*([0-9]{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)\s*$/.exec(text ?? '');
  if (!match) return undefined;
  const seq = Number(match[1]);
  if (seq > 2 ** 31 - 1) return undefined;
  return { seq, method: match[2]! };
}

/** `RAck: 1 314159 INVITE` (RFC 3262 §7.2). */
export function parseRAck(
  text: string | undefined,
): { rseq: number; cseq: number; method: string } | undefined {
  const match = /^\s*([0-9]{1,10})\s+([0-9]{1,10})\s+([A-Za-z]+)\s*$/.exec(text ?? '');
  if (!match) return undefined;
  return { rseq: Number(match[1]), cseq: Number(match[2]), method: match[3]! };
}

/** Option tags of Supported/Require (lower-cased). */
export function optionTags(values: string[]): Set<string> {
  return new Set(values.map((v) => v.trim().toLowerCase()).filter((v) => v !== ''));
}
