import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** A temp folder removed after the file's tests; `write` puts files in it. */
export async function tempDir(
  prefix = 'telegate-test-',
): Promise<{ dir: string; write: (name: string, text: string) => Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return {
    dir,
    async write(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
  };
}

/** A minimal OpenAPI 3.0 document with the given paths (YAML). */
export function openapi30(paths: string, extra = ''): string {
  return `openapi: 3.0.3\ninfo: { title: T, version: '1' }\npaths:\n${paths}\n${extra}`;
}
