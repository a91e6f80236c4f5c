/*
 * The SipBackend contract: what every SIP backend does, exercised against a
 * real SIP peer on 127.0.0.1. The far end is an EmbeddedSipBackend of its own
 * (real SIP over UDP): the test drives it to ring, answer, refuse, cancel, hang
 * up and re-INVITE, and reads the SIP it received from its trace.
 *
 * Run it for a backend with `describeSipBackendContract(name, factory)`.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutgoingInvite, SipBackend, SipBackendEvents } from '../../src/network/sip-backend.js';
import type { SipMessage } from '../../src/sip/message/message.js';
import { EmbeddedSipBackend } from '../../src/sip/ua/embedded-sip-backend.js';
import { phoneNumberUri, type SipHost, type SipUri, sipDisplayName } from '../../src/sip/uri.js';
import { startTestRegistrar, type TestRegistrar } from './support/test-registrar.js';

/** Where the far end (and a registrar) is, for the factory to point the backend at. */
export interface SipContractEnvironment {
  /** The far end's SIP address (UDP); outgoing INVITEs go to `sip:<number>@address:port`. */
  peer: { address: string; port: number };
  registrar: { uri: string; credentials: { username: string; password: string } };
}

/** A backend under test, started by a factory for one environment. */
export interface SipBackendUnderTest {
  backend: SipBackend;
  /** Where the far end sends INVITEs to reach this backend (UDP). */
  address: { host: string; port: number };
  /** Resolves true once nothing of the backend is left open (sockets, connections) after `backend.close()`. */
  freed(): Promise<boolean>;
}

/** Settings a case asks of the factory beyond the environment. */
export interface SipBackendSettings {
  /** `SIP_OUTBOUND_PROXY`: every out-of-dialog request goes there, whatever its Request-URI. */
  outboundProxy?: string;
}

export type SipBackendFactory = (
  env: SipContractEnvironment,
  settings?: SipBackendSettings,
) => Promise<SipBackendUnderTest>;

export interface SipBackendContractOptions {
  /** Whether the backend sends REGISTER (with digest auth) to a configured registrar. */
  registers: boolean;
}

type EventName = keyof SipBackendEvents;
type Recorded = { [K in EventName]: { name: K; payload: SipBackendEvents[K] } }[EventName];

const EVENT_NAMES: EventName[] = [
  'invite',
  'provisional',
  'answered',
  'failed',
  'cancelled',
  'bye',
  'reinvite',
  'registrationLost',
];

/** Every event of a backend, in order, with a way to wait for one. */
class EventLog {
  readonly events: Recorded[] = [];
  readonly #offs: Array<() => void>;

  constructor(backend: SipBackend) {
    this.#offs = EVENT_NAMES.map((name) =>
      backend.on(name, (payload) => this.events.push({ name, payload } as Recorded)),
    );
  }

  of<K extends EventName>(name: K, callId?: string): Array<SipBackendEvents[K]> {
    return this.events
      .filter((e) => e.name === name)
      .map((e) => e.payload as SipBackendEvents[K])
      .filter((p) => callId === undefined || (p as { callId?: string }).callId === callId);
  }

  /** Event names of one call, in order. */
  flow(callId: string): string[] {
    return this.events
      .filter((e) => (e.payload as { callId?: string }).callId === callId)
      .map((e) => (e.name === 'provisional' ? `provisional ${e.payload.status}` : e.name));
  }

  async next<K extends EventName>(name: K, callId: string, timeoutMs = 8_000): Promise<SipBackendEvents[K]> {
    await until(() => this.of(name, callId).length > 0, `${name} on ${callId}`, timeoutMs);
    return this.of(name, callId)[0]!;
  }

  stop(): void {
    for (const off of this.#offs) off();
  }
}

async function until(predicate: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const DOMAIN = 'gateway.test' as SipHost;
const CALLER = '+15550000001';
const CALLEE = '+15550000002';

/** A plain audio offer/answer (PCMU) with a direction attribute. */
function audioSdp(port: number, direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive'): string {
  const id = BigInt(`0x${randomBytes(6).toString('hex')}`).toString();
  return [
    'v=0',
    `o=- ${id} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    `a=${direction}`,
    '',
  ].join('\r\n');
}

/** A raw INVITE from 127.0.0.1:{port} with one part made hostile; `{port}` is filled in by the sender. */
function hostileInvite(callId: string, bad: { from?: string; via?: string; contentLength?: string }): string {
  const sdp = audioSdp(44_000, 'sendrecv');
  return [
    `INVITE sip:${CALLER}@127.0.0.1;user=phone SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK${randomBytes(8).toString('hex')};rport${bad.via ?? ''}`,
    'Max-Forwards: 70',
    `From: ${bad.from ?? `<sip:${CALLEE}@gateway.test;user=phone>;tag=h1`}`,
    `To: <sip:${CALLER}@gateway.test;user=phone>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    'Contact: <sip:mallory@127.0.0.1:{port}>',
    'Content-Type: application/sdp',
    `Content-Length: ${bad.contentLength ?? Buffer.byteLength(sdp)}`,
    '',
    sdp,
  ].join('\r\n');
}

const newCallId = (what: string) => `${what}-${randomBytes(6).toString('hex')}@contract.test`;

export function describeSipBackendContract(
  name: string,
  factory: SipBackendFactory,
  options: SipBackendContractOptions = { registers: true },
): void {
  describe(`SipBackend contract: ${name}`, () => {
    let peer: EmbeddedSipBackend;
    let registrar: TestRegistrar;
    let env: SipContractEnvironment;
    let subject: SipBackendUnderTest;
    let backend: SipBackend;
    let log: EventLog;
    let peerLog: EventLog;
    /** What the far end sent and received. */
    const peerTrace: Array<{ direction: 'in' | 'out'; message: SipMessage }> = [];

    const requests = (direction: 'in' | 'out', callId: string, method: string) =>
      peerTrace
        .filter((t) => t.direction === direction)
        .map((t) => t.message)
        .filter((m) => m.kind === 'request' && m.method === method && m.headers.get('call-id') === callId);
    /** Requests the far end received on a call. */
    const received = (callId: string, method: string) => requests('in', callId, method);

    beforeAll(async () => {
      peer = await EmbeddedSipBackend.start({
        listen: ['udp:127.0.0.1:0'],
        trustedPeers: ['127.0.0.0/8'],
        // The far end leaves session refreshes to the backend under test.
        sessionExpiresSeconds: 0,
      });
      peer.onTrace((direction, message) => peerTrace.push({ direction, message }));
      registrar = await startTestRegistrar();
      const udp = peer.listening.find((l) => l.protocol === 'udp')!;
      env = {
        peer: { address: udp.address, port: udp.port },
        registrar: { uri: registrar.uri, credentials: registrar.credentials },
      };
      subject = await factory(env);
      backend = subject.backend;
    });

    afterAll(async () => {
      await backend?.close();
      await peer?.close();
      await registrar?.close();
    });

    beforeAll(() => {
      log = new EventLog(backend);
      peerLog = new EventLog(peer);
    });
    afterEach(() => {
      log.events.length = 0;
      peerLog.events.length = 0;
    });

    /** An outgoing call from the backend to the far end. */
    const outgoing = (callId: string, sdp = audioSdp(40_000, 'sendrecv')): OutgoingInvite => ({
      callId,
      requestUri: `sip:${CALLEE}@${env.peer.address}:${env.peer.port};user=phone` as SipUri,
      from: { uri: phoneNumberUri(CALLER, DOMAIN), displayName: sipDisplayName('Alice "A" Caller') },
      to: { uri: `sip:${CALLEE}@${env.peer.address};user=phone` as SipUri },
      sdp,
    });

    /** An INVITE from the far end to the backend. */
    const incoming = (callId: string, sdp = audioSdp(42_000, 'sendrecv')): OutgoingInvite => ({
      callId,
      requestUri: `sip:${CALLER}@${subject.address.host}:${subject.address.port};user=phone` as SipUri,
      from: { uri: phoneNumberUri(CALLEE, DOMAIN), displayName: sipDisplayName('Bob') },
      to: { uri: phoneNumberUri(CALLER, DOMAIN) },
      sdp,
    });

    /** Places a call from the backend and has the far end answer it straight away. */
    async function establishOutgoing(callId: string): Promise<void> {
      await backend.invite(outgoing(callId));
      await peerLog.next('invite', callId);
      await peer.answer(callId, { status: 200, sdp: audioSdp(41_000, 'sendrecv') });
      await log.next('answered', callId);
      await until(() => received(callId, 'ACK').length > 0, 'the ACK at the far end');
    }

    /** Has the far end call the backend, which answers. */
    async function establishIncoming(callId: string): Promise<void> {
      await peer.invite(incoming(callId));
      await log.next('invite', callId);
      await backend.answer(callId, { status: 200, sdp: audioSdp(43_000, 'sendrecv') });
      await peerLog.next('answered', callId);
    }

    // ============================================================ outgoing calls

    it('an outgoing INVITE carries the offer and the validated From/To, is PRACKed through reliable 180 and 183, and is answered', async () => {
      const callId = newCallId('answered');
      const offer = audioSdp(40_002, 'sendrecv');
      await backend.invite(outgoing(callId, offer));
      const invite = await peerLog.next('invite', callId);
      expect(invite.sdp).toBe(offer);
      expect(invite.from).toMatchObject({ uri: phoneNumberUri(CALLER, DOMAIN) });
      expect(invite.from.displayName).toContain('Alice');
      expect(invite.requestUri).toContain(CALLEE);

      // The far end supports 100rel only when the backend said it does (RFC 3262 §3); then it PRACKs.
      await peer.answer(callId, { status: 180 });
      await log.next('provisional', callId);
      const early = audioSdp(41_002, 'sendrecv');
      await peer.answer(callId, { status: 183, sdp: early });
      await until(() => log.of('provisional', callId).length === 2, 'the 183');
      await until(() => received(callId, 'PRACK').length === 2, 'two PRACKs at the far end');
      const rack = received(callId, 'PRACK').map((m) => m.headers.get('rack')?.split(/\s+/)[0]);
      expect(new Set(rack).size).toBe(2);

      const answer = audioSdp(41_004, 'sendrecv');
      await peer.answer(callId, { status: 200, sdp: answer });
      const answered = await log.next('answered', callId);
      expect(answered.sdp).toBe(answer);
      await until(() => received(callId, 'ACK').length > 0, 'the ACK');
      expect(log.of('provisional', callId)).toMatchObject([{ status: 180 }, { status: 183, sdp: early }]);
      expect(log.flow(callId)).toEqual(['provisional 180', 'provisional 183', 'answered']);
      await backend.bye(callId);
      await peerLog.next('bye', callId);
    });

    it.each([
      [486, 'Busy Here'],
      [603, 'Decline'],
      [404, 'Not Found'],
    ])('a final %i to an outgoing INVITE is `failed` with its status and reason', async (status, reason) => {
      const callId = newCallId(`failed-${status}`);
      await backend.invite(outgoing(callId));
      await peerLog.next('invite', callId);
      await peer.reject(callId, { status, reason });
      const failed = await log.next('failed', callId);
      expect(failed).toEqual({ callId, status, reason });
      // The far end got its ACK (non-2xx ACK is hop by hop, §17.1.1.3): no retransmissions follow.
      await until(() => received(callId, 'ACK').length > 0, 'the ACK of the failure');
      expect(log.flow(callId)).toEqual(['failed']);
    });

    it('cancel before the answer ends the call with `failed` 487', async () => {
      const callId = newCallId('cancel');
      await backend.invite(outgoing(callId));
      await peerLog.next('invite', callId);
      await peer.answer(callId, { status: 180 });
      await log.next('provisional', callId);
      await backend.cancel(callId);
      await peerLog.next('cancelled', callId);
      const failed = await log.next('failed', callId);
      expect(failed).toMatchObject({ callId, status: 487 });
      expect(received(callId, 'CANCEL')).toHaveLength(1);
      expect(log.flow(callId)).toEqual(['provisional 180', 'failed']);
    });

    it('bye ends an answered outgoing call; the far end sees BYE', async () => {
      const callId = newCallId('local-bye');
      await establishOutgoing(callId);
      await backend.bye(callId);
      await peerLog.next('bye', callId);
      expect(received(callId, 'BYE')).toHaveLength(1);
      expect(log.of('bye', callId)).toEqual([]);
    });

    it('a BYE from the far end is a `bye` event', async () => {
      const callId = newCallId('remote-bye');
      await establishOutgoing(callId);
      await peer.bye(callId);
      expect(await log.next('bye', callId)).toEqual({ callId });
      expect(log.flow(callId)).toEqual(['answered', 'bye']);
    });

    it('reinvite puts the far end on hold and back, resolving with its SDP answers', async () => {
      const callId = newCallId('local-reinvite');
      await establishOutgoing(callId);

      const holding = backend.reinvite(callId, { sdp: audioSdp(40_010, 'sendonly') });
      const hold = await peerLog.next('reinvite', callId);
      expect(hold.hold).toBe(true);
      const onHold = audioSdp(41_010, 'recvonly');
      await peer.answer(callId, { status: 200, sdp: onHold });
      expect(await holding).toEqual({ sdp: onHold });

      peerLog.events.length = 0;
      const resuming = backend.reinvite(callId, { sdp: audioSdp(40_010, 'sendrecv') });
      const resume = await peerLog.next('reinvite', callId);
      expect(resume.hold).toBe(false);
      const resumed = audioSdp(41_010, 'sendrecv');
      await peer.answer(callId, { status: 200, sdp: resumed });
      expect(await resuming).toEqual({ sdp: resumed });
      expect(received(callId, 'INVITE')).toHaveLength(3);
      await backend.bye(callId);
    });

    it('a re-INVITE from the far end is a `reinvite` event (hold true, then false), answered with 200 and SDP', async () => {
      const callId = newCallId('remote-reinvite');
      await establishOutgoing(callId);

      const holding = peer.reinvite(callId, { sdp: audioSdp(41_020, 'sendonly') });
      const hold = await log.next('reinvite', callId);
      expect(hold.hold).toBe(true);
      expect(hold.sdp).toContain('a=sendonly');
      const heldAnswer = audioSdp(40_020, 'recvonly');
      await backend.answer(callId, { status: 200, sdp: heldAnswer });
      expect(await holding).toEqual({ sdp: heldAnswer });

      log.events.length = 0;
      const resuming = peer.reinvite(callId, { sdp: audioSdp(41_020, 'sendrecv') });
      const resume = await log.next('reinvite', callId);
      expect(resume.hold).toBe(false);
      const resumedAnswer = audioSdp(40_020, 'sendrecv');
      await backend.answer(callId, { status: 200, sdp: resumedAnswer });
      expect(await resuming).toEqual({ sdp: resumedAnswer });
      await peer.bye(callId);
      await log.next('bye', callId);
    });

    // ============================================================ incoming calls

    it('an incoming INVITE is an `invite` event; answer sends reliable 180, 183 with SDP and 200 with the answer', async () => {
      const callId = newCallId('incoming');
      const offer = audioSdp(42_002, 'sendrecv');
      await peer.invite(incoming(callId, offer));
      const invite = await log.next('invite', callId);
      expect(invite).toMatchObject({ callId, sdp: offer });
      expect(invite.requestUri).toContain(CALLER);
      expect(invite.from.uri).toBe(phoneNumberUri(CALLEE, DOMAIN));
      expect(invite.from.displayName).toBe('Bob');
      expect(invite.to.uri).toBe(phoneNumberUri(CALLER, DOMAIN));

      await backend.answer(callId, { status: 180 });
      await peerLog.next('provisional', callId);
      const early = audioSdp(43_002, 'sendrecv');
      await backend.answer(callId, { status: 183, sdp: early });
      await until(() => peerLog.of('provisional', callId).length === 2, 'the 183 at the far end');
      expect(peerLog.of('provisional', callId)).toMatchObject([{ status: 180 }, { status: 183, sdp: early }]);
      // Both were sent reliably (Require: 100rel, RSeq): the far end PRACKed each (RFC 3262 §3).
      await until(() => requests('out', callId, 'PRACK').length === 2, 'two PRACKs from the far end');
      const answer = audioSdp(43_004, 'sendrecv');
      await backend.answer(callId, { status: 200, sdp: answer });
      expect(await peerLog.next('answered', callId)).toEqual({ callId, sdp: answer });
      expect(log.flow(callId)).toEqual(['invite']);
      await peer.bye(callId);
      await log.next('bye', callId);
    });

    it('reject answers an incoming INVITE with its status', async () => {
      const callId = newCallId('reject');
      await peer.invite(incoming(callId));
      await log.next('invite', callId);
      await backend.reject(callId, { status: 486 });
      expect(await peerLog.next('failed', callId)).toMatchObject({ callId, status: 486 });

      const declined = newCallId('decline');
      await peer.invite(incoming(declined));
      await log.next('invite', declined);
      await backend.reject(declined, { status: 603, reason: 'Decline' });
      expect(await peerLog.next('failed', declined)).toEqual({
        callId: declined,
        status: 603,
        reason: 'Decline',
      });
    });

    it('a CANCEL from the far end is a `cancelled` event and the INVITE ends with 487', async () => {
      const callId = newCallId('remote-cancel');
      await peer.invite(incoming(callId));
      await log.next('invite', callId);
      await backend.answer(callId, { status: 180 });
      await peerLog.next('provisional', callId);
      await peer.cancel(callId);
      expect(await log.next('cancelled', callId)).toEqual({ callId });
      expect(await peerLog.next('failed', callId)).toMatchObject({ callId, status: 487 });
      expect(log.flow(callId)).toEqual(['invite', 'cancelled']);
    });

    it('bye ends an answered incoming call; a BYE from the far end is a `bye` event', async () => {
      const local = newCallId('incoming-local-bye');
      await establishIncoming(local);
      await backend.bye(local);
      await peerLog.next('bye', local);

      const remote = newCallId('incoming-remote-bye');
      await establishIncoming(remote);
      await peer.bye(remote);
      expect(await log.next('bye', remote)).toEqual({ callId: remote });
    });

    it('a re-INVITE from the backend on an incoming call reaches the far end (hold both ways)', async () => {
      const callId = newCallId('incoming-reinvite');
      await establishIncoming(callId);
      const holding = backend.reinvite(callId, { sdp: audioSdp(43_010, 'inactive') });
      expect((await peerLog.next('reinvite', callId)).hold).toBe(true);
      const answer = audioSdp(42_010, 'inactive');
      await peer.answer(callId, { status: 200, sdp: answer });
      expect(await holding).toEqual({ sdp: answer });

      const resuming = peer.reinvite(callId, { sdp: audioSdp(42_010, 'sendrecv') });
      expect((await log.next('reinvite', callId)).hold).toBe(false);
      const resumed = audioSdp(43_010, 'sendrecv');
      await backend.answer(callId, { status: 200, sdp: resumed });
      expect(await resuming).toEqual({ sdp: resumed });
      await backend.bye(callId);
      await peerLog.next('bye', callId);
    });

    // ============================================================ misuse

    it('operations on an unknown Call-ID reject or do nothing, and the backend keeps serving', async () => {
      await expect(
        backend.answer('nobody@contract.test', { status: 200, sdp: audioSdp(1, 'sendrecv') }),
      ).rejects.toThrow();
      await expect(
        backend.reinvite('nobody@contract.test', { sdp: audioSdp(1, 'sendrecv') }),
      ).rejects.toThrow();
      await expect(backend.bye('nobody@contract.test')).resolves.toBeUndefined();
      await expect(backend.cancel('nobody@contract.test')).resolves.toBeUndefined();
      const callId = newCallId('after-misuse');
      await establishOutgoing(callId);
      await backend.bye(callId);
    });

    it.each([
      [
        'a From without its closing quote',
        (callId: string) => hostileInvite(callId, { from: '"Mallory <sip:+15550000003@evil.test>;tag=1' }),
      ],
      ['a non-numeric Content-Length', (callId: string) => hostileInvite(callId, { contentLength: 'abc' })],
    ])(
      'an INVITE with %s is refused (4xx) or dropped, raises no event, and the backend keeps serving',
      async (_, build) => {
        const callId = newCallId('hostile');
        const socket = createSocket('udp4');
        const statuses: number[] = [];
        socket.on('message', (data) => {
          const status = /^SIP\/2\.0 (\d{3})/.exec(data.toString('latin1'))?.[1];
          if (status !== undefined) statuses.push(Number(status));
        });
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
        try {
          const raw = build(callId).replaceAll('{port}', String(socket.address().port));
          socket.send(Buffer.from(raw, 'latin1'), subject.address.port, subject.address.host);
          // A final answer, if any, comes within a second on loopback; silence means it was dropped.
          await until(() => statuses.some((s) => s >= 400), 'a refusal', 1_000).catch(() => {});
          expect(statuses.filter((s) => s >= 200 && s < 400)).toEqual([]);
          expect(log.of('invite', callId)).toEqual([]);
        } finally {
          socket.close();
        }
        const after = newCallId('after-hostile');
        await establishIncoming(after);
        await backend.bye(after);
      },
    );

    it('an INVITE whose Via carries __proto__ and constructor parameters is an ordinary call (legal SIP, no prototype games)', async () => {
      const callId = newCallId('proto');
      const socket = createSocket('udp4');
      const statuses: number[] = [];
      socket.on('message', (data) => {
        const status = /^SIP\/2\.0 (\d{3})/.exec(data.toString('latin1'))?.[1];
        if (status !== undefined) statuses.push(Number(status));
      });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      try {
        const raw = hostileInvite(callId, { via: ';__proto__=1;constructor=2;toString=3' }).replaceAll(
          '{port}',
          String(socket.address().port),
        );
        socket.send(Buffer.from(raw, 'latin1'), subject.address.port, subject.address.host);
        const invite = await log.next('invite', callId);
        expect(invite.from.uri).toBe(`sip:${CALLEE}@gateway.test;user=phone`);
        await backend.reject(callId, { status: 488 });
        await until(() => statuses.includes(488), 'the 488');
      } finally {
        socket.close();
      }
    });

    // ============================================================ registration

    it.skipIf(!options.registers)(
      'register sends REGISTER with digest credentials, and expires 0 removes the binding',
      async () => {
        const aor = phoneNumberUri('+15550000010', DOMAIN);
        const before = registrar.challenged();
        await backend.register({ aor, expiresSeconds: 600 });
        expect(registrar.challenged()).toBeGreaterThan(before);
        const binding = registrar.accepted.at(-1)!;
        expect(binding.aor).toBe(aor);
        expect(binding.expires).toBeGreaterThan(0);
        expect(binding.contact).toMatch(/^<?sips?:/);

        await backend.register({ aor, expiresSeconds: 0 });
        expect(registrar.accepted.at(-1)).toMatchObject({ aor, expires: 0 });
      },
    );

    it.skipIf(!options.registers)('register rejects when the registrar refuses the binding', async () => {
      registrar.refused.add('+15550000011');
      await expect(
        backend.register({ aor: phoneNumberUri('+15550000011', DOMAIN), expiresSeconds: 600 }),
      ).rejects.toThrow();
    });

    it.skipIf(!options.registers)(
      'a binding is refreshed before the granted time runs out, and a refused refresh is `registrationLost`',
      async () => {
        const number = '+15550000012';
        const aor = phoneNumberUri(number, DOMAIN);
        registrar.grantSeconds.set(number, 2);
        const before = registrar.accepted.length;
        await backend.register({ aor, expiresSeconds: 600 });
        // Granted 2 s: the refresh comes well before they are up (at 80%).
        await until(() => registrar.accepted.length >= before + 2, 'the refresh', 3_000);
        expect(registrar.accepted.slice(before).every((b) => b.aor === aor && b.expires > 0)).toBe(true);
        registrar.refused.add(number);
        await until(() => log.of('registrationLost').length > 0, 'registrationLost', 4_000);
        expect(log.of('registrationLost')).toEqual([{ aor }]);
      },
    );

    // ============================================================ outbound proxy

    it('with an outbound proxy, an INVITE for a domain nobody resolves goes to the proxy and the call works', async () => {
      const proxied = await factory(env, { outboundProxy: `sip:${env.peer.address}:${env.peer.port}` });
      const proxiedLog = new EventLog(proxied.backend);
      try {
        const callId = newCallId('proxy');
        // `.invalid` never resolves (RFC 2606): only the proxy can carry this call.
        const requestUri = `sip:${CALLEE}@tn.operator.invalid;user=phone` as SipUri;
        await proxied.backend.invite({ ...outgoing(callId), requestUri, to: { uri: requestUri } });
        const invite = await peerLog.next('invite', callId);
        expect(invite.requestUri).toBe(requestUri);
        const answer = audioSdp(41_040, 'sendrecv');
        await peer.answer(callId, { status: 200, sdp: answer });
        expect(await proxiedLog.next('answered', callId)).toEqual({ callId, sdp: answer });
        await proxied.backend.bye(callId);
        await peerLog.next('bye', callId);
      } finally {
        proxiedLog.stop();
        await proxied.backend.close();
      }
    });

    // ============================================================ closing

    it('closing frees everything: operations reject afterwards and nothing stays open', async () => {
      const other = await factory(env);
      const otherLog = new EventLog(other.backend);
      const callId = newCallId('close');
      await other.backend.invite(outgoing(callId));
      await peerLog.next('invite', callId);
      await peer.answer(callId, { status: 200, sdp: audioSdp(41_030, 'sendrecv') });
      await otherLog.next('answered', callId);
      otherLog.stop();
      await other.backend.close();
      await other.backend.close(); // closing twice is harmless
      await expect(other.backend.invite(outgoing(newCallId('closed')))).rejects.toThrow();
      expect(await other.freed()).toBe(true);
      // The far end's call is left to it: its BYE goes nowhere and times out in the background.
      void peer.bye(callId).catch(() => {});
    });
  });
}
