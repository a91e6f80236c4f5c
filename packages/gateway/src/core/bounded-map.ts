/**
 * Sets `key` as the newest entry of `map` (a replaced key moves to the end), then drops the
 * oldest entries, in insertion order, until at most `max` are left: a cache of the last reads.
 */
export function setNewest<Key, Value>(map: Map<Key, Value>, key: Key, value: Value, max: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
}
