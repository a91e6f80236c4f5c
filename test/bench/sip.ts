/**
 * SIP call setup through the reference gateway, against sipp on 127.0.0.1:
 *
 * (floor) sipp UAC → sipp UAS directly, its built-in call (INVITE, 180, 200,
 *         ACK, BYE) at the target rate: what the machine does with no gateway;
 * (out)   createSession over HTTP → the gateway's INVITE → sipp UAS answers →
 *         ACK → `session-status` Connected delivered to an HTTPS webhook →
 *         DELETE → BYE, at the target rate; post-dial delay is the time from
 *         the API request to the INVITE on the wire;
 * (in)    sipp UAC calls a registered number at the target rate → the gateway
 *         delivers `session-invitation` → the app declines it (DELETE) → 603.
 *
 * The gateway, the HTTP driver and the webhook receiver share this process;
 * sipp runs in its own. CPU is read from the process counters.
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedSipBackend } from '../../packages/gateway/src/index.ts';
import { FLOW_WEBRTC_OFFER } from '../../packages/gateway/src/testing/index.ts';
import { serveGateway } from '../conformance/support/gateway.ts';
import { createTestPki } from '../conformance/support/pki.ts';
import { startWebhookReceiver } from '../conformance/support/receiver.ts';
import { freeUdpPort, haveSipp, SCENARIOS } from '../sip/support/sipp.ts';
import { type BenchResult, fmtInt, fmtMs, fmtRatio } from './util.ts';

const RATE = Number(process.env.TELEGATE_BENCH_SIP_RATE ?? 200);
const SECONDS = Number(process.env.TELEGATE_BENCH_SIP_SECONDS ?? 60);
const INBOUND_SECONDS = Math.min(SECONDS, 30);
const CALLERS = 100;
const SINK_TOKEN = 'bench-sink-token';
const STATUS = 'org.camaraproject.webrtc-events.v0.session-status';
const INVITATION = 'org.camaraproject.webrtc-events.v0.session-invitation';

interface SippRun {
  calls: number;
  successful: number;
  failed: number;
  seconds: number;
  cpuSeconds: number;
}

function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return 0;
  }
}

/** Runs sipp to completion; counts calls from its statistics file. */
async function runSipp(args: string[], calls: number): Promise<SippRun> {
  const dir = mkdtempSync(join(tmpdir(), 'telegate-sipp-bench-'));
  const stats = join(dir, 'stats.csv');
  const started = performance.now();
  const child = spawn(
    'sipp',
    [
      ...args,
      '-m',
      String(calls),
      '-nostdin',
      '-trace_stat',
      '-stf',
      stats,
      '-fd',
      '1',
      '-timeout',
      `${SECONDS + 60}s`,
    ],
    {
      stdio: 'ignore',
    },
  );
  let cpu = 0;
  const sampler = setInterval(() => {
    if (child.pid !== undefined) cpu = Math.max(cpu, cpuOf(child.pid));
  }, 200);
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  let successful = 0;
  let failed = 0;
  try {
    const lines = readFileSync(stats, 'utf8').trim().split('\n');
    const header = lines[0]!.split(';');
    const last = lines.at(-1)!.split(';');
    successful = Number(last[header.indexOf('SuccessfulCall(C)')]);
    failed = Number(last[header.indexOf('FailedCall(C)')]);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
  return { calls, successful, failed, seconds, cpuSeconds: cpu };
}

function startSippServer(args: string[]): { pid: number | undefined; stop(): Promise<number> } {
  const child = spawn('sipp', [...args, '-nostdin'], { stdio: 'ignore' });
  let cpu = 0;
  const sampler = setInterval(() => {
    if (child.pid !== undefined) cpu = Math.max(cpu, cpuOf(child.pid));
  }, 200);
  return {
    pid: child.pid,
    async stop() {
      clearInterval(sampler);
      if (child.pid !== undefined) cpu = Math.max(cpu, cpuOf(child.pid));
      child.kill('SIGKILL');
      await new Promise<void>((resolve) => child.on('exit', () => resolve()));
      return cpu;
    },
  };
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

/** Calls `fire` RATE times a second for `seconds`, catching up after a slow tick. */
async function atRate(seconds: number, fire: (i: number) => void): Promise<number> {
  const total = Math.round(RATE * seconds);
  const start = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE) + 1);
    while (issued < due) fire(issued++);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return total;
}

export async function sipBench(): Promise<BenchResult> {
  const base: BenchResult = {
    id: 'sip',
    title: 'SIP call setup',
    description: `Calls set up through the gateway's embedded SIP stack against sipp on 127.0.0.1, ${RATE} calls/s offered for ${SECONDS} s (inbound ${INBOUND_SECONDS} s). The floor is sipp calling sipp directly at the same rate; the gateway rows run the whole API path: createSession over HTTP, INVITE, 200, ACK, \`session-status\` Connected delivered to an HTTPS webhook, DELETE and BYE (outbound), or INVITE, \`session-invitation\` delivered, DELETE and 603 (inbound). Post-dial delay is from the API request to the INVITE on the wire.`,
    columns: [
      'run',
      'calls offered',
      'set up',
      'failed',
      'calls/s',
      'vs floor',
      'post-dial p50',
      'post-dial p99',
      'CPU per call',
    ],
    rows: [],
    notes: [],
  };
  if (!haveSipp()) {
    base.notes.push('skipped: sipp is not installed (Debian package sip-tester).');
    return base;
  }

  // ---------------------------------------------------------------- floor: sipp ↔ sipp
  const floorPort = await freeUdpPort();
  const floorUas = startSippServer(['-sn', 'uas', '-i', '127.0.0.1', '-p', String(floorPort)]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const floor = await runSipp(
    [
      '-sn',
      'uac',
      '-i',
      '127.0.0.1',
      '-p',
      String(await freeUdpPort()),
      '-r',
      String(RATE),
      '-d',
      '0',
      `127.0.0.1:${floorPort}`,
    ],
    RATE * SECONDS,
  );
  const floorUasCpu = await floorUas.stop();
  const floorRate = floor.successful / floor.seconds;
  base.rows.push([
    'floor: sipp UAC → sipp UAS',
    fmtInt(floor.calls),
    fmtInt(floor.successful),
    fmtInt(floor.failed),
    fmtInt(floorRate),
    fmtRatio(1),
    '–',
    '–',
    `${(((floor.cpuSeconds + floorUasCpu) / Math.max(1, floor.successful)) * 1e6).toFixed(0)} µs (both sipps)`,
  ]);

  // ---------------------------------------------------------------- gateway set-up
  const pki = await createTestPki();
  const receiver = await startWebhookReceiver(pki, SINK_TOKEN);
  const uasPort = await freeUdpPort();
  const gw = await serveGateway({
    sinkAllowlist: ['127.0.0.1'],
    sinkCaFile: pki.caFile,
    logLevel: 'error',
    validateResponses: false,
    maxRegistrationsPerUser: 0,
    rateLimitPerToken: 0,
    sipNetwork: 'external',
    sipListen: ['udp:127.0.0.1:0'],
    sipOutboundProxy: `sip:127.0.0.1:${uasPort}`,
    sipTrustedPeers: ['127.0.0.1'],
    // Signalling only: the media backend's own cost is `npm run bench -- media`.
    mediaBackend: 'loopback',
  });
  const sip = gw.gateway.sip as EmbeddedSipBackend;
  const inviteAt = new Map<string, number>();
  sip.onTrace((direction, message) => {
    if (direction === 'out' && message.kind === 'request' && message.method === 'INVITE') {
      const callId = message.headers.get('call-id');
      if (callId !== undefined && !inviteAt.has(callId)) inviteAt.set(callId, performance.now());
    }
  });
  const callers: { phone: string; token: string; registrationId: string; subscriptionId: string }[] = [];
  for (let i = 0; i < CALLERS; i++) {
    const phone = `+8180${String(10_000_000 + i)}`;
    const token = await gw.token(phone);
    const deviceId = randomUUID();
    const reg = await gw.registration({ token }).createRegistration({ body: { deviceId } });
    const sub = await gw.events({ token }).createNotificationChannelSubscription({
      body: {
        protocol: 'HTTP',
        sink: receiver.sink(),
        sinkCredential: {
          credentialType: 'ACCESSTOKEN',
          accessToken: SINK_TOKEN,
          accessTokenExpiresUtc: new Date(Date.now() + 3_600_000).toISOString(),
          accessTokenType: 'bearer',
        },
        types: [STATUS, INVITATION],
        config: { subscriptionDetail: { deviceId } },
      } as never,
    });
    callers.push({
      phone,
      token,
      registrationId: reg.data!.registrationId,
      subscriptionId: (sub.data as { id: string }).id,
    });
  }
  const bySubscription = new Map(callers.map((c) => [c.subscriptionId, c]));

  // Reacts to events as they arrive: Connected → DELETE (BYE); invitation → DELETE (603).
  let seen = 0;
  const connected = new Set<string>();
  const invitations = new Set<string>();
  const ending: Promise<unknown>[] = [];
  const del = (caller: (typeof callers)[number], mediaSessionId: string) =>
    fetch(`${gw.origin}/webrtc-call-handling/vwip/sessions/${mediaSessionId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${caller.token}` },
    }).then((r) => r.arrayBuffer());
  const pump = setInterval(() => {
    const deliveries = receiver.deliveries;
    for (; seen < deliveries.length; seen++) {
      const event = deliveries[seen]!.event;
      const data = event.data as { subscriptionId: string; mediaSessionId: string; status?: string };
      const caller = bySubscription.get(data.subscriptionId);
      if (caller === undefined) continue;
      if (event.type === STATUS && data.status === 'Connected' && !connected.has(data.mediaSessionId)) {
        connected.add(data.mediaSessionId);
        ending.push(del(caller, data.mediaSessionId));
      } else if (event.type === INVITATION && !invitations.has(data.mediaSessionId)) {
        invitations.add(data.mediaSessionId);
        ending.push(del(caller, data.mediaSessionId));
      }
    }
  }, 2);

  try {
    // ---------------------------------------------------------------- outbound
    const uas = startSippServer(['-sn', 'uas', '-i', '127.0.0.1', '-p', String(uasPort)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const requestAt = new Map<string, number>();
    const created: Promise<void>[] = [];
    let refused = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const offered = await atRate(SECONDS, (i) => {
      const caller = callers[i % CALLERS]!;
      const t0 = performance.now();
      created.push(
        fetch(`${gw.origin}/webrtc-call-handling/vwip/sessions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${caller.token}`,
            'content-type': 'application/json',
            registrationId: caller.registrationId,
          },
          body: JSON.stringify({
            originatorAddress: `tel:${caller.phone}`,
            receiverAddress: 'tel:+819000000002',
            offer: { sdp: FLOW_WEBRTC_OFFER },
          }),
        }).then(async (response) => {
          const body = (await response.json()) as { mediaSessionId?: string };
          if (response.status !== 201 || body.mediaSessionId === undefined) {
            refused++;
            return;
          }
          requestAt.set(body.mediaSessionId, t0);
        }),
      );
    });
    await Promise.allSettled(created);
    const deadline = performance.now() + 20_000;
    while (connected.size < offered - refused && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const elapsed = (performance.now() - started) / 1000;
    await Promise.allSettled(ending);
    const cpu = process.cpuUsage(cpuBefore);
    const uasCpu = await uas.stop();
    const delays: number[] = [];
    for (const [mediaSessionId, t0] of requestAt) {
      const session = await gw.gateway.store.getSession(mediaSessionId);
      const at = session === undefined ? undefined : inviteAt.get(session.callId);
      if (at !== undefined) delays.push(at - t0);
    }
    const outRate = connected.size / elapsed;
    base.rows.push([
      'gateway outbound: API → INVITE → 200 → Connected event → DELETE → BYE',
      fmtInt(offered),
      fmtInt(connected.size),
      fmtInt(offered - connected.size),
      fmtInt(outRate),
      fmtRatio(outRate / floorRate),
      fmtMs(percentile(delays, 50)),
      fmtMs(percentile(delays, 99)),
      `${((cpu.user + cpu.system) / Math.max(1, connected.size)).toFixed(0)} µs (gateway process) + ${((uasCpu / Math.max(1, connected.size)) * 1e6).toFixed(0)} µs (sipp)`,
    ]);
    base.notes.push(
      `Outbound goal: ≥ 200 call setups/s for 60 s with 0 failed calls and post-dial p99 < 10 ms: ${outRate >= 200 && offered === connected.size && percentile(delays, 99) < 10 ? 'met' : 'missed'} (${fmtInt(outRate)} calls/s, ${fmtInt(offered - connected.size)} failed, p99 ${fmtMs(percentile(delays, 99))}).`,
    );

    // ---------------------------------------------------------------- inbound
    const target = gw.built.sipListening[0]!.replace(/^udp:/, '');
    const before = invitations.size;
    const cpuIn = process.cpuUsage();
    // Every caller's number in turn (sipp's injection file), so no number hits its dialog limit.
    const dir = mkdtempSync(join(tmpdir(), 'telegate-sipp-inbound-'));
    const scenario = join(dir, 'inbound.xml');
    writeFileSync(
      scenario,
      readFileSync(join(SCENARIOS, 'uac-inbound-decline.xml'), 'utf8').replaceAll('[service]', '[field0]'),
    );
    writeFileSync(join(dir, 'numbers.csv'), `SEQUENTIAL\n${callers.map((c) => `${c.phone};`).join('\n')}\n`);
    const inbound = await runSipp(
      [
        '-sf',
        scenario,
        '-inf',
        join(dir, 'numbers.csv'),
        '-i',
        '127.0.0.1',
        '-p',
        String(await freeUdpPort()),
        '-r',
        String(RATE),
        target,
      ],
      RATE * INBOUND_SECONDS,
    );
    rmSync(dir, { recursive: true, force: true });
    await Promise.allSettled(ending);
    const cpuInUsed = process.cpuUsage(cpuIn);
    const delivered = invitations.size - before;
    const inRate = inbound.successful / inbound.seconds;
    base.rows.push([
      'gateway inbound: INVITE → invitation event → DELETE → 603',
      fmtInt(inbound.calls),
      fmtInt(inbound.successful),
      fmtInt(inbound.failed),
      fmtInt(inRate),
      fmtRatio(inRate / floorRate),
      '–',
      '–',
      `${((cpuInUsed.user + cpuInUsed.system) / Math.max(1, inbound.successful)).toFixed(0)} µs (gateway process)`,
    ]);
    base.notes.push(
      `Inbound goal: 200 calls/s with 0 lost invitations: ${inRate >= 200 && delivered === inbound.calls ? 'met' : 'missed'} (${fmtInt(inRate)} calls/s, ${fmtInt(inbound.calls - delivered)} invitations not delivered).`,
    );
  } finally {
    clearInterval(pump);
    await gw.close();
    await receiver.close();
    await pki.cleanup();
  }
  base.notes.push(
    'The gateway process also runs the HTTP driver and the HTTPS webhook receiver, so its CPU per call includes both; on 2 cores sipp and that process each get about one.',
    'Media is not set up (`MEDIA_BACKEND=loopback`: SDP only), so the rows measure signalling; relaying media is measured by `npm run bench -- media`.',
  );
  return base;
}
