import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { CONFIG_FILE, ConfigError, loadConfig } from '../config.js';
import { DEFAULT_EMIT, EMITTERS } from '../emit/registry.js';
import { checkFiles, type GenerateOptions, generateFiles, writeFiles } from '../generate.js';
import { SpecError } from '../parse/errors.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  cwd: process.cwd(),
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** `--import types=@acme/api` (repeatable): collects kind → package. */
function parseImport(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const match = /^([a-z]+)=(\S+)$/.exec(value.trim());
  if (!match) throw new ConfigError(`--import expects <kind>=<package>, not "${value}"`);
  return { ...previous, [match[1]!]: match[2]! };
}

function parseEmit(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function runGenerate(targets: GenerateOptions[], check: boolean, io: CliIo): Promise<number> {
  // Generate every target in memory first: a bad spec leaves every output folder untouched.
  const results = [];
  for (const target of targets) results.push({ target, ...(await generateFiles(target)) });
  for (const { warnings } of results) for (const warning of warnings) io.err(`telegate: warning: ${warning}`);
  let drift = 0;
  for (const { target, files, kinds } of results) {
    const notEmitted = (file: string) =>
      `telegate: not emitted by this run, left as it is: ${file} (add its kind to --emit to check or update it)`;
    if (check) {
      const report = await checkFiles(target.out, files, kinds);
      for (const file of report.changed) io.err(`telegate: out of date: ${file}`);
      for (const file of report.stale) io.err(`telegate: no longer generated: ${file}`);
      for (const file of report.kept) io.err(notEmitted(file));
      drift += report.changed.length + report.stale.length;
    } else {
      const { written, removed, kept } = await writeFiles(target.out, files, kinds);
      io.out(
        `telegate: ${target.out}: ${files.length} files (${written.length} written, ${files.length - written.length} unchanged${removed.length ? `, ${removed.length} removed` : ''}${kept.length ? `, ${kept.length} of other kinds kept` : ''})`,
      );
    }
  }
  if (check && drift > 0) {
    io.err(`telegate: ${drift} generated file(s) differ from the specs; run \`telegate generate\``);
    return 1;
  }
  if (check) io.out('telegate: generated files are up to date');
  return 0;
}

export function createProgram(io: CliIo = defaultIo): { program: Command; exitCode: () => number } {
  let code = 0;
  const program = new Command('telegate')
    .description('Spec-first TypeScript toolchain for the CAMARA WebRTC APIs')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('generate')
    .description(`generate code from OpenAPI documents (no arguments: read ${CONFIG_FILE})`)
    .argument('[specs...]', 'OpenAPI 3.0/3.1 documents (YAML or JSON)')
    .option('-o, --out <dir>', 'output folder')
    .option(
      '-e, --emit <kinds>',
      `comma-separated output kinds: ${EMITTERS.map((e) => e.name).join(',')} (default ${DEFAULT_EMIT.join(',')})`,
      parseEmit,
    )
    .option('-c, --config <file>', `config file (default ./${CONFIG_FILE} when no specs are given)`)
    .option(
      '--runtime-package <name>',
      'package the generated code imports its runtime from',
      '@telegate/runtime',
    )
    .option(
      '-i, --import <kind=package>',
      'import an output kind generated elsewhere from a package instead of emitting it (repeatable)',
      parseImport,
    )
    .option('--check', 'write nothing; exit 1 naming the files that differ from what would be generated')
    .action(
      async (
        specs: string[],
        opts: {
          out?: string;
          emit?: string[];
          config?: string;
          runtimePackage: string;
          import?: Record<string, string>;
          check?: boolean;
        },
      ) => {
        let targets: GenerateOptions[];
        if (specs.length > 0) {
          if (opts.config) throw new ConfigError('pass either specs or --config, not both');
          if (!opts.out) throw new ConfigError('--out <dir> is required with specs');
          const target: GenerateOptions = {
            specs,
            out: resolve(io.cwd, opts.out),
            runtimePackage: opts.runtimePackage,
            cwd: io.cwd,
          };
          if (opts.emit) target.emit = opts.emit;
          if (opts.import) target.imports = opts.import;
          targets = [target];
        } else {
          targets = await loadConfig(resolve(io.cwd, opts.config ?? CONFIG_FILE));
          if (opts.emit) for (const target of targets) target.emit = opts.emit;
          if (opts.import) for (const target of targets) target.imports = opts.import;
          if (opts.out) {
            if (targets.length > 1)
              throw new ConfigError('--out cannot override a config with several targets');
            targets[0]!.out = resolve(io.cwd, opts.out);
          }
        }
        code = await runGenerate(targets, opts.check === true, io);
      },
    );

  program
    .command('scaffold')
    .description(
      'write implementer-owned handler classes and server.ts once; later runs add methods for new operations',
    )
    .argument('<specs...>', 'OpenAPI 3.0/3.1 documents (YAML or JSON)')
    .requiredOption('-o, --out <dir>', 'folder of the implementer-owned files')
    .option('-g, --generated <dir>', 'folder of the generated code (default <out>/gen)')
    .option('-f, --framework <name>', 'fastify or express', 'fastify')
    .option('--no-generate', 'do not run generate into the generated folder')
    .option('--dry-run', 'write nothing; print the planned files and edits')
    .option(
      '--runtime-package <name>',
      'package the generated code imports its runtime from',
      '@telegate/runtime',
    )
    .action(
      async (
        specs: string[],
        opts: {
          out: string;
          generated?: string;
          framework: string;
          generate: boolean;
          dryRun?: boolean;
          runtimePackage: string;
        },
      ) => {
        if (opts.framework !== 'fastify' && opts.framework !== 'express') {
          throw new ConfigError(`--framework must be fastify or express, not "${opts.framework}"`);
        }
        const { runScaffold } = await import('../scaffold/report.js');
        code = await runScaffold(
          {
            specs,
            out: resolve(io.cwd, opts.out),
            ...(opts.generated ? { generated: resolve(io.cwd, opts.generated) } : {}),
            framework: opts.framework,
            generate: opts.generate,
            dryRun: opts.dryRun === true,
            runtimePackage: opts.runtimePackage,
            cwd: io.cwd,
          },
          io,
        );
      },
    );

  return { program, exitCode: () => code };
}

/** Runs the CLI; returns the exit code. Every failure is one line on stderr. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const { program, exitCode } = createProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof SpecError || error instanceof ConfigError) {
      io.err(`telegate: ${error.message}`);
      return 1;
    }
    io.err(`telegate: internal error: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
}
