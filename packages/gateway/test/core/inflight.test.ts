import { describe, expect, it } from 'vitest';
import { InflightWork } from '../../src/core/inflight.js';

const deferred = () => {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

describe('InflightWork', () => {
  it('reports a failure to onError (never rejects) and forgets settled work', async () => {
    const errors: unknown[] = [];
    const work = new InflightWork((error) => errors.push(error));
    const failing = deferred();
    const passing = deferred();
    work.track(failing.promise);
    work.track(passing.promise);
    expect(work.size).toBe(2);
    failing.reject(new Error('boom'));
    passing.resolve();
    await work.allSettled();
    await Promise.resolve();
    expect(errors).toEqual([new Error('boom')]);
    expect(work.size).toBe(0);
  });

  it('drained() also waits for work started while it waits; allSettled() only for what was tracked', async () => {
    const work = new InflightWork(() => {});
    const first = deferred();
    const second = deferred();
    const order: string[] = [];
    work.track(first.promise.then(() => work.track(second.promise)));
    const once = work.allSettled().then(() => order.push('allSettled'));
    const drained = work.drained().then(() => order.push('drained'));
    first.resolve();
    await once;
    expect(order).toEqual(['allSettled']);
    second.resolve();
    await drained;
    expect(order).toEqual(['allSettled', 'drained']);
    expect(work.size).toBe(0);
  });
});
