import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway `redis-server` on 127.0.0.1, nothing persisted. */
export interface LocalRedis {
  /** `redis://127.0.0.1:<port>`; add `/<db>` for another database. */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops the server (SIGKILL: what was not persisted is lost), keeping its folder for `restart()`. */
  kill(): Promise<void>;
  /**
   * Starts the server again on the same port and folder (with AOF, it reloads
   * what it had); `empty: true` removes its files first (a Redis that lost its data).
   */
  restart(options?: { empty?: boolean }): Promise<void>;
}

export interface StartRedisOptions {
  /** Persist every write to an append-only file (`appendfsync always`), so a restart loses nothing. */
  appendOnly?: boolean;
  /** Start as a replica of the server on this 127.0.0.1 port. */
  replicaOf?: number;
}

const INSTALL_HINT =
  'redis-server is not installed (not found on PATH): the Redis store tests need a real server. ' +
  'Install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`); CI installs it in .ci/run.';

const READY = /Ready to accept connections/;
const START_TIMEOUT_MS = 10_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** Spawns redis-server on `port`; resolves once it accepts connections, rejects with its output otherwise. */
function spawnRedis(
  port: number,
  dir: string,
  binary: string,
  options: StartRedisOptions = {},
): Promise<ChildProcess> {
  const appendOnly = options.appendOnly ?? false;
  return spawnReady(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      appendOnly ? 'yes' : 'no',
      ...(appendOnly ? ['--appendfsync', 'always'] : []),
      '--dir',
      dir,
      '--loglevel',
      'notice',
      ...(options.replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(options.replicaOf)]),
    ],
    READY,
  );
}

/** Spawns `binary args` and resolves once its output matches `ready`; rejects with its output otherwise. */
function spawnReady(binary: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        // Keep draining its output so it never blocks on a full pipe.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error(INSTALL_HINT) : error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${output}`));
    });
  });
}

/**
 * Starts a real `redis-server` (from PATH, or `REDIS_SERVER`) on a free
 * 127.0.0.1 port with `--save '' --appendonly no` in a temporary folder.
 * Throws (so the calling test fails, never skips) when redis-server is missing.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<LocalRedis> {
  const binary = process.env.REDIS_SERVER || 'redis-server';
  const dir = await mkdtemp(join(tmpdir(), 'telegate-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  // The free port may be taken between the probe and redis-server's bind: try another.
  for (let attempt = 1; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await spawnRedis(port, dir, binary, options);
    } catch (error) {
      const message = (error as Error).message;
      if (attempt >= 3 || !/Address already in use/i.test(message)) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  let running = child;
  let stopped: Promise<void> | undefined;
  const exit = async (signal: NodeJS.Signals) => {
    if (running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => exit('SIGKILL'),
    async restart(restart = {}) {
      await exit('SIGKILL');
      if (restart.empty) {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
      }
      running = await spawnRedis(port, dir, binary, options);
    },
    stop() {
      stopped ??= (async () => {
        if (running.exitCode === null && running.signalCode === null) {
          const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
          running.kill('SIGTERM');
          const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** A throwaway Redis Sentinel on 127.0.0.1 watching one master. */
export interface LocalSentinel {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server --sentinel` (the same binary) on a free 127.0.0.1 port,
 * watching the master on `masterPort` as `name`, quorum 1, taking it for down
 * after `downAfterMs` without an answer.
 */
export async function startSentinel(
  masterPort: number,
  name: string,
  downAfterMs = 1000,
): Promise<LocalSentinel> {
  const binary = process.env.REDIS_SERVER || 'redis-server';
  const dir = await mkdtemp(join(tmpdir(), 'telegate-sentinel-'));
  const port = await freePort();
  const config = join(dir, 'sentinel.conf');
  // Sentinel rewrites its configuration file as it learns: it must be its own, writable.
  await writeFile(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} 10000`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess;
  try {
    child = await spawnReady(binary, [config, '--sentinel'], /\+monitor master/);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGKILL');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
