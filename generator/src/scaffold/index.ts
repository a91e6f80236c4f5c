import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { EmitDocument } from '../emit/emitter.js';
import { expressFactoryName } from '../emit/express/index.js';
import { fastifyFactoryName } from '../emit/fastify/index.js';
import { handlersNames } from '../emit/handlers/index.js';
import { checkFiles, generateFiles, loadDocuments, type SpecInput, writeFiles } from '../generate.js';
import { syncHandlerClass } from './handler-class.js';
import { renderTemplate } from './templates.js';

export type Framework = 'fastify' | 'express';

export interface ScaffoldOptions {
  specs: (string | SpecInput)[];
  /** Folder of the implementer-owned files. */
  out: string;
  /** Folder of the generated code (default `<out>/gen`). */
  generated?: string;
  framework?: Framework;
  /** Plan only: write nothing, generate nothing. */
  dryRun?: boolean;
  /** Run `generate` into the generated folder first (default true). */
  generate?: boolean;
  runtimePackage?: string;
  cwd?: string;
}

export interface ScaffoldChange {
  path: string;
  action: 'create' | 'update' | 'unchanged';
  /** Operations a handler method was added for. */
  added: string[];
  contents: string;
  /** The file as it was, for `update`. */
  previous?: string;
}

export interface ScaffoldResult {
  changes: ScaffoldChange[];
  warnings: string[];
  /** What `generate` wrote (or would write, with `dryRun`). */
  generated: { out: string; files: number; changed: string[]; removed: string[] } | undefined;
}

/** `./gen/index.js` from `out` to `generated`. */
function importPath(from: string, to: string): string {
  const path = relative(from, join(to, 'index.js')).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

export const handlerFileName = (doc: EmitDocument) => `${doc.fileBase}.handlers.ts`;
export const serviceClassName = (doc: EmitDocument) => `${doc.apiName}Service`;

/** Sorted by module, as Biome's organizeImports sorts relative imports (`../` before `./`). */
function sortImports(lines: string[]): string[] {
  const from = (line: string) => line.split("from '")[1] ?? '';
  return lines.sort((a, b) => from(a).localeCompare(from(b), 'en'));
}

function namedImport(names: string[], from: string): string {
  const single = `import { ${names.join(', ')} } from '${from}';`;
  return single.length <= 110
    ? single
    : `import {\n${names.map((n) => `  ${n},`).join('\n')}\n} from '${from}';`;
}

function mountLines(doc: EmitDocument, framework: Framework): string {
  const names = handlersNames(doc);
  const service = `new ${serviceClassName(doc)}()`;
  if (framework === 'fastify') {
    const plugin = `${fastifyFactoryName(doc)}(${service}, { authenticate })`;
    const line = `  await app.register(${plugin}, { prefix: ${names.mountPath} });`;
    return line.length <= 110
      ? line
      : `  await app.register(${plugin}, {\n    prefix: ${names.mountPath},\n  });`;
  }
  const router = `${expressFactoryName(doc)}(${service}, { authenticate })`;
  const line = `  app.use(${names.mountPath}, ${router});`;
  return line.length <= 110 ? line : `  app.use(\n    ${names.mountPath},\n    ${router},\n  );`;
}

async function serverFile(documents: EmitDocument[], framework: Framework, generatedImport: string) {
  // Sorted as Biome's organizeImports would.
  const generated = documents
    .flatMap((doc) => [
      framework === 'fastify' ? fastifyFactoryName(doc) : expressFactoryName(doc),
      handlersNames(doc).mountPath,
    ])
    .sort((a, b) => a.localeCompare(b));
  const imports = [
    namedImport(generated, generatedImport),
    "import { authenticate } from './auth.js';",
    ...documents.map(
      (doc) =>
        `import { ${serviceClassName(doc)} } from './${handlerFileName(doc).replace(/\.ts$/, '.js')}';`,
    ),
  ];
  sortImports(imports);
  return renderTemplate(`server.${framework}.ts.tpl`, {
    imports: imports.join('\n'),
    mounts: documents.map((doc) => mountLines(doc, framework)).join('\n'),
  });
}

/**
 * Writes the implementer-owned files once (a handler class per document,
 * `auth.ts`, `server.ts`) and, on later runs, adds a method per new operation
 * to the handler classes without touching anything else. Removed operations
 * and documents `server.ts` does not mount are reported as warnings.
 */
export async function scaffold(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const cwd = options.cwd ?? process.cwd();
  const framework = options.framework ?? 'fastify';
  const runtimePackage = options.runtimePackage ?? '@telegate/runtime';
  const generatedDir = options.generated ?? join(options.out, 'gen');
  const generatedImport = importPath(options.out, generatedDir);
  const { documents } = await loadDocuments(options.specs, cwd);
  const show = (path: string) => relative(cwd, path) || '.';
  const changes: ScaffoldChange[] = [];
  const warnings: string[] = [];

  for (const doc of documents) {
    const path = join(options.out, handlerFileName(doc));
    const names = handlersNames(doc);
    const current = await readText(path);
    const text =
      current ??
      (await renderTemplate('handlers.ts.tpl', {
        runtimePackage,
        localImports: sortImports([
          "import type { AppAuth, AppRequest } from './auth.js';",
          `import type { ${names.interface} } from '${generatedImport}';`,
        ]).join('\n'),
        interfaceName: names.interface,
        className: serviceClassName(doc),
        title: doc.ir.title,
      }));
    const edit = syncHandlerClass(text, {
      interfaceName: names.interface,
      generatedImport,
      runtimePackage,
      operations: doc.ir.operations.map((op) => ({
        id: op.id,
        method: op.method,
        path: op.path,
        ...(op.summary === undefined ? {} : { summary: op.summary }),
      })),
    });
    if (edit.problem) {
      warnings.push(
        `${show(path)}: ${edit.problem}; add methods by hand for: ${doc.ir.operations.map((op) => op.id).join(', ')}`,
      );
    }
    for (const id of edit.removed) {
      warnings.push(
        `${show(path)}: operation "${id}" is no longer in ${basename(doc.ir.source)}; method ${edit.className}.${id} kept (delete it when you no longer need it)`,
      );
    }
    changes.push({
      path,
      action: current === undefined ? 'create' : edit.text === current ? 'unchanged' : 'update',
      added: edit.added,
      contents: edit.text,
      ...(current === undefined ? {} : { previous: current }),
    });
  }

  const authPath = join(options.out, 'auth.ts');
  if ((await readText(authPath)) === undefined) {
    changes.push({
      path: authPath,
      action: 'create',
      added: [],
      contents: await renderTemplate('auth.ts.tpl', {
        runtimePackage,
        requestImport:
          framework === 'fastify'
            ? "import type { FastifyRequest } from 'fastify';"
            : "import type { Request } from 'express';",
        requestType: framework === 'fastify' ? 'FastifyRequest' : 'Request',
      }),
    });
  }

  const serverPath = join(options.out, 'server.ts');
  const server = await readText(serverPath);
  if (server === undefined) {
    changes.push({
      path: serverPath,
      action: 'create',
      added: [],
      contents: await serverFile(documents, framework, generatedImport),
    });
  } else {
    for (const doc of documents) {
      const factories = [fastifyFactoryName(doc), expressFactoryName(doc)];
      if (!factories.some((name) => server.includes(name))) {
        warnings.push(
          `${show(serverPath)}: does not mount ${doc.ir.title}; add to buildServer():\n${mountLines(doc, framework)}`,
        );
      }
    }
  }

  let generated: ScaffoldResult['generated'];
  if (options.generate !== false) {
    const {
      files,
      warnings: specWarnings,
      kinds,
    } = await generateFiles({
      specs: options.specs,
      out: generatedDir,
      emit: ['handlers', framework],
      runtimePackage,
      cwd,
    });
    warnings.push(...specWarnings);
    if (options.dryRun) {
      const report = await checkFiles(generatedDir, files, kinds);
      generated = { out: generatedDir, files: files.length, changed: report.changed, removed: report.stale };
    } else {
      const { written, removed } = await writeFiles(generatedDir, files, kinds);
      generated = { out: generatedDir, files: files.length, changed: written, removed };
    }
  }

  if (!options.dryRun) {
    for (const change of changes) {
      if (change.action === 'unchanged') continue;
      await mkdir(dirname(change.path), { recursive: true });
      // Temporary file + rename: a failed write never truncates the implementer's code.
      const temporary = `${change.path}.${process.pid}.tmp`;
      await writeFile(temporary, change.contents);
      await rename(temporary, change.path);
    }
  }
  return { changes, warnings, generated };
}

/**
 * The lines `after` adds to `before`, for printing a plan. Scaffold edits only
 * insert, so walking both in order finds them.
 */
export function insertedLines(before: string, after: string): string[] {
  const old = before.split('\n');
  const inserted: string[] = [];
  let i = 0;
  for (const line of after.split('\n')) {
    if (i < old.length && line === old[i]) i++;
    else inserted.push(line);
  }
  return inserted;
}
