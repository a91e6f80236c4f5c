/**
 * G.711 (ITU-T G.711) µ-law and A-law companding, after the public-domain
 * Sun Microsystems reference (g711.c). Used to transcode PCMU ↔ PCMA in the
 * relay (one table lookup per byte) and by the audio test tools.
 */

const QUANT_MASK = 0x0f;
const SEG_SHIFT = 4;
const SEG_MASK = 0x70;
const SIGN_BIT = 0x80;
const MU_BIAS = 0x84;
const MU_CLIP = 8159;
/** Segment end points of the 13-bit (A-law) and 14-bit (µ-law) magnitudes. */
const A_SEGMENT_ENDS = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff] as const;
const MU_SEGMENT_ENDS = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff] as const;

function segmentOf(value: number, ends: readonly number[]): number {
  for (let segment = 0; segment < ends.length; segment++) if (value <= ends[segment]!) return segment;
  return ends.length;
}

/** A 16-bit linear sample to a µ-law byte (PCMU). */
export function linearToMuLaw(sample: number): number {
  let value = sample >> 2;
  let mask = 0xff;
  if (value < 0) {
    value = -value;
    mask = 0x7f;
  }
  if (value > MU_CLIP) value = MU_CLIP;
  value += MU_BIAS >> 2;
  const segment = segmentOf(value, MU_SEGMENT_ENDS);
  if (segment >= 8) return 0x7f ^ mask;
  return ((segment << SEG_SHIFT) | ((value >> (segment + 1)) & QUANT_MASK)) ^ mask;
}

/** A µ-law byte to a 16-bit linear sample. */
export function muLawToLinear(byte: number): number {
  const value = ~byte & 0xff;
  let t = ((value & QUANT_MASK) << 3) + MU_BIAS;
  t <<= (value & SEG_MASK) >> SEG_SHIFT;
  return value & SIGN_BIT ? MU_BIAS - t : t - MU_BIAS;
}

/** A 16-bit linear sample to an A-law byte (PCMA). */
export function linearToALaw(sample: number): number {
  let value = sample >> 3;
  let mask: number;
  if (value >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    value = -value - 1;
  }
  const segment = segmentOf(value, A_SEGMENT_ENDS);
  if (segment >= 8) return 0x7f ^ mask;
  const quantised = segment < 2 ? (value >> 1) & QUANT_MASK : (value >> segment) & QUANT_MASK;
  return ((segment << SEG_SHIFT) | quantised) ^ mask;
}

/** An A-law byte to a 16-bit linear sample. */
export function aLawToLinear(byte: number): number {
  const value = byte ^ 0x55;
  let t = (value & QUANT_MASK) << 4;
  const segment = (value & SEG_MASK) >> SEG_SHIFT;
  if (segment === 0) t += 8;
  else if (segment === 1) t += 0x108;
  else t = (t + 0x108) << (segment - 1);
  return value & SIGN_BIT ? t : -t;
}

function table(map: (byte: number) => number): Uint8Array {
  const out = new Uint8Array(256);
  for (let byte = 0; byte < 256; byte++) out[byte] = map(byte);
  return out;
}

/** PCMU byte → PCMA byte and back: the relay's transcoder when the two legs chose different G.711 laws. */
export const MU_LAW_TO_A_LAW: Uint8Array = table((byte) => linearToALaw(muLawToLinear(byte)));
export const A_LAW_TO_MU_LAW: Uint8Array = table((byte) => linearToMuLaw(aLawToLinear(byte)));

/** Rewrites every byte of `payload` through `lookup` into a new buffer. */
export function transcodeG711(payload: Uint8Array, lookup: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = lookup[payload[i]!]!;
  return out;
}

/** `transcodeG711` into `out` at `offset`, with no allocation. */
export function transcodeG711Into(
  payload: Uint8Array,
  lookup: Uint8Array,
  out: Uint8Array,
  offset: number,
): void {
  for (let i = 0; i < payload.length; i++) out[offset + i] = lookup[payload[i]!]!;
}

/** Encodes 16-bit samples as G.711 bytes of the given law. */
export function encodeG711(samples: Int16Array, law: 'pcmu' | 'pcma'): Buffer {
  const out = Buffer.allocUnsafe(samples.length);
  const encode = law === 'pcmu' ? linearToMuLaw : linearToALaw;
  for (let i = 0; i < samples.length; i++) out[i] = encode(samples[i]!);
  return out;
}

/** Decodes G.711 bytes of the given law to 16-bit samples. */
export function decodeG711(payload: Uint8Array, law: 'pcmu' | 'pcma'): Int16Array {
  const out = new Int16Array(payload.length);
  const decode = law === 'pcmu' ? muLawToLinear : aLawToLinear;
  for (let i = 0; i < payload.length; i++) out[i] = decode(payload[i]!);
  return out;
}
