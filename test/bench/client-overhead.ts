import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import createFetchClient from 'openapi-fetch';
import {
  type BenchResult,
  collectGarbage,
  fmtInt,
  fmtRatio,
  goal,
  median,
  nodePaths,
  registrationClient,
  runtimeFromSource,
  tempDir,
} from './util.ts';

const GOAL = 1.2;
const WARMUP = 200;
const CALLS = 2000;
const BLOCK = 100;
/** Hard stop: whatever happens, the benchmark ends after this long. */
const DEADLINE_MS = 60_000;

const BASE_PATH = '/webrtc-registration/vwip';
const TOKEN = 'abc';
const REQUEST = { deviceId: '7d444840-9dc0-11d1-b245-5ffdce74fad2' };
const RESPONSE = JSON.stringify({
  registrationId: 'a1b2c3d4-1234-5678-abcd-ef0123456789',
  regInfo: { phoneNumber: '+123456789', regStatus: 'Registered' },
  expiresAt: '2026-05-05T13:32:17.358Z',
});

/** Answers `POST /webrtc-registration/vwip/sessions` with 201 + a small body; counts anything else. */
function startServer(): Promise<{
  url: string;
  stats: { ok: number; other: number };
  close(): Promise<void>;
}> {
  const stats = { ok: 0, other: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const good =
        req.method === 'POST' &&
        req.url === `${BASE_PATH}/sessions` &&
        req.headers.authorization === `Bearer ${TOKEN}` &&
        typeof req.headers['x-correlator'] === 'string' &&
        req.headers['content-type']?.startsWith('application/json') &&
        Buffer.concat(chunks).length > 0;
      if (good) stats.ok++;
      else stats.other++;
      const body = good
        ? RESPONSE
        : '{"status":404,"code":"NOT_FOUND","message":"bench: unexpected request"}';
      res.writeHead(good ? 201 : 404, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-correlator': String(req.headers['x-correlator'] ?? ''),
      });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}${BASE_PATH}`,
        stats,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

type Call = () => Promise<void>;

interface Stats {
  call: Call;
  total: number;
  count: number;
  /** Time of each block, in order. */
  blocks: number[];
}

/** The one operation the diagnostic openapi-fetch client calls, typed by hand. */
interface BenchPaths {
  '/sessions': {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    post: {
      parameters: { query?: never; header?: never; path?: never; cookie?: never };
      requestBody: { content: { 'application/json': { deviceId: string } } };
      responses: {
        201: {
          headers: Record<string, unknown>;
          content: { 'application/json': { registrationId: string } };
        };
      };
    };
  };
}

/** Loads the generated factory: bundled by esbuild from the generated `.ts` and the runtime's source. */
async function loadFactory(
  file: string,
  factory: string,
): Promise<(options: object) => Record<string, unknown>> {
  const dir = await tempDir('client-mod');
  try {
    const result = await build({
      stdin: {
        contents: `export { ${factory} } from ${JSON.stringify(file)};`,
        resolveDir: dir,
        loader: 'ts',
      },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      plugins: [runtimeFromSource()],
      nodePaths,
    });
    const module = join(dir, 'client.mjs');
    await writeFile(module, result.outputFiles[0]!.text);
    const loaded = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
    return loaded[factory] as (options: object) => Record<string, unknown>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function time(call: Call, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await call();
  return performance.now() - start;
}

export async function clientOverheadBench(): Promise<BenchResult> {
  const source = await registrationClient();
  const server = await startServer();
  try {
    const createClient = await loadFactory(source.file, source.factory);
    const api = createClient({ baseUrl: server.url, token: TOKEN });
    const createRegistration = api.createRegistration as (init: object) => Promise<{
      data?: unknown;
      error?: unknown;
      response: Response;
    }>;
    if (typeof createRegistration !== 'function') {
      throw new Error(`${source.factory}() has no createRegistration method`);
    }

    const raw: Call = async () => {
      const response = await fetch(`${server.url}/sessions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${TOKEN}`,
          'x-correlator': randomUUID(),
        },
        body: JSON.stringify(REQUEST),
      });
      const data = (await response.json()) as { registrationId?: string };
      if (response.status !== 201 || !data.registrationId)
        throw new Error(`raw fetch: HTTP ${response.status}`);
    };
    const client: Call = async () => {
      const { data, response } = await createRegistration({ body: REQUEST });
      if (response.status !== 201 || !(data as { registrationId?: string } | undefined)?.registrationId) {
        throw new Error(`client: HTTP ${response.status}`);
      }
    };

    // Diagnostic: openapi-fetch alone with the same headers passed per call (no middleware), to
    // tell what the generated layer adds from what openapi-fetch itself costs.
    const bare = createFetchClient<BenchPaths>({ baseUrl: server.url });
    const openapiFetch: Call = async () => {
      const { data, response } = await bare.POST('/sessions', {
        body: REQUEST,
        headers: { authorization: `Bearer ${TOKEN}`, 'x-correlator': randomUUID() },
      });
      if (response.status !== 201 || !data?.registrationId) {
        throw new Error(`openapi-fetch: HTTP ${response.status}`);
      }
    };

    const variants: [Stats, Stats, Stats] = [
      { call: raw, total: 0, count: 0, blocks: [] },
      { call: openapiFetch, total: 0, count: 0, blocks: [] },
      { call: client, total: 0, count: 0, blocks: [] },
    ];
    for (let round = 0; round < 2; round++) {
      for (const variant of variants) await time(variant.call, WARMUP / 2);
    }

    // Rotating blocks, so drift (GC, CPU frequency, other load) hits every variant equally.
    const started = performance.now();
    for (let i = 0; variants[0]!.count < CALLS && performance.now() - started < DEADLINE_MS; i++) {
      for (let j = 0; j < variants.length; j++) {
        const variant = variants[(i + j) % variants.length]!;
        collectGarbage();
        const ms = await time(variant.call, BLOCK);
        variant.total += ms;
        variant.blocks.push(ms);
        variant.count += BLOCK;
      }
    }
    if (server.stats.other > 0)
      throw new Error(`${server.stats.other} requests did not match the expected call`);

    const [rawStats, fetchStats, clientStats] = variants;
    const meanUs = (v: Stats) => (v.total * 1000) / v.count;
    const perSecond = (v: Stats) => v.count / (v.total / 1000);
    const ratio = meanUs(clientStats) / meanUs(rawStats);
    // Each round ran every variant once, back to back: the spread of the per-round ratios shows the noise.
    const spread = (v: Stats) => {
      const ratios = v.blocks.map((ms, k) => ms / rawStats.blocks[k]!);
      return `${fmtRatio(median(ratios))} (${fmtRatio(Math.min(...ratios))}–${fmtRatio(Math.max(...ratios))})`;
    };
    const notes = [
      `Generated client vs \`openapi-fetch\` alone: ${fmtRatio(meanUs(clientStats) / meanUs(fetchStats))} ` +
        '(what the generated layer and its middleware add on top of openapi-fetch).',
      `Client: \`${source.factory}\` from ${source.origin}, bundled with \`@telegate/runtime\` from source.`,
      `${fmtInt(rawStats.count)} calls each (after ${WARMUP} warm-up calls each) in rotating blocks of ${BLOCK}, ` +
        'sequential, over one keep-alive loopback connection (Node’s built-in fetch, undici).',
      'Raw fetch builds the same request by hand (JSON body, `Authorization: Bearer`, `x-correlator` UUID) and ' +
        'parses the JSON response; the server checks every request.',
      'The ratio is of the means over all calls; the last column shows how much it moved between rounds ' +
        '(other processes on the machine show up there).',
    ];
    if (rawStats.count < CALLS)
      notes.push(`Stopped at the ${DEADLINE_MS / 1000} s deadline before ${CALLS} calls.`);
    return {
      id: 'client-overhead',
      title: 'Client per-call overhead',
      description:
        '`createRegistration` through the generated client against a raw `fetch` of the same request to a ' +
        `local \`node:http\` server (201 + small JSON). Goal: client ≤ ${GOAL}× raw fetch per call.`,
      columns: [
        'variant',
        'calls/s',
        'mean µs/call',
        'ratio vs raw fetch',
        'goal',
        'per-round ratio: median (min–max)',
      ],
      rows: [
        ['raw `fetch`', fmtInt(perSecond(rawStats)), meanUs(rawStats).toFixed(1), fmtRatio(1), '', ''],
        [
          `generated client (\`${source.factory}\`)`,
          fmtInt(perSecond(clientStats)),
          meanUs(clientStats).toFixed(1),
          fmtRatio(ratio),
          goal(ratio, GOAL, fmtRatio),
          spread(clientStats),
        ],
        [
          'for reference: `openapi-fetch` alone, headers passed per call',
          fmtInt(perSecond(fetchStats)),
          meanUs(fetchStats).toFixed(1),
          fmtRatio(meanUs(fetchStats) / meanUs(rawStats)),
          '',
          spread(fetchStats),
        ],
      ],
      notes,
    };
  } finally {
    await server.close();
    await source.cleanup();
  }
}
