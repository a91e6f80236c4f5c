/**
 * The child process `npm run corpus` runs each document in: one tool on one
 * document per message, generated and type-checked, the result sent back.
 * A child of its own lets the parent stop a document that runs past its time
 * limit (or past the memory limit) without losing the rest of the run.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { generateFiles } from '../../generator/src/generate.js';
import { SpecError } from '../../generator/src/parse/errors.js';
import { repoRoot, strictOptions } from '../support/typecheck.js';
import { ALL_EMITTERS } from './corpus.js';

export type Tool = 'telegate' | 'openapi-typescript' | 'hey-api';

export interface Job {
  tool: Tool;
  id: string;
  spec: string;
  /** The folder this document's output goes to (removed once checked). */
  out: string;
  /** hey-api's package folder, installed by the parent. */
  heyApiEntry?: string;
}

export interface ToolResult {
  id: string;
  tool: Tool;
  /**
   * `ok`; `spec-error` (telegate rejects the document with file#pointer, exit 1); `generation`
   * (the tool threw); `compile` (the output does not type-check); `timeout`; `exit` (the child
   * process died, e.g. out of memory).
   */
  outcome: 'ok' | 'spec-error' | 'generation' | 'compile' | 'timeout' | 'exit';
  /** For telegate's `generation`: the error was not a `SpecError` (an internal error, exit 2). */
  internal?: boolean;
  problem?: string;
  warnings?: number;
  /** Generation and type-check CPU time of the process (user + system), milliseconds. */
  generateMs: number;
  compileMs: number;
  /** The times are CPU times (results saved by older runs have wall-clock times and no mark). */
  cpu?: true;
}

/**
 * Library and runtime declarations parsed once for the whole run, per module
 * resolution mode: every document's program shares them, so checking a small
 * document costs its own files only.
 */
const sharedFiles = new Map<string, ts.SourceFile>();

function typecheck(files: string[], own: string, overrides: ts.CompilerOptions = {}): string | undefined {
  const options = { ...strictOptions(), ...overrides };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  const mode = String(options.moduleResolution);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (fileName.startsWith(own)) return read(fileName, languageVersion, onError, shouldCreate);
    const key = `${mode}:${fileName}`;
    const known = sharedFiles.get(key);
    if (known) return known;
    const file = read(fileName, languageVersion, onError, shouldCreate);
    if (file) sharedFiles.set(key, file);
    return file;
  };
  const program = ts.createProgram(files, options, host);
  const first = ts.getPreEmitDiagnostics(program)[0];
  if (!first) return undefined;
  const text = ts.flattenDiagnosticMessageText(first.messageText, '\n').split('\n')[0]!;
  if (!first.file || first.start === undefined) return text;
  const { line } = first.file.getLineAndCharacterOfPosition(first.start);
  return `${first.file.fileName.slice(own.length + 1)}:${line + 1}: ${text}`;
}

/** CPU milliseconds (user + system) this process has used. */
function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const firstLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 400);

async function telegate(job: Job): Promise<ToolResult> {
  const start = cpuNow();
  let files: string[];
  let warnings: number;
  try {
    const result = await generateFiles({
      specs: [job.spec],
      out: job.out,
      emit: ALL_EMITTERS,
      cwd: repoRoot,
    });
    await mkdir(job.out, { recursive: true });
    await Promise.all(result.files.map((file) => writeFile(join(job.out, file.path), file.contents)));
    files = result.files.map((file) => join(job.out, file.path));
    warnings = result.warnings.length;
  } catch (error) {
    return {
      id: job.id,
      tool: job.tool,
      outcome: error instanceof SpecError ? 'spec-error' : 'generation',
      internal: !(error instanceof SpecError),
      problem: firstLine(error),
      generateMs: cpuNow() - start,
      compileMs: 0,
    };
  }
  return check(job, files, start, {}, warnings);
}

async function openapiTypescript(job: Job): Promise<ToolResult> {
  const start = cpuNow();
  const path = join(job.out, `${job.id}.ts`);
  try {
    const text = astToString(await openapiTS(pathToFileURL(job.spec), { silent: true }));
    await mkdir(job.out, { recursive: true });
    await writeFile(path, text);
  } catch (error) {
    return failed(job, start, error);
  }
  return check(job, [path], start);
}

interface HeyApi {
  createClient: (config: unknown) => Promise<unknown>;
}
let heyApiModule: Promise<HeyApi> | undefined;

async function heyApi(job: Job): Promise<ToolResult> {
  heyApiModule ??= import(pathToFileURL(join(job.heyApiEntry!, 'dist', 'index.mjs')).href) as Promise<HeyApi>;
  const { createClient } = await heyApiModule;
  const start = cpuNow();
  let files: string[];
  try {
    await createClient({
      input: job.spec,
      output: { path: job.out, format: false, lint: false },
      plugins: ['@hey-api/typescript'],
      logs: { level: 'silent', file: false },
    });
    files = (await readdir(job.out, { recursive: true }))
      .filter((file) => String(file).endsWith('.ts'))
      .map((file) => join(job.out, String(file)));
  } catch (error) {
    return failed(job, start, error);
  }
  // hey-api writes extension-less imports (`./types.gen`), meant for a bundler's module resolution.
  return check(job, files, start, {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  });
}

function failed(job: Job, start: number, error: unknown): ToolResult {
  const message = firstLine(error) || String(error);
  return {
    id: job.id,
    tool: job.tool,
    outcome: 'generation',
    problem: message,
    generateMs: cpuNow() - start,
    compileMs: 0,
  };
}

function check(
  job: Job,
  files: string[],
  start: number,
  overrides: ts.CompilerOptions = {},
  warnings?: number,
): ToolResult {
  const generated = cpuNow();
  // Said to the parent, so a process that dies in the type-check (out of memory) is reported as such.
  process.send!({ phase: 'type-check' });
  const problem = typecheck(files, job.out, overrides);
  return {
    id: job.id,
    tool: job.tool,
    outcome: problem === undefined ? 'ok' : 'compile',
    ...(problem === undefined ? {} : { problem }),
    ...(warnings === undefined ? {} : { warnings }),
    generateMs: generated - start,
    compileMs: cpuNow() - generated,
  };
}

// A document may refer to remote files (`$ref: https://…`); the run fetches nothing beyond the
// machine: such a reference fails as an unreachable one would.
const loopbackOnly = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && !url.hostname.startsWith('127.'))
    return Promise.reject(new TypeError(`fetch failed: ${url.host} is not fetched in the corpus run`));
  return loopbackOnly(input, init);
};

const TOOLS: Record<Tool, (job: Job) => Promise<ToolResult>> = {
  telegate,
  'openapi-typescript': openapiTypescript,
  'hey-api': heyApi,
};

process.on('message', (job: Job) => {
  void TOOLS[job.tool](job)
    .catch((error: unknown) => failed(job, cpuNow(), error))
    .then(async (result) => {
      await rm(job.out, { recursive: true, force: true });
      process.send!({ ...result, cpu: true });
    });
});
