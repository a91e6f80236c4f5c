/** What a redis-server reports of its own work (INFO cpu, INFO commandstats), for the benchmarks. */
import type { Redis } from 'ioredis';

export async function redisCpuMicros(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const value = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (value('used_cpu_sys') + value('used_cpu_user')) * 1e6;
}

/** Calls per command name so far (INFO commandstats; commands run by scripts included). */
export async function redisCommandCalls(
  client: Redis,
): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await client.info('commandstats');
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

/**
 * Commands (and scripts) run between two `redisCommandCalls`, leaving out the benchmark's own INFO,
 * and the µs Redis spent in the scripts (a script's figure includes the commands it runs).
 */
export function commandsBetween(
  before: Map<string, { calls: number; usec: number }>,
  after: Map<string, { calls: number; usec: number }>,
) {
  let commands = 0;
  let scripts = 0;
  let scriptUs = 0;
  for (const [name, { calls, usec }] of after) {
    if (name === 'info') continue;
    const n = calls - (before.get(name)?.calls ?? 0);
    commands += n;
    if (name === 'evalsha' || name === 'eval') {
      scripts += n;
      scriptUs += usec - (before.get(name)?.usec ?? 0);
    }
  }
  return { commands, scripts, scriptUs };
}
