/**
 * `npm run bench [name...]`: runs the benchmarks (all, or the named ones) and
 * rewrites their sections of BENCHMARKS.md. Sections of benchmarks not run
 * are kept as they were.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { bundleSizeBench } from './bundle-size.ts';
import { callbacksBench } from './callbacks.ts';
import { clientOverheadBench } from './client-overhead.ts';
import { clusterBench } from './cluster.ts';
import { gatewayBench } from './gateway.ts';
import { generationBench } from './generation.ts';
import { mediaBench } from './media.ts';
import { serverStubsBench } from './server-stubs.ts';
import { sipBench } from './sip.ts';
import { type BenchResult, errorMessage, GATEWAY_NODE_FLAGS, repoRoot } from './util.ts';
import { validatorsBench } from './validators.ts';

const BENCHMARKS: { id: string; title: string; run: () => Promise<BenchResult> }[] = [
  { id: 'generation', title: 'Generation time', run: generationBench },
  { id: 'client-overhead', title: 'Client per-call overhead', run: clientOverheadBench },
  { id: 'bundle-size', title: 'Bundle size', run: bundleSizeBench },
  { id: 'validators', title: 'Validators', run: validatorsBench },
  { id: 'callbacks', title: 'Callback delivery', run: callbacksBench },
  { id: 'gateway', title: 'Gateway HTTP throughput', run: gatewayBench },
  { id: 'server-stubs', title: 'Server stubs', run: serverStubsBench },
  { id: 'sip', title: 'SIP call setup', run: sipBench },
  { id: 'cluster', title: 'Several gateway nodes on one Redis', run: clusterBench },
  { id: 'media', title: 'Media relay', run: mediaBench },
];

const OUTPUT = join(repoRoot, 'BENCHMARKS.md');

const INTRO = `# Benchmarks

Measured by \`npm run bench\` (\`node --import tsx test/bench/run.ts\`), which runs every benchmark and rewrites this
file; the gateways they measure run in processes of their own with the Node flags \`npm start\` gives the gateway (\`${GATEWAY_NODE_FLAGS.join(' ')}\`). \`npm run bench -- generation\` (or \`client-overhead\`, \`bundle-size\`, \`validators\`, \`callbacks\`, \`gateway\`, \`server-stubs\`, \`sip\`, \`cluster\`, \`media\`) runs only the named ones and
rewrites only their sections. Every figure is a ratio against a named peer measured in the same run on the
same machine, so the ratios, not the absolute numbers, are what to compare across machines.

| benchmark | telegate | peer | goal |
|---|---|---|---|
| Generation time | \`telegate generate --emit types,client\` (library: \`generateFiles\`) | \`openapi-typescript\` alone (its API) | ≤ 1.5× the peer's time |
| Client per-call overhead | generated client, \`createRegistration\` | raw \`fetch\` of the same request | ≤ 1.2× the peer's time per call |
| Bundle size | browser bundle using one generated client factory | bundle using \`openapi-fetch\` alone | ≤ 4 kB min+gz beyond the peer |
| Validators | generated validators (Ajv standalone, compiled at generation time), \`createSession\` | (a) Ajv compiling at run time; (b) express-openapi-validator, openapi-backend | steady state ≥ (a); cold start ≥ 10× faster than (a) and (b) |
| Callback delivery | generated CloudEvents sender → generated receiver over HTTP on 127.0.0.1, validation on both ends | \`fetch\` POSTs of the same JSON → \`node:http\` + \`JSON.parse\` | ≥ 5,000 events/s; p99 < 20 ms at 1,000 events/s |
| Gateway HTTP throughput | \`buildGateway()\` on its embedded defaults, \`createRegistration\` under autocannon (also session create+delete pairs and webhook events/s) | a minimal Fastify route doing the same in-memory insert without validation | ≥ 3,000 registrations/s with p99 < 20 ms |
| SIP call setup | the gateway's embedded SIP stack: createSession → INVITE → 200 → ACK → Connected event → DELETE → BYE; sipp UAC → INVITE → invitation event → 603 | sipp UAC → sipp UAS directly (the floor) | ≥ 200 call setups/s for 60 s, 0 failed, post-dial p99 < 10 ms; inbound 200 calls/s, 0 lost invitations |
| Several gateway nodes on one Redis | 1, 2, 3 gateway processes on one redis-server: registrations/s, create+delete pairs/s, node and Redis CPU per operation | one process on the in-memory store | Redis CPU ≤ 40 µs per create; node CPU per operation ≤ 1.2× the memory store's; no store cost growing with the records |
| Media relay | werift and mediasoup (one worker) media backends relaying concurrent G.711 calls in the same run (WebRTC device ↔ RTP peer, loopback): CPU per call, calls at saturation, latency added at the backend's edges (a \`tcpdump\` of loopback: relayed packet out − packet in), loss, time to first packet; SRTP CPU per packet | a bare UDP forwarder between two RTP peers at the same call count, measured the same way; werift's own SRTP path | mediasoup ≥ 300 calls per core, werift ≥ 30; added latency p99 < 5 ms and no loss below saturation |
| Server stubs | generated Fastify plugin and Express router, \`createRegistration\` under autocannon (req/s, p99), \`validateResponses: false\` | hand-written Fastify (body schema); fastify-openapi-glue, express-openapi-validator, openapi-backend | plugin ≥ 0.9× hand-written Fastify and ahead of every generic middleware; router ahead of express-openapi-validator |

The generation benchmark also uses GitHub's REST API description (~13 MB, from the \`@octokit/openapi\` npm
package). It is not a dependency: the first run fetches it with \`npm pack\` into \`$TELEGATE_BENCH_CACHE\`
(default \`~/.cache/telegate-bench\`) and extracts only that file; without network the row says
\`skipped\`. Set \`TELEGATE_BENCH_SKIP_GITHUB=1\` to skip it. The whole run takes under ~3 minutes on 2 cores.

The media benchmark times packets where the backend receives and relays them with \`tcpdump\` on the loopback
interface (Debian package \`tcpdump\`, run as root); without it the section says so in one line and gives
the end-to-end latency only.
`;

function environment(): string {
  const cpu = cpus();
  const date = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', ' ');
  return `${date} · ${cpu[0]?.model.trim() ?? 'unknown CPU'} · ${cpu.length} cores · Node ${process.version}`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function table(columns: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(columns), `|${columns.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

function section(result: BenchResult, env: string): string {
  const notes = (list: string[]) => list.map((note) => `- ${note}`).join('\n');
  return [
    `<!-- bench:${result.id} -->`,
    `## ${result.title}`,
    '',
    result.description,
    '',
    `Measured ${env}.`,
    '',
    table(result.columns, result.rows),
    '',
    notes(result.notes),
    ...(result.more ?? []).flatMap((more) => [
      '',
      more.caption,
      '',
      table(more.columns, more.rows),
      '',
      notes(more.notes),
    ]),
    `<!-- /bench:${result.id} -->`,
  ].join('\n');
}

function failed(id: string, title: string, error: unknown): BenchResult {
  return {
    id,
    title,
    description: 'The benchmark failed in this run.',
    columns: ['error'],
    rows: [[errorMessage(error)]],
    notes: [],
  };
}

/** The sections of the current BENCHMARKS.md, by benchmark id. */
async function previousSections(): Promise<Map<string, string>> {
  const sections = new Map<string, string>();
  if (!existsSync(OUTPUT)) return sections;
  const text = await readFile(OUTPUT, 'utf8');
  for (const match of text.matchAll(/<!-- bench:([\w-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g)) {
    sections.set(match[1]!, match[0]);
  }
  return sections;
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !BENCHMARKS.some((b) => b.id === name));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.map((b) => b.id).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  const selected = names.length > 0 ? BENCHMARKS.filter((b) => names.includes(b.id)) : BENCHMARKS;
  const env = environment();
  console.log(`telegate bench · ${env}`);

  const sections = await previousSections();
  let failures = 0;
  for (const bench of selected) {
    console.log(`\n${bench.title}`);
    const started = performance.now();
    let result: BenchResult;
    try {
      result = await bench.run();
    } catch (error) {
      failures++;
      console.error(error);
      result = failed(bench.id, bench.title, error);
    }
    console.log(table(result.columns, result.rows));
    console.log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    sections.set(bench.id, section(result, env));
  }

  // Sections written by other scripts (`npm run corpus` writes `corpus`) are kept, after ours.
  const others = [...sections].filter(([id]) => !BENCHMARKS.some((b) => b.id === id)).map(([, text]) => text);
  const body = [
    ...BENCHMARKS.map((b) => sections.get(b.id)).filter((s): s is string => s !== undefined),
    ...others,
  ];
  await writeFile(OUTPUT, `${INTRO}\n${body.join('\n\n')}\n`);
  console.log(`\nwrote ${OUTPUT}`);
  if (failures > 0) process.exitCode = 1;
}

await main();
