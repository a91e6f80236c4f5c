import { canonicalName, SipHeaders, type SipMessage } from './message.js';

/** Bounds on what the parser accepts from the network. */
export interface SipParseLimits {
  /** Whole message, headers and body (default 65,535 bytes: the largest UDP datagram). */
  maxMessageBytes: number;
  /** Header fields per message (default 100). */
  maxHeaders: number;
}

export const DEFAULT_PARSE_LIMITS: SipParseLimits = { maxMessageBytes: 65_535, maxHeaders: 100 };

/** A message the parser refused; `partial` holds what was read, enough to answer 400 when it was a request. */
export class SipParseError extends Error {
  readonly partial: SipMessage | undefined;
  constructor(message: string, partial?: SipMessage) {
    super(message);
    this.name = 'SipParseError';
    this.partial = partial;
  }
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const REQUEST_LINE = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6][0-9]{2}) ?(.*)$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Parses one SIP message from a datagram (RFC 3261 §7, §18.3: over UDP the
 * body ends with the datagram; a Content-Length beyond it is an error, one
 * short of it truncates the body).
 */
export function parseDatagram(data: Buffer, limits: SipParseLimits = DEFAULT_PARSE_LIMITS): SipMessage {
  if (data.length > limits.maxMessageBytes) throw new SipParseError('message too large');
  const end = data.indexOf(CRLFCRLF);
  if (end < 0) throw new SipParseError('no end of headers');
  const message = parseHead(data.subarray(0, end).toString('utf8'), limits);
  const rest = data.subarray(end + 4);
  const length = contentLength(message);
  if (length === undefined) {
    message.body = Buffer.from(rest);
  } else if (length > rest.length) {
    throw new SipParseError('Content-Length beyond the datagram', message);
  } else {
    message.body = Buffer.from(rest.subarray(0, length));
  }
  return message;
}

/**
 * Frames messages on a byte stream (TCP, TLS: RFC 3261 §18.3, Content-Length
 * is mandatory). Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are
 * skipped. Throws `SipParseError` on anything it cannot frame; the caller
 * closes the connection, since the stream can no longer be trusted.
 */
export class SipStreamFramer {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #limits: SipParseLimits;

  constructor(limits: SipParseLimits = DEFAULT_PARSE_LIMITS) {
    this.#limits = limits;
  }

  /** Appends `chunk` and returns every message now complete. */
  push(chunk: Buffer): SipMessage[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: SipMessage[] = [];
    for (;;) {
      let start = 0;
      while (start < this.#buffer.length && (this.#buffer[start] === 0x0d || this.#buffer[start] === 0x0a))
        start++;
      if (start > 0) this.#buffer = this.#buffer.subarray(start);
      if (this.#buffer.length === 0) break;
      const end = this.#buffer.indexOf(CRLFCRLF);
      if (end < 0) {
        if (this.#buffer.length > this.#limits.maxMessageBytes) throw new SipParseError('headers too large');
        break;
      }
      if (end + 4 > this.#limits.maxMessageBytes) throw new SipParseError('headers too large');
      const message = parseHead(this.#buffer.subarray(0, end).toString('utf8'), this.#limits);
      const length = contentLength(message);
      if (length === undefined) throw new SipParseError('Content-Length is required on a stream', message);
      if (end + 4 + length > this.#limits.maxMessageBytes)
        throw new SipParseError('message too large', message);
      if (this.#buffer.length < end + 4 + length) break;
      message.body = Buffer.from(this.#buffer.subarray(end + 4, end + 4 + length));
      this.#buffer = this.#buffer.subarray(end + 4 + length);
      out.push(message);
    }
    return out;
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.#buffer.length;
  }
}

function contentLength(message: SipMessage): number | undefined {
  const values = message.headers.getAll('content-length');
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new SipParseError('more than one Content-Length', message);
  const value = values[0]!.trim();
  if (!/^[0-9]{1,9}$/.test(value)) throw new SipParseError('Content-Length is not a number', message);
  return Number(value);
}

/** CTL characters other than HTAB (RFC 3261 §25.1): never valid in a start line or header. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

function parseHead(head: string, limits: SipParseLimits): SipMessage {
  const lines = head.split('\r\n');
  const startLine = lines[0] ?? '';
  let message: SipMessage;
  const status = STATUS_LINE.exec(startLine);
  if (status) {
    message = {
      kind: 'response',
      status: Number(status[1]),
      reason: status[2] ?? '',
      headers: new SipHeaders(),
      body: Buffer.alloc(0),
    };
  } else {
    const request = REQUEST_LINE.exec(startLine);
    if (!request) throw new SipParseError('malformed start line');
    message = {
      kind: 'request',
      method: request[1]!,
      uri: request[2]!,
      headers: new SipHeaders(),
      body: Buffer.alloc(0),
    };
  }
  if (hasControl(startLine)) throw new SipParseError('control character in the start line');
  let count = 0;
  let current: [string, string] | undefined;
  const flush = () => {
    if (current === undefined) return;
    if (++count > limits.maxHeaders) throw new SipParseError('too many header fields', message);
    message.headers.append(current[0], current[1].trim());
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (hasControl(line)) throw new SipParseError('control character in a header', message);
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // Header folding (§7.3.1): a continuation line joins the previous value with one space.
      if (current === undefined) throw new SipParseError('continuation line without a header', message);
      current[1] += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError('malformed header line', message);
    const name = line.slice(0, colon).trimEnd();
    if (!TOKEN.test(name)) throw new SipParseError('malformed header name', message);
    current = [canonicalName(name), line.slice(colon + 1)];
  }
  flush();
  return message;
}
