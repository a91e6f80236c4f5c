/**
 * Goertzel's algorithm: the power of one frequency in a block of samples,
 * without a full FFT. Used to tell which tone came out of the relay.
 */
export function goertzelPower(samples: ArrayLike<number>, frequency: number, sampleRate: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let previous = 0;
  let beforePrevious = 0;
  for (let i = 0; i < samples.length; i++) {
    const current = samples[i]! + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
  }
  return previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
}

/**
 * The share of the block's energy at `frequency`, from 0 to 1 (about 1 for a
 * pure tone at that frequency, about 0 for silence or another tone).
 */
export function toneShare(samples: ArrayLike<number>, frequency: number, sampleRate: number): number {
  let energy = 0;
  for (let i = 0; i < samples.length; i++) energy += samples[i]! * samples[i]!;
  if (energy === 0 || samples.length === 0) return 0;
  return (2 * goertzelPower(samples, frequency, sampleRate)) / (samples.length * energy);
}

export interface ToneReport {
  /** Samples looked at. */
  samples: number;
  /** Share of the energy at the expected frequency. */
  share: number;
  /** Root mean square level, in 16-bit units. */
  rms: number;
}

/** `toneShare` and the level of the last `window` samples of `samples`. */
export function analyseTone(
  samples: ArrayLike<number>,
  frequency: number,
  sampleRate: number,
  window = sampleRate / 2,
): ToneReport {
  const start = Math.max(0, samples.length - window);
  const block = Array.prototype.slice.call(samples, start) as number[];
  let energy = 0;
  for (const sample of block) energy += sample * sample;
  return {
    samples: block.length,
    share: toneShare(block, frequency, sampleRate),
    rms: block.length === 0 ? 0 : Math.sqrt(energy / block.length),
  };
}
