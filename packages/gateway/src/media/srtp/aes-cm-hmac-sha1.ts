import { type Cipher, createCipheriv, hash, timingSafeEqual } from 'node:crypto';
import { RTP_HEADER_BYTES } from '../rtp-packet.js';

/**
 * SRTP with the AES_CM_128_HMAC_SHA1_80 profile (RFC 3711, RFC 5764 §4.1.2), one direction of
 * one session: what the werift relay uses per packet instead of werift's own SRTP, which builds
 * an AES-CTR cipher per packet and parses each header bit by bit through strings.
 *
 * The AES counter mode keystream is AES-ECB of the counter blocks (RFC 3711 §4.1.1), so one
 * ECB cipher per session key serves every packet. The HMAC-SHA1 tag is computed from the key's
 * pads (RFC 2104) with two one-shot SHA-1 digests (`crypto.hash`) into buffers kept per session, not
 * with an `Hmac` object per packet: each such object is a native one that V8 must call back for as
 * it dies, and those callbacks, thousands per scavenge at a few hundred calls, paused a media thread
 * up to 8 ms each time (V8's `--trace-gc-nvp`: `heap.external_weak_global_handles`).
 *
 * For the same reason a packet makes no buffer of its own here. Every Buffer Node's crypto returns
 * has memory outside V8's heap, which each scavenge frees for those that died (their sweep took
 * 1.5–4 ms of a scavenge at 100 calls on one thread, `scavenge.sweep_array_buffers`). The digests
 * come as `binary` (latin1) strings, on V8's heap, written into the session's buffers; the keystream
 * is made for `KEYSTREAM_BATCH` consecutive packets of a stream at once, one buffer for them all.
 */

/** Bytes of the authentication tag the profile appends (80 bits). */
export const SRTP_AUTH_TAG_BYTES = 10;

const KEY_BYTES = 16;
const SALT_BYTES = 14;
const AUTH_KEY_BYTES = 20;
const BLOCK = 16;
/** SHA-1's block and digest sizes, for HMAC's pads (RFC 2104). */
const SHA1_BLOCK = 64;
const SHA1_BYTES = 20;
const ROC_BYTES = 4;
/** Packets of a stream whose keystream one cipher call makes: the packets that follow (RFC 3711 indexes). */
const KEYSTREAM_BATCH = 16;
const SEQUENCE_SPAN = 0x10000;

/** RFC 3711 §4.3.2 key derivation labels for SRTP. */
const LABEL_ENCRYPTION = 0x00;
const LABEL_AUTHENTICATION = 0x01;
const LABEL_SALT = 0x02;

function ecb(key: Buffer): Cipher {
  const cipher = createCipheriv('aes-128-ecb', key, null);
  cipher.setAutoPadding(false);
  return cipher;
}

/** RFC 3711 §4.3.1 with a key derivation rate of 0: AES-CM of (label ‖ index 0) XOR salt, `length` bytes. */
function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const blocks = Buffer.alloc(Math.ceil(length / BLOCK) * BLOCK);
  for (let offset = 0; offset < blocks.length; offset += BLOCK) {
    masterSalt.copy(blocks, offset, 0, SALT_BYTES);
    // x = label · 2^48 XOR master salt (the 14-byte salt, then 2 bytes of block counter).
    blocks[offset + 7]! ^= label;
    blocks.writeUInt16BE(offset / BLOCK, offset + 14);
  }
  return ecb(masterKey).update(blocks).subarray(0, length);
}

/** The sequence number tracking of RFC 3711 §3.3.1 and Appendix A, for one SSRC. */
interface StreamIndex {
  /** Highest sequence number received or sent (s_l). */
  sequence: number;
  /** Rollover counter (ROC): how many times the sequence number wrapped. */
  rollover: number;
  /** The keystream of `KEYSTREAM_BATCH` packets from the index `first` on, `blocks` AES blocks each. */
  keystream?: { first: number; blocks: number; bytes: Buffer };
}

/** One direction of an SRTP session: protects what the gateway sends, or unprotects what it receives. */
export class SrtpAesCm128HmacSha1 {
  readonly #keystream: Cipher;
  readonly #salt: Buffer;
  /** HMAC's inner input: the key XOR ipad, then the authenticated bytes and the ROC, grown as needed. */
  #inner = Buffer.alloc(SHA1_BLOCK + 256);
  /** HMAC's outer input: the key XOR opad, then the inner digest. */
  readonly #outer = Buffer.alloc(SHA1_BLOCK + SHA1_BYTES);
  /** The tag a received packet must carry. */
  readonly #expected = Buffer.alloc(SRTP_AUTH_TAG_BYTES);
  readonly #streams = new Map<number, StreamIndex>();
  /** Counter blocks of a batch, grown to the largest payload seen. */
  #counters = Buffer.alloc(BLOCK * 16 * KEYSTREAM_BATCH);

  constructor(masterKey: Buffer, masterSalt: Buffer) {
    if (masterKey.length !== KEY_BYTES || masterSalt.length !== SALT_BYTES) {
      throw new Error('AES_CM_128_HMAC_SHA1_80 takes a 16-byte master key and a 14-byte master salt');
    }
    this.#keystream = ecb(deriveSessionKey(masterKey, masterSalt, LABEL_ENCRYPTION, KEY_BYTES));
    this.#salt = deriveSessionKey(masterKey, masterSalt, LABEL_SALT, SALT_BYTES);
    const authKey = deriveSessionKey(masterKey, masterSalt, LABEL_AUTHENTICATION, AUTH_KEY_BYTES);
    this.#inner.fill(0x36, 0, SHA1_BLOCK);
    this.#outer.fill(0x5c, 0, SHA1_BLOCK);
    for (let i = 0; i < AUTH_KEY_BYTES; i++) {
      this.#inner[i]! ^= authKey[i]!;
      this.#outer[i]! ^= authKey[i]!;
    }
  }

  /**
   * Encrypts an RTP packet (12-byte header: the relay writes no CSRC or extension) and appends
   * its tag. `packet` holds the RTP packet in its first `length` bytes and has room for the tag
   * after them; the SRTP packet is written in place and returned as a view of `packet`.
   */
  protect(packet: Buffer, length: number): Buffer {
    const sequence = packet.readUInt16BE(2);
    const ssrc = packet.readUInt32BE(8);
    let stream = this.#streams.get(ssrc);
    if (stream === undefined) {
      stream = { sequence, rollover: 0 };
      this.#streams.set(ssrc, stream);
    } else {
      // The sender's own index only moves forward; a wrap of the sequence number bumps the ROC.
      if (sequence < stream.sequence && stream.sequence - sequence > 0x8000)
        stream.rollover = (stream.rollover + 1) >>> 0;
      stream.sequence = sequence;
    }
    this.#crypt(packet, RTP_HEADER_BYTES, length, ssrc, stream, stream.rollover, sequence);
    packet.write(this.#tag(packet, length, stream.rollover), length, SRTP_AUTH_TAG_BYTES, 'latin1');
    return packet.subarray(0, length + SRTP_AUTH_TAG_BYTES);
  }

  /**
   * Checks the tag of an SRTP packet and decrypts its payload in place; returns the RTP packet
   * (a view of `packet` without the tag), or `undefined` when it is malformed or fails
   * authentication (RFC 3711 §3.3: such a packet is dropped).
   */
  unprotect(packet: Buffer): Buffer | undefined {
    const length = packet.length - SRTP_AUTH_TAG_BYTES;
    if (length < RTP_HEADER_BYTES || packet[0]! >> 6 !== 2) return undefined;
    let start = RTP_HEADER_BYTES + (packet[0]! & 0x0f) * 4;
    if (packet[0]! & 0x10) {
      if (length < start + 4) return undefined;
      start += 4 + packet.readUInt16BE(start + 2) * 4;
    }
    if (start > length) return undefined;
    const sequence = packet.readUInt16BE(2);
    const ssrc = packet.readUInt32BE(8);
    let stream = this.#streams.get(ssrc);
    const rollover = stream === undefined ? 0 : guessRollover(stream, sequence);
    this.#expected.write(this.#tag(packet, length, rollover), 0, SRTP_AUTH_TAG_BYTES, 'latin1');
    if (!timingSafeEqual(this.#expected, packet.subarray(length))) return undefined;
    // RFC 3711 §3.3.1: the stored index moves only after the packet authenticated.
    if (stream === undefined) {
      stream = { sequence, rollover };
      this.#streams.set(ssrc, stream);
    } else if (rollover > stream.rollover || (rollover === stream.rollover && sequence > stream.sequence)) {
      stream.rollover = rollover;
      stream.sequence = sequence;
    }
    this.#crypt(packet, start, length, ssrc, stream, rollover, sequence);
    return packet.subarray(0, length);
  }

  /**
   * HMAC-SHA1 over the authenticated portion and the ROC (RFC 3711 §4.2):
   * SHA-1((key XOR opad) ‖ SHA-1((key XOR ipad) ‖ packet ‖ ROC)), as a latin1 string of 20 bytes.
   */
  #tag(packet: Buffer, length: number, rollover: number): string {
    const size = SHA1_BLOCK + length + ROC_BYTES;
    if (this.#inner.length < size) {
      const grown = Buffer.alloc(size);
      this.#inner.copy(grown, 0, 0, SHA1_BLOCK);
      this.#inner = grown;
    }
    const inner = this.#inner;
    packet.copy(inner, SHA1_BLOCK, 0, length);
    inner.writeUInt32BE(rollover, SHA1_BLOCK + length);
    this.#outer.write(hash('sha1', inner.subarray(0, size), 'binary'), SHA1_BLOCK, SHA1_BYTES, 'latin1');
    return hash('sha1', this.#outer, 'binary');
  }

  /** XORs bytes `start`..`end` of `packet` with the AES-CM keystream of its index (RFC 3711 §4.1.1). */
  #crypt(
    packet: Buffer,
    start: number,
    end: number,
    ssrc: number,
    stream: StreamIndex,
    rollover: number,
    sequence: number,
  ): void {
    const length = end - start;
    if (length <= 0) return;
    const blocks = Math.ceil(length / BLOCK);
    const index = rollover * SEQUENCE_SPAN + sequence;
    let keystream = stream.keystream;
    if (
      keystream === undefined ||
      index < keystream.first ||
      index >= keystream.first + KEYSTREAM_BATCH ||
      blocks > keystream.blocks
    ) {
      keystream = this.#keystreamFrom(ssrc, index, Math.max(blocks, keystream?.blocks ?? 0));
      stream.keystream = keystream;
    }
    const bytes = keystream.bytes;
    const offset = (index - keystream.first) * keystream.blocks * BLOCK;
    for (let i = 0; i < length; i++) packet[start + i]! ^= bytes[offset + i]!;
  }

  /**
   * The keystream of `KEYSTREAM_BATCH` packets of `ssrc` from the packet index `first` on, `blocks`
   * blocks each: one cipher call for them all (a packet lost or reordered past them makes a new one).
   */
  #keystreamFrom(ssrc: number, first: number, blocks: number): NonNullable<StreamIndex['keystream']> {
    const bytes = KEYSTREAM_BATCH * blocks * BLOCK;
    if (this.#counters.length < bytes) this.#counters = Buffer.alloc(bytes);
    const counters = this.#counters;
    for (let packet = 0; packet < KEYSTREAM_BATCH; packet++) {
      const index = first + packet;
      const rollover = Math.floor(index / SEQUENCE_SPAN) >>> 0;
      const sequence = index % SEQUENCE_SPAN;
      // IV = (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16); the last two bytes count blocks.
      for (let block = 0; block < blocks; block++) {
        const offset = (packet * blocks + block) * BLOCK;
        counters.fill(0, offset, offset + 4);
        counters.writeUInt32BE(ssrc, offset + 4);
        counters.writeUInt32BE(rollover, offset + 8);
        counters.writeUInt16BE(sequence, offset + 12);
        counters.writeUInt16BE(block, offset + 14);
        for (let i = 0; i < SALT_BYTES; i++) counters[offset + i]! ^= this.#salt[i]!;
      }
    }
    return { first, blocks, bytes: this.#keystream.update(counters.subarray(0, bytes)) };
  }
}

/** RFC 3711 Appendix A: the ROC of a received sequence number, from the highest one seen. */
function guessRollover(stream: StreamIndex, sequence: number): number {
  const { sequence: last, rollover } = stream;
  if (last < 0x8000) {
    return sequence - last > 0x8000 ? (rollover - 1) >>> 0 : rollover;
  }
  return last - 0x8000 > sequence ? (rollover + 1) >>> 0 : rollover;
}
