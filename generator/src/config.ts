import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { GenerateOptions, SpecInput } from './generate.js';

export const CONFIG_FILE = 'telegate.config.json';

/** One generation run: specs in, files out. */
export interface TargetConfig {
  specs: (string | SpecInput)[];
  out: string;
  emit?: string[];
  runtimePackage?: string;
}

/** `telegate.config.json`: one target at the top level, or several under `targets`. */
export type TelegateConfig = TargetConfig | { targets: TargetConfig[] };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseTarget(raw: unknown, where: string, baseDir: string): GenerateOptions {
  if (!isRecord(raw)) throw new ConfigError(`${where}: a target must be an object`);
  const { specs, out, emit, runtimePackage } = raw;
  if (!Array.isArray(specs) || specs.length === 0)
    throw new ConfigError(`${where}/specs: a non-empty array is required`);
  if (typeof out !== 'string' || out === '') throw new ConfigError(`${where}/out: a folder path is required`);
  if (emit !== undefined && !(Array.isArray(emit) && emit.every((e) => typeof e === 'string'))) {
    throw new ConfigError(`${where}/emit: an array of emitter names is expected`);
  }
  if (runtimePackage !== undefined && typeof runtimePackage !== 'string') {
    throw new ConfigError(`${where}/runtimePackage: a package name is expected`);
  }
  const target: GenerateOptions = {
    out: resolve(baseDir, out),
    cwd: baseDir,
    specs: specs.map((spec, i) => {
      if (typeof spec === 'string') return { path: resolve(baseDir, spec) };
      if (isRecord(spec) && typeof spec.path === 'string') {
        if (
          spec.name !== undefined &&
          (typeof spec.name !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(spec.name))
        ) {
          throw new ConfigError(`${where}/specs/${i}/name: a PascalCase identifier is expected`);
        }
        return typeof spec.name === 'string'
          ? { path: resolve(baseDir, spec.path), name: spec.name }
          : { path: resolve(baseDir, spec.path) };
      }
      throw new ConfigError(`${where}/specs/${i}: a path or { "path", "name" } is expected`);
    }),
  };
  if (emit) target.emit = emit as string[];
  if (typeof runtimePackage === 'string') target.runtimePackage = runtimePackage;
  return target;
}

/** Reads a config file into generation targets (paths resolved against the file's folder). */
export async function loadConfig(file: string): Promise<GenerateOptions[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ConfigError(`${file}: config file not found (pass specs and --out, or create ${CONFIG_FILE})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  const baseDir = dirname(resolve(file));
  if (isRecord(raw) && Array.isArray(raw.targets)) {
    return raw.targets.map((target, i) => parseTarget(target, `${file}#/targets/${i}`, baseDir));
  }
  return [parseTarget(raw, `${file}#`, baseDir)];
}
