/**
 * Writes spec/upstream/<document>.json: the facts of the CAMARA upstream documents that our
 * tests compare with spec/ (the API surface of test/spec/surface.ts: paths, methods,
 * operationIds, parameters, bodies, status codes, error codes, headers, scopes, callbacks, named
 * schemas with their fields and enums; plus the info metadata we keep), read from the upstream
 * files beside the clone. Prose and examples are left out.
 *
 *   npm run upstream:facts                 # reads ../shared/camara
 *   npm run upstream:facts -- <folder>     # reads another copy of the upstream files
 *   npm run upstream:facts -- --check      # fails if the committed files are stale
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  canonical,
  isObject,
  type Json,
  parseDocument,
  type Surface,
  surfaceOfFile,
} from '../test/spec/surface.js';

export const UPSTREAM_DOCUMENTS = ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'] as const;

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const DEFAULT_UPSTREAM_DIR = resolve(repoRoot, '../shared/camara');
export const FACTS_DIR = join(repoRoot, 'spec/upstream');

/** The info fields our documents keep as upstream has them. */
const KEPT_INFO = ['license', 'x-camara-commonalities'] as const;

export interface UpstreamFacts {
  document: string;
  openapi: Json;
  info: Record<string, Json>;
  /** Surface key → value (see test/spec/surface.ts for the key format). */
  surface: Record<string, Json>;
}

/** The facts of one upstream document, as the script writes them. */
export function factsOf(upstreamDir: string, document: string): UpstreamFacts {
  const file = join(upstreamDir, `${document}.yaml`);
  const root = parseDocument(readFileSync(file, 'utf8'));
  const info: Record<string, Json> = {};
  const rootInfo = isObject(root.info) ? root.info : {};
  for (const key of KEPT_INFO) if (rootInfo[key] !== undefined) info[key] = rootInfo[key];
  const surface: Record<string, Json> = {};
  for (const [key, value] of surfaceOfFile(file)) surface[key] = JSON.parse(value) as Json;
  return { document, openapi: root.openapi ?? null, info, surface };
}

/** The text of spec/upstream/<document>.json: one fact a line, so a change upstream reads as a line diff. */
export function factsText(facts: UpstreamFacts): string {
  const { surface, ...head } = facts;
  const lines = Object.entries(surface).map(
    ([key, value]) => `    ${JSON.stringify(key)}: ${JSON.stringify(value)}`,
  );
  const headLines = Object.entries(head).map(
    ([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`,
  );
  return ['{', ...headLines, '  "surface": {', lines.join(',\n'), '  }', '}', ''].join('\n');
}

/** The committed facts of one upstream document (spec/upstream/<document>.json). */
export function readFacts(document: string): UpstreamFacts {
  return JSON.parse(readFileSync(join(FACTS_DIR, `${document}.json`), 'utf8')) as UpstreamFacts;
}

/** The facts' surface in the form `surfaceOfFile` returns, to compare with another document's. */
export function surfaceOfFacts(facts: UpstreamFacts): Surface {
  return new Map(Object.entries(facts.surface).map(([key, value]) => [key, canonical(value)]));
}

function main(args: string[]): void {
  const check = args.includes('--check');
  const upstreamDir = resolve(args.find((a) => !a.startsWith('--')) ?? DEFAULT_UPSTREAM_DIR);
  if (!existsSync(upstreamDir)) {
    console.error(`upstream-facts: ${upstreamDir} is absent; it needs the CAMARA upstream files there`);
    process.exit(1);
  }
  mkdirSync(FACTS_DIR, { recursive: true });
  const stale: string[] = [];
  for (const document of UPSTREAM_DOCUMENTS) {
    const target = join(FACTS_DIR, `${document}.json`);
    const text = factsText(factsOf(upstreamDir, document));
    const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
    if (current === text) continue;
    if (check) stale.push(relative(repoRoot, target));
    else {
      writeFileSync(target, text);
      console.log(`wrote ${relative(repoRoot, target)}`);
    }
  }
  if (stale.length > 0) {
    console.error(`upstream-facts: stale, run npm run upstream:facts: ${stale.join(', ')}`);
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main(process.argv.slice(2));
