import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, invocation, main } from '../../src/cli/main.js';
import { ALL_SCOPES } from '../../src/index.js';
import { FLOW_WEBRTC_OFFER } from '../../src/testing/index.js';
import {
  ALICE,
  BOB,
  CA_FILE,
  CALLS,
  DEVICE,
  REGISTRATION,
  SUBSCRIPTIONS,
  startSink,
  subscriptionBody,
} from './support.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;

let keyDir: string;
beforeAll(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'telegate-cli-'));
});
afterAll(() => rm(keyDir, { recursive: true, force: true }));

function memoryIo(env: Record<string, string | undefined>): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    env,
    command: 'telegate-gateway',
    onSignal: () => {},
  };
}

describe('telegate-gateway token (in process)', () => {
  const env = () => ({ DEV_KEY_FILE: join(keyDir, 'in-process.key') });

  it('prints a dev token with every scope for the number', async () => {
    const io = memoryIo(env());
    expect(await main(['token', '--phone', ALICE], io)).toBe(0);
    expect(io.stdout).toHaveLength(1);
    const claims = decodeJwt(io.stdout[0]!);
    expect(claims).toMatchObject({ phone_number: ALICE, sub: `tel:${ALICE}`, iss: 'urn:telegate:dev' });
    expect(String(claims.scope).split(' ')).toEqual([...ALL_SCOPES]);
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it('--scopes and --ttl', async () => {
    const io = memoryIo(env());
    expect(await main(['token', '--phone', ALICE, '--scopes', 'a,b', '--ttl', '0'], io)).toBe(0);
    const claims = decodeJwt(io.stdout[0]!);
    expect(claims.scope).toBe('a b');
    expect(claims.exp).toBe(claims.iat);
  });

  it.each([
    [['token', '--phone', '12345'], '--phone must be an E.164 number'],
    [['token', '--phone', ALICE, '--ttl', '-1'], '--ttl must be a number of seconds'],
    [['token', '--phone', ALICE, '--scopes', ','], '--scopes must name at least one scope'],
  ])('%j fails with one line', async (argv, message) => {
    const io = memoryIo(env());
    expect(await main(argv, io)).toBe(1);
    expect(io.stderr).toHaveLength(1);
    expect(io.stderr[0]).toContain(message);
    expect(io.stdout).toEqual([]);
  });

  it('refuses to mint tokens outside dev mode and in production', async () => {
    const jwt = memoryIo({ AUTH_MODE: 'introspection', INTROSPECTION_URL: 'https://as.example/i' });
    expect(await main(['token', '--phone', ALICE], jwt)).toBe(1);
    expect(jwt.stderr[0]).toMatch(/tokens come from your authorization server/);
    const production = memoryIo({ ...env(), NODE_ENV: 'production' });
    expect(await main(['token', '--phone', ALICE], production)).toBe(1);
    expect(production.stderr[0]).toMatch(/refused when NODE_ENV=production/);
  });

  it('hints repeat how the CLI was started', () => {
    expect(invocation(['node', '/repo/node_modules/.bin/telegate-gateway'], '/repo')).toBe(
      'npx telegate-gateway',
    );
    expect(invocation(['node', '/repo/packages/gateway/dist/cli/index.js'], '/repo')).toBe(
      'node packages/gateway/dist/cli/index.js',
    );
  });
});

// ---------------------------------------------------------------- the built CLI as a process

interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    err += chunk;
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitForOutput(
  spawned: Spawned,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = spawned.stdout().match(pattern);
    if (match) return match;
    if (Date.now() > deadline || spawned.child.exitCode !== null) {
      throw new Error(`no ${pattern} in output:\n${spawned.stdout()}\n${spawned.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('telegate-gateway as a process (built with `npx tsc -b`)', () => {
  let env: Record<string, string>;
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -b\` before these tests`);
    env = {
      DEV_KEY_FILE: join(keyDir, 'shared.key'),
      SINK_ALLOWLIST: '127.0.0.1',
      SINK_CA_FILE: CA_FILE,
    };
  });

  it('exits 1 with one line for a bad setting', async () => {
    for (const [extra, message] of [
      [{ PORT: 'abc' }, 'telegate-gateway: PORT must be an integer from 0 to 65535 (got "abc")'],
      [
        { STORE: 'redis://127.0.0.1:1' },
        'telegate-gateway: STORE: cannot connect to Redis at redis://127.0.0.1:1 (ECONNREFUSED)',
      ],
      [{ NODE_ENV: 'production' }, 'telegate-gateway: AUTH_MODE=dev accepts tokens'],
    ] as const) {
      const spawned = run(['start'], { ...env, ...extra });
      expect(await spawned.exit).toBe(1);
      const lines = spawned.stderr().trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
    }
  });

  describe('start, a token from a separate `token` process, then SIGTERM', () => {
    let gateway: Spawned;
    let url: string;
    afterAll(() => {
      if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    });

    it('prints its URLs and how to get a token', async () => {
      gateway = run(['start', '--port', '0'], env);
      [, url = ''] = await waitForOutput(gateway, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      // The token hint is the last thing it prints; the lines may arrive in more than one chunk.
      await waitForOutput(gateway, /token --phone/);
      const out = gateway.stdout();
      expect(out).toContain(`${url}/webrtc-registration/vwip`);
      expect(out).toContain(`${url}/webrtc-call-handling/vwip`);
      expect(out).toContain(`${url}/webrtc-events/vwip`);
      expect(out).toMatch(/token --phone \+818000000001/);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
    });

    it('accepts a token minted by another process; refuses an expired one', async () => {
      const minted = run(['token', '--phone', ALICE], env);
      expect(await minted.exit).toBe(0);
      const token = minted.stdout().trim();
      const response = await fetch(`${url}${REGISTRATION}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-correlator': 'cli-1',
        },
        body: JSON.stringify({ deviceId: DEVICE }),
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('x-correlator')).toBe('cli-1');
      await waitForOutput(gateway, /"correlator":"cli-1".*"operation":"createRegistration".*"status":201/);

      const expired = run(['token', '--phone', ALICE, '--ttl', '0'], env);
      expect(await expired.exit).toBe(0);
      const refused = await fetch(`${url}${REGISTRATION}?deviceId=${DEVICE}`, {
        headers: { authorization: `Bearer ${expired.stdout().trim()}` },
      });
      expect(refused.status).toBe(401);
    });

    it('on SIGTERM ends the call with BYE, delivers its last events and exits 0', async () => {
      const minted = run(['token', '--phone', ALICE], env);
      await minted.exit;
      const headers = {
        authorization: `Bearer ${minted.stdout().trim()}`,
        'content-type': 'application/json',
      };
      const sink = await startSink({ tls: true });
      try {
        const registrations = await (
          await fetch(`${url}${REGISTRATION}?deviceId=${DEVICE}`, { headers })
        ).json();
        const registrationId = (registrations as { registrationId: string }[])[0]!.registrationId;
        const subscribed = await fetch(`${url}${SUBSCRIPTIONS}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(
            subscriptionBody(`${sink.url}/hook`, ['org.camaraproject.webrtc-events.v0.session-status']),
          ),
        });
        expect(subscribed.status).toBe(201);
        const call = await fetch(`${url}${CALLS}`, {
          method: 'POST',
          headers: { ...headers, registrationId },
          body: JSON.stringify({
            originatorAddress: `tel:${ALICE}`,
            receiverAddress: `tel:${BOB}`,
            offer: { sdp: FLOW_WEBRTC_OFFER },
          }),
        });
        expect(call.status).toBe(201);
        await sink.waitFor((e) => e.data.status === 'Connected', 10_000);

        gateway.child.kill('SIGTERM');
        expect(await gateway.exit).toBe(0);
        const terminated = sink.events.find((e) => e.data.status === 'Terminated');
        expect(terminated?.data).toMatchObject({ reason: expect.stringMatching(/shutting down/i) });
        expect(gateway.stdout()).toMatch(/"signal":"SIGTERM"/);
        expect(gateway.stdout()).toMatch(/"msg":"gateway closed"/);
      } finally {
        await sink.close();
      }
    });
  });
});
