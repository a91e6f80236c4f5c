import { describe, expect, it } from 'vitest';
import { coerceLocation, type ParameterPlan } from '../../src/validation/coerce.js';

const plan = (
  name: string,
  type: ParameterPlan['type'],
  extra: Partial<ParameterPlan> = {},
): ParameterPlan => ({
  name,
  type,
  style: 'simple',
  explode: false,
  ...extra,
});

describe('coerceLocation', () => {
  const headerPlans = [
    plan('X-Correlator', 'string'),
    plan('X-Max-Hops', 'integer'),
    plan('X-Flags', 'array', { items: 'boolean' }),
  ];

  it.each([
    [
      'lower-case keys, as Node delivers them',
      { 'x-correlator': 'c-1', 'x-max-hops': '3', 'x-flags': 'true,false' },
    ],
    [
      'keys in any case, as a caller may pass them',
      { 'X-CORRELATOR': 'c-1', 'x-Max-Hops': '3', 'X-Flags': 'true,false' },
    ],
  ])('headers match by name in any case and come out in lower case: %s', (_, headers) => {
    expect(coerceLocation(headers, headerPlans, true)).toEqual({
      'x-correlator': 'c-1',
      'x-max-hops': 3,
      'x-flags': [true, false],
    });
  });

  it('a lower-case key wins over another spelling of the same header', () => {
    expect(coerceLocation({ 'X-Max-Hops': '1', 'x-max-hops': '2' }, headerPlans, true)).toEqual({
      'x-max-hops': 2,
    });
  });

  it('leaves out absent parameters and undocumented ones, and never changes the source', () => {
    const source = { 'x-max-hops': 'many', host: 'example.com' };
    const copy = structuredClone(source);
    expect(coerceLocation(source, headerPlans, true)).toEqual({ 'x-max-hops': 'many' });
    expect(source).toEqual(copy);
  });

  it('query and path names are case-sensitive', () => {
    const plans = [plan('limit', 'integer')];
    expect(coerceLocation({ Limit: '5' }, plans, false)).toEqual({});
    expect(coerceLocation({ limit: '5' }, plans, false)).toEqual({ limit: 5 });
  });

  it('no source or no plans gives a new empty object', () => {
    expect(coerceLocation(undefined, headerPlans, true)).toEqual({});
    const source = { a: '1' };
    const out = coerceLocation(source, [], false);
    expect(out).toEqual({});
    expect(out).not.toBe(source);
  });
});

describe('coerceLocation with header names known to be lower case', () => {
  it('finds lower-case names and does not look for other spellings', () => {
    const plans = [{ name: 'X-Max-Hops', type: 'integer' as const, style: 'simple', explode: false }];
    expect(coerceLocation({ 'x-max-hops': '3' }, plans, true, true)).toEqual({ 'x-max-hops': 3 });
    expect(coerceLocation({ 'X-Max-Hops': '3' }, plans, true, true)).toEqual({});
    expect(coerceLocation({ 'X-Max-Hops': '3' }, plans, true, false)).toEqual({ 'x-max-hops': 3 });
  });
});
