import { type ErrorResponse, errorResponse } from './errors.js';

export const CORRELATOR_HEADER = 'x-correlator';

/** The `pattern` of `XCorrelator` in CAMARA_common.yaml (the same in every WebRTC API), as written there. */
const PATTERN = '^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$';
export const X_CORRELATOR_PATTERN = new RegExp(PATTERN);

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
let prefix = '';
let counter = 0;

/**
 * A new `x-correlator`: UUID-shaped, unique per process (a random prefix drawn
 * once per 2^32 values, then a counter), and far cheaper than a random UUID per
 * response. It correlates logs; it is not a secret.
 */
export function newCorrelator(): string {
  if (counter === 0) {
    prefix = crypto.randomUUID().slice(0, 28);
    counter = 0x1_0000_0000;
  }
  const value = --counter;
  return (
    prefix +
    HEX[value >>> 24]! +
    HEX[(value >>> 16) & 0xff]! +
    HEX[(value >>> 8) & 0xff]! +
    HEX[value & 0xff]!
  );
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
