import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * The README promises Node.js 20.19 or later. Every package the lockfile installs must accept
 * the oldest Node that promise covers, or `npm ci` warns EBADENGINE (and the package may use
 * what that Node lacks); every workspace package states the same range.
 */
const repoRoot = new URL('../../', import.meta.url).pathname;

interface LockEntry {
  version?: string;
  engines?: Record<string, string> | string[];
  optional?: boolean;
}

const readJson = async <T>(path: string) => JSON.parse(await readFile(join(repoRoot, path), 'utf8')) as T;

describe('Node.js engines', async () => {
  const root = await readJson<{ engines: { node: string }; workspaces: string[] }>('package.json');
  const floor = semver.minVersion(root.engines.node)?.version;

  it('the root package claims Node 20.19 or later', () => {
    expect(root.engines.node).toBe('>=20.19');
    expect(floor).toBe('20.19.0');
  });

  it('the Node running the tests is one the claim covers', () => {
    expect(semver.satisfies(process.versions.node, root.engines.node)).toBe(true);
  });

  it('every workspace package states the same engines', async () => {
    for (const workspace of root.workspaces) {
      const pkg = await readJson<{ name: string; engines?: { node?: string } }>(`${workspace}/package.json`);
      expect({ name: pkg.name, node: pkg.engines?.node }).toEqual({
        name: pkg.name,
        node: root.engines.node,
      });
    }
  });

  it('every installed dependency accepts the oldest Node the claim covers (no EBADENGINE)', async () => {
    const lock = await readJson<{ packages: Record<string, LockEntry> }>('package-lock.json');
    const refusing: string[] = [];
    let checked = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
      if (!path.includes('node_modules/') || range === undefined) continue;
      checked++;
      if (!semver.satisfies(floor ?? '', range, { includePrerelease: true })) {
        refusing.push(
          `${path.slice(path.lastIndexOf('node_modules/') + 13)}@${entry.version} needs node ${range}`,
        );
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(refusing).toEqual([]);
  });
});
