import { invalidArgument } from '../errors.js';

/**
 * Characters that must never reach a SIP message from outside: CR and LF end a
 * header (RFC 3261 §7.3.1, header injection), NUL and the other controls are
 * not allowed in any header value, DEL neither.
 */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/** Unicode that reorders or hides text (bidi overrides, line separators), refused in names. */
const DECEPTIVE = /[\u0080-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

/** A UTF-16 surrogate without its pair: not valid Unicode, breaks UTF-8 encoders. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `value` may be placed in a SIP header value as it is (controls excepted: HTAB is allowed). */
export function isSipHeaderSafe(value: string): boolean {
  return !hasControl(value);
}

/** Throws `400 INVALID_ARGUMENT` naming `field` when `value` carries characters that could break a SIP header. */
export function assertSipHeaderSafe(value: string, field: string): void {
  if (!isSipHeaderSafe(value))
    throw invalidArgument(`${field} contains a control character (CR, LF, NUL, ...)`);
}

/** Whether `value` is free of control characters and deceptive Unicode (used for names and free text). */
export function isPlainText(value: string): boolean {
  return !hasControl(value) && !value.includes('\t') && !DECEPTIVE.test(value) && !LONE_SURROGATE.test(value);
}
