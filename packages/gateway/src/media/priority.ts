import { getPriority, setPriority } from 'node:os';

/** The nice values setpriority(2) takes: -20 runs first, 19 last; 0 is a process's default. */
const NICE_MIN = -20;
const NICE_MAX = 19;

/** Throws a RangeError unless `nice` is a whole number from -20 to 19. */
export function checkNiceValue(nice: number): void {
  if (!Number.isInteger(nice) || nice < NICE_MIN || nice > NICE_MAX)
    throw new RangeError(`media nice ${nice} must be an integer from ${NICE_MIN} to ${NICE_MAX}`);
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
