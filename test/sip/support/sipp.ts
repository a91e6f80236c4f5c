/**
 * Runs sipp (Debian `sip-tester`) as a real SIP peer on 127.0.0.1 with one of
 * the scenario files beside the tests, one call at a time.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SCENARIOS = new URL('../scenarios/', import.meta.url).pathname;

/** Whether sipp is installed (`.ci/run` installs Debian's sip-tester). */
export function haveSipp(): boolean {
  try {
    execFileSync('sipp', ['-v'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // sipp -v exits 99 after printing its version.
    return (error as { status?: number }).status === 99;
  }
}

/** A free UDP port on 127.0.0.1 (released again for sipp to bind). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export interface SippResult {
  code: number | null;
  /** sipp's error log (unexpected messages, timeouts), for assertion messages. */
  errors: string;
}

export interface SippPeer {
  port: number;
  /** Resolves when sipp has run its calls (exit code 0: every call followed the scenario). */
  done: Promise<SippResult>;
  stop(): void;
}

export interface SippOptions {
  scenario: string;
  port: number;
  /** For a UAC: `127.0.0.1:5060`, where to send. */
  target?: string;
  /** `[service]` of the scenario (the called number of a UAC). */
  service?: string;
  transport?: 'u1' | 't1';
  /** Seconds before a stuck call fails (default 20). */
  timeoutSeconds?: number;
}

export async function startSipp(options: SippOptions): Promise<SippPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'telegate-sipp-'));
  const args = [
    '-sf',
    join(SCENARIOS, options.scenario),
    '-i',
    '127.0.0.1',
    '-mi',
    '127.0.0.1',
    '-p',
    String(options.port),
    '-m',
    '1',
    '-t',
    options.transport ?? 'u1',
    '-nostdin',
    '-timeout',
    `${options.timeoutSeconds ?? 20}s`,
    '-timeout_error',
    '-max_recv_loops',
    '100',
    '-trace_err',
    '-error_file',
    join(dir, 'errors.log'),
  ];
  if (options.service !== undefined) args.push('-s', options.service);
  if (options.target !== undefined) args.push(options.target);
  const child: ChildProcess = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<SippResult>((resolve) => {
    child.on('exit', (code) => {
      let errors = stderr;
      try {
        errors += readFileSync(join(dir, 'errors.log'), 'utf8');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, errors: errors.slice(-4000) });
    });
  });
  // A UAS must be listening before the gateway calls it.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { port: options.port, done, stop: () => child.kill('SIGKILL') };
}
