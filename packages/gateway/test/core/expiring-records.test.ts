/** Records with one fixed lifetime, on one timer: what finished transactions and ended dialogs leave. */
import { describe, expect, it } from 'vitest';
import { ExpiringRecords } from '../../src/core/expiring-records.js';
import { ManualClock } from '../sip-stack/manual-clock.js';

/** A manual clock that also counts the timers armed on it. */
function countingClock(): { clock: ManualClock; armed: () => number } {
  const clock = new ManualClock();
  const schedule = clock.setTimeout;
  let armed = 0;
  clock.setTimeout = (fn: () => void, ms: number): number => {
    armed++;
    return schedule(fn, ms);
  };
  return { clock, armed: () => armed };
}

function setup(lifetimeMs = 1_000, resolutionMs = 100) {
  const clock = new ManualClock();
  const expired: string[] = [];
  const records = new ExpiringRecords<string, number>({
    clock,
    lifetimeMs,
    resolutionMs,
    expired: (key) => expired.push(key),
  });
  return { clock, records, expired };
}

describe('ExpiringRecords', () => {
  it('keeps a record for its lifetime, then forgets it, at most the resolution late', async () => {
    const { clock, records, expired } = setup();
    records.set('a', 1);
    await clock.advance(999);
    expect(records.get('a')).toBe(1);
    await clock.advance(1 + 100);
    expect(records.has('a')).toBe(false);
    expect(records.size).toBe(0);
    expect(expired).toEqual(['a']);
  });

  it('with no resolution, forgets a record exactly at the end of its lifetime', async () => {
    const { clock, records } = setup(60_000, 0);
    records.set('a', 1);
    await clock.advance(59_999);
    expect(records.has('a')).toBe(true);
    await clock.advance(1);
    expect(records.has('a')).toBe(false);
  });

  it('expires records in the order they came, sweeping those due together in one turn', async () => {
    const { clock, records, expired } = setup();
    records.set('a', 1);
    await clock.advance(50);
    records.set('b', 2);
    await clock.advance(400);
    records.set('c', 3);
    // a is due at 1000, b at 1050: the turn at 1100 takes both; c (1450) stays.
    await clock.advance(1_100 - 450);
    expect(expired).toEqual(['a', 'b']);
    expect(records.get('c')).toBe(3);
    await clock.advance(500);
    expect(expired).toEqual(['a', 'b', 'c']);
  });

  it('gives a replaced record a fresh lifetime and moves it behind the others', async () => {
    const { clock, records, expired } = setup();
    records.set('a', 1);
    records.set('b', 2);
    await clock.advance(500);
    records.set('a', 10);
    await clock.advance(600);
    expect(expired).toEqual(['b']);
    expect(records.get('a')).toBe(10);
    await clock.advance(500);
    expect(expired).toEqual(['b', 'a']);
  });

  it('does not report deleted or cleared records, and stops its timer when cleared', async () => {
    const { clock, records, expired } = setup();
    records.set('a', 1);
    records.set('b', 2);
    expect(records.delete('a')).toBe(true);
    await clock.advance(1_100);
    expect(expired).toEqual(['b']);
    records.set('c', 3);
    records.clear();
    await clock.advance(5_000);
    expect(expired).toEqual(['b']);
    expect(records.size).toBe(0);
  });

  it('runs one timer for a steady stream of records, not one each', async () => {
    const { clock, armed } = countingClock();
    const records = new ExpiringRecords<number, number>({ clock, lifetimeMs: 32_000, resolutionMs: 100 });
    // 200 records a second for 10 s.
    for (let i = 0; i < 2_000; i++) {
      records.set(i, i);
      await clock.advance(5);
    }
    expect(records.size).toBe(2_000);
    expect(armed()).toBe(1);
    await clock.advance(32_000 + 100);
    expect(records.size).toBe(0);
    // One sweep per resolution step while records were due (10 s of them), not one per record.
    expect(armed()).toBeLessThanOrEqual(1 + 10_000 / 100 + 1);
  });
});
