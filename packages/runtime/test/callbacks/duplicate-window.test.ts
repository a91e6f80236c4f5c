import { describe, expect, it } from 'vitest';
import { DuplicateWindow } from '../../src/callbacks/index.js';

describe('DuplicateWindow', () => {
  it('runs a key once within the window and again after it', async () => {
    let now = 0;
    const window = new DuplicateWindow({ ttlMs: 1000 }, () => now);
    let calls = 0;
    const handle = async () => {
      calls++;
      return 204;
    };
    expect(await window.run('a', handle)).toEqual({ duplicate: false, status: 204 });
    expect(await window.run('a', handle)).toEqual({ duplicate: true, status: 204 });
    now = 999;
    expect((await window.run('a', handle)).duplicate).toBe(true);
    now = 1001;
    expect((await window.run('a', handle)).duplicate).toBe(false);
    expect(calls).toBe(2);
  });

  it('keeps at most maxEntries, forgetting the oldest', async () => {
    const window = new DuplicateWindow({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd']) await window.run(key, async () => 204);
    expect(window.size).toBe(3);
    expect((await window.run('a', async () => 204)).duplicate).toBe(false);
    expect((await window.run('d', async () => 204)).duplicate).toBe(true);
  });

  it('forgets a failed handling so the retry runs again', async () => {
    const window = new DuplicateWindow();
    expect(await window.run('a', async () => 500)).toEqual({ duplicate: false, status: 500 });
    await expect(window.run('b', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect((await window.run('a', async () => 204)).duplicate).toBe(false);
    expect((await window.run('b', async () => 204)).duplicate).toBe(false);
  });

  it('lets a concurrent duplicate wait for the first outcome', async () => {
    const window = new DuplicateWindow();
    let release!: (status: number) => void;
    const first = window.run('a', () => new Promise<number>((resolve) => (release = resolve)));
    let ran = false;
    const second = window.run('a', async () => {
      ran = true;
      return 204;
    });
    release(204);
    expect(await first).toEqual({ duplicate: false, status: 204 });
    expect(await second).toEqual({ duplicate: true, status: 204 });
    expect(ran).toBe(false);
  });
});
