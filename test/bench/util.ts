import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Plugin } from 'esbuild';

/** One benchmark's results: a titled table plus notes, rendered into BENCHMARKS.md. */
export interface BenchResult {
  /** Section key (`generation`, `client-overhead`, `bundle-size`). */
  id: string;
  title: string;
  /** What the rows compare, one short paragraph. */
  description: string;
  columns: string[];
  rows: string[][];
  notes: string[];
  /** Further tables of the same run, each after the notes of the one before. */
  more?: BenchTable[];
}

export interface BenchTable {
  /** What the table measures, one short paragraph above it. */
  caption: string;
  columns: string[];
  rows: string[][];
  notes: string[];
}

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The Node flags the gateway runs with under `npm start`, read from its script in package.json (a
 * 64 MiB young-generation semi-space, an old generation that grows to twice what survives a major
 * collection): the gateway processes the benchmarks start get them.
 */
export const GATEWAY_NODE_FLAGS: string[] = (() => {
  const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const flags = /exec node ((?:--\S+ )*)packages\/gateway\//.exec(scripts.start ?? '')?.[1];
  if (flags === undefined)
    throw new Error('package.json: the start script does not run the gateway with node');
  return flags.split(' ').filter((flag) => flag !== '');
})();

/** Where the CAMARA upstream documents live when `spec/` does not hold ours yet. */
const upstreamSpecDir = process.env.TELEGATE_BENCH_UPSTREAM ?? '/work/shared/camara';

export const SPEC_NAMES = ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'] as const;

export interface SpecFile {
  name: (typeof SPEC_NAMES)[number];
  path: string;
  /** `spec/` (ours) or `upstream` (CAMARA's file, used while ours is missing). */
  source: 'spec/' | 'upstream';
}

/** Our three documents: `spec/<name>.yaml` when it exists, else the CAMARA upstream file. */
export function resolveSpecs(): SpecFile[] {
  return SPEC_NAMES.map((name) => {
    const ours = join(repoRoot, 'spec', `${name}.yaml`);
    if (existsSync(ours)) return { name, path: ours, source: 'spec/' as const };
    const upstream = join(upstreamSpecDir, `${name}.yaml`);
    if (existsSync(upstream)) return { name, path: upstream, source: 'upstream' as const };
    throw new Error(`no ${name}.yaml in ${join(repoRoot, 'spec')} nor in ${upstreamSpecDir}`);
  });
}

export function describeSpecSources(specs: SpecFile[]): string {
  return specs
    .map(
      (spec) => `\`${spec.name}\` from ${spec.source === 'spec/' ? '`spec/`' : 'the CAMARA upstream file'}`,
    )
    .join(', ');
}

/**
 * The `p`th percentile by the nearest-rank method: the smallest value with at least p % of the
 * values at or below it. NaN when there are none.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** P(X ≤ k) for X ~ Binomial(n, ½). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n; // P(X = 0)
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * A distribution-free confidence interval for the median of independent
 * samples (the sign-test interval): the k-th smallest and the k-th largest
 * value, k the largest rank with P(Binomial(n, ½) < k) ≤ (1 − confidence) / 2.
 * Its coverage is at least `confidence`. `undefined` when there are too few
 * samples for that (fewer than 6 at 95%).
 */
export function medianInterval(values: number[], confidence = 0.95): [number, number] | undefined {
  const n = values.length;
  const tail = (1 - confidence) / 2;
  let k = 0;
  while (k < n && binomialHalfCdf(n, k) <= tail) k++;
  if (k === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return [sorted[k - 1]!, sorted[n - k]!];
}

/**
 * A goal with a lower limit, judged on a median and its confidence interval:
 * `met` when the whole interval is at or above the limit, `missed` when it is
 * all below, `not settled` when it spans the limit.
 */
export function settledGoal(interval: [number, number], limit: number): 'met' | 'missed' | 'not settled' {
  if (interval[0] >= limit) return 'met';
  if (interval[1] < limit) return 'missed';
  return 'not settled';
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

export function fmtRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** `met` / `missed` against an upper bound. */
export function goal(value: number, limit: number, show: (v: number) => string): string {
  return value <= limit ? `met (≤ ${show(limit)})` : `missed (> ${show(limit)})`;
}

export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.slice(0, 200);
}

let gcFn: (() => void) | undefined;

/** Full garbage collection between timed runs, so one run's garbage is not billed to the next. */
export function collectGarbage(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `telegate-bench-${prefix}-`));
}

/** A generated client factory the client benchmarks import. */
export interface ClientSource {
  /** The `*.client.gen.ts` file exporting `factory`. */
  file: string;
  factory: string;
  /** Every factory of the generated package: `[file, factory]`. */
  all: [file: string, factory: string][];
  /** `packages/webrtc-client` or a freshly generated copy. */
  origin: string;
  cleanup(): Promise<void>;
}

async function scanClients(dir: string): Promise<[string, string][]> {
  const found: [string, string][] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (!entry.endsWith('.client.gen.ts')) continue;
    const text = await readFile(join(dir, entry), 'utf8');
    for (const match of text.matchAll(/export function (create\w+Client)\b/g))
      found.push([join(dir, entry), match[1]!]);
  }
  return found;
}

/**
 * The registration client: from `packages/webrtc-client/src/gen` when it has
 * been generated, else generated now from the three specs into a temp folder.
 */
export async function registrationClient(): Promise<ClientSource> {
  const committed = join(repoRoot, 'packages/webrtc-client/src/gen');
  let all = existsSync(committed) ? await scanClients(committed) : [];
  let origin = '`packages/webrtc-client/src/gen`';
  let cleanup = async () => {};
  if (!all.some(([file]) => /registration/.test(file))) {
    const { generateFiles } = await import('../../generator/src/index.ts');
    const dir = await tempDir('client');
    const specs = resolveSpecs();
    const { files } = await generateFiles({
      specs: specs.map((s) => s.path),
      out: dir,
      emit: ['types', 'client'],
    });
    for (const file of files) await writeFile(join(dir, file.path), file.contents);
    all = await scanClients(dir);
    origin = `generated by this run from ${describeSpecSources(specs)}`;
    cleanup = () => rm(dir, { recursive: true, force: true });
  }
  const registration = all.find(([file]) => /registration/.test(file));
  if (!registration) throw new Error('no generated registration client factory found');
  return { file: registration[0], factory: registration[1], all, origin, cleanup };
}

/**
 * esbuild options shared by the client benchmarks: `@telegate/runtime` is
 * bundled from its TypeScript source (no build step needed), and bare imports
 * from generated files outside the repo resolve in the root `node_modules`.
 */
export function runtimeFromSource(): Plugin {
  const runtimeSrc = join(repoRoot, 'packages/runtime/src');
  return {
    name: 'telegate-runtime-source',
    setup(build) {
      build.onResolve({ filter: /^@telegate\/runtime(\/client)?$/ }, (args) => ({
        path: join(runtimeSrc, args.path.endsWith('/client') ? 'client/index.ts' : 'index.ts'),
      }));
    },
  };
}

export const nodePaths = [join(repoRoot, 'node_modules')];

/**
 * A webhook subscription's body for createNotificationChannelSubscription: the device's events of
 * `types`, to `sink` with `accessToken` as its bearer credential (valid for an hour).
 */
export function sinkSubscription(sink: string, accessToken: string, types: string[], deviceId: string) {
  return {
    protocol: 'HTTP',
    sink,
    sinkCredential: {
      credentialType: 'ACCESSTOKEN',
      accessToken,
      accessTokenExpiresUtc: new Date(Date.now() + 3_600_000).toISOString(),
      accessTokenType: 'bearer',
    },
    types,
    config: { subscriptionDetail: { deviceId } },
  };
}
