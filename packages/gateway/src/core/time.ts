/**
 * RFC 3339 `date-time` with a mandatory offset (`Z` or `±hh:mm`), as the specs'
 * `format: date-time` requires. `Date.parse` alone accepts far more.
 */
const RFC3339 =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):([0-5]\d))$/;

/** Epoch milliseconds of an RFC 3339 date-time, or `undefined` when it is not one. */
export function parseDateTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > 64 || !RFC3339.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

export const toDateTime = (ms: number): string => new Date(ms).toISOString();
