import { PerformanceObserver } from 'node:perf_hooks';

export interface GcPauses {
  /** Garbage collections since the watch began or was last reset. */
  count: number;
  totalMs: number;
  maxMs: number;
}

/** Watches the calling thread's garbage collections; `read(true)` starts the figures anew. */
export function watchGcPauses(): { read(reset?: boolean): GcPauses } {
  let pauses: GcPauses = { count: 0, totalMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      pauses.count++;
      pauses.totalMs += entry.duration;
      pauses.maxMs = Math.max(pauses.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  return {
    read(reset = false) {
      const result = { ...pauses };
      if (reset) pauses = { count: 0, totalMs: 0, maxMs: 0 };
      return result;
    },
  };
}
