/**
 * Runs Debian's kamailio on 127.0.0.1 with test/sip/kamailio.cfg: a digest
 * registrar and a proxy in front of a sipp phone.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CONFIG = new URL('../kamailio.cfg', import.meta.url).pathname;

/** Where Debian puts kamailio's modules (multiarch folder). */
function modulesDir(): string | undefined {
  try {
    const triplet = execFileSync('dpkg-architecture', ['-qDEB_HOST_MULTIARCH'], { encoding: 'utf8' }).trim();
    const dir = `/usr/lib/${triplet}/kamailio/modules/`;
    if (existsSync(dir)) return dir;
  } catch {}
  for (const dir of [
    '/usr/lib/x86_64-linux-gnu/kamailio/modules/',
    '/usr/lib/aarch64-linux-gnu/kamailio/modules/',
    '/usr/lib/kamailio/modules/',
  ]) {
    if (existsSync(dir)) return dir;
  }
  return undefined;
}

export function haveKamailio(): boolean {
  try {
    execFileSync('kamailio', ['-v'], { stdio: 'ignore' });
    return modulesDir() !== undefined;
  } catch {
    return false;
  }
}

export interface Kamailio {
  port: number;
  /** Everything kamailio logged, for assertion messages. */
  log(): string;
  stop(): Promise<void>;
}

export async function startKamailio(options: {
  port: number;
  phonePort: number;
  digestAlgorithm?: 'MD5' | 'SHA-256';
  maxExpires?: number;
}): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'telegate-kamailio-'));
  const config = readFileSync(CONFIG, 'utf8')
    .replace('__LISTEN_PORT__', String(options.port))
    .replace('__PHONE_PORT__', String(options.phonePort))
    .replace('__DIGEST_ALGORITHM__', options.digestAlgorithm ?? 'MD5')
    .replace('__MAX_EXPIRES__', String(options.maxExpires ?? 3600))
    .replace('__MODULES__', modulesDir() ?? '');
  const file = join(dir, 'kamailio.cfg');
  writeFileSync(file, config);
  let output = '';
  // -DD: stay in the foreground; -E: log to stderr; -w/-P: keep run files in the temp folder.
  const child: ChildProcess = spawn(
    'kamailio',
    ['-f', file, '-DD', '-E', '-w', dir, '-P', join(dir, 'kamailio.pid'), '-m', '32', '-M', '8'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 5_000;
  while (!/INFO: .*main\.c|bind_sockets|kamailio .* started|listening on/i.test(output)) {
    if (child.exitCode !== null) throw new Error(`kamailio exited: ${output.slice(-2000)}`);
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (child.exitCode !== null) throw new Error(`kamailio exited: ${output.slice(-2000)}`);
  return {
    port: options.port,
    log: () => output,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
