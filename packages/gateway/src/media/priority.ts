import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The nice values setpriority(2) takes: -20 runs first, 19 last; 0 is a process's default. */
const NICE_MIN = -20;
const NICE_MAX = 19;

/** Throws a RangeError, naming `what`, unless `value` is a whole number from `min` to `max`. */
function checkWholeNumber(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${what} ${value} must be an integer from ${min} to ${max}`);
}

/** Throws a RangeError unless `nice` is a whole number from -20 to 19. */
export function checkNiceValue(nice: number): void {
  checkWholeNumber('media nice', nice, NICE_MIN, NICE_MAX);
}

/**
 * Runs the calling thread at `nice`. On Linux a nice value belongs to a thread (setpriority(2)
 * with pid 0 names the calling one), so a media thread takes its own and the thread that answers
 * the API and runs SIP keeps the process's; on other systems it is the whole process's.
 */
export function setThreadNice(nice: number): void {
  setPriority(0, nice);
}

/**
 * Throws unless this process may run threads at `nice`. A value below the current one needs root,
 * CAP_SYS_NICE or a large enough RLIMIT_NICE: it is tried on the calling thread, which is then set
 * back (raising a nice value is always allowed).
 */
export function checkNicePermitted(nice: number): void {
  const current = getPriority(0);
  if (nice >= current) return;
  try {
    setPriority(0, nice);
  } catch (error) {
    const reason = failureCode(error);
    throw new Error(
      `cannot run media at nice ${nice} (${reason}): a value below the gateway's own (${current}) needs root or CAP_SYS_NICE`,
    );
  }
  setPriority(0, current);
}

/** What a failed setpriority(2) says: `EACCES` (Node's SystemError keeps it in `info`), or the message. */
export function failureCode(error: unknown): string {
  const system = error as { info?: { code?: string }; code?: string; message?: string };
  return system.info?.code ?? system.code ?? String(system.message ?? error);
}

/** The static priorities of SCHED_RR (sched(7)): 1 runs after 99, and both before every normal thread. */
const REALTIME_MIN = 1;
const REALTIME_MAX = 99;

/** Throws a RangeError unless `priority` is a whole number from 1 to 99. */
export function checkRealtimePriority(priority: number): void {
  checkWholeNumber('media realtime priority', priority, REALTIME_MIN, REALTIME_MAX);
}

/** The kernel's id of the calling thread (Linux: /proc/thread-self names it). */
export function currentThreadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/')[2]);
}

/**
 * Runs thread `tid` (or with `allThreads`, every thread of process `tid`) under SCHED_RR at
 * `priority`, through util-linux's `chrt`: Node has no call for sched_setscheduler(2). Throws
 * with what `chrt` said; it needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO of at least `priority`.
 */
export function setRealtime(tid: number, priority: number, allThreads = false): void {
  try {
    execFileSync('chrt', [...(allThreads ? ['-a'] : []), '-r', '-p', String(priority), String(tid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 5_000,
    });
  } catch (error) {
    const failed = error as { code?: string; stderr?: Buffer; message?: string };
    const said = failed.code === 'ENOENT' ? 'chrt (util-linux) not found' : failed.stderr?.toString().trim();
    throw new Error(
      `cannot run thread ${tid} under SCHED_RR at priority ${priority}: ${said || failed.message}; ` +
        'it needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO of at least that',
    );
  }
}

/**
 * Runs every thread of this process under SCHED_RR at `priority` except the main one: V8's
 * threads that collect garbage beside every isolate's own (a media thread's scavenge waits for
 * them) and libuv's pool.
 */
export function setHelperThreadsRealtime(priority: number): void {
  const threads = readdirSync('/proc/self/task')
    .map(Number)
    .filter((tid) => tid !== process.pid);
  for (const tid of threads) {
    try {
      setRealtime(tid, priority);
    } catch (error) {
      // A thread that ended since the listing needs nothing.
      if (existsSync(`/proc/self/task/${tid}`)) throw error;
    }
  }
}

/**
 * A thread's scheduling: its SCHED_RR or SCHED_FIFO priority, 0 for a normal thread (from /proc).
 * Thread `tid` of this process, or of process `pid`; by default the calling thread.
 */
export function realtimePriority(
  tid: number | 'thread-self' = 'thread-self',
  pid: number | 'self' = 'self',
): number {
  const path = tid === 'thread-self' ? '/proc/thread-self/stat' : `/proc/${pid}/task/${tid}/stat`;
  const stat = readFileSync(path, 'utf8');
  // Fields after the command name (which may hold spaces): rt_priority is field 40, policy 41.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[37]);
}
