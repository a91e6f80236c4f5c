import { type ErrorResponse, errorResponse } from './errors.js';

export const CORRELATOR_HEADER = 'x-correlator';

/** The `pattern` of `XCorrelator` in CAMARA_common.yaml (the same in every WebRTC API), as written there. */
const PATTERN = '^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$';
export const X_CORRELATOR_PATTERN = new RegExp(PATTERN);

const HEX_DIGITS = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));
/** The character codes of the next correlator: a random prefix of 28, then 8 hex digits of the counter. */
const codes: number[] = new Array(36).fill(0);
let counter = 0;

/**
 * A new `x-correlator`: UUID-shaped, unique per process (a random prefix drawn
 * once per 2^32 values, then a counter), and far cheaper than a random UUID per
 * response. It correlates logs; it is not a secret.
 */
export function newCorrelator(): string {
  if (counter === 0) {
    const prefix = crypto.randomUUID().slice(0, 28);
    for (let i = 0; i < 28; i++) codes[i] = prefix.charCodeAt(i);
    counter = 0x1_0000_0000;
  }
  const value = --counter;
  for (let i = 0; i < 8; i++) codes[35 - i] = HEX_DIGITS[(value >>> (i * 4)) & 15]!;
  // Made in one call, the string is flat: a concatenation would be a rope that
  // Node flattens again for every check and write of the header.
  return String.fromCharCode.apply(null, codes);
}

export type CorrelatorResult =
  | { ok: true; correlator: string }
  | { ok: false; correlator: string; error: ErrorResponse };

/**
 * The `x-correlator` to answer with: the request's when it is valid, a new one
 * when it is absent or empty. An invalid one is refused (400) and never echoed,
 * so the response carries a fresh value instead.
 */
export function resolveCorrelator(
  value: string | string[] | undefined,
  generate: () => string = newCorrelator,
): CorrelatorResult {
  if (value === undefined || value === '') return { ok: true, correlator: generate() };
  if (typeof value === 'string' && X_CORRELATOR_PATTERN.test(value)) return { ok: true, correlator: value };
  return {
    ok: false,
    correlator: generate(),
    error: errorResponse(400, 'INVALID_ARGUMENT', `header/x-correlator must match pattern "${PATTERN}"`),
  };
}
