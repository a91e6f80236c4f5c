import { describe, expect, it } from 'vitest';
import { repoTempDir } from '../support/typecheck.js';
import { CAMARA_DIR, camaraEntries } from './camara.js';
import { ALL_EMITTERS, runCorpus } from './corpus.js';

const entries = camaraEntries();
if (entries === undefined) console.log(`corpus: ${CAMARA_DIR} is absent; the CAMARA corpus test is skipped`);

describe.skipIf(entries === undefined)('CAMARA corpus: every API description, every emitter', () => {
  it(`generates code that compiles under the strict settings (${ALL_EMITTERS.join(',')})`, async () => {
    const out = await repoTempDir('corpus-camara-');
    const results = await runCorpus(entries!, out);
    const failed = results.filter((r) => r.outcome !== 'ok');
    expect(
      failed.map((r) => `${r.id}: ${r.outcome}\n  ${r.problems.join('\n  ')}`),
      `${results.length - failed.length} of ${results.length} pass`,
    ).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(55);
  }, 180_000);
});
