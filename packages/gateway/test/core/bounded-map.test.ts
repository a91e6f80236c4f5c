import { describe, expect, it } from 'vitest';
import { setNewest } from '../../src/core/bounded-map.js';

describe('setNewest', () => {
  it('keeps the newest `max` entries, a replaced key counting as new', () => {
    const map = new Map<string, number>();
    for (const [key, value] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      setNewest(map, key, value, 3);
    expect([...map]).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    // Replacing 'a' moves it last: 'b' is now the oldest and goes first.
    setNewest(map, 'a', 10, 3);
    setNewest(map, 'd', 4, 3);
    expect([...map]).toEqual([
      ['c', 3],
      ['a', 10],
      ['d', 4],
    ]);
    // A smaller bound drops as many oldest entries as it takes.
    setNewest(map, 'e', 5, 2);
    expect([...map]).toEqual([
      ['d', 4],
      ['e', 5],
    ]);
  });
});
