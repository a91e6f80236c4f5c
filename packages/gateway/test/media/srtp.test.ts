import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProtectionProfileAes128CmHmacSha1_80, RtpHeader, SrtpSession } from 'werift';
import { writeRtpPacket } from '../../src/media/rtp-packet.js';
import { SRTP_AUTH_TAG_BYTES, SrtpAesCm128HmacSha1 } from '../../src/media/srtp/aes-cm-hmac-sha1.js';

const masterKey = Buffer.from('E1F97A0D3E018BE0D64FA32C06DE4139', 'hex');
const masterSalt = Buffer.from('0EC675AD498AFEEBB6960B3AABE6', 'hex');

/** werift's own SRTP session with the same keys both ways: the independent implementation to agree with. */
function weriftSession(): SrtpSession {
  return new SrtpSession({
    keys: {
      localMasterKey: masterKey,
      localMasterSalt: masterSalt,
      remoteMasterKey: masterKey,
      remoteMasterSalt: masterSalt,
    },
    profile: ProtectionProfileAes128CmHmacSha1_80,
  });
}

function rtp(sequence: number, payload: Buffer, ssrc = 0x1234_5678): Buffer {
  return writeRtpPacket(
    { marker: false, payloadType: 0, sequence, timestamp: sequence * 160, ssrc },
    payload,
  );
}

/** `packet` copied into a buffer with room for the tag, as `protect` wants it. */
function withTagRoom(packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length + SRTP_AUTH_TAG_BYTES);
  packet.copy(out);
  return out;
}

describe('SRTP AES_CM_128_HMAC_SHA1_80 (RFC 3711)', () => {
  it('encrypts exactly as werift does, and werift decrypts it', () => {
    const ours = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const theirs = weriftSession();
    for (const sequence of [1, 2, 3, 500]) {
      const payload = randomBytes(160);
      const plain = rtp(sequence, payload);
      const header = RtpHeader.deSerialize(plain);
      const expected = theirs.encrypt(payload, header);
      const protectedPacket = ours.protect(withTagRoom(plain), plain.length);
      expect(protectedPacket.toString('hex')).toBe(expected.toString('hex'));
      expect(Buffer.from(theirs.decrypt(Buffer.from(protectedPacket))).equals(plain)).toBe(true);
    }
  });

  it('agrees with werift on packets of every size, shorter and longer than the last (its HMAC input grows)', () => {
    const ours = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const receiver = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const theirs = weriftSession();
    for (const [i, size] of [0, 1, 160, 1200, 20, 320, 1400].entries()) {
      const payload = randomBytes(size);
      const plain = rtp(i + 1, payload);
      const expected = theirs.encrypt(payload, RtpHeader.deSerialize(plain));
      const protectedPacket = ours.protect(withTagRoom(plain), plain.length);
      expect(protectedPacket.toString('hex')).toBe(expected.toString('hex'));
      expect(receiver.unprotect(Buffer.from(expected))?.equals(plain)).toBe(true);
    }
  });

  it('decrypts what werift encrypts, in place', () => {
    const ours = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const theirs = weriftSession();
    const payload = randomBytes(172);
    const plain = rtp(7, payload);
    const encrypted = theirs.encrypt(payload, RtpHeader.deSerialize(plain));
    expect(encrypted.subarray(12, 12 + payload.length).equals(payload)).toBe(false);
    const decrypted = ours.unprotect(Buffer.from(encrypted));
    expect(decrypted?.equals(plain)).toBe(true);
  });

  it('drops a packet whose payload or tag was altered, and a truncated one', () => {
    const sender = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const receiver = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const plain = rtp(10, randomBytes(160));
    const packet = Buffer.from(sender.protect(withTagRoom(plain), plain.length));
    const flippedPayload = Buffer.from(packet);
    flippedPayload[40]! ^= 1;
    const flippedTag = Buffer.from(packet);
    flippedTag[flippedTag.length - 1]! ^= 1;
    expect(receiver.unprotect(flippedPayload)).toBeUndefined();
    expect(receiver.unprotect(flippedTag)).toBeUndefined();
    expect(receiver.unprotect(packet.subarray(0, 15))).toBeUndefined();
    expect(receiver.unprotect(packet)?.equals(plain)).toBe(true);
  });

  it('carries the rollover counter across a sequence number wrap both ways', () => {
    const sender = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const receiver = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const theirs = weriftSession();
    for (const sequence of [65_533, 65_534, 65_535, 0, 1, 2]) {
      const payload = randomBytes(160);
      const plain = rtp(sequence, payload);
      const packet = sender.protect(withTagRoom(plain), plain.length);
      // werift tracks the ROC the same way: after the wrap, both authenticate with ROC 1.
      expect(packet.toString('hex')).toBe(
        theirs.encrypt(payload, RtpHeader.deSerialize(plain)).toString('hex'),
      );
      expect(receiver.unprotect(Buffer.from(packet))?.equals(plain)).toBe(true);
    }
  });

  it('keeps streams of different SSRCs apart', () => {
    const sender = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const receiver = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const a = rtp(100, randomBytes(160), 1);
    const b = rtp(100, randomBytes(160), 2);
    const protectedA = Buffer.from(sender.protect(withTagRoom(a), a.length));
    const protectedB = Buffer.from(sender.protect(withTagRoom(b), b.length));
    expect(protectedA.subarray(12).equals(protectedB.subarray(12))).toBe(false);
    expect(receiver.unprotect(protectedB)?.equals(b)).toBe(true);
    expect(receiver.unprotect(protectedA)?.equals(a)).toBe(true);
  });

  it('keystreams made for the packets ahead agree with werift through loss, reordering, a wrap, a larger payload and two SSRCs', () => {
    const sender = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const receiver = new SrtpAesCm128HmacSha1(masterKey, masterSalt);
    const theirs = weriftSession();
    // SSRC 1 wraps inside one batch of keystream, then jumps past it; SSRC 2 runs between its packets.
    const sent: { plain: Buffer; packet: Buffer }[] = [];
    const plan: [ssrc: number, sequence: number, size: number][] = [
      [1, 65_526, 160],
      [2, 10, 160],
      [1, 65_527, 160],
      [1, 65_529, 160], // 65_528 lost
      [2, 11, 1_200], // more blocks than its batch was made for
      [1, 65_535, 172],
      [1, 0, 160],
      [2, 12, 20],
      [1, 1, 1_400],
      [1, 2, 160],
      [1, 300, 160], // far past the batch
      [2, 13, 160],
      [1, 301, 0],
      [1, 302, 160],
    ];
    for (const [ssrc, sequence, size] of plan) {
      const payload = randomBytes(size);
      const plain = rtp(sequence, payload, ssrc);
      const packet = Buffer.from(sender.protect(withTagRoom(plain), plain.length));
      expect(packet.toString('hex')).toBe(
        theirs.encrypt(payload, RtpHeader.deSerialize(plain)).toString('hex'),
      );
      sent.push({ plain, packet });
    }
    // Received with each pair swapped: every packet of a batch but the first arrives before the one ahead of it.
    const order = sent.map((_, i) => (i % 2 === 0 ? Math.min(i + 1, sent.length - 1) : i - 1));
    for (const i of order) {
      expect(receiver.unprotect(Buffer.from(sent[i]!.packet))?.equals(sent[i]!.plain)).toBe(true);
    }
  });

  it('refuses keys of the wrong size', () => {
    expect(() => new SrtpAesCm128HmacSha1(masterKey.subarray(0, 15), masterSalt)).toThrow(/16-byte/);
  });
});
