/**
 * `npm run pack`: builds every package and writes an installable tarball of
 * each public one into `dist-packages/` (or the folder given as argument),
 * then prints their paths. Before building it removes compiled files in a
 * package's `dist/` whose TypeScript source is gone (a renamed or moved
 * module), so a tarball never ships a stale module. Each tarball carries the
 * repository's LICENSE (copied in for `npm pack`, removed afterwards).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const destination = resolve(process.cwd(), process.argv[2] ?? join(root, 'dist-packages'));

const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
const packages = workspaces.map((dir) => ({
  dir: join(root, dir),
  manifest: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')),
}));

/** Files under `dir`, recursively. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

// tsc compiles src/x.ts to dist/x.{js,d.ts} (+ .map); what no source produces any more goes.
const COMPILED = /\.(js|d\.ts)(\.map)?$/;
for (const { dir } of packages) {
  const dist = join(dir, 'dist');
  if (!existsSync(dist) || !existsSync(join(dir, 'src'))) continue;
  for (const file of walk(dist)) {
    const rel = relative(dist, file);
    if (!COMPILED.test(rel)) continue;
    const stem = rel.replace(COMPILED, '');
    // Outputs of other build steps (the gateway's bundled device page under dist/demo) have no src twin by design.
    if (rel.startsWith('demo/')) continue;
    if (!existsSync(join(dir, 'src', `${stem}.ts`))) rmSync(file);
  }
}

execFileSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });

rmSync(destination, { recursive: true, force: true });
mkdirSync(destination, { recursive: true });
const published = packages.filter(({ manifest }) => manifest.private !== true);
let packed;
try {
  for (const { dir } of published) copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  packed = JSON.parse(
    execFileSync(
      npm,
      [
        'pack',
        '--json',
        // The generator's `prepack` copies its templates in (the repository's .npmrc turns scripts off).
        '--ignore-scripts=false',
        '--pack-destination',
        destination,
        ...published.flatMap(({ manifest }) => ['--workspace', manifest.name]),
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
} finally {
  for (const { dir } of published) rmSync(join(dir, 'LICENSE'), { force: true });
}
for (const { filename } of packed) process.stdout.write(`${join(destination, filename)}\n`);
