import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import {
  type BenchResult,
  fmtInt,
  goal,
  nodePaths,
  registrationClient,
  repoRoot,
  runtimeFromSource,
} from './util.ts';

/** Goal: one generated client costs at most this many min+gz bytes beyond openapi-fetch. */
const GOAL_BYTES = 4 * 1024;

/**
 * The entry chunk only: code splitting is on, as in any app bundler, so the
 * validators a client loads lazily (`validate: true`) land in their own chunk.
 */
async function bundle(contents: string): Promise<{ min: number; gz: number }> {
  const result = await build({
    stdin: { contents, resolveDir: repoRoot, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    splitting: true,
    outdir: 'bundle-out',
    write: false,
    logLevel: 'silent',
    plugins: [runtimeFromSource()],
    nodePaths,
  });
  const code = result.outputFiles.find((file) => /bundle-out\/stdin\.js$/.test(file.path))!.contents;
  return { min: code.byteLength, gz: gzipSync(code, { level: 9 }).byteLength };
}

function entry(imports: [file: string, name: string][]): string {
  const lines = imports.map(([file, name]) => `import { ${name} } from ${JSON.stringify(file)};`);
  return `${lines.join('\n')}\nconsole.log(${imports.map(([, name]) => name).join(', ')});\n`;
}

export async function bundleSizeBench(): Promise<BenchResult> {
  const source = await registrationClient();
  try {
    const peer = await bundle(`import createClient from 'openapi-fetch';\nconsole.log(createClient);\n`);
    const cases: [string, [string, string][]][] = [
      [`one client (\`${source.factory}\`)`, [[source.file, source.factory]]],
    ];
    if (source.all.length > 1) {
      cases.push([`all ${source.all.length} clients`, source.all]);
    }
    const rows: string[][] = [['`openapi-fetch` alone', fmtInt(peer.min), fmtInt(peer.gz), '', '']];
    for (const [label, imports] of cases) {
      const size = await bundle(entry(imports));
      const extra = size.gz - peer.gz;
      rows.push([
        label,
        fmtInt(size.min),
        fmtInt(size.gz),
        `${extra >= 0 ? '+' : ''}${fmtInt(extra)}`,
        imports.length === 1 ? goal(extra, GOAL_BYTES, (b) => `${b / 1024} kB`) : '',
      ]);
    }
    return {
      id: 'bundle-size',
      title: 'Bundle size',
      description:
        'A browser bundle (esbuild: `bundle`, `minify`, `format: esm`, `platform: browser`; gzip level 9) of an ' +
        'entry using a generated client factory, against one using `openapi-fetch`’s `createClient` alone. ' +
        `Goal: one client ≤ ${GOAL_BYTES / 1024} kB min+gz beyond openapi-fetch.`,
      columns: ['entry', 'min bytes', 'min+gz bytes', 'min+gz beyond openapi-fetch', 'goal'],
      rows,
      notes: [
        `Clients from ${source.origin}; \`@telegate/runtime\` bundled from its TypeScript source.`,
        'The generated types add nothing to the bundle; the difference is the factory, the route table, ' +
          'the runtime middleware (bearer token, `x-correlator`, `NetworkError`) and `bindOperations`.',
      ],
    };
  } finally {
    await source.cleanup();
  }
}
