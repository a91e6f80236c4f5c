#!/usr/bin/env node
// Builds mediasoup's C++ worker from the npm package's own source with Debian's libraries, and
// caches the binary outside the repository, keyed by mediasoup version and by the patches below.
//
//   npm run build:mediasoup-worker            build (or reuse the cached build); last line: the path
//   npm run build:mediasoup-worker -- --print-path   print the cached path without building
//
// Why a script of our own: mediasoup's installer downloads a prebuilt worker or fetches meson and
// every library as a meson subproject from the internet. Here only the npm registry and Debian
// packages are reachable, so the build uses Debian's meson and system libraries through pkg-config,
// after the changes in scripts/mediasoup-worker/*.patch (see README.md there).
//
// Environment: MEDIASOUP_WORKER_CACHE_DIR (default ~/.cache/telegate/mediasoup-worker),
// MEDIASOUP_WORKER_BUILD_JOBS (default: available cores), TELEGATE_SKIP_APT=1 to only check packages.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The newest mediasoup that runs on Node 20 (3.19.4 and later need Node 22). */
const MEDIASOUP_VERSION = '3.19.3';

/** Debian 12 packages the build needs (liburing is left out: the worker is built without it). */
const DEBIAN_BUILD_PACKAGES = [
  'g++',
  'patch',
  'python3',
  'meson',
  'ninja-build',
  'pkg-config',
  'libuv1-dev',
  'libssl-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'flatbuffers-compiler',
  'libflatbuffers-dev',
];

/**
 * Debian 12's liburing 2.3 lacks functions the worker calls (io_uring_prep_sendto,
 * io_uring_major_version), so io_uring support is compiled out; sends go through libuv.
 */
const MESON_OPTIONS = ['--buildtype', 'release', '-Db_ndebug=true', '-Dms_disable_liburing=true'];

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const patchesDirectory = join(repositoryRoot, 'scripts', 'mediasoup-worker');

function log(message) {
  process.stderr.write(`[mediasoup-worker] ${message}\n`);
}

function fail(message) {
  log(message);
  process.exit(1);
}

/** Runs a command with its output on stderr, so stdout carries only the worker's path. */
function run(command, args, options = {}) {
  log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: ['ignore', 2, 2], ...options });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} exited with status ${result.status}`);
}

function patchFiles() {
  return readdirSync(patchesDirectory)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => join(patchesDirectory, name));
}

/** The cache key changes with the mediasoup version, the patches and the build options. */
function buildKey() {
  const hash = createHash('sha256');
  for (const file of patchFiles()) hash.update(readFileSync(file));
  hash.update(MESON_OPTIONS.join(' '));
  return `${MEDIASOUP_VERSION}-${hash.digest('hex').slice(0, 16)}`;
}

function cacheRoot() {
  if (process.env.MEDIASOUP_WORKER_CACHE_DIR) return resolve(process.env.MEDIASOUP_WORKER_CACHE_DIR);
  const xdgCache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdgCache, 'telegate', 'mediasoup-worker');
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The mediasoup npm package, installed with its own install step (download or build) skipped. */
function mediasoupPackageDirectory() {
  const requireFromGateway = createRequire(join(repositoryRoot, 'packages', 'gateway', 'package.json'));
  // mediasoup's "exports" hide package.json, so look it up along Node's module search path.
  const find = () => {
    for (const modulesDirectory of requireFromGateway.resolve.paths('mediasoup') ?? []) {
      const manifestPath = join(modulesDirectory, 'mediasoup', 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
      return manifest.version === MEDIASOUP_VERSION ? dirname(manifestPath) : undefined;
    }
    return undefined;
  };
  const found = find();
  if (found) return found;
  log(`installing mediasoup@${MEDIASOUP_VERSION} (its install script skipped)`);
  run(
    'npm',
    [
      'install',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--no-save',
      '-w',
      'packages/gateway',
      `mediasoup@${MEDIASOUP_VERSION}`,
    ],
    {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD: 'true',
        MEDIASOUP_WORKER_BIN: 'unused',
      },
    },
  );
  const installed = find();
  if (!installed)
    fail(`mediasoup@${MEDIASOUP_VERSION} is not resolvable from packages/gateway after npm install`);
  return installed;
}

function missingDebianPackages() {
  return DEBIAN_BUILD_PACKAGES.filter((name) => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not JavaScript's.
    const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || !result.stdout.includes('install ok installed');
  });
}

function ensureDebianPackages() {
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  const canInstall = process.getuid?.() === 0 && process.env.TELEGATE_SKIP_APT !== '1';
  if (!canInstall) {
    fail(
      `missing Debian packages: ${missing.join(' ')}\n  install them with: apt-get install -y --no-install-recommends ${missing.join(' ')}`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update'], { env });
  run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
}

function buildWorker(workerSource, target) {
  const buildRoot = `${dirname(target)}.build`;
  const sourceCopy = join(buildRoot, 'worker');
  const buildDirectory = join(buildRoot, 'out');
  rmSync(buildRoot, { recursive: true, force: true });
  mkdirSync(buildRoot, { recursive: true });

  // Patch a copy, never the installed package: node_modules stays as npm left it.
  cpSync(workerSource, sourceCopy, {
    recursive: true,
    filter: (path) =>
      !path.startsWith(join(workerSource, 'out')) && !path.includes(`${join('worker', 'subprojects')}/`),
  });
  for (const patch of patchFiles()) {
    run('patch', ['-p1', '--forward', '--batch', '--quiet', '-d', sourceCopy, '-i', patch]);
  }

  const jobs = String(Number(process.env.MEDIASOUP_WORKER_BUILD_JOBS) || availableParallelism());
  run('meson', ['setup', ...MESON_OPTIONS, buildDirectory, sourceCopy]);
  // The FlatBuffers headers are generated by a custom target every source includes; build it first.
  run('meson', ['compile', '-C', buildDirectory, 'flatbuffers-generator']);
  run('meson', ['compile', '-C', buildDirectory, '-j', jobs, 'mediasoup-worker']);

  const built = join(buildDirectory, 'mediasoup-worker');
  if (!isExecutable(built)) fail(`the build finished without ${built}`);
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  copyFileSync(built, partial);
  renameSync(partial, target);
  // The objects are several hundred megabytes and never reused: the cache key changes with any input.
  rmSync(buildRoot, { recursive: true, force: true });
}

function main() {
  const target = join(cacheRoot(), buildKey(), 'mediasoup-worker');
  if (process.argv.includes('--print-path')) {
    process.stdout.write(`${target}\n`);
    return;
  }
  if (isExecutable(target)) {
    log(`cached build found, nothing to do`);
    process.stdout.write(`${target}\n`);
    return;
  }
  const packageDirectory = mediasoupPackageDirectory();
  const workerSource = join(packageDirectory, 'worker');
  if (!existsSync(join(workerSource, 'meson.build'))) fail(`${workerSource} holds no worker source`);
  ensureDebianPackages();
  const startedAt = Date.now();
  buildWorker(workerSource, target);
  log(`built in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  process.stdout.write(`${target}\n`);
}

main();
