/**
 * Known tones as G.711 (ITU-T G.711, the Sun reference algorithm), and their detection with the
 * Goertzel filter: tests verify relayed audio by what it sounds like, not by packet counts.
 */

export const SAMPLE_RATE = 8000;
/** 20 ms of 8 kHz audio: one RTP packet's worth. */
export const SAMPLES_PER_PACKET = 160;

export type G711 = 'pcmu' | 'pcma';

function linearToMulaw(linear: number): number {
  const bias = 0x84;
  let sample = Math.max(-32635, Math.min(32635, Math.round(linear)));
  const sign = sample < 0 ? 0x80 : 0;
  if (sign) sample = -sample;
  sample += bias;
  let exponent = 7;
  for (let mask = 0x4000; (sample & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (sample >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function mulawToLinear(encoded: number): number {
  const u = ~encoded & 0xff;
  const exponent = (u >> 4) & 0x07;
  const sample = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -sample : sample;
}

const ALAW_SEGMENT_ENDS = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function linearToAlaw(linear: number): number {
  let value = Math.max(-32768, Math.min(32767, Math.round(linear))) >> 3;
  let mask: number;
  if (value >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    value = -value - 1;
  }
  const segment = ALAW_SEGMENT_ENDS.findIndex((end) => value <= end);
  if (segment === -1) return 0x7f ^ mask;
  const mantissa = segment < 2 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

function alawToLinear(encoded: number): number {
  const a = encoded ^ 0x55;
  let t = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) t += 8;
  else if (segment === 1) t += 0x108;
  else t = (t + 0x108) << (segment - 1);
  return a & 0x80 ? t : -t;
}

export function encodeG711(codec: G711, samples: ArrayLike<number>): Buffer {
  const encode = codec === 'pcmu' ? linearToMulaw : linearToAlaw;
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encode(samples[i] ?? 0);
  return out;
}

export function decodeG711(codec: G711, payload: Uint8Array): number[] {
  const decode = codec === 'pcmu' ? mulawToLinear : alawToLinear;
  return Array.from(payload, decode);
}

/** A sine tone at `frequency`, continuing in phase from `firstSample`, as G.711 payloads of 20 ms. */
export function tonePayload(codec: G711, frequency: number, firstSample: number): Buffer {
  const samples = new Float64Array(SAMPLES_PER_PACKET);
  for (let i = 0; i < samples.length; i++) {
    samples[i] = 8000 * Math.sin((2 * Math.PI * frequency * (firstSample + i)) / SAMPLE_RATE);
  }
  return encodeG711(codec, samples);
}

/** The share (0–1) of the signal's energy at `frequency` (Goertzel, one bin). */
export function toneShare(samples: readonly number[], frequency: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / SAMPLE_RATE);
  let previous = 0;
  let beforePrevious = 0;
  let energy = 0;
  for (const sample of samples) {
    const current = sample + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
    energy += sample * sample;
  }
  if (energy === 0) return 0;
  const power =
    previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
  return (2 * power) / (samples.length * energy);
}

/** Whether decoded G.711 payloads carry mostly `frequency` and little of `other`. */
export function hearsTone(
  codec: G711,
  payloads: readonly Uint8Array[],
  frequency: number,
  other: number,
): { heard: boolean; share: number; otherShare: number; packets: number } {
  // Whole packets, from the middle of the stream: the first and last ones may be cut or silent.
  const middle = payloads.slice(Math.min(5, Math.floor(payloads.length / 4)));
  const samples = middle.flatMap((payload) => decodeG711(codec, payload)).slice(0, SAMPLE_RATE / 2);
  const share = toneShare(samples, frequency);
  const otherShare = toneShare(samples, other);
  return {
    heard: samples.length >= 1600 && share > 0.6 && otherShare < 0.05,
    share,
    otherShare,
    packets: payloads.length,
  };
}
