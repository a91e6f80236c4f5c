/**
 * Builds the device page the gateway serves at `/demo` into `dist/demo/`:
 * type-checks its script, bundles it with `@telegate/device-sdk` and the
 * generated client for the browser (esbuild), copies the HTML. Runs after
 * `tsc -b` (it bundles the packages' `dist`), as part of `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

const demo = new URL('../demo/', import.meta.url);
const out = new URL('../dist/demo/', import.meta.url);
const path = (url) => decodeURIComponent(url.pathname);

execFileSync(
  process.execPath,
  [
    path(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url)),
    '-p',
    path(new URL('tsconfig.json', demo)),
  ],
  {
    stdio: 'inherit',
  },
);
await mkdir(out, { recursive: true });

/** Writes `contents` to `url` unless it already holds exactly that (via a temporary file and a rename). */
async function writeIfChanged(url, contents) {
  const current = await readFile(url).catch(() => undefined);
  if (current?.equals(contents)) return;
  const temporary = new URL(`${url.pathname.split('/').pop()}.${process.pid}.tmp`, url);
  await writeFile(temporary, contents);
  await rename(temporary, url);
}

const bundled = await build({
  entryPoints: [path(new URL('device-page.ts', demo))],
  outfile: path(new URL('device-page.js', out)),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // The client package also holds a Node webhook receiver; the page never imports it (tree-shaken; checked below).
  external: ['node:*'],
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
});
const [script] = bundled.outputFiles;
if (/from\s*["']node:/.test(script.text)) {
  throw new Error('dist/demo/device-page.js imports a Node module: the browser cannot load it');
}
await writeIfChanged(new URL('device-page.js', out), Buffer.from(script.contents));
await writeIfChanged(new URL('index.html', out), await readFile(new URL('index.html', demo)));
