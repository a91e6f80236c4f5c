import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { DevAuth } from '../../packages/gateway/src/index.js';
import { CA_FILE, SINK_CERT, SINK_KEY } from '../../packages/gateway/test/http/support.js';

const CLI = new URL('../../packages/gateway/dist/cli/index.js', import.meta.url).pathname;

/** Every node of a test cluster accepts tokens signed with this (dev auth). */
export const CLUSTER_TOKEN_SECRET = 'cluster-test-dev-token-secret-0123456789';

/** One gateway node: the built CLI as its own process, on a free loopback port. */
export interface GatewayNode {
  name: string;
  url: string;
  child: ChildProcess;
  /** Its log lines (warn and above) so far. */
  log(): string;
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<string>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGKILL: the node dies without ending anything. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

const LISTENING = /listening on (http:\/\/\S+)/;

/**
 * Starts `telegate-gateway start` with cluster-test settings (short lease,
 * short store timeout, a 1 s sweep) plus `env`; resolves once it listens.
 */
export async function startNode(name: string, env: Record<string, string>): Promise<GatewayNode> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build the packages first (npx tsc -b)`);
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: '0',
      DEV_TOKEN_SECRET: CLUSTER_TOKEN_SECRET,
      SINK_ALLOWLIST: '127.0.0.1',
      SINK_CA_FILE: CA_FILE,
      STORE_SWEEP: '1',
      STORE_TIMEOUT_MS: '300',
      NODE_LEASE_MS: '1500',
      SESSION_RETENTION: '3',
      ...env,
    },
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
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(String(signal ?? code))),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}\n${err}`)), 20_000);
    const onData = () => {
      const match = LISTENING.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${how}) before listening:\n${out}\n${err}`));
    });
  });
  const signal = async (sig: NodeJS.Signals, forceAfterMs?: number) => {
    if (!alive()) return;
    child.kill(sig);
    const timer =
      forceAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), forceAfterMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name,
    url,
    child,
    log: () => out + err,
    exited,
    alive,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM', 10_000),
  };
}

/** A dev token every node of the cluster accepts. */
export function tokenFor(phoneNumber: string): Promise<string> {
  return new DevAuth({ secret: new TextEncoder().encode(CLUSTER_TOKEN_SECRET) }).issue({ phoneNumber });
}

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the JSON body of any of the APIs' answers
  body: any;
}

/** One API request to a node (loopback only); the body parsed when it is JSON. */
export async function call(
  node: GatewayNode,
  token: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, body: parsed };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms until it returns true; fails with `what` after `ms`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 10_000,
): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** A webhook sink (https on 127.0.0.1) that answers 503 while `failing`, else records the event and answers 204. */
export interface SwitchableSink {
  url: string;
  failing: boolean;
  /** Every event received with 204, repeats included. */
  received: { id: string; type: string; data: Record<string, unknown> }[];
  close(): Promise<void>;
}

export async function startSwitchableSink(): Promise<SwitchableSink> {
  const sink: SwitchableSink = { url: '', failing: false, received: [], close: async () => {} };
  const server = createServer({ cert: SINK_CERT, key: SINK_KEY }, async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (sink.failing) {
      response.writeHead(503).end();
      return;
    }
    sink.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  sink.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return sink;
}
