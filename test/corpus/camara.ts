import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { repoRoot } from '../support/typecheck.js';
import type { CorpusEntry } from './corpus.js';

/** The CAMARA API descriptions kept beside the repository (`../shared/camara-apis`). */
export const CAMARA_DIR = join(repoRoot, '../shared/camara-apis');

/** Every API description (`<repo>/code/API_definitions/*.yaml`), or `undefined` when the folder is absent. */
export function camaraEntries(): CorpusEntry[] | undefined {
  if (!existsSync(CAMARA_DIR)) return undefined;
  const entries: CorpusEntry[] = [];
  for (const repo of readdirSync(CAMARA_DIR).sort()) {
    const dir = join(CAMARA_DIR, repo, 'code', 'API_definitions');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(file)) continue;
      entries.push({ id: `${repo}--${basename(file).replace(/\.ya?ml$/, '')}`, spec: join(dir, file) });
    }
  }
  return entries;
}
