import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { getPriority } from 'node:os';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkNicePermitted,
  checkWebRtcSdp,
  createThreadedWeriftMediaBackend,
  createWeriftMediaBackend,
  parseSdp,
  realtimePriority,
  type ThreadedWeriftMediaBackend,
  type WeriftMediaBackend,
  type WeriftMediaEndpoint,
} from '../../src/index.js';
import { WeriftDevice } from '../../src/testing/index.js';
import {
  type Cleanups,
  DEVICE_TONE,
  expectTone,
  expectTonesBothWays,
  mayRunRealtime,
  openInboundCall,
  openLateOfferCall,
  openOutboundCall,
  payloadTypeOf,
  portOf,
  waitFor,
} from './media-calls.js';
import { describeMediaBackendContract } from './media-contract.js';

describeMediaBackendContract(
  'werift',
  async (config) =>
    createWeriftMediaBackend({
      bindAddress: config.address,
      rtpPortMin: config.rtpPortMin,
      rtpPortMax: config.rtpPortMax,
    }),
  { rtpPortMin: 47_100, rtpPortMax: 47_299 },
);

describeMediaBackendContract(
  'werift on worker threads',
  async (config) =>
    createThreadedWeriftMediaBackend({
      threads: 2,
      bindAddress: config.address,
      rtpPortMin: config.rtpPortMin,
      rtpPortMax: config.rtpPortMax,
    }),
  { rtpPortMin: 48_200, rtpPortMax: 48_399 },
);

describe('werift on worker threads: beyond the contract', () => {
  let backend: ThreadedWeriftMediaBackend;
  const cleanups: Cleanups = [];
  // 20 calls' ports: the first thread relays on 48400-48439, the second on 48440-48479.
  beforeEach(() => {
    backend = createThreadedWeriftMediaBackend({ threads: 2, rtpPortMin: 48_400, rtpPortMax: 48_479 });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    await backend.close();
  });

  it('spreads calls over the threads, each on its share of the ports', async () => {
    // start() runs every thread ahead of the first call.
    expect(await backend.threadDiagnostics()).toEqual([]);
    await backend.start();
    expect(await backend.threadDiagnostics()).toHaveLength(2);
    const first = await openOutboundCall(backend, cleanups);
    const second = await openOutboundCall(backend, cleanups);
    const ports = [portOf(first.rtpSdp), portOf(second.rtpSdp)].sort();
    expect(ports[0]).toBeGreaterThanOrEqual(48_400);
    expect(ports[0]).toBeLessThan(48_440);
    expect(ports[1]).toBeGreaterThanOrEqual(48_440);
    expect(ports[1]).toBeLessThan(48_480);
    await expectTonesBothWays(first, 'first thread');
    await expectTonesBothWays(second, 'second thread');
    expect(backend.stats()).toMatchObject({ endpoints: 2, webRtcTransports: 2 });
    // Each running thread reports its own garbage collections and waits for a core.
    const before = await backend.threadDiagnostics();
    const after = await backend.threadDiagnostics();
    expect(after).toHaveLength(2);
    for (const [i, thread] of after.entries()) {
      expect(thread.gcTotalMs).toBeGreaterThanOrEqual(thread.gcMaxMs);
      expect(thread.gcCount).toBeGreaterThanOrEqual(before[i]!.gcCount);
      expect(thread.runDelayMs).toBeGreaterThanOrEqual(before[i]!.runDelayMs);
    }
  });

  it('a thread that ends fails its calls (once each), leaves the others, and the next call starts it again', async () => {
    const lost = await openOutboundCall(backend, cleanups);
    const kept = await openOutboundCall(backend, cleanups);
    const reasons: string[] = [];
    lost.endpoint.onFailure?.((reason) => reasons.push(reason));
    kept.endpoint.onFailure?.((reason) => reasons.push(`kept: ${reason}`));
    // The first call went to the first thread (both were idle).
    await backend.terminateThread(0);
    await waitFor(() => reasons.length > 0, 'the failure of the lost call');
    expect(reasons).toEqual(['the media thread ended']);
    await expect(lost.endpoint.hold(true)).rejects.toThrow(/closed/);
    await lost.endpoint.close();
    await expectTonesBothWays(kept, 'the other thread');
    const again = await openOutboundCall(backend, cleanups);
    expect(portOf(again.rtpSdp)).toBeLessThan(48_440);
    await expectTonesBothWays(again, 'the restarted thread');
    expect(reasons).toEqual(['the media thread ended']);
  });

  it('MEDIA_NICE: each media thread runs at the nice value asked for; the main thread keeps its own', async () => {
    await backend.close();
    const main = getPriority(0);
    // Raising a nice value needs no privilege (lowering one does: see the next test).
    const nice = Math.min(19, main + 5);
    backend = createThreadedWeriftMediaBackend({ threads: 2, nice, rtpPortMin: 48_400, rtpPortMax: 48_479 });
    await backend.start();
    expect((await backend.threadDiagnostics()).map((thread) => thread.nice)).toEqual([nice, nice]);
    expect(getPriority(0)).toBe(main);
    await expectTonesBothWays(await openOutboundCall(backend, cleanups), 'a thread at nice +5');
    expect(() => createThreadedWeriftMediaBackend({ threads: 1, nice: -21 })).toThrow(
      'media nice -21 must be an integer from -20 to 19',
    );
  });

  it('without the privilege to lower it: checkNicePermitted says why, and a thread asked anyway logs a warning and runs at the nice value it has', async () => {
    // Run as a process that may not lower a nice value: when this one may, without CAP_SYS_NICE
    // (setpriv, util-linux); otherwise (not root, or a container without it) as it is.
    const own = getPriority(0);
    // Below this process's own nice value, which the child starts with.
    const target = Math.max(-20, own - 5);
    const script = `
      import { checkNicePermitted, createThreadedWeriftMediaBackend } from './packages/gateway/src/index.ts';
      let refusal;
      try { checkNicePermitted(${target}); } catch (error) { refusal = error.message; }
      const warnings = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (_details, message) => warnings.push(message) };
      const backend = createThreadedWeriftMediaBackend({ threads: 1, nice: ${target}, logger, rtpPortMin: 48_580, rtpPortMax: 48_599 });
      await backend.start();
      const [thread] = await backend.threadDiagnostics();
      await backend.close();
      console.log(JSON.stringify({ refusal, warnings, nice: thread.nice }));`;
    const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
    let mayLower = true;
    try {
      checkNicePermitted(own - 1);
    } catch {
      mayLower = false;
    }
    const command = mayLower ? ['setpriv', '--bounding-set=-sys_nice', ...node] : node;
    const { stdout } = await promisify(execFile)(command[0]!, command.slice(1), {
      cwd: new URL('../../../../', import.meta.url),
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      refusal?: string;
      warnings: string[];
      nice: number;
    };
    expect(result.refusal).toBe(
      `cannot run media at nice ${target} (EACCES): a value below the gateway's own (${own}) needs root or CAP_SYS_NICE`,
    );
    expect(result.warnings).toEqual([`media thread runs at nice ${own}, not ${target} (MEDIA_NICE): EACCES`]);
    expect(result.nice).toBe(own);
  });

  // Putting a thread under SCHED_RR needs root or CAP_SYS_NICE: CI runs as root.
  it.skipIf(!mayRunRealtime)(
    'MEDIA_REALTIME: each media thread runs under SCHED_RR at the priority asked for; the main thread stays a normal one',
    async () => {
      await backend.close();
      backend = createThreadedWeriftMediaBackend({
        threads: 2,
        realtime: 2,
        rtpPortMin: 48_600,
        rtpPortMax: 48_679,
      });
      await backend.start();
      expect((await backend.threadDiagnostics()).map((thread) => thread.realtime)).toEqual([2, 2]);
      expect(realtimePriority(process.pid)).toBe(0);
      await expectTonesBothWays(await openOutboundCall(backend, cleanups), 'a thread under SCHED_RR');
      expect(() => createThreadedWeriftMediaBackend({ threads: 1, realtime: 100 })).toThrow(
        'media realtime priority 100 must be an integer from 1 to 99',
      );
    },
  );

  it('MEDIA_REALTIME in a gateway process: its helper threads follow the media threads, or, without the privilege, it says why and the threads relay as normal ones', async () => {
    // A child process each time: the helper threads' scheduling is the whole process's to keep.
    const script = `
      import { createThreadedWeriftMediaBackend, realtimePriority, setHelperThreadsRealtime } from './packages/gateway/src/index.ts';
      import { readdirSync } from 'node:fs';
      let refusal;
      try { setHelperThreadsRealtime(3); } catch (error) { refusal = error.message; }
      const helpers = readdirSync('/proc/self/task').map(Number).filter((tid) => tid !== process.pid);
      const helperPriorities = [...new Set(helpers.map((tid) => realtimePriority(tid)))];
      const warnings = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (_details, message) => warnings.push(message) };
      const backend = createThreadedWeriftMediaBackend({ threads: 1, realtime: 3, logger, rtpPortMin: 48_680, rtpPortMax: 48_699 });
      await backend.start();
      const [thread] = await backend.threadDiagnostics();
      await backend.close();
      console.log(JSON.stringify({ refusal, helperPriorities, main: realtimePriority(process.pid), warnings, thread: thread.realtime }));`;
    const run = async (command: string[]) => {
      const { stdout } = await promisify(execFile)(command[0]!, command.slice(1), {
        cwd: new URL('../../../../', import.meta.url),
      });
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        refusal?: string;
        helperPriorities: number[];
        main: number;
        warnings: string[];
        thread: number;
      };
    };
    const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
    if (mayRunRealtime) {
      expect(await run(node)).toEqual({ helperPriorities: [3], main: 0, warnings: [], thread: 3 });
    }
    // Without CAP_SYS_NICE (setpriv, util-linux) when this process has it; otherwise as it is.
    const denied = await run(mayRunRealtime ? ['setpriv', '--bounding-set=-sys_nice', ...node] : node);
    expect(denied.refusal).toMatch(
      /^cannot run thread \d+ under SCHED_RR at priority 3: chrt: failed to set pid \d+'s policy: Operation not permitted; it needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO of at least that$/,
    );
    expect(denied.helperPriorities).toEqual([0]);
    expect(denied.warnings).toHaveLength(1);
    expect(denied.warnings[0]).toMatch(
      /^media thread runs as a normal thread \(MEDIA_REALTIME\): cannot run thread \d+ under SCHED_RR at priority 3: chrt: failed to set pid \d+'s policy: Operation not permitted;/,
    );
    expect(denied.thread).toBe(0);
  });

  it('MEDIA_REALTIME without the privilege: the gateway does not start its SIP side, and the ConfigError says why', async () => {
    const script = `
      import { loadConfig } from './packages/gateway/src/config/index.ts';
      import { createSipNetwork } from './packages/gateway/src/config/sip-network.ts';
      const silent = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };
      const config = loadConfig({
        DEV_KEY_FILE: '/tmp/telegate-realtime-test/none/dev.key', SIP_NETWORK: 'demo', MEDIA_REALTIME: '5', MEDIA_THREADS: '1',
        RTP_PORT_MIN: '48700', RTP_PORT_MAX: '48719',
      });
      let outcome;
      try { await (await createSipNetwork(config, { sip: silent, demo: silent }))?.close(); outcome = 'started'; }
      catch (error) { outcome = error.name + ': ' + error.message; }
      console.log(JSON.stringify({ outcome }));`;
    const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
    const command = mayRunRealtime ? ['setpriv', '--bounding-set=-sys_nice', ...node] : node;
    const { stdout } = await promisify(execFile)(command[0]!, command.slice(1), {
      cwd: new URL('../../../../', import.meta.url),
    });
    const { outcome } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { outcome: string };
    expect(outcome).toMatch(
      /^ConfigError: MEDIA_REALTIME=5: cannot run thread \d+ under SCHED_RR at priority 5: chrt: failed to set pid \d+'s policy: Operation not permitted; it needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO of at least that$/,
    );
  });

  it('refuses more threads than the port range has calls for', () => {
    expect(() =>
      createThreadedWeriftMediaBackend({ threads: 3, rtpPortMin: 48_500, rtpPortMax: 48_507 }),
    ).toThrow(/fewer than 4 ports per media thread/);
  });
});

// The built package (npm test builds it first) starts its threads from the compiled module, not through tsx.
const built = new URL('../../dist/index.js', import.meta.url);
describe.skipIf(!existsSync(built))('werift on worker threads from the built package', () => {
  it('starts its threads from dist/media/werift/media-thread.js and relays both ways', async () => {
    const { createThreadedWeriftMediaBackend: fromDist } = (await import(
      built.href
    )) as typeof import('../../src/index.js');
    const backend = fromDist({ threads: 1, rtpPortMin: 48_520, rtpPortMax: 48_539 });
    const cleanups: Cleanups = [];
    try {
      await expectTonesBothWays(await openOutboundCall(backend, cleanups), 'built threads');
    } finally {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
      await backend.close();
    }
  });
});

describe('werift media backend: beyond the contract', () => {
  // It decodes and re-encodes G.711, so it offers both laws and converts between them.
  let backend: WeriftMediaBackend;
  const cleanups: Cleanups = [];
  beforeEach(() => {
    backend = createWeriftMediaBackend({ rtpPortMin: 48_000, rtpPortMax: 48_099 });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    await backend.close();
  });

  it('offers the SIP side both G.711 laws and its own telephone-event, on an even RTP port (RFC 3550 §11)', async () => {
    const call = await openOutboundCall(backend, cleanups);
    expect(call.webrtcSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 126\r$/m);
    expect(call.rtpSdp).toMatch(/^m=audio \d+ RTP\/AVP 0 8 101\r$/m);
    expect(portOf(call.rtpSdp) % 2).toBe(0);
  });

  it('offers the device both laws on an incoming PCMU call', async () => {
    const call = await openInboundCall(backend, cleanups);
    expect(call.webrtcSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 8 /m);
  });

  it('late-offer call: offers G.711 on both legs; a PCMA answer in the ACK and a PCMU device are relayed both ways', async () => {
    const call = await openLateOfferCall(backend, cleanups, ['pcma']);
    expect(call.rtpSdp).toMatch(/^m=audio \d+ RTP\/AVP 0 8 101\r$/m);
    expect(call.rtpSdp).toMatch(/^a=sendrecv\r$/m);
    expect(call.webrtcSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 8 126\r$/m);
    expect(call.webrtcSdp).toMatch(/^a=setup:actpass\r$/m);
    expect(call.device.codec.name).toBe('pcmu');
    await expectTonesBothWays(call, 'late offer', 'pcma');
    expect([...call.sip.payloadTypes]).toEqual([8]);
  });

  it('PCMA-only SIP side: the device keeps PCMU and the relay converts between the laws', async () => {
    const call = await openOutboundCall(backend, cleanups, {}, ['pcma']);
    expect(call.device.codec.name).toBe('pcmu');
    await expectTonesBothWays(call, 'PCMA far end', 'pcma');
    expect([...call.sip.payloadTypes]).toEqual([8]);
  });

  it('an incoming Opus call carries 48 kHz telephone-event on both legs', async () => {
    const call = await openInboundCall(backend, cleanups, {}, { opus: true, laws: [] });
    expect(call.rtpSdp).toMatch(/^m=audio \d+ RTP\/AVP 111 101\r$/m);
    expect(call.rtpSdp).toMatch(/^a=rtpmap:101 telephone-event\/48000\r$/m);
    expect(payloadTypeOf(call.webrtcSdp, 'telephone-event', 48000)).toBeDefined();
  });

  it('relays SRTP on its fast path with AES_CM_128_HMAC_SHA1_80, and through werift with a device offering only AES-GCM', async () => {
    const fast = await openOutboundCall(backend, cleanups);
    await expectTonesBothWays(fast, 'AES-CM');
    expect((fast.endpoint as WeriftMediaEndpoint).state.fastSrtp).toBe(true);
    const gcm = await openOutboundCall(backend, cleanups, { aesGcmOnly: true });
    await expectTonesBothWays(gcm, 'AES-GCM');
    expect((gcm.endpoint as WeriftMediaEndpoint).state.fastSrtp).toBe(false);
  });

  it('a device that changes SSRC without a new offer is still heard', async () => {
    // werift 0.24.4 matches RTP to a receiver by signalled SSRC only; the backend reads the
    // transport itself. (mediasoup binds a device's stream to its first SSRC: a new one needs a new offer.)
    const call = await openOutboundCall(backend, cleanups);
    await expectTonesBothWays(call, 'before the change');
    call.device.changeSsrc();
    call.sip.clear();
    await expectTone(() => call.sip.received, DEVICE_TONE, 'after an SSRC change');
  });
});

describe('werift media backend specifics', () => {
  let backend: WeriftMediaBackend | undefined;
  let device: WeriftDevice | undefined;
  afterEach(async () => {
    await device?.close();
    await backend?.close();
  });

  it('answers an actpass offer as the DTLS server (a=setup:passive), and names its candidate in m=/c=', async () => {
    backend = createWeriftMediaBackend({ rtpPortMin: 48_100, rtpPortMax: 48_119 });
    device = new WeriftDevice();
    const offer = await device.createOffer();
    const { webrtcAnswer } = await backend.createFromWebRtcOffer(
      checkWebRtcSdp(parseSdp(offer, 'offer'), 'offer', 'offer'),
    );
    expect(webrtcAnswer).toMatch(/^a=setup:passive\r$/m);
    const port = /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/m.exec(webrtcAnswer)?.[1];
    expect(webrtcAnswer).toMatch(new RegExp(`^m=audio ${port} UDP/TLS/RTP/SAVPF`, 'm'));
    expect(webrtcAnswer).toMatch(/^c=IN IP4 127\.0\.0\.1\r$/m);
    expect(webrtcAnswer).not.toMatch(/a=ice-options:trickle/);
  });

  it('refuses options that would announce nothing usable', () => {
    expect(() => createWeriftMediaBackend({ bindAddress: '0.0.0.0' })).toThrow(/announcedAddress/);
    expect(() => createWeriftMediaBackend({ bindAddress: 'localhost' })).toThrow(/not an IP address/);
    expect(() => createWeriftMediaBackend({ rtpPortMin: 50_000, rtpPortMax: 40_000 })).toThrow(/below/);
  });
});
