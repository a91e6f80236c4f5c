import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { describe, expect, it } from 'vitest';
import { standaloneModule } from '../src/emit/validators/standalone.js';

type AjvInstance = InstanceType<typeof Ajv.default>;
const OPTIONS = {
  code: { source: true, esm: true, lines: false },
  allErrors: true,
  strict: false,
  inlineRefs: 12,
};
const ajvStandalone = standaloneCode as unknown as (ajv: unknown, refs: Record<string, string>) => string;

/** Evaluates a standalone module's text and returns its exports. */
async function load(code: string): Promise<Record<string, (data: unknown) => boolean>> {
  return import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
}

/** Shared definitions (one recursive, one large enough not to be inlined) and exports that use them. */
function addSchemas(ajv: AjvInstance, count: number): Record<string, string> {
  ajv.addSchema({
    $id: 'test:defs',
    definitions: {
      Node: {
        type: 'object',
        properties: { value: { type: 'integer' }, next: { $ref: '#/definitions/Node' } },
      },
      Wide: {
        type: 'object',
        properties: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`p${i}`, { type: 'string' }])),
      },
    },
  });
  const exports: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    ajv.addSchema({
      $id: `test:export/${i}`,
      type: 'object',
      properties: {
        id: { const: i },
        ...(i % 2 === 0 ? { node: { $ref: 'test:defs#/definitions/Node' } } : {}),
        ...(i % 3 === 0 ? { wide: { $ref: 'test:defs#/definitions/Wide' } } : {}),
      },
      required: ['id'],
    });
    exports[`v${i}`] = `test:export/${i}`;
  }
  return exports;
}

describe('standaloneModule', () => {
  it('writes the same module as Ajv’s standalone writer', () => {
    const mine = new Ajv.default(OPTIONS);
    const theirs = new Ajv.default(OPTIONS);
    const exports = addSchemas(mine, 40);
    addSchemas(theirs, 40);
    expect(standaloneModule(mine, exports)).toBe(ajvStandalone(theirs, exports));
  });

  it('writes the same module for draft 2020-12 schemas whose validators track evaluated properties', () => {
    const make = () => {
      const ajv = new Ajv2020.default(OPTIONS);
      ajv.addSchema({
        $id: 'test:closed',
        type: 'object',
        allOf: [{ properties: { a: { type: 'string' } } }],
        properties: { b: { type: 'number' } },
        unevaluatedProperties: false,
      });
      ajv.addSchema({ $id: 'test:uses', type: 'object', properties: { c: { $ref: 'test:closed' } } });
      return ajv;
    };
    const exports = { closed: 'test:closed', uses: 'test:uses' };
    const mine = standaloneModule(make() as unknown as AjvInstance, exports);
    expect(mine).toContain('.evaluated = ');
    expect(mine).toBe(ajvStandalone(make(), exports));
  });

  it('writes tens of thousands of exports in one module, each validating as compiled', async () => {
    // Ajv's own writer copies every earlier export on each append and overflows the stack near 10,000.
    // Many export names share one schema here, so the test compiles 30 validators, not 30,000.
    const ajv = new Ajv.default(OPTIONS);
    const schemas = addSchemas(ajv, 30);
    const exports = Object.fromEntries(
      Array.from({ length: 30_000 }, (_, n) => [`e${n}`, schemas[`v${n % 30}`]!]),
    );
    const module = await load(standaloneModule(ajv, exports));
    expect(Object.keys(module)).toHaveLength(30_000);
    for (const n of [0, 1, 14_999, 29_999]) {
      const validate = module[`e${n}`]!;
      const id = n % 30;
      expect(validate({ id, node: { value: 1, next: { value: 2 } } })).toBe(true);
      expect(validate({ id: id + 1 })).toBe(false);
      expect(validate({ id, node: { next: { value: 'x' } } })).toBe(id % 2 !== 0);
    }
  });

  it('refuses an id that no schema has', () => {
    const ajv = new Ajv.default(OPTIONS);
    expect(() => standaloneModule(ajv, { v0: 'test:missing' })).toThrow('no schema with id test:missing');
  });
});
