export {
  ADDRESS_PATTERN,
  ANONYMOUS_ADDRESS,
  cleanDisplayName,
  e164Of,
  isPhoneNumber,
  type PartyAddress,
  PHONE_NUMBER_PATTERN,
  parseAddress,
  parseDisplayName,
  telAddress,
} from './address.js';
export { assertSipHeaderSafe, isPlainText, isSipHeaderSafe } from './header-safety.js';
export {
  formatNameAddr,
  partyUri,
  phoneNumberFromUri,
  phoneNumberUri,
  type SipDisplayName,
  type SipHost,
  type SipNameAddr,
  type SipUri,
  sipDisplayName,
  sipHost,
} from './uri.js';
