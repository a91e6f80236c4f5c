import { invalidArgument } from '../errors.js';
import { isPlainText } from './header-safety.js';

/**
 * `Address` of webrtc-call-handling (and, per ERRATA 6, of webrtc-events), exactly as the spec
 * writes it. Anchored and free of anything a SIP URI could be abused with (no `<>`, `"`, spaces,
 * CR/LF, no URI parameters beyond `phone-context` and `user=phone`).
 */
export const ADDRESS_PATTERN =
  /^(tel:\+[1-9][0-9]{4,14}|tel:[0-9*#]{1,15};phone-context=(?:\+[1-9][0-9]{0,14}|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)|sip:[A-Za-z0-9_.!%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|sip:[0-9*#]{1,15};phone-context=(?:\+[1-9][0-9]{0,14}|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)@[A-Za-z0-9.-]+\.[A-Za-z]{2,};user=phone|urn:service:sos(?:\.[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?)*|sip:anonymous@anonymous\.invalid)$/;

/** `PhoneNumber` of webrtc-registration: E.164 with a leading `+`. */
export const PHONE_NUMBER_PATTERN = /^\+[1-9][0-9]{4,14}$/;

export const ANONYMOUS_ADDRESS = 'sip:anonymous@anonymous.invalid';

const MAX_ADDRESS_LENGTH = 256;
const MAX_NAME_LENGTH = 256;

/** A call party's address, parsed from a validated `Address` string. */
export type PartyAddress =
  | { kind: 'tel'; uri: string; number: string }
  | { kind: 'tel-local'; uri: string; number: string; phoneContext: string }
  | { kind: 'sip'; uri: string; user: string; host: string }
  | { kind: 'sip-local'; uri: string; number: string; phoneContext: string; host: string }
  | { kind: 'emergency'; uri: string; service: string }
  | { kind: 'anonymous'; uri: string };

export function isPhoneNumber(value: unknown): value is string {
  return typeof value === 'string' && PHONE_NUMBER_PATTERN.test(value);
}

/**
 * `%XX` escapes in a SIP user part are legal, but one that decodes to a
 * delimiter or control character would be re-injected by any element that
 * unescapes it; refuse those.
 */
function escapesAreSafe(user: string): boolean {
  for (const match of user.matchAll(/%(.{0,2})/g)) {
    const hex = match[1] ?? '';
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return false;
    const code = Number.parseInt(hex, 16);
    if (code < 0x21 || code > 0x7e || '<>"\\;,@:?&=%'.includes(String.fromCharCode(code))) return false;
  }
  return true;
}

/** Parses an `Address`; throws `400 INVALID_ARGUMENT` naming `field` when it is not one. */
export function parseAddress(value: unknown, field: string): PartyAddress {
  if (typeof value !== 'string') throw invalidArgument(`${field} must be a string`);
  if (value.length > MAX_ADDRESS_LENGTH || !ADDRESS_PATTERN.test(value)) {
    throw invalidArgument(
      `${field} must be a tel: URI (E.164 or local number with phone-context), a sip: URI, an urn:service:sos URN or ${ANONYMOUS_ADDRESS}`,
    );
  }
  if (value === ANONYMOUS_ADDRESS) return { kind: 'anonymous', uri: value };
  if (value.startsWith('urn:'))
    return { kind: 'emergency', uri: value, service: value.slice('urn:service:'.length) };
  if (value.startsWith('tel:+')) return { kind: 'tel', uri: value, number: value.slice(4) };
  if (value.startsWith('tel:')) {
    const [number, context] = value.slice(4).split(';phone-context=') as [string, string];
    return { kind: 'tel-local', uri: value, number, phoneContext: context };
  }
  // sip:
  const rest = value.slice(4);
  if (rest.endsWith(';user=phone')) {
    const [numberPart, hostPart] = rest.slice(0, -';user=phone'.length).split('@') as [string, string];
    const [number, context] = numberPart.split(';phone-context=') as [string, string];
    return { kind: 'sip-local', uri: value, number, phoneContext: context, host: hostPart.toLowerCase() };
  }
  const at = rest.lastIndexOf('@');
  const user = rest.slice(0, at);
  const host = rest.slice(at + 1).toLowerCase();
  if (!escapesAreSafe(user))
    throw invalidArgument(`${field} has a %-escape that is not allowed in a SIP user part`);
  if (host.startsWith('.') || host.includes('..') || host.startsWith('-')) {
    throw invalidArgument(`${field} has an invalid host name`);
  }
  return { kind: 'sip', uri: value, user, host };
}

/** The E.164 number an address stands for, when it names one (`tel:+…`, `sip:+…@host`). */
export function e164Of(address: PartyAddress): string | undefined {
  if (address.kind === 'tel') return address.number;
  if (address.kind === 'sip' && PHONE_NUMBER_PATTERN.test(address.user)) return address.user;
  return undefined;
}

/** The `Address` form the gateway reports for a subscriber number. */
export const telAddress = (phoneNumber: string): string => `tel:${phoneNumber}`;

/**
 * Validates a display name from a request (`originatorName`, `receiverName`): any
 * Unicode text up to 256 characters, but no control characters (CR/LF injection)
 * and nothing that reorders or hides text. Throws `400 INVALID_ARGUMENT`.
 */
export function parseDisplayName(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidArgument(`${field} must be a string`);
  if (value.length > MAX_NAME_LENGTH)
    throw invalidArgument(`${field} must be at most ${MAX_NAME_LENGTH} characters`);
  if (!isPlainText(value)) {
    throw invalidArgument(`${field} contains control characters or invisible formatting characters`);
  }
  return value;
}

/**
 * A display name received from the SIP side, made fit for the API: control and
 * deceptive characters removed, trimmed, at most 256 characters; `undefined` when
 * nothing is left.
 */
export function cleanDisplayName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const cleaned = Array.from(value)
    .filter((ch) => isPlainText(ch))
    .join('')
    .trim()
    .slice(0, MAX_NAME_LENGTH);
  return cleaned === '' ? undefined : cleaned;
}
