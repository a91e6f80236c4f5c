/** A sine tone generator that keeps its phase across frames, so consecutive frames join without clicks. */
export class ToneGenerator {
  readonly frequency: number;
  readonly sampleRate: number;
  readonly amplitude: number;
  #phase = 0;

  /** `amplitude` as a fraction of 16-bit full scale (default 0.3, well clear of clipping after G.711). */
  constructor(frequency: number, sampleRate = 8000, amplitude = 0.3) {
    this.frequency = frequency;
    this.sampleRate = sampleRate;
    this.amplitude = amplitude;
  }

  /** The next `count` samples. */
  next(count: number): Int16Array {
    const out = new Int16Array(count);
    const step = (2 * Math.PI * this.frequency) / this.sampleRate;
    const scale = this.amplitude * 32767;
    for (let i = 0; i < count; i++) {
      out[i] = Math.round(Math.sin(this.#phase) * scale);
      this.#phase += step;
    }
    this.#phase %= 2 * Math.PI;
    return out;
  }
}
