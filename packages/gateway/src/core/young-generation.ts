import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';

const FLAG = /^--max[-_]semi[-_]space[-_]size(?:=(\d+))?$/;

/**
 * The `--max-semi-space-size` this process was started with (from its command line or
 * `NODE_OPTIONS`, the last one winning, as in Node), in MiB; undefined without one.
 */
export function semiSpaceFlag(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): number | undefined {
  let found: number | undefined;
  const scan = (args: readonly string[]) => {
    for (let i = 0; i < args.length; i++) {
      const match = FLAG.exec(args[i]!);
      if (match === null) continue;
      const value = match[1] ?? args[++i];
      if (value !== undefined && /^\d+$/.test(value)) found = Number(value);
    }
  };
  scan((nodeOptions ?? '').split(/\s+/).filter((arg) => arg !== ''));
  scan(execArgv);
  return found;
}

/** Creations in progress: the flag is put back once the last of them has its isolate. */
let creating = 0;

/**
 * Creates a worker thread whose young generation is V8's default size, whatever
 * `--max-semi-space-size` the process runs with.
 *
 * `npm start` gives the gateway 64 MiB semi-spaces: right for its main thread, where
 * nearly everything a call allocates dies within milliseconds. A media thread fared worse
 * with them: at 150 relayed calls on 2 threads the added latency p99 was 11.6 ms with them
 * against 5.5 and 7.6 ms without (`npm run bench -- media`). V8 reads the
 * flag when it creates an isolate, and the flag wins over a Worker's
 * `resourceLimits`; so it is set back to V8's default (0: sized from the heap) while
 * the thread's isolate is created, and restored once the thread is online (its
 * isolate then exists) or has failed to start.
 */
export function workerWithDefaultYoungGeneration(create: () => Worker): Worker {
  const configured = semiSpaceFlag();
  if (configured === undefined) return create();
  if (creating++ === 0) setFlagsFromString('--max-semi-space-size=0');
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    if (--creating === 0) setFlagsFromString(`--max-semi-space-size=${configured}`);
  };
  let worker: Worker;
  try {
    worker = create();
  } catch (error) {
    settle();
    throw error;
  }
  // A thread that fails to start exits ('error' is left to the caller's own listener).
  worker.once('online', settle);
  worker.once('exit', settle);
  return worker;
}
