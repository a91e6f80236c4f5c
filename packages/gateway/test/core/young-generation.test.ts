/** Media threads get V8's default young generation even when the gateway runs with a larger one. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { semiSpaceFlag } from '../../src/core/young-generation.js';

describe('semiSpaceFlag', () => {
  it('reads --max-semi-space-size from the command line or NODE_OPTIONS, the command line last', () => {
    expect(semiSpaceFlag([], undefined)).toBeUndefined();
    expect(semiSpaceFlag(['--max-semi-space-size=64'], undefined)).toBe(64);
    expect(semiSpaceFlag(['--max_semi_space_size', '32'], '')).toBe(32);
    expect(semiSpaceFlag([], '--inspect --max-semi-space-size=16')).toBe(16);
    expect(semiSpaceFlag(['--max-semi-space-size=64'], '--max-semi-space-size=16')).toBe(64);
    expect(semiSpaceFlag(['--max-semi-space-size=8', '--max-semi-space-size=128'], undefined)).toBe(128);
    expect(semiSpaceFlag(['--max-old-space-size=4096', '--import', 'tsx'], '--max-semi-space-size=x')).toBe(
      undefined,
    );
  });
});

const MODULE = fileURLToPath(new URL('../../src/core/young-generation.ts', import.meta.url));

/**
 * Run in a process started with `--max-semi-space-size=64`: a worker made by
 * `workerWithDefaultYoungGeneration`, then (once that one is online) a plain
 * one; each churns through objects that stay alive a while, so its new space
 * grows to its largest size, and reports that size in MiB.
 */
const CHILD = `
import { Worker } from 'node:worker_threads';
import { workerWithDefaultYoungGeneration } from ${JSON.stringify(MODULE)};
const churn = \`
  const { parentPort } = require('node:worker_threads');
  const v8 = require('node:v8');
  let keep = [];
  for (let i = 0; i < 4e6; i++) { keep.push({ i }); if (keep.length > 2e5) keep = []; }
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  parentPort.postMessage(space.space_size / 2 ** 20);
\`;
const sizeOf = (worker) => new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
const media = workerWithDefaultYoungGeneration(() => new Worker(churn, { eval: true }));
await new Promise((resolve) => media.once('online', resolve));
const plain = new Worker(churn, { eval: true });
console.log(JSON.stringify({ media: await sizeOf(media), plain: await sizeOf(plain) }));
`;

describe('workerWithDefaultYoungGeneration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'telegate-young-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives its thread the default young generation and leaves the flag to the threads after it', async () => {
    const script = join(dir, 'child.mts');
    writeFileSync(script, CHILD);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--max-semi-space-size=64', '--import', 'tsx', script],
      { timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } },
    ).catch((error: { code?: number; signal?: string; stdout?: string; stderr?: string }) => {
      // How the child ended, in the failure: an exit code or a signal, and whatever it printed.
      throw new Error(
        `the child ended with code ${error.code} signal ${error.signal}; stdout ${JSON.stringify(error.stdout)}; stderr ${JSON.stringify(error.stderr)}`,
      );
    });
    const sizes = JSON.parse(stdout.trim().split('\n').pop()!) as { media: number; plain: number };
    // V8's default semi-space on 64-bit is 16 MiB (new space at most 32); the flag's is 64.
    expect(sizes.media).toBeLessThanOrEqual(32);
    expect(sizes.plain).toBeGreaterThanOrEqual(64);
  });
});
