/**
 * Validator throughput (steady state) and cold start: telegate's generated
 * validators (Ajv standalone code compiled at generation time) against
 * (a) Ajv compiling the same schema at run time and (b) express-openapi-validator
 * and openapi-backend validating the same `createSession` request.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { parse as parseYaml } from 'yaml';
import { generateFiles, writeFiles } from '../../generator/src/index.ts';
import {
  type BenchResult,
  collectGarbage,
  describeSpecSources,
  fmtInt,
  fmtMs,
  fmtRatio,
  median,
  repoRoot,
  resolveSpecs,
} from './util.ts';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** Goals: steady state ≥ Ajv compiling at run time; cold start ≥ 10× faster than every peer. */
const STEADY_GOAL = 1;
const COLD_GOAL = 10;
/** Per variant and round: at most this many validations, or this long. */
const ROUND_ITERATIONS = 200_000;
const ROUND_MS = 300;
const ROUNDS = 7;
const WARMUP = 3_000;
const COLD_RUNS = 5;
/** Peers' default options are measured for cold start only, fewer times (openapi-backend's takes seconds). */
const COLD_DEFAULT_RUNS = 3;

const OPERATION = 'createSession';
const BASE_PATH = '/webrtc-call-handling/vwip';
const PATH = `${BASE_PATH}/sessions`;
const HEADERS = {
  'content-type': 'application/json',
  registrationid: 'a1b2c3d4-1234-5678-abcd-ef0123456789',
  'x-correlator': 'b4333c46-49c0-4f62-80d7-f0ef930f1c46',
};
const SDP = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y',
  'a=fingerprint:sha-256 DA:7B:57:DC:28:CE:04:4F:31:79:85:C4:31:67:EB:27:58:29:ED:77:2A:0D:24:AE:ED:AA:30:E8:6B:2E:3C:AF',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  '',
].join('\r\n');
/** A realistic `createSession` body: addresses (pattern), SDP, location with a oneOf and a date-time. */
const BODY = {
  originatorAddress: 'tel:+17175550100',
  originatorName: 'Alice',
  receiverAddress: 'sip:bob@example.com',
  receiverName: 'Bob',
  offer: { sdp: SDP },
  callType: 'REGULAR',
  locationDetails: {
    shape: 'Circle',
    coordinates: { latitude: 50.735851, longitude: 7.10066, radius: 30 },
    method: 'GPS',
    confidence: { pdf: 'normal', value: 68 },
    timestamp: '2026-05-05T13:32:17.358Z',
  },
};
/** Bodies every variant must refuse: a pattern, a format, a oneOf and a required property. */
const BAD_BODIES: [string, unknown][] = [
  ['pattern', { ...BODY, receiverAddress: 'bob' }],
  ['format', { ...BODY, locationDetails: { ...BODY.locationDetails, timestamp: 'yesterday' } }],
  [
    'oneOf',
    { ...BODY, locationDetails: { ...BODY.locationDetails, coordinates: { latitude: 1, longitude: 2 } } },
  ],
  ['required', { originatorAddress: BODY.originatorAddress, offer: BODY.offer }],
];

type SyncCheck = (body: unknown) => boolean;
type AsyncCheck = (body: unknown) => Promise<boolean>;

interface Steady {
  /** Valid → true. */
  check: SyncCheck | AsyncCheck;
  async: boolean;
  perSecond: number[];
}

/** `@telegate/runtime/<sub>` from its TypeScript source; npm packages stay external (loaded from node_modules). */
function runtimeSource(): Plugin {
  const src = join(repoRoot, 'packages/runtime/src');
  return {
    name: 'telegate-runtime-source',
    setup(b) {
      b.onResolve({ filter: /^@telegate\/runtime(\/[\w-]+)?$/ }, (args) => {
        const sub = args.path.slice('@telegate/runtime'.length);
        return { path: join(src, sub, 'index.ts') };
      });
    },
  };
}

/** Generates the call-handling validators (into `dir/gen`); returns the generated file. */
async function generateValidators(dir: string, spec: string): Promise<string> {
  const out = join(dir, 'gen');
  const { files } = await generateFiles({ specs: [spec], out, emit: ['validators'], cwd: repoRoot });
  await writeFiles(out, files);
  const source = files.find((f) => f.path.endsWith('.validators.gen.ts'));
  if (!source) throw new Error('no validators file generated');
  return join(out, source.path);
}

/**
 * One ES module from `entry`. `external`: npm packages stay imports, loaded from
 * node_modules at run time (as installed); otherwise everything is inlined.
 */
async function bundle(entry: string, outfile: string, external: boolean): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    ...(external ? { packages: 'external' as const } : {}),
    logLevel: 'silent',
    plugins: [runtimeSource()],
  });
  return outfile;
}

/** The child-process scripts: each loads its validator from nothing and validates one request. */
function coldScripts(paths: {
  telegate: string;
  telegateBundle: string;
  ajvBundle: string;
  spec: string;
}): Record<string, string> {
  const common = `
const started = performance.now();
const { createRequire } = await import('node:module');
const require = createRequire(${JSON.stringify(join(repoRoot, 'package.json'))});
const BODY = ${JSON.stringify(BODY)};
const HEADERS = ${JSON.stringify(HEADERS)};
const SPEC = ${JSON.stringify(paths.spec)};
const done = (valid) => {
  const ended = performance.now();
  if (valid !== true) { console.error('cold start: the request was not valid'); process.exit(1); }
  process.stdout.write(JSON.stringify({ ms: ended - started, boot: started }));
};
`;
  const expressHarness = `
const run = (app, body) => new Promise((resolve) => {
  const req = { method: 'POST', url: ${JSON.stringify(PATH)}, headers: { ...HEADERS }, body, done: resolve };
  app.handle(req, { locals: {}, setHeader() {}, getHeader() {} }, (err) => resolve(err ?? new Error('not routed')));
});
const expressApp = (express, middleware) => {
  const app = express();
  app.use(middleware);
  app.post(${JSON.stringify(PATH)}, (req) => req.done(null));
  app.use((err, req, _res, _next) => req.done(err));
  return app;
};
`;
  const eov = (options: string) => `${common}${expressHarness}
const express = require('express');
const OpenApiValidator = require('express-openapi-validator');
const spec = JSON.parse(require('node:fs').readFileSync(SPEC, 'utf8'));
const app = expressApp(express, OpenApiValidator.middleware({ apiSpec: spec, ${options} }));
done((await run(app, BODY)) === null);
`;
  const backend = (options: string) => `${common}
const { OpenAPIBackend } = require('openapi-backend');
const addFormats = require('ajv-formats');
const spec = JSON.parse(require('node:fs').readFileSync(SPEC, 'utf8'));
const api = new OpenAPIBackend({ definition: spec, ${options} customizeAjv: (ajv) => { addFormats(ajv); return ajv; } });
await api.init();
done(api.validateRequest({ method: 'post', path: '/sessions', headers: HEADERS, query: {}, body: BODY }).valid);
`;
  const telegate = (module: string) => `${common}
const { requestValidators } = await import(${JSON.stringify(pathToFileURL(module).href)});
done(requestValidators.${OPERATION}({ params: {}, query: {}, headers: HEADERS, body: BODY }) === null);
`;
  const ajv = (load: string) => `${common}
${load}
const spec = JSON.parse(require('node:fs').readFileSync(SPEC, 'utf8'));
const ajv = new (Ajv.default ?? Ajv)({ allErrors: true, strict: false });
(addFormats.default ?? addFormats)(ajv);
ajv.addSchema({ $id: 'spec', components: spec.components });
const validate = ajv.compile({ $ref: 'spec#/components/schemas/MediaSessionCreate' });
done(validate(BODY));
`;
  return {
    telegate: telegate(paths.telegate),
    telegateBundle: telegate(paths.telegateBundle),
    ajv: ajv("const Ajv = require('ajv').default;\nconst addFormats = require('ajv-formats');"),
    ajvBundle: ajv(
      `const { Ajv, addFormats } = await import(${JSON.stringify(pathToFileURL(paths.ajvBundle).href)});`,
    ),
    eov: eov(EOV_OPTIONS),
    eovDefault: eov(EOV_DEFAULT_OPTIONS),
    backend: backend(BACKEND_OPTIONS),
    backendDefault: backend(''),
  };
}

/** Peers set up for their fastest start: no validation of the spec itself, lazy compilation. */
const EOV_OPTIONS =
  'validateRequests: true, validateResponses: false, validateSecurity: false, validateApiSpec: false';
const EOV_DEFAULT_OPTIONS = 'validateSecurity: false';
const BACKEND_OPTIONS = 'quick: true,';

interface ColdResult {
  /** Script start → first validation done (import, compile/init, validate). */
  ms: number[];
  /** Spawn → exit, as seen from the parent (Node's own start included). */
  wall: number[];
}

async function coldRun(script: string): Promise<{ ms: number; wall: number }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [script], { cwd: repoRoot, maxBuffer: 1024 * 1024 });
  const wall = performance.now() - started;
  const { ms } = JSON.parse(stdout) as { ms: number };
  return { ms, wall };
}

/** Express 5 in process: `app.handle` with a plain request object (no socket), body already parsed. */
type ExpressApp = {
  (req: unknown, res: unknown): void;
  use(...handlers: unknown[]): void;
  post(path: string, ...handlers: unknown[]): void;
  handle(req: unknown, res: unknown, done: (err?: unknown) => void): void;
};
type Handler = (req: Record<string, unknown>, res: unknown, next: (err?: unknown) => void) => void;

function expressApp(middleware: Handler | Handler[] | undefined): ExpressApp {
  const express = require('express') as () => ExpressApp;
  const app = express();
  if (middleware) app.use(middleware);
  app.post(PATH, (req: { done: (e: unknown) => void }) => req.done(null));
  app.use((err: unknown, req: { done: (e: unknown) => void }, _res: unknown, _next: unknown) =>
    req.done(err),
  );
  return app;
}

/** What Express touches on the response before the route runs. */
const mockResponse = () => ({ locals: {}, setHeader() {}, getHeader() {} });

function viaExpress(app: ExpressApp): AsyncCheck {
  return (body) =>
    new Promise<boolean>((resolve) => {
      const req = {
        method: 'POST',
        url: PATH,
        headers: { ...HEADERS },
        body,
        done: (err: unknown) => resolve(err === null),
      };
      app.handle(req, mockResponse(), () => resolve(false));
    });
}

async function measure(variant: Steady): Promise<void> {
  collectGarbage();
  let count = 0;
  const started = performance.now();
  let elapsed = 0;
  if (variant.async) {
    const check = variant.check as AsyncCheck;
    while (count < ROUND_ITERATIONS && elapsed < ROUND_MS) {
      for (let i = 0; i < 100; i++) if (!(await check(BODY))) throw new Error('valid body refused');
      count += 100;
      elapsed = performance.now() - started;
    }
  } else {
    const check = variant.check as SyncCheck;
    while (count < ROUND_ITERATIONS && elapsed < ROUND_MS) {
      for (let i = 0; i < 1000; i++) if (!check(BODY)) throw new Error('valid body refused');
      count += 1000;
      elapsed = performance.now() - started;
    }
  }
  variant.perSecond.push(count / (elapsed / 1000));
}

async function warm(variant: Steady): Promise<void> {
  for (let i = 0; i < WARMUP; i++) await variant.check(BODY);
}

export async function validatorsBench(): Promise<BenchResult> {
  const specs = resolveSpecs();
  const spec = specs.find((s) => s.name === 'webrtc-call-handling')!;
  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  // Inside the repository, so the compiled module and the scripts resolve npm packages from its node_modules.
  const dir = await mkdtemp(join(repoRoot, '.tmp', 'bench-validators-'));
  try {
    const generated = await generateValidators(dir, spec.path);
    const telegatePath = await bundle(generated, join(dir, 'telegate-validators.mjs'), true);
    // Diagnostic: the same code without the UTF-16 length check before counting code points for maxLength.
    const withoutShortcut = join(dir, 'gen', 'without-length-check.gen.ts');
    const generatedText = await readFile(generated, 'utf8');
    const undone = generatedText.replace(
      /\((data\d*)\.length > (\d+) && (func\d+)\(\1\) > \2\)/g,
      '$3($1) > $2',
    );
    if (undone === generatedText) throw new Error('the maxLength length check was not found');
    await writeFile(withoutShortcut, undone);
    const withoutShortcutPath = await bundle(
      withoutShortcut,
      join(dir, 'telegate-without-length-check.mjs'),
      true,
    );
    const telegateBundle = await bundle(generated, join(dir, 'telegate-validators.bundle.mjs'), false);
    const ajvEntry = join(dir, 'ajv-entry.mjs');
    await writeFile(
      ajvEntry,
      "import Ajv from 'ajv';\nimport addFormats from 'ajv-formats';\nexport { Ajv, addFormats };\n",
    );
    const ajvBundle = await bundle(ajvEntry, join(dir, 'ajv.bundle.mjs'), false);
    const specJson = join(dir, 'spec.json');
    const document = parseYaml(await readFile(spec.path, 'utf8')) as { components: unknown };
    await writeFile(specJson, JSON.stringify(document));

    // Steady state, all in this process.
    type Validators = {
      requestValidators: Record<string, (input: unknown) => unknown>;
      requestBodyValidators: Record<string, (body: unknown) => string[] | null>;
    };
    const telegate = (await import(pathToFileURL(telegatePath).href)) as Validators;
    const telegateBody = telegate.requestBodyValidators[OPERATION]!;
    const telegateRequest = telegate.requestValidators[OPERATION]!;

    const Ajv = (require('ajv') as { default: new (o: object) => AjvInstance }).default;
    type AjvInstance = { addSchema(s: object): void; compile(s: object): (data: unknown) => boolean };
    const addFormats = require('ajv-formats') as (ajv: unknown) => void;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addSchema({ $id: 'spec', components: document.components });
    const ajvValidate = ajv.compile({ $ref: 'spec#/components/schemas/MediaSessionCreate' });
    const withoutShortcutBody = ((await import(pathToFileURL(withoutShortcutPath).href)) as Validators)
      .requestBodyValidators[OPERATION]!;

    const { OpenAPIBackend } = require('openapi-backend') as {
      OpenAPIBackend: new (
        o: object,
      ) => {
        init(): Promise<unknown>;
        validateRequest(req: object): { valid: boolean };
      };
    };
    const backend = new OpenAPIBackend({
      definition: JSON.parse(JSON.stringify(document)),
      quick: true,
      customizeAjv: (instance: unknown) => {
        addFormats(instance);
        return instance;
      },
    });
    await backend.init();
    const OpenApiValidator = require('express-openapi-validator') as { middleware(o: object): Handler[] };
    const eovApp = expressApp(
      OpenApiValidator.middleware({
        apiSpec: JSON.parse(JSON.stringify(document)),
        validateRequests: true,
        validateResponses: false,
        validateSecurity: false,
        validateApiSpec: false,
      }),
    );
    const telegateApp = expressApp((req, _res, next) => {
      const error = telegateRequest({
        params: req.params,
        query: req.query,
        headers: req.headers,
        body: req.body,
      });
      next(error ?? undefined);
    });
    const bareApp = expressApp(undefined);

    const variants = {
      telegateBody: { check: (b: unknown) => telegateBody(b) === null, async: false },
      ajv: { check: (b: unknown) => ajvValidate(b), async: false },
      telegateWithoutShortcut: { check: (b: unknown) => withoutShortcutBody(b) === null, async: false },
      telegateRequest: {
        check: (b: unknown) => telegateRequest({ params: {}, query: {}, headers: HEADERS, body: b }) === null,
        async: false,
      },
      backend: {
        check: (b: unknown) =>
          backend.validateRequest({ method: 'post', path: '/sessions', headers: HEADERS, query: {}, body: b })
            .valid,
        async: false,
      },
      telegateExpress: { check: viaExpress(telegateApp), async: true },
      eov: { check: viaExpress(eovApp), async: true },
      bare: { check: viaExpress(bareApp), async: true },
    } satisfies Record<string, Omit<Steady, 'perSecond'>>;
    const steady = Object.fromEntries(
      Object.entries(variants).map(([key, v]) => [key, { ...v, perSecond: [] as number[] }]),
    ) as Record<keyof typeof variants, Steady>;

    // Every variant accepts the body and refuses each bad one (so none skips a check we pay for).
    for (const [name, variant] of Object.entries(steady)) {
      if (!(await variant.check(BODY))) throw new Error(`${name} refused the valid createSession body`);
      for (const [what, bad] of BAD_BODIES) {
        if (name === 'bare') continue;
        if (await variant.check(bad)) throw new Error(`${name} accepted a body with a bad ${what}`);
      }
    }

    for (const variant of Object.values(steady)) await warm(variant);
    const order = Object.values(steady);
    for (let round = 0; round < ROUNDS; round++) {
      for (let j = 0; j < order.length; j++) await measure(order[(round + j) % order.length]!);
    }

    // Cold start: one fresh process per measurement, variants interleaved, one untimed warm-up each
    // (file-system cache).
    const scripts = coldScripts({ telegate: telegatePath, telegateBundle, ajvBundle, spec: specJson });
    const scriptFiles: Record<string, string> = {};
    for (const [name, text] of Object.entries(scripts)) {
      scriptFiles[name] = join(dir, `cold-${name}.mjs`);
      await writeFile(scriptFiles[name]!, text);
    }
    const cold: Record<string, ColdResult> = {};
    for (const name of Object.keys(scripts)) {
      cold[name] = { ms: [], wall: [] };
      await coldRun(scriptFiles[name]!);
    }
    for (let i = 0; i < COLD_RUNS; i++) {
      for (const name of Object.keys(scripts)) {
        if (name.endsWith('Default') && i >= COLD_DEFAULT_RUNS) continue;
        const { ms, wall } = await coldRun(scriptFiles[name]!);
        cold[name]!.ms.push(ms);
        cold[name]!.wall.push(wall);
      }
    }

    const rate = (v: Steady) => median(v.perSecond);
    const us = (v: Steady) => 1e6 / rate(v);
    const coldMs = (name: string) => median(cold[name]!.ms);
    const coldCell = (name: string) => `${fmtMs(coldMs(name))} (${fmtMs(median(cold[name]!.wall))} wall)`;
    /** Median of the per-round ratios (each round runs every variant back to back), with their range. */
    const roundRatios = (ours: Steady, peer: Steady) => ours.perSecond.map((r, i) => r / peer.perSecond[i]!);
    const steadyRatio = (ours: Steady, peer: Steady) => median(roundRatios(ours, peer));
    const steadyCell = (ours: Steady, peer: Steady) => {
      const ratios = roundRatios(ours, peer);
      return `${fmtRatio(median(ratios))} (${fmtRatio(Math.min(...ratios))}–${fmtRatio(Math.max(...ratios))})`;
    };
    const coldRatio = (peer: string, ours = 'telegate') => coldMs(peer) / coldMs(ours);
    const verdict = (steadyValue: number | undefined, coldValue: number) => {
      const parts: string[] = [];
      if (steadyValue !== undefined)
        parts.push(`steady ${steadyValue >= STEADY_GOAL ? 'met' : 'missed'} (≥ ${fmtRatio(STEADY_GOAL)})`);
      parts.push(`cold ${coldValue >= COLD_GOAL ? 'met' : 'missed'} (≥ ${COLD_GOAL}×)`);
      return parts.join('; ');
    };
    const row = (
      label: string,
      validates: string,
      v: Steady,
      peerOf?: Steady,
      coldName?: string,
      goal = false,
    ): string[] => {
      const steadyValue = peerOf ? steadyRatio(peerOf, v) : undefined;
      const coldValue = coldName && coldName !== 'telegate' ? coldRatio(coldName) : undefined;
      return [
        label,
        validates,
        fmtInt(rate(v)),
        us(v).toFixed(2),
        peerOf ? steadyCell(peerOf, v) : '',
        coldName ? coldCell(coldName) : '',
        coldValue === undefined ? '' : fmtRatio(coldValue),
        goal && coldValue !== undefined ? verdict(steadyValue, coldValue) : '',
      ];
    };
    const coldOnly = (label: string, name: string, ratio = '') => [
      label,
      '',
      '',
      '',
      '',
      coldCell(name),
      ratio,
      '',
    ];
    const range = (v: Steady) => `${fmtInt(Math.min(...v.perSecond))}–${fmtInt(Math.max(...v.perSecond))}`;

    const rows = [
      row('telegate `requestBodyValidators.createSession`', 'body', steady.telegateBody),
      row('(a) Ajv compiling at run time', 'body', steady.ajv, steady.telegateBody, 'ajv', true),
      [
        'for reference: telegate without the length check before counting code points (maxLength)',
        'body',
        fmtInt(rate(steady.telegateWithoutShortcut)),
        us(steady.telegateWithoutShortcut).toFixed(2),
        `${steadyCell(steady.telegateWithoutShortcut, steady.ajv)} over (a)`,
        '',
        '',
        '',
      ],
      row(
        'telegate `requestValidators.createSession`',
        'headers + body',
        steady.telegateRequest,
        undefined,
        'telegate',
      ),
      row(
        '(b) openapi-backend `validateRequest`',
        'method + path + headers + body',
        steady.backend,
        steady.telegateRequest,
        'backend',
        true,
      ),
      row(
        'Express `app.handle` + telegate `requestValidators`',
        'route + headers + body',
        steady.telegateExpress,
      ),
      row(
        '(b) Express `app.handle` + express-openapi-validator',
        'route + headers + body',
        steady.eov,
        steady.telegateExpress,
        'eov',
        true,
      ),
      row('for reference: Express `app.handle`, no validation', 'route', steady.bare),
      coldOnly('for reference: telegate as one self-contained module', 'telegateBundle'),
      coldOnly(
        'for reference: (a) Ajv as one self-contained module',
        'ajvBundle',
        `${fmtRatio(coldRatio('ajvBundle', 'telegateBundle'))} (both self-contained)`,
      ),
      coldOnly(
        'for reference: openapi-backend, default options',
        'backendDefault',
        fmtRatio(coldRatio('backendDefault')),
      ),
      coldOnly(
        'for reference: express-openapi-validator, default options',
        'eovDefault',
        fmtRatio(coldRatio('eovDefault')),
      ),
    ];

    const notes = [
      `Spec: ${describeSpecSources([spec])}; the request is a ` +
        '`createSession` with both addresses (pattern), an SDP offer, `callType` and `locationDetails` (a `oneOf` ' +
        'and a `date-time`); every variant accepts it and refuses a bad pattern, a bad format, a `oneOf` ' +
        'matching no branch and a missing required property (checked before timing).',
      'Steady state: per variant and round at most ' +
        `${fmtInt(ROUND_ITERATIONS)} validations or ${ROUND_MS} ms, ${ROUNDS} rounds in rotating order after ` +
        `${fmtInt(WARMUP)} warm-up validations each, all in one process; rates are the median round ` +
        `(rounds ranged: telegate body ${range(steady.telegateBody)}/s, Ajv ${range(steady.ajv)}/s). ` +
        '"telegate speed-up (steady)" is telegate’s rate over the peer’s on the same input: the median of the ' +
        'per-round ratios (min–max in brackets), since other load on the machine shifts whole rounds.',
      'telegate: `requestBodyValidators`/`requestValidators` generated by this run (`--emit validators`) and ' +
        'compiled with the runtime’s source by esbuild into one ES module. The generated code needs no npm ' +
        'package at run time: Ajv’s code-point counter and deep equality are replaced by ES helpers of the ' +
        'runtime, regular-expression formats are written out at generation time, and date-time, uri and the ' +
        'numeric formats are checked by the runtime’s ES port of ajv-formats (a differential test keeps them ' +
        'identical). Nothing is compiled at run time.',
      'Most of the steady-state lead is one rewrite of Ajv’s output: for `maxLength`, a string whose UTF-16 ' +
        'length is within the limit is within it in code points too, so code points are counted only beyond ' +
        'that (Ajv counts them on every string; the SDP offer is the long one here). The reference row is the ' +
        'same generated code with that check removed.',
      '(a) `new Ajv({ allErrors: true, strict: false })` + ajv-formats, the spec’s `components` added as one ' +
        'schema, `compile({ $ref: …/MediaSessionCreate })`: the body only, like `requestBodyValidators`.',
      '(b) openapi-backend with `quick: true` (lazy validator compilation) and ajv-formats through ' +
        '`customizeAjv`; express-openapi-validator with `validateApiSpec: false`, `validateSecurity: false`, ' +
        'driven in process through Express 5’s `app.handle` with a plain request object (body already parsed, ' +
        'no socket). telegate goes through the same Express harness as a one-line middleware, so the ' +
        'Express-row ratio compares like with like; the "no validation" row is the harness alone.',
      `Cold start: a fresh \`node\` process per measurement (${COLD_RUNS} runs each, interleaved, after one ` +
        'untimed run each), timed inside the script from its first line to the first validated request: module ' +
        'loading, reading the spec (peers), compiling/initialising and validating. "wall" is spawn to exit as ' +
        'seen from the parent, Node’s own start-up included. "telegate speed-up (cold)" is the peer’s time over ' +
        'telegate’s. Peers’ default options (spec validation, eager compilation) are shown for reference ' +
        `(${COLD_DEFAULT_RUNS} runs).`,
      '"Self-contained module": the same code bundled by esbuild with its npm dependencies inlined (telegate ' +
        'has none left; Ajv: all of Ajv and ajv-formats), so Node resolves and loads no CommonJS packages; its ' +
        'ratio compares the two self-contained modules.',
    ];
    return {
      id: 'validators',
      title: 'Validators',
      description:
        'Generated validators (Ajv standalone code, compiled at generation time) against (a) Ajv compiling the ' +
        'same schema at run time and (b) express-openapi-validator and openapi-backend, on the same ' +
        '`createSession` request of `webrtc-call-handling`. Goals: steady state ≥ Ajv at run time; cold start ' +
        `≥ ${COLD_GOAL}× faster than (a) and (b).`,
      columns: [
        'variant',
        'validates',
        'validations/s',
        'µs/validation',
        'telegate speed-up (steady): median (min–max)',
        'cold start: first line → first validation',
        'telegate speed-up (cold)',
        'goal',
      ],
      rows,
      notes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
