/**
 * Hands out blocks of four consecutive UDP ports inside the configured range,
 * the first one even: RTP on the even port and RTCP on the next one (RFC 3550
 * §11), then two for the WebRTC leg's ICE socket. Only this process's own
 * use is tracked; a port taken by another process shows up as a failed bind
 * and the caller asks for the next block.
 */
export class PortAllocator {
  static readonly BLOCK = 4;
  readonly min: number;
  readonly max: number;
  readonly #inUse = new Set<number>();
  readonly #blocks: number;
  #next = 0;

  constructor(min: number, max: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65_535) {
      throw new RangeError(`RTP port range ${min}-${max} must lie within 1024-65535`);
    }
    const { first, count } = portBlocks(min, max);
    this.min = first;
    this.max = max;
    this.#blocks = count;
    if (this.#blocks < 1) throw new RangeError(`RTP port range ${min}-${max} holds fewer than 4 ports`);
  }

  /** How many blocks (calls) the range holds. */
  get capacity(): number {
    return this.#blocks;
  }

  get used(): number {
    return this.#inUse.size;
  }

  /** The first port of a free block, round robin (so a just-freed port is not reused at once); `undefined` when all are taken. */
  reserve(): number | undefined {
    for (let tried = 0; tried < this.#blocks; tried++) {
      const block = this.#next;
      this.#next = (this.#next + 1) % this.#blocks;
      const base = this.min + block * PortAllocator.BLOCK;
      if (!this.#inUse.has(base)) {
        this.#inUse.add(base);
        return base;
      }
    }
    return undefined;
  }

  release(base: number): void {
    this.#inUse.delete(base);
  }
}

/** The blocks a port range holds: the first port of the first one (even) and how many (calls). */
export function portBlocks(min: number, max: number): { first: number; count: number } {
  const first = min % 2 === 0 ? min : min + 1;
  return { first, count: Math.max(0, Math.floor((max - first + 1) / PortAllocator.BLOCK)) };
}
