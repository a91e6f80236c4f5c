/**
 * Property-based test of the response serializers the routers compile from
 * the generated `responseSchemas`, for every documented JSON response body of
 * our three specs:
 *
 * (a) a valid body with only documented properties is written as the same JSON
 *     as `JSON.stringify` writes (compared parsed: property order may differ);
 * (b) a valid body with undocumented properties too (the documents leave objects
 *     open) is written without them: what is written is part of the body, and
 *     the generated response validator accepts it.
 *
 * `TELEGATE_PROPERTY_RUNS` overrides the number of runs per property.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonContent } from '../../generator/src/emit/validators/compile.js';
import { generateFiles, writeFiles } from '../../generator/src/generate.js';
import { parseDocument } from '../../generator/src/parse/index.js';
import {
  type BodySerializer,
  createResponseSerializers,
} from '../../packages/runtime/src/server/serializers.js';
import type { ResponseSchemas, ResponseValidator } from '../../packages/runtime/src/validation/index.js';
import { repoRoot, repoTempDir } from '../support/typecheck.js';
import { SchemaModel, Unsupported } from './arbitrary.js';

const SPECS = ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'] as const;
const RUNS = Number(process.env.TELEGATE_PROPERTY_RUNS ?? 60);

interface Target {
  label: string;
  model: SchemaModel;
  documentedOnly: SchemaModel;
  schema: unknown;
  status: number;
  serialize: BodySerializer;
  validate: ResponseValidator;
}

const out = await repoTempDir('property-serializers-');
afterAll(() => rm(out, { recursive: true, force: true }));

const specs = SPECS.map((name) => join(repoRoot, 'spec', `${name}.yaml`));
const { files } = await generateFiles({ specs, out, emit: ['validators', 'fastify'] });
await writeFiles(out, files);

const targets: Target[] = [];
const skipped: string[] = [];
let documented = 0;
for (const [index, name] of SPECS.entries()) {
  const { ir } = await parseDocument(specs[index]!);
  const generated = (await import(join(out, `${name}.validators.gen.ts`))) as {
    responseSchemas: ResponseSchemas;
    responseValidators: Record<string, ResponseValidator>;
  };
  const serializers = createResponseSerializers(generated.responseSchemas);
  const model = new SchemaModel(ir.schemas, 'response');
  const documentedOnly = new SchemaModel(ir.schemas, 'response', false);
  for (const op of ir.operations) {
    for (const response of op.responses) {
      const content = jsonContent(response.content);
      if (!content?.schema || !/^\d+$/.test(response.status)) continue;
      documented++;
      const label = `${name} · ${op.id} ${response.status}`;
      const status = Number(response.status);
      const serialize = serializers.get(op.id)?.(status);
      // Every documented JSON body gets a compiled serializer.
      if (!serialize) throw new Error(`${label}: no serializer`);
      try {
        model.sample(model.root(content.schema));
      } catch (error) {
        if (!(error instanceof Unsupported)) throw error;
        skipped.push(`${label}: ${error.message}`);
        continue;
      }
      targets.push({
        label,
        model,
        documentedOnly,
        schema: content.schema,
        status,
        serialize,
        validate: generated.responseValidators[op.id]!,
      });
    }
  }
}

/** Where `part` is not a part of `whole` (same values; objects may lack properties), else `undefined`. */
function outside(part: unknown, whole: unknown, path: string): string | undefined {
  if (Array.isArray(part)) {
    if (!Array.isArray(whole) || whole.length !== part.length) return path || '/';
    for (const [index, item] of part.entries()) {
      const found = outside(item, whole[index], `${path}/${index}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (part !== null && typeof part === 'object') {
    if (whole === null || typeof whole !== 'object' || Array.isArray(whole)) return path || '/';
    for (const [key, value] of Object.entries(part)) {
      if (!Object.hasOwn(whole, key)) return `${path}/${key}`;
      const found = outside(value, (whole as Record<string, unknown>)[key], `${path}/${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return Object.is(part, whole) ? undefined : path || '/';
}

describe('response serializers: property-based', () => {
  it('cover the documented JSON response bodies of the three specs', () => {
    if (skipped.length > 0) console.info(`serializer properties skip:\n  ${skipped.join('\n  ')}`);
    expect(documented).toBeGreaterThan(40);
    expect(targets.length).toBeGreaterThanOrEqual(documented * 0.9);
  });

  for (const target of targets) {
    const accepted = (value: unknown, what: string) => {
      const violations = target.validate(target.status, value, {});
      if (violations !== null) throw new Error(`${what} refused: ${violations.join('; ')}`);
    };

    it(`${target.label}: a documented body is written as JSON.stringify writes it`, () => {
      const arb = target.documentedOnly.sample(target.documentedOnly.root(target.schema));
      fc.assert(
        fc.property(arb, ({ value }) => {
          accepted(value, 'generated body');
          expect(JSON.parse(target.serialize(value))).toStrictEqual(JSON.parse(JSON.stringify(value)));
        }),
        { numRuns: RUNS },
      );
    });

    it(`${target.label}: undocumented properties are left out, and the rest still conforms`, () => {
      const arb = target.model.sample(target.model.root(target.schema));
      fc.assert(
        fc.property(arb, ({ value }) => {
          accepted(value, 'generated body');
          const written: unknown = JSON.parse(target.serialize(value));
          const whole: unknown = JSON.parse(JSON.stringify(value));
          const stray = outside(written, whole, '');
          if (stray !== undefined) throw new Error(`written ${stray} is not in the body`);
          accepted(written, 'written body');
        }),
        { numRuns: RUNS },
      );
    });
  }
});
