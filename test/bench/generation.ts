import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { generateFiles, writeFiles } from '../../generator/src/index.ts';
import { repoTempDir, typecheckMany } from '../support/typecheck.ts';
import {
  type BenchResult,
  collectGarbage,
  describeSpecSources,
  errorMessage,
  fmtBytes,
  fmtInt,
  fmtMs,
  fmtRatio,
  goal,
  median,
  repoRoot,
  resolveSpecs,
  tempDir,
} from './util.ts';

const run = promisify(execFile);

const GOAL = 1.5;
const GITHUB_FILE = 'api.github.com.json';

export const cacheDir = process.env.TELEGATE_BENCH_CACHE ?? join(homedir(), '.cache', 'telegate-bench');

interface Output {
  bytes: number;
  lines: number;
}

function measureOutput(texts: string[]): Output {
  let bytes = 0;
  let lines = 0;
  for (const text of texts) {
    bytes += Buffer.byteLength(text);
    lines += text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  }
  return { bytes, lines };
}

function fmtOutput(output: Output): string {
  return `${fmtBytes(output.bytes)} / ${fmtInt(output.lines)} lines`;
}

/** telegate: parse + emit types and client in memory, then (timed apart) write them to a fresh folder. */
async function telegateOnce(specs: string[]): Promise<{ ms: number; writeMs: number; output: Output }> {
  const out = await tempDir('gen');
  try {
    const start = performance.now();
    const { files } = await generateFiles({ specs, out, emit: ['types', 'client'], cwd: repoRoot });
    const generated = performance.now();
    await writeFiles(out, files);
    const written = performance.now();
    return {
      ms: generated - start,
      writeMs: written - generated,
      output: measureOutput(files.map((f) => f.contents)),
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** openapi-typescript through its API: load + bundle + validate + transform + print, per document. */
async function openapiTsOnce(specs: string[]): Promise<{ ms: number; output: Output }> {
  const start = performance.now();
  const texts = await Promise.all(
    specs.map(async (spec) => astToString(await openapiTS(pathToFileURL(spec), { silent: true }))),
  );
  return { ms: performance.now() - start, output: measureOutput(texts) };
}

/**
 * The first strict type-check error of telegate's output for `specs`, or
 * `undefined` when it compiles: a timing of output that does not compile
 * does not count.
 */
async function compileError(specs: string[]): Promise<string | undefined> {
  const out = await repoTempDir('bench-generation-');
  try {
    const { files } = await generateFiles({ specs, out, emit: ['types', 'client'], cwd: repoRoot });
    await writeFiles(out, files);
    const diagnostics = typecheckMany(files.map((file) => join(out, file.path)));
    const first = diagnostics[0];
    return first
      ? `${first.file?.slice(out.length + 1) ?? ''}:${first.line ?? ''}: ${first.text.split('\n')[0]}`
      : undefined;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

async function compare(label: string, specs: string[], runs: number): Promise<string[]> {
  const notCompiling = await compileError(specs).catch(
    (error: unknown) => `generation failed: ${errorMessage(error)}`,
  );
  if (notCompiling !== undefined) {
    return [
      label,
      `does not count: the output does not compile (${notCompiling})`,
      '',
      '',
      '',
      '',
      '',
      '',
      '',
    ];
  }
  collectGarbage();
  // Warm-up: one of each, untimed (module loading, JIT).
  let tg: Awaited<ReturnType<typeof telegateOnce>>;
  let ots: Awaited<ReturnType<typeof openapiTsOnce>>;
  try {
    tg = await telegateOnce(specs);
  } catch (error) {
    return [label, `failed: ${errorMessage(error)}`, '', '', '', '', '', '', ''];
  }
  try {
    ots = await openapiTsOnce(specs);
  } catch (error) {
    return [label, '', '', `failed: ${errorMessage(error)}`, '', '', '', '', ''];
  }

  const tgMs: number[] = [];
  const tgWriteMs: number[] = [];
  const otsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which tool goes first so neither always inherits the other's heap.
    const order = i % 2 === 0 ? ['tg', 'ots'] : ['ots', 'tg'];
    for (const tool of order) {
      collectGarbage();
      if (tool === 'tg') {
        tg = await telegateOnce(specs);
        tgMs.push(tg.ms);
        tgWriteMs.push(tg.writeMs);
      } else {
        ots = await openapiTsOnce(specs);
        otsMs.push(ots.ms);
      }
    }
  }
  const ratio = median(tgMs) / median(otsMs);
  // Run i of each tool ran back to back: the spread of the per-run ratios shows the noise.
  const ratios = tgMs.map((ms, i) => ms / otsMs[i]!);
  return [
    label,
    fmtMs(median(tgMs)),
    `+${fmtMs(median(tgWriteMs))}`,
    fmtMs(median(otsMs)),
    fmtRatio(ratio),
    `${fmtRatio(Math.min(...ratios))}–${fmtRatio(Math.max(...ratios))}`,
    goal(ratio, GOAL, fmtRatio),
    fmtOutput(tg.output),
    fmtOutput(ots.output),
  ];
}

/**
 * GitHub's REST API description from the `@octokit/openapi` npm package, fetched
 * once with `npm pack` into the cache folder (never a dependency of the repo).
 */
async function githubSpec(): Promise<{ path: string; version: string } | { skipped: string }> {
  if (process.env.TELEGATE_BENCH_SKIP_GITHUB) return { skipped: 'TELEGATE_BENCH_SKIP_GITHUB is set' };
  const target = join(cacheDir, GITHUB_FILE);
  const versionFile = `${target}.version`;
  if (existsSync(target)) {
    const version = await readFile(versionFile, 'utf8').catch(() => 'unknown version');
    return { path: target, version: version.trim() };
  }
  try {
    await mkdir(cacheDir, { recursive: true });
    console.log(`  fetching @octokit/openapi into ${cacheDir} (one time, ~30 MB download)…`);
    const { stdout } = await run(
      'npm',
      ['pack', '@octokit/openapi', '--pack-destination', cacheDir, '--ignore-scripts', '--json'],
      { cwd: cacheDir, timeout: 10 * 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const packed = (JSON.parse(stdout) as { filename: string; version: string }[])[0];
    if (!packed) throw new Error('npm pack printed no file name');
    const tgz = join(cacheDir, packed.filename.replace(/^@/, '').replace(/\//g, '-'));
    try {
      const { stdout: listing } = await run('tar', ['-tzf', tgz], { maxBuffer: 64 * 1024 * 1024 });
      const member = listing
        .split('\n')
        .find((line) => line.endsWith(`/generated/${GITHUB_FILE}`) || line === `package/${GITHUB_FILE}`);
      if (!member) throw new Error(`no ${GITHUB_FILE} in ${packed.filename}`);
      await run('tar', ['-xzf', tgz, '-C', cacheDir, member]);
      await rename(join(cacheDir, member), target);
      await writeFile(versionFile, `${packed.version}\n`);
      await rm(join(cacheDir, member.split('/')[0]!), { recursive: true, force: true });
    } finally {
      await rm(tgz, { force: true });
    }
    return { path: target, version: packed.version };
  } catch (error) {
    // execFile errors carry the tool's stderr, which says why (ENOTFOUND, ENOTCACHED, …).
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const reason = stderr.split('\n').find((line) => /error|fail/i.test(line)) ?? errorMessage(error);
    return { skipped: `could not fetch @octokit/openapi: ${reason.trim()}` };
  }
}

export async function generationBench(): Promise<BenchResult> {
  const specs = resolveSpecs();
  const notes = [
    `Our specs: ${describeSpecSources(specs)}.`,
    'Both tools run in the same process, from the files on disk to the final source strings; one untimed ' +
      'warm-up each, then alternating runs; the ratio is of the medians, "per-run ratios" the range of run i/run i. openapi-typescript runs with its default ' +
      'options (it also bundles and lints the document with Redocly).',
    'telegate emits more than openapi-typescript: the same `paths`/`components` types plus callback types, ' +
      'per-operation request/response unions and the client, hence the larger output.',
    "A row counts only when telegate's output type-checks with the project's strict settings; that is checked " +
      'once, untimed, before the runs.',
    '"write" is `writeFiles` into an empty temp folder, timed apart and not part of the ratio.',
  ];
  const rows: string[][] = [];
  console.log('  three WebRTC specs…');
  rows.push(
    await compare(
      'three WebRTC specs (5 runs)',
      specs.map((s) => s.path),
      5,
    ),
  );

  const github = await githubSpec();
  if ('skipped' in github) {
    rows.push(['GitHub REST API', `skipped: ${github.skipped}`, '', '', '', '', '', '', '']);
  } else {
    const size = (await stat(github.path)).size;
    console.log(`  GitHub REST API (${fmtBytes(size)})…`);
    rows.push(await compare(`GitHub REST API, ${fmtBytes(size)} JSON (3 runs)`, [github.path], 3));
    notes.push(
      `GitHub REST API: \`generated/${GITHUB_FILE}\` of \`@octokit/openapi@${github.version}\`, cached in ` +
        '`$TELEGATE_BENCH_CACHE` (default `~/.cache/telegate-bench`).',
    );
  }
  return {
    id: 'generation',
    title: 'Generation time',
    description:
      '`telegate generate --emit types,client` (through the library: `generateFiles`) against ' +
      `openapi-typescript alone (\`openapiTS\` + \`astToString\`). Goal: telegate ≤ ${GOAL}× openapi-typescript.`,
    columns: [
      'input',
      'telegate',
      'write',
      'openapi-typescript',
      'ratio telegate/openapi-ts',
      'per-run ratios',
      'goal',
      'telegate output',
      'openapi-typescript output',
    ],
    rows,
    notes,
  };
}
