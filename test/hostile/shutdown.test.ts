/**
 * `npm start` stops gracefully on SIGTERM, whichever process of the chain gets it:
 * npm itself (which forwards it to its script) or the script's process. The gateway
 * must not keep listening after its parent is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const started: ChildProcess[] = [];
/** Processes below npm (its script, the gateway), noted once it listens. */
const descendants: number[] = [];

afterEach(() => {
  // Only what this test started, by its id.
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of descendants.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Runs `npm start` on a free loopback port; resolves with its URL once it listens. */
async function npmStart(): Promise<{ npm: ChildProcess; url: string; output: () => string }> {
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DEV_TOKEN_SECRET: 'shutdown-test-secret-0123456789abcdef',
      NODE_ENV: 'test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: no signal meant for npm's tree can reach the test runner.
    detached: true,
  });
  started.push(npm);
  let text = '';
  npm.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  npm.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  for (let i = 0; i < 600; i++) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
    if (match) {
      for (const child of await childrenOf(npm.pid!)) descendants.push(child, ...(await childrenOf(child)));
      return { npm, url: match[1]!, output: () => text };
    }
    if (npm.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`npm start did not listen:\n${text}`);
}

async function serves(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** The direct children of `pid` (Linux `/proc`). */
async function childrenOf(pid: number): Promise<number[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

describe('npm start and SIGTERM', () => {
  it('SIGTERM to npm stops the gateway gracefully', { timeout: 120_000 }, async () => {
    const { npm, url, output } = await npmStart();
    expect(await serves(url)).toBe(true);
    const exited = once(npm, 'exit');
    npm.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    // Give a surviving gateway the chance to show itself.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await serves(url), output()).toBe(false);
    expect(output()).toMatch(/gateway closed/);
  });

  it('SIGTERM to the process npm started stops the gateway gracefully', { timeout: 120_000 }, async () => {
    const { npm, url, output } = await npmStart();
    const [script] = await childrenOf(npm.pid!);
    expect(script).toBeDefined();
    const exited = once(npm, 'exit');
    process.kill(script!, 'SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    expect(await serves(url), output()).toBe(false);
    expect(output()).toMatch(/gateway closed/);
  });
});
