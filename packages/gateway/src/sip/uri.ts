import type { PartyAddress } from './address.js';
import { PHONE_NUMBER_PATTERN } from './address.js';

declare const sipUriBrand: unique symbol;
declare const displayNameBrand: unique symbol;
declare const hostBrand: unique symbol;

/**
 * A SIP or URN request/header URI that was built by this module from validated
 * parts. Backends accept only this type, so no header can be built from a raw
 * request string.
 */
export type SipUri = string & { readonly [sipUriBrand]: true };

/** A display name, already escaped as an RFC 3261 `quoted-string` (without the quotes). */
export type SipDisplayName = string & { readonly [displayNameBrand]: true };

/** A host name or IP literal checked by `sipHost`. */
export type SipHost = string & { readonly [hostBrand]: true };

/** `name-addr` of From/To: a URI and an optional display name. */
export interface SipNameAddr {
  uri: SipUri;
  displayName?: SipDisplayName;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Checks a configured host (SIP domain); throws a plain `Error` (configuration, not a request). */
export function sipHost(value: string): SipHost {
  if (!HOSTNAME.test(value) && !IPV4.test(value))
    throw new Error(`not a valid SIP host name: ${JSON.stringify(value)}`);
  return value.toLowerCase() as SipHost;
}

/** `sip:+E164@domain;user=phone`, the form the call flows use for subscriber numbers. */
export function phoneNumberUri(phoneNumber: string, domain: SipHost): SipUri {
  if (!PHONE_NUMBER_PATTERN.test(phoneNumber)) throw new Error('phoneNumberUri: not an E.164 number');
  return `sip:${phoneNumber}@${domain};user=phone` as SipUri;
}

/**
 * The Request-URI / To URI for a validated party address (RFC 3261 §19.1,
 * RFC 3966 for `tel:` numbers in SIP form, RFC 5031 for emergency URNs).
 * `domain` is used where the address has none (telephone numbers).
 */
export function partyUri(address: PartyAddress, domain: SipHost): SipUri {
  switch (address.kind) {
    case 'tel':
      return phoneNumberUri(address.number, domain);
    case 'tel-local':
      return `sip:${address.number};phone-context=${address.phoneContext}@${domain};user=phone` as SipUri;
    case 'sip':
    case 'sip-local':
    case 'anonymous':
    case 'emergency':
      // Already matched the spec's anchored Address pattern: no spaces, quotes, angle brackets or CR/LF.
      return address.uri as SipUri;
  }
}

/**
 * Escapes a validated display name as a `quoted-string` body (RFC 3261 §25.1:
 * `"` and `\` become quoted-pairs). UTF-8 is allowed there.
 */
export function sipDisplayName(name: string): SipDisplayName {
  return name.replace(/[\\"]/g, (ch) => `\\${ch}`) as SipDisplayName;
}

/** `"Alice" <sip:+81...@host;user=phone>`, for header values and logs. */
export function formatNameAddr(nameAddr: SipNameAddr): string {
  return nameAddr.displayName === undefined
    ? `<${nameAddr.uri}>`
    : `"${nameAddr.displayName}" <${nameAddr.uri}>`;
}

/**
 * Reads a SIP/tel URI from the network side back into an E.164 number
 * (`sip:+8180...@host;user=phone`, `tel:+8180...`), or `undefined`.
 */
export function phoneNumberFromUri(uri: string): string | undefined {
  const match = /^(?:sips?:|tel:)(\+[1-9][0-9]{4,14})(?:[@;]|$)/.exec(uri);
  return match?.[1];
}
