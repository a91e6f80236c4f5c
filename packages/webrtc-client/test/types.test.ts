import { describe, expect, it } from 'vitest';
import { typecheck } from '../../../test/support/typecheck.js';

describe('type tests', () => {
  it('misuse fails to compile (each @ts-expect-error is needed) and the typed assertions hold', () => {
    const files = ['misuse.check.ts', 'client.test.ts'].map((f) => new URL(f, import.meta.url).pathname);
    expect(typecheck(files)).toEqual([]);
  });
});
