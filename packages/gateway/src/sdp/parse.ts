import { parse as parseSdpText, type SessionDescription } from 'sdp-transform';
import { invalidArgument } from '../errors.js';

export interface SdpLimits {
  /** Largest SDP accepted, in bytes (the specs' `maxLength` is 65 536). */
  maxBytes: number;
  /** Most lines accepted; real WebRTC audio offers have well under 200. */
  maxLines: number;
}

export const DEFAULT_SDP_LIMITS: SdpLimits = { maxBytes: 65_536, maxLines: 1_000 };

/** An SDP that passed the syntax checks: its text with CRLF line ends, and the parsed form. */
export interface ParsedSdp {
  text: string;
  description: SessionDescription;
}

/** `<type>=<value>`: one-letter type, printable ASCII value (RFC 4566 §5, minus the controls we never accept). */
const LINE = /^[a-z]=[\x20-\x7e]*$/;

/**
 * Checks `value` is a syntactically sound SDP within `limits` and parses it.
 * sdp-transform alone accepts almost anything, so the structure (RFC 4566 §5:
 * `v=0` first, then `o=`, `s=`, `t=`, at least one `m=`) and every line are
 * checked first. Throws `400 INVALID_ARGUMENT` naming `field` and the first
 * problem.
 */
export function parseSdp(value: unknown, field: string, limits: SdpLimits = DEFAULT_SDP_LIMITS): ParsedSdp {
  if (typeof value !== 'string') throw invalidArgument(`${field} must be a string`);
  if (value.length === 0) throw invalidArgument(`${field} is empty`);
  // Length first: it is O(1) and bounds everything below.
  if (value.length > limits.maxBytes || Buffer.byteLength(value, 'utf8') > limits.maxBytes) {
    throw invalidArgument(`${field} is larger than ${limits.maxBytes} bytes`);
  }
  const lines = value.split('\n');
  if (lines.length > limits.maxLines + 1)
    throw invalidArgument(`${field} has more than ${limits.maxLines} lines`);
  if (lines.at(-1) === '') lines.pop();
  const clean: string[] = [];
  for (const [index, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!LINE.test(line)) {
      throw invalidArgument(
        `${field} line ${index + 1} is not a valid SDP line (expected "<letter>=<printable ASCII>", no control characters)`,
      );
    }
    clean.push(line);
  }
  if (clean.length > limits.maxLines)
    throw invalidArgument(`${field} has more than ${limits.maxLines} lines`);
  if (clean[0] !== 'v=0') throw invalidArgument(`${field} must start with "v=0"`);
  for (const type of ['o', 's', 't', 'm'] as const) {
    if (!clean.some((line) => line.startsWith(`${type}=`)))
      throw invalidArgument(`${field} has no "${type}=" line`);
  }
  const firstMedia = clean.findIndex((line) => line.startsWith('m='));
  for (const type of ['o', 's', 't'] as const) {
    const at = clean.findIndex((line) => line.startsWith(`${type}=`));
    if (at > firstMedia) throw invalidArgument(`${field} has its "${type}=" line after the first "m=" line`);
  }
  const text = `${clean.join('\r\n')}\r\n`;
  let description: SessionDescription;
  try {
    description = parseSdpText(text);
  } catch {
    throw invalidArgument(`${field} cannot be parsed as SDP`);
  }
  if (
    description.origin === undefined ||
    !Array.isArray(description.media) ||
    description.media.length === 0
  ) {
    throw invalidArgument(`${field} has no valid "o=" or "m=" line`);
  }
  return { text, description };
}
