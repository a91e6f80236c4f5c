/**
 * A bounded `tcpdump` capture on the loopback interface, with kernel time
 * stamps in nanoseconds, written to a pcap file (read by `pcap.ts`). Only the
 * packets the filter selects are captured, and only the first bytes of each
 * (by default enough for the IP, UDP and RTP headers).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

/** Whether `tcpdump` is on this machine: undefined when it is, else why not, in a few words. */
export function tcpdumpMissing(command = 'tcpdump'): string | undefined {
  const probe = spawnSync(command, ['--version'], { stdio: 'ignore' });
  if (probe.error !== undefined) return 'tcpdump is not installed (Debian package `tcpdump`)';
  return undefined;
}

export interface CaptureOptions {
  /** The pcap file to write. */
  file: string;
  /** A pcap-filter(7) expression, e.g. `udp and portrange 46000-46999`. */
  filter: string;
  /** tcpdump stops by itself after this many packets. */
  maxPackets: number;
  /** How many bytes of each packet to keep (default 96: the IP, UDP and RTP headers). */
  snapshotBytes?: number;
}

export interface CaptureSummary {
  /** Packets the kernel dropped because tcpdump did not read them in time (they are missing from the file). */
  dropped: number;
}

const SNAPSHOT_BYTES = 96;
/** The kernel's capture buffer, in KiB: a burst of relayed packets must fit while tcpdump catches up. */
const BUFFER_KIB = 32 * 1024;
/**
 * tcpdump gets the kernel's packets in blocks, each handed over once full or 1 s after its
 * first packet, and drops the unread ones when stopped: stopping waits that long first.
 */
const BLOCK_TIMEOUT_MS = 1_000;
const START_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;

export class LoopbackCapture {
  #stderr = '';
  readonly #exited: Promise<number | null>;

  private constructor(readonly process: ChildProcess) {
    process.stderr?.setEncoding('utf8');
    process.stderr?.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    // 'close' comes after the exit and the end of stderr, so its last words are in.
    this.#exited = new Promise((resolve) => process.once('close', (code) => resolve(code)));
  }

  /** Starts capturing; resolves once tcpdump listens (rejects if it cannot, e.g. without CAP_NET_RAW). */
  static async start(options: CaptureOptions): Promise<LoopbackCapture> {
    const child = spawn(
      'tcpdump',
      [
        '-i',
        'lo',
        '-n',
        '-w',
        options.file,
        '-s',
        String(options.snapshotBytes ?? SNAPSHOT_BYTES),
        '-B',
        String(BUFFER_KIB),
        '--time-stamp-precision=nano',
        '-c',
        String(options.maxPackets),
        options.filter,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const capture = new LoopbackCapture(child);
    const started = performance.now();
    while (!capture.#stderr.includes('listening on')) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await capture.#exited;
        throw new Error(`tcpdump did not start: ${capture.#stderr.trim().split('\n').at(-1) ?? ''}`);
      }
      if (performance.now() - started > START_TIMEOUT_MS) {
        child.kill('SIGKILL');
        throw new Error(`tcpdump did not start listening in ${START_TIMEOUT_MS / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return capture;
  }

  /** Stops the capture (SIGINT: tcpdump flushes and closes the file) and says what the kernel dropped. */
  async stop(): Promise<CaptureSummary> {
    if (this.#running()) await new Promise((resolve) => setTimeout(resolve, BLOCK_TIMEOUT_MS + 200));
    if (this.#running()) this.process.kill('SIGINT');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
    const dropped = /(\d+) packets? dropped by kernel/.exec(this.#stderr)?.[1];
    return { dropped: Number(dropped ?? 0) };
  }

  #running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }
}
