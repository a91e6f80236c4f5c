/**
 * Property-based tests of the generated validators (`*.validators.gen.ts`),
 * against values generated from the schemas of our three specs:
 *
 * (a) every value the schema allows passes the generated validator;
 * (b) every single-field change that takes the value out of its schema is
 *     refused, with a violation naming the changed field.
 *
 * Targets: every named component schema (through a generated document with one
 * `POST /components/<Name>` per component whose body is `$ref: <Name>`, checked
 * with `requestBodyValidators`), every operation request body (with
 * `requestBodyValidators`, and `requestValidators` for the CAMARA `ErrorInfo`) and
 * every callback payload (`callbackValidators`). `arbitrary.ts` says which schema
 * keywords the value generator supports; schemas using others are skipped and counted.
 *
 * `TELEGATE_PROPERTY_RUNS` overrides the number of runs per property; failures print
 * fast-check's seed and path for replay.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonContent } from '../../generator/src/emit/validators/compile.js';
import { generateFiles, writeFiles } from '../../generator/src/generate.js';
import type { Operation } from '../../generator/src/ir/types.js';
import { parseDocument } from '../../generator/src/parse/index.js';
import type {
  ErrorInfo,
  PayloadValidator,
  RequestInput,
  RequestValidator,
} from '../../packages/runtime/src/validation/index.js';
import { repoRoot, repoTempDir } from '../support/typecheck.js';
import {
  applyMutation,
  type Json,
  type Mutation,
  mutatedField,
  type Sample,
  SchemaModel,
  Unsupported,
} from './arbitrary.js';

/** A violation message names `path` itself or lists it among a failed oneOf/anyOf's alternatives. */
function namesPath(message: string, path: string): boolean {
  return (
    message.startsWith(`${path} `) || message.includes(`: ${path} `) || message.includes(`; or ${path} `)
  );
}

const SPECS = ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'] as const;
const RUNS = Number(process.env.TELEGATE_PROPERTY_RUNS ?? 60);
/** At least this share of the targets must be covered by the value generator. */
const MIN_COVERAGE = 0.9;

interface ValidatorsModule {
  requestValidators: Record<string, RequestValidator>;
  requestBodyValidators: Record<string, PayloadValidator>;
  callbackValidators: Record<string, PayloadValidator>;
}

interface Target {
  label: string;
  model: SchemaModel;
  schema: unknown;
  validate: PayloadValidator;
  /** For operation bodies: the whole request through `requestValidators`, with valid parameters. */
  request?: { validate: RequestValidator; input: RequestInput };
}

const out = await repoTempDir('property-');
afterAll(() => rm(out, { recursive: true, force: true }));

const componentDocuments: string[] = [];
const parsed = [];
for (const name of SPECS) {
  const spec = join(repoRoot, 'spec', `${name}.yaml`);
  const { ir } = await parseDocument(spec);
  parsed.push({ name, spec, ir });
  const paths: Record<string, unknown> = {};
  for (const schema of Object.keys(ir.schemas)) {
    paths[`/components/${schema}`] = {
      post: {
        operationId: `component${schema}`,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
        },
        responses: { '204': { description: 'valid' } },
      },
    };
  }
  const file = join(out, `${name}-components.json`);
  await writeFile(
    file,
    JSON.stringify({
      openapi: '3.0.3',
      info: { title: `${name} components`, version: '0' },
      paths,
      components: { schemas: ir.schemas },
    }),
  );
  componentDocuments.push(file);
}

const { files } = await generateFiles({
  specs: [...parsed.map((p) => p.spec), ...componentDocuments],
  out,
  emit: ['validators'],
});
await writeFiles(out, files);
const load = async (base: string) =>
  (await import(join(out, `${base}.validators.gen.ts`))) as ValidatorsModule;

const targets: Target[] = [];
const skipped: [label: string, reason: string][] = [];

/** Valid values for the required parameters of an operation (one fixed sample each). */
function parameterValues(model: SchemaModel, op: Operation): RequestInput | undefined {
  const input: {
    params: Record<string, string>;
    query: Record<string, string>;
    headers: Record<string, string>;
  } = { params: {}, query: {}, headers: {} };
  for (const [location, into] of [
    ['path', input.params],
    ['query', input.query],
    ['header', input.headers],
  ] as const) {
    for (const parameter of op.parameters[location]) {
      if (!parameter.required) continue;
      const [value] = fc.sample(model.sample(model.root(parameter.schema)), { numRuns: 1, seed: 7 });
      if (typeof value?.value !== 'string') return undefined;
      into[parameter.name] = value.value;
    }
  }
  return input;
}

for (const { name, ir } of parsed) {
  const model = new SchemaModel(ir.schemas);
  const own = await load(name);
  const components = await load(`${name}-components`);
  const add = (target: Target) => {
    try {
      target.model.sample(target.model.root(target.schema));
      targets.push(target);
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
      skipped.push([target.label, error.message]);
    }
  };
  for (const schema of Object.keys(ir.schemas)) {
    add({
      label: `${name} · component ${schema}`,
      model,
      schema: { $ref: `#/components/schemas/${schema}` },
      validate: components.requestBodyValidators[`component${schema}`]!,
    });
  }
  for (const op of ir.operations) {
    const body = op.requestBody ? jsonContent(op.requestBody.content) : undefined;
    if (!body?.schema) continue;
    const target: Target = {
      label: `${name} · ${op.id} request body`,
      model,
      schema: body.schema,
      validate: own.requestBodyValidators[op.id]!,
    };
    const input = parameterValues(model, op);
    if (input) target.request = { validate: own.requestValidators[op.id]!, input };
    add(target);
  }
  for (const callback of ir.callbacks) {
    const body = callback.requestBody ? jsonContent(callback.requestBody.content) : undefined;
    if (!body?.schema) continue;
    add({
      label: `${name} · callback ${callback.id} payload`,
      model,
      schema: body.schema,
      validate: own.callbackValidators[callback.id]!,
    });
  }
}

const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
};

/** A valid value and one of its mutations. */
function mutated(arb: fc.Arbitrary<Sample>): fc.Arbitrary<{ value: Json; mutation: Mutation }> {
  return arb
    .filter((sample) => sample.mutations.length > 0)
    .chain(({ value, mutations }) => fc.constantFrom(...mutations).map((mutation) => ({ value, mutation })));
}

describe('generated validators: property-based', () => {
  it('the value generator covers the schemas of the three specs', () => {
    const total = targets.length + skipped.length;
    if (skipped.length > 0) {
      console.info(
        `property tests skip ${skipped.length}/${total} schemas:\n${skipped.map(([l, r]) => `  ${l}: ${r}`).join('\n')}`,
      );
    }
    expect(total).toBeGreaterThan(40);
    expect(targets.length / total).toBeGreaterThanOrEqual(MIN_COVERAGE);
    expect(targets.filter((t) => t.request).length).toBeGreaterThanOrEqual(5);
  });

  it('the mutations cover every kind of violation the specs can express', () => {
    const keywords = new Map<string, number>();
    let closedProto = 0;
    for (const target of targets) {
      const arb = target.model.sample(target.model.root(target.schema));
      for (const sample of fc.sample(arb, { numRuns: 20, seed: 1 })) {
        for (const mutation of sample.mutations) {
          keywords.set(mutation.keyword, (keywords.get(mutation.keyword) ?? 0) + 1);
          if (mutation.kind === 'add' && mutation.key === '__proto__') closedProto++;
        }
      }
    }
    for (const keyword of [
      'type',
      'enum',
      'pattern',
      'format',
      'maxLength',
      'minLength',
      'minimum',
      'maximum',
      'integer',
      'maxItems',
      'minItems',
      'required',
      'additionalProperties',
    ]) {
      expect(keywords.get(keyword) ?? 0, `mutations violating ${keyword}`).toBeGreaterThan(0);
    }
    expect(closedProto, 'an own __proto__ property added to a closed object').toBeGreaterThan(0);
  });

  for (const target of targets) {
    const root = target.model.root(target.schema);
    const arb = target.model.sample(root);

    it(`${target.label}: every valid value passes`, () => {
      fc.assert(
        fc.property(arb, ({ value }) => {
          // The generator's own check first: a failure here is a bug of arbitrary.ts.
          if (!target.model.conforms(root, value))
            throw new Error(`generator produced a value outside the schema: ${show(value)}`);
          const violations = target.validate(value);
          if (violations !== null)
            throw new Error(`valid value refused: ${violations.join('; ')}\nvalue: ${show(value)}`);
          if (target.request) {
            const error = target.request.validate({ ...target.request.input, body: value });
            if (error !== null) throw new Error(`valid request refused: ${error.message}`);
          }
        }),
        { numRuns: RUNS },
      );
    });

    it(`${target.label}: every single-field mutation is refused at its path`, () => {
      fc.assert(
        fc.property(mutated(arb), ({ value, mutation }) => {
          const bad = applyMutation(value, mutation);
          const field = mutatedField(mutation);
          const outside = !target.model.conforms(root, bad);
          // Under oneOf/anyOf or a discriminator another branch may accept the change: skip those.
          if (mutation.guarded) fc.pre(outside);
          else if (!outside)
            throw new Error(`mutation did not leave the schema (bug of arbitrary.ts): ${mutation.reason}`);
          const context = `${mutation.kind} ${field} (${mutation.reason})\nvalue: ${show(bad)}`;
          const violations = target.validate(bad);
          if (violations === null) throw new Error(`invalid value accepted: ${context}`);
          if (!violations.some((v) => namesPath(v, field)))
            throw new Error(`no violation names ${field}: ${violations.join('; ')}\n${context}`);
          if (target.request) {
            const error: ErrorInfo | null = target.request.validate({ ...target.request.input, body: bad });
            const bodyField = field === 'value' ? 'body' : `body/${field}`;
            if (error === null) throw new Error(`invalid request accepted: ${context}`);
            if (
              error.status !== 400 ||
              error.code !== 'INVALID_ARGUMENT' ||
              !error.message.startsWith('body')
            )
              throw new Error(`unexpected ErrorInfo ${JSON.stringify(error)}: ${context}`);
            // The single message names the field (for a oneOf/anyOf, among the alternatives it lists).
            if (!mutation.guarded && !namesPath(error.message, bodyField))
              throw new Error(`ErrorInfo message does not name ${bodyField}: ${error.message}\n${context}`);
          }
        }),
        { numRuns: RUNS + 20 },
      );
    });
  }
});
