// The ES helpers generated validators call instead of Ajv's CommonJS modules
// must answer exactly as the originals do: checked here against Ajv's
// ucs2length and equal and ajv-formats' full formats, on fixed cases and on
// generated inputs shaped to reach the interesting branches.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepEqual, formatCheckers, ucs2length } from '../../src/validation/helpers.js';

const require = createRequire(import.meta.url);
const ajvUcs2length = (require('ajv/dist/runtime/ucs2length') as { default: (s: string) => number }).default;
const ajvEqual = (require('ajv/dist/runtime/equal') as { default: (a: unknown, b: unknown) => boolean })
  .default;
const { fullFormats } = require('ajv-formats/dist/formats') as { fullFormats: Record<string, unknown> };

type Check = (value: never) => boolean;
const checkOf = (format: unknown): Check =>
  typeof format === 'function' ? (format as Check) : (format as { validate: Check }).validate;

const digits = (n: number) => fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, '0'));
const pick = <T>(...values: T[]) => fc.constantFrom(...values);
/** Dates and times built from plausible and implausible parts (month 13, 23:59:60, offsets, case). */
const dateText = fc
  .tuple(digits(4), digits(2), digits(2))
  .map(([y, m, d]) => `${y}-${m}-${d}`)
  .chain((date) => fc.oneof(fc.constant(date), pick('2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29')));
const timeText = fc
  .tuple(
    fc.oneof(digits(2), pick('23', '00', '24')),
    fc.oneof(digits(2), pick('59', '60')),
    fc.oneof(digits(2), pick('59', '60', '61')),
    pick('', '.5', '.123456789'),
    pick('', 'Z', 'z', '+00:00', '-01:00', '+2359', '+24:00', '-00:60', '+01', '+1:00'),
  )
  .map(([h, m, s, fraction, offset]) => `${h}:${m}:${s}${fraction}${offset}`);
const dateTimeText = fc
  .tuple(dateText, pick('T', 't', ' ', 'x', 'TT'), timeText)
  .map(([d, sep, t]) => `${d}${sep}${t}`);
const uriText = fc
  .tuple(
    pick('', 'http:', 'https://', 'urn:', 'mailto:', 'x+y-z.w:', '1a:', 'tel:'),
    pick('', '//', '/', 'user:pw@'),
    pick('', 'example.com', '127.0.0.1', '[::1]', '[v1.fe]', '[fe80::1%eth0]', 'ex%41mple', 'ex ample'),
    pick('', ':8080', ':'),
    fc.stringMatching(/^[a-z0-9/?#%:@!$&'()*+,;=~._\-[\]" ^]{0,12}$/),
  )
  .map((parts) => parts.join(''));
const base64Text = fc.oneof(
  fc.base64String(),
  fc.stringMatching(/^[A-Za-z0-9+/=\n-]{0,12}$/),
  fc.base64String().map((s) => `${s}\n${s}`),
);

describe('ES helpers answer as the Ajv modules they replace', () => {
  it('ucs2length counts code points as Ajv does, lone surrogates included', () => {
    for (const text of ['', 'abc', '😀', 'a😀b', '\uD83D', '\uDE00', '\uD83D\uD83D\uDE00', 'x\uD83D']) {
      expect(ucs2length(text)).toBe(ajvUcs2length(text));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => ucs2length(text) === ajvUcs2length(text)),
      { numRuns: 2_000 },
    );
  });

  it('deepEqual agrees with Ajv’s equal on JSON values, and does not throw where it does', () => {
    expect(deepEqual(Number.NaN, Number.NaN)).toBe(true);
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { b: 1 })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
    // Ajv's helper calls a `toString`/`valueOf` key of a JSON object and throws.
    expect(() => ajvEqual({ toString: 1 }, { toString: 1 })).toThrow(TypeError);
    expect(deepEqual({ toString: 1 }, { toString: 1 })).toBe(true);
    expect(deepEqual({ valueOf: 1 }, { valueOf: 2 })).toBe(false);
    expect(deepEqual(new Date(5), new Date(5))).toBe(true);
    expect(deepEqual(/a/g, /a/i)).toBe(false);
    const agrees = (a: unknown, b: unknown) => {
      let theirs: boolean;
      try {
        theirs = ajvEqual(a, b);
      } catch {
        return true; // compared below: a value always equals its copy
      }
      return deepEqual(a, b) === theirs;
    };
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(json, json, (a, b) => agrees(a, b) && agrees(a, a)),
      { numRuns: 2_000 },
    );
    fc.assert(fc.property(json, (a) => deepEqual(a, structuredClone(a)) && agrees(a, structuredClone(a))));
  });

  const cases: [string, fc.Arbitrary<string | number>, (string | number)[]][] = [
    ['date', dateText, ['2024-02-29', '2023-02-29', '2026-13-01', '2026-00-10', '2026-1-1', '']],
    ['time', timeText, ['23:59:60Z', '23:59:60+01:00', '00:59:60+01:00', '12:00:00', '12:00:00.5-05:30']],
    ['date-time', dateTimeText, ['2026-05-05T13:32:17.358Z', '2026-05-05 13:32:17Z', '2026-05-05T13:32:17']],
    ['iso-time', timeText, ['12:00:00', '25:00:00', '12:00:00+25:00']],
    ['iso-date-time', dateTimeText, ['2026-05-05T13:32:17', '2026-05-05t13:32:17z']],
    [
      'uri',
      uriText,
      ['https://example.com/a?b#c', 'example.com', 'urn:isbn:0451450523', 'http://[::1]:80/', 'a:b'],
    ],
    ['byte', base64Text, ['', 'YQ==', 'YWI=', 'YWJj', 'YQ=', 'YQ==\nYQ==', '=']],
    ['regex', fc.string({ maxLength: 8 }), ['^a\\Z', '(', '[a-z]+', '\\Z', 'a\\\\Z']],
    ['int32', fc.oneof(fc.integer(), fc.double()), [2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 1.5]],
    ['int64', fc.oneof(fc.integer(), fc.double()), [2 ** 53, 1.5, Number.NaN, Number.POSITIVE_INFINITY]],
    ['float', fc.double(), [1.5, Number.NaN]],
    ['double', fc.double(), [1.5, -0]],
  ];

  it.each(cases)('format %s', (name, arbitrary, fixed) => {
    const ours = checkOf(formatCheckers[name]);
    const theirs = checkOf(fullFormats[name]);
    for (const value of fixed) expect(ours(value as never), String(value)).toBe(theirs(value as never));
    fc.assert(
      fc.property(arbitrary, (value) => ours(value as never) === theirs(value as never)),
      { numRuns: 3_000 },
    );
  });

  it('every format checked by code has the shape Ajv’s standalone code calls', () => {
    for (const [name, checker] of Object.entries(formatCheckers)) {
      const original = fullFormats[name];
      expect(typeof checker, name).toBe(typeof original);
      if (typeof original === 'object') {
        expect(Object.keys(checker).sort(), name).toEqual(Object.keys(original as object).sort());
        expect((checker as { type?: string }).type, name).toBe((original as { type?: string }).type);
      }
    }
  });

  it('the date and time comparisons order values as ajv-formats does', () => {
    const pairs: Record<string, [string, string][]> = {
      date: [
        ['2026-01-01', '2026-01-02'],
        ['2026-01-02', '2026-01-01'],
        ['2026-01-01', '2026-01-01'],
        ['', 'x'],
      ],
      time: [
        ['10:00:00Z', '09:00:00-02:00'],
        ['bad', '10:00:00Z'],
      ],
      'date-time': [
        ['2026-01-01T00:00:00Z', '2025-12-31T23:00:00-02:00'],
        ['x', 'y'],
      ],
      'iso-time': [
        ['10:00:00', '10:00:01'],
        ['10:00:00', 'x'],
      ],
      'iso-date-time': [
        ['2026-01-01T10:00:00', '2026-01-01T09:00:00'],
        ['2026-01-02T00:00:00', '2026-01-01T23:00:00'],
      ],
    };
    for (const [name, list] of Object.entries(pairs)) {
      const ours = (formatCheckers[name] as { compare: (a: string, b: string) => number | undefined })
        .compare;
      const theirs = (fullFormats[name] as { compare: (a: string, b: string) => number | undefined }).compare;
      for (const [a, b] of list) expect(ours(a, b), `${name} ${a} ${b}`).toBe(theirs(a, b));
    }
  });
});
