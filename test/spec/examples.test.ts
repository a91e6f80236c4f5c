import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateFiles, writeFiles } from '../../generator/src/generate.js';
import type { ApiDocument } from '../../generator/src/ir/types.js';
import { parseDocument } from '../../generator/src/parse/index.js';
import { repoRoot, repoTempDir } from '../support/typecheck.js';

/**
 * Every `examples` entry of a request body, a response or a callback payload,
 * in our specs and upstream, checked with the generated validators. An upstream
 * example listed in spec/ERRATA.md as invalid must fail.
 */
const upstreamDir = join(repoRoot, '../shared/camara');
/** The upstream cases read the CAMARA files beside the clone (../shared/camara); without them they are skipped. */
const HAVE_UPSTREAM = existsSync(upstreamDir);
if (!HAVE_UPSTREAM)
  console.warn('examples.test.ts: ../shared/camara is absent; the upstream examples are skipped');
const KNOWN_INVALID_UPSTREAM = new Set([
  // ERRATA 5: session-status fields required on the CloudEvent envelope instead of in `data`.
  'webrtc-events callback createNotificationChannelSubscriptionNotifications example SESSION_UPDATE (session-status)',
]);

type Validators = {
  requestBodyValidators: Record<string, (body: unknown) => string[] | null>;
  responseValidators: Record<string, (status: number, body: unknown) => string[] | null>;
  callbackValidators: Record<string, (payload: unknown) => string[] | null>;
};

interface ExampleCase {
  label: string;
  check: () => string[] | null;
}

async function examplesOf(file: string): Promise<ExampleCase[]> {
  const { ir } = await parseDocument(file);
  const out = await repoTempDir('examples-');
  const { files } = await generateFiles({ specs: [file], out, emit: ['validators'] });
  await writeFiles(out, files);
  const v = (await import(join(out, `${ir.name}.validators.gen.ts`))) as Validators;
  return collect(ir, v);
}

function collect(ir: ApiDocument, v: Validators): ExampleCase[] {
  const cases: ExampleCase[] = [];
  for (const op of [...ir.operations, ...ir.callbacks]) {
    const kind = 'kind' in op ? 'callback' : 'operation';
    for (const media of op.requestBody?.content ?? []) {
      for (const example of media.examples) {
        const check = kind === 'callback' ? v.callbackValidators[op.id] : v.requestBodyValidators[op.id];
        if (!check) continue;
        cases.push({
          label: `${ir.name} ${kind} ${op.id} example ${example.name}`,
          check: () => check(example.value),
        });
      }
    }
    if (kind === 'callback') continue;
    for (const response of op.responses) {
      for (const media of response.content) {
        for (const example of media.examples) {
          const status = /^\d{3}$/.test(response.status) ? Number(response.status) : 599;
          cases.push({
            label: `${ir.name} ${op.id} ${response.status} example ${example.name}`,
            check: () => {
              const violations = v.responseValidators[op.id]!(status, example.value)?.filter(
                (m) => !m.startsWith('header/'),
              );
              return violations && violations.length > 0 ? violations : null;
            },
          });
        }
      }
    }
  }
  return cases;
}

describe('spec examples against the generated validators', async () => {
  const ours = (
    await Promise.all(
      ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'].map((name) =>
        examplesOf(join(repoRoot, 'spec', `${name}.yaml`)),
      ),
    )
  ).flat();
  const upstream = HAVE_UPSTREAM
    ? (
        await Promise.all(
          ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'].map((name) =>
            examplesOf(join(upstreamDir, `${name}.yaml`)),
          ),
        )
      ).flat()
    : [];

  it('finds the examples', () => {
    expect(ours.length).toBeGreaterThan(20);
  });

  it.skipIf(!HAVE_UPSTREAM)('finds the upstream examples', () => {
    expect(upstream.length).toBeGreaterThan(20);
  });

  it.each(ours.map((c) => [c.label, c] as const))('ours: %s is valid', (_, c) => {
    expect(c.check()).toBeNull();
  });

  it.each(upstream.map((c) => [c.label, c] as const))('upstream: %s', (label, c) => {
    if (KNOWN_INVALID_UPSTREAM.has(label)) expect(c.check()).not.toBeNull();
    else expect(c.check()).toBeNull();
  });

  it.skipIf(!HAVE_UPSTREAM)(
    'every known-invalid upstream example exists and is listed in ERRATA.md',
    async () => {
      const errata = await readFile(join(repoRoot, 'spec/ERRATA.md'), 'utf8');
      for (const label of KNOWN_INVALID_UPSTREAM) {
        expect(upstream.map((c) => c.label)).toContain(label);
        expect(errata).toContain(label.split(' example ')[1]!.split(' ')[0]!);
      }
    },
  );
});
