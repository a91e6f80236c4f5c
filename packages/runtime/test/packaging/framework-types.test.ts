import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot, repoTempDir, strictOptions } from '../../../../test/support/typecheck.js';

/**
 * A project that uses one framework installs only that one. With `skipLibCheck: false` the
 * runtime's declaration files it loads must not name the other framework: each framework's glue
 * lives on its own subpath (`@telegate/runtime/fastify`, `@telegate/runtime/express`).
 * Reads the built declarations (`npm run build`); checking every library file is slow.
 */
type Framework = 'express' | 'fastify';

/** Type-checks `file` as a project where `missing` (and its `@types`) is not installed. */
function typecheckWithout(missing: Framework, file: string): string[] {
  const options: ts.CompilerOptions = { ...strictOptions(), skipLibCheck: false };
  const host = ts.createCompilerHost(options);
  const hidden = new RegExp(`/node_modules/(@types/)?${missing}(/|$)`);
  const { fileExists, directoryExists, readFile } = host;
  host.fileExists = (path) => !hidden.test(path) && fileExists.call(host, path);
  host.directoryExists = (path) => !hidden.test(path) && (directoryExists?.call(host, path) ?? true);
  host.readFile = (path) => (hidden.test(path) ? undefined : readFile.call(host, path));
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file?.fileName.replace(repoRoot, '') ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

const EVERY_OTHER_ENTRY = `
import * as root from '@telegate/runtime';
import * as callbacks from '@telegate/runtime/callbacks';
import * as client from '@telegate/runtime/client';
import { NotFoundError, type SecuredServerOptions } from '@telegate/runtime/server';
import * as validation from '@telegate/runtime/validation';
export const entries = [root, callbacks, client, validation];
export const notFound = new NotFoundError();
export type Options = SecuredServerOptions<unknown, unknown>;
`;

async function project(framework: Framework, body: string): Promise<string> {
  const dir = await repoTempDir(`runtime-${framework}-types-`);
  const file = join(dir, 'app.ts');
  await writeFile(file, body);
  return file;
}

describe('@telegate/runtime declarations with skipLibCheck: false', () => {
  it('a Fastify project without Express installed compiles', async () => {
    const file = await project(
      'fastify',
      `${EVERY_OTHER_ENTRY}import { createFastifyPlugin } from '@telegate/runtime/fastify';\nexport const glue = createFastifyPlugin;\n`,
    );
    expect(typecheckWithout('express', file)).toEqual([]);
  }, 180_000);

  it('an Express project without Fastify installed compiles', async () => {
    const file = await project(
      'express',
      `${EVERY_OTHER_ENTRY}import { createExpressRouter } from '@telegate/runtime/express';\nexport const glue = createExpressRouter;\n`,
    );
    expect(typecheckWithout('fastify', file)).toEqual([]);
  }, 180_000);

  it('the check sees a missing framework: the Express glue without Express fails', async () => {
    const file = await project(
      'express',
      `import { createExpressRouter } from '@telegate/runtime/express';\nexport const glue = createExpressRouter;\n`,
    );
    expect(typecheckWithout('express', file).join('\n')).toContain("Cannot find module 'express'");
  }, 180_000);
});
