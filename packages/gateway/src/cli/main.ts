import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { callHandlingMountPath, eventsMountPath, registrationMountPath } from '@telegate/webrtc-server';
import { Command, CommanderError, Option } from 'commander';
import { ALL_SCOPES, DevAuth } from '../auth/dev-auth.js';
import { DEMO_NUMBERS } from '../config/demo-numbers.js';
import { devTokenKey } from '../config/dev-key.js';
import { CONFIG_ENV_NAMES, ConfigError, type GatewayConfig, loadConfig } from '../config/gateway-config.js';
import { isLoopbackHost } from '../http/demo-routes.js';
import { buildGateway, type GatewayServer } from '../http/server.js';
import { PHONE_NUMBER_PATTERN } from '../sip/address.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  /** How to run this CLI again, for the hints it prints (`npx telegate-gateway`). */
  command: string;
  /** Resolves with the first SIGTERM/SIGINT; later ones force an exit. */
  onSignal: (listener: (signal: NodeJS.Signals) => void) => void;
}

const PROGRAM = 'telegate-gateway';
/** Longest a graceful shutdown may take before the process gives up (exit 1). */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/** How the user started us: the hints repeat it. */
export function invocation(argv: readonly string[] = process.argv, cwd = process.cwd()): string {
  const script = argv[1];
  if (script === undefined || basename(script) === PROGRAM) return `npx ${PROGRAM}`;
  return `node ${relative(cwd, script) || script}`;
}

export const processIo = (): CliIo => ({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  command: invocation(),
  onSignal: (listener) => {
    process.on('SIGTERM', listener);
    process.on('SIGINT', listener);
  },
});

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Settings that may be given as flags: not the secrets (a command line is visible to every user). */
const SECRET_SETTINGS = new Set<keyof GatewayConfig>([
  'devTokenSecret',
  'introspectionClientSecret',
  'sipPassword',
  'drachtioSecret',
  'clusterSecret',
]);
const BOOLEAN_SETTINGS = new Set<keyof GatewayConfig>(['emergencyCalls', 'validateResponses']);

const flagOf = (envName: string) => envName.toLowerCase().replace(/_/g, '-');
const optionKey = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function settingFlags(): { flag: string; env: string; boolean: boolean }[] {
  return (Object.entries(CONFIG_ENV_NAMES) as [keyof GatewayConfig, string][])
    .filter(([key]) => !SECRET_SETTINGS.has(key))
    .map(([key, env]) => ({ flag: flagOf(env), env, boolean: BOOLEAN_SETTINGS.has(key) }));
}

/** Flags override the environment: both go through the same parser (and its messages). */
function envWithFlags(
  env: Readonly<Record<string, string | undefined>>,
  options: Record<string, unknown>,
): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env };
  for (const { flag, env: name } of settingFlags()) {
    const value = options[optionKey(flag)];
    if (value === undefined) continue;
    merged[name] = value === true ? 'true' : String(value);
  }
  return merged;
}

function banner(server: GatewayServer, url: string, io: CliIo): string[] {
  const { config } = server;
  const lines = [
    `${PROGRAM}: listening on ${url}`,
    `  registration   ${url}${registrationMountPath}`,
    `  call handling  ${url}${callHandlingMountPath}`,
    `  events         ${url}${eventsMountPath}`,
    `  health         ${url}/healthz  ${url}/readyz  ${url}/metrics`,
  ];
  if (config.authMode === 'dev' && isLoopbackHost(config.host)) {
    lines.push(`  device page    ${url}/demo  (register, call, answer from this browser)`);
  } else {
    lines.push(`  device page    ${url}/demo  (needs a token: dev tokens are issued only on loopback)`);
  }
  if (config.authMode === 'dev') {
    lines.push(
      `  auth           dev tokens (not for production); get one with:`,
      `                 ${io.command} token --phone +818000000001`,
    );
  } else {
    lines.push(`  auth           ${config.authMode}: tokens come from your authorization server`);
  }
  lines.push(...networkLines(server));
  lines.push('  stop with Ctrl-C (calls are ended with BYE, pending events delivered)');
  return lines;
}

function networkLines(server: GatewayServer): string[] {
  const { config } = server;
  const sip = `  sip            ${server.sipListening.join('  ')}`;
  switch (config.sipNetwork) {
    case 'demo':
      return [
        sip,
        `  network        demo telco network at ${server.demo?.uri ?? '?'}: every number answers after 1 s, except`,
        ...Object.entries(DEMO_NUMBERS).map(
          ([number, { description }]) => `                 ${number}  ${description}`,
        ),
      ];
    case 'external':
      return [
        sip,
        `  network        ${config.sipOutboundProxy}${config.sipRegistrar === undefined ? '' : `, registrar ${config.sipRegistrar}`}`,
      ];
    case 'loopback':
      return ['  network        in process (no SIP on the wire): every number answers after 1 s'];
  }
}

async function start(env: Readonly<Record<string, string | undefined>>, io: CliIo): Promise<number> {
  const config = loadConfig(env);
  const server = await buildGateway(config);
  const log = server.app.log;
  try {
    // Media threads load werift and the delivery thread its module now: the first call and event do not wait.
    await server.start();
  } catch (error) {
    await server.close().catch(() => {});
    throw new ConfigError((error as Error).message);
  }
  let url: string;
  try {
    await server.app.listen({ port: config.port, host: config.host });
    const address = server.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    url = `http://${host}:${port}`;
  } catch (error) {
    await server.close().catch(() => {});
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `cannot listen on ${config.host}:${config.port} (${code ?? (error as Error).message})`,
    );
  }
  if (config.authMode === 'dev' && !['127.0.0.1', '::1', 'localhost'].includes(config.host)) {
    log.warn(
      { host: config.host },
      'dev auth on a non-loopback address: anyone who can mint dev tokens can call',
    );
  }
  for (const line of banner(server, url, io)) io.out(line);
  log.info({ url, authMode: config.authMode, store: config.store }, 'gateway listening');

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    let received: NodeJS.Signals | undefined;
    io.onSignal((name) => {
      if (received === undefined) {
        received = name;
        resolve(name);
      } else {
        io.err(`${PROGRAM}: ${name} again: exiting without finishing the shutdown`);
        process.exit(1);
      }
    });
  });
  log.info({ signal }, 'shutting down: no new requests, ending calls, delivering events');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), SHUTDOWN_TIMEOUT_MS);
    timer.unref();
  });
  const outcome = await Promise.race([server.close().then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown did not finish in time');
    return 1;
  }
  return 0;
}

async function token(
  env: Readonly<Record<string, string | undefined>>,
  options: { phone: string; scopes?: string[]; ttl?: number },
  io: CliIo,
): Promise<number> {
  if (!PHONE_NUMBER_PATTERN.test(options.phone)) {
    throw new ConfigError(
      `--phone must be an E.164 number such as +818000000001 (got ${JSON.stringify(options.phone)})`,
    );
  }
  const config = loadConfig(env);
  if (config.authMode !== 'dev') {
    throw new ConfigError(
      `AUTH_MODE=${config.authMode}: tokens come from your authorization server, not from ${PROGRAM}`,
    );
  }
  const secret = await devTokenKey(config);
  const auth = new DevAuth(secret === undefined ? {} : { secret });
  io.out(
    await auth.issue({
      phoneNumber: options.phone,
      scopes: options.scopes ?? ALL_SCOPES,
      ...(options.ttl === undefined ? {} : { ttlSeconds: options.ttl }),
    }),
  );
  return 0;
}

function parseScopes(value: string): string[] {
  const scopes = value
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0) throw new ConfigError('--scopes must name at least one scope');
  return scopes;
}

function parseTtl(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 31_536_000) {
    throw new ConfigError(
      `--ttl must be a number of seconds from 0 to 31536000 (got ${JSON.stringify(value)})`,
    );
  }
  return Number(value);
}

export function createProgram(io: CliIo): { program: Command; exitCode: () => number } {
  let code = 0;
  const program = new Command(PROGRAM)
    .description('Reference CAMARA WebRTC gateway: the registration, call handling and events APIs over SIP')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const startCommand = program
    .command('start', { isDefault: true })
    .description('listen for API requests (settings from the environment; flags override it)');
  for (const { flag, env, boolean } of settingFlags()) {
    startCommand.addOption(new Option(`--${flag} ${boolean ? '[bool]' : '<value>'}`, `overrides ${env}`));
  }
  startCommand.action(async (options: Record<string, unknown>) => {
    code = await start(envWithFlags(io.env, options), io);
  });

  program
    .command('token')
    .description('print a dev-mode access token (AUTH_MODE=dev) that a gateway on this machine accepts')
    .requiredOption('--phone <number>', 'the subscriber number (E.164) the token is for')
    .option('--scopes <list>', 'comma-separated scopes (default: every scope of the three APIs)', parseScopes)
    .option(
      '--ttl <seconds>',
      'lifetime in seconds; 0 gives an already expired token (default 3600)',
      parseTtl,
    )
    .action(async (options: { phone: string; scopes?: string[]; ttl?: number }) => {
      code = await token(io.env, options, io);
    });

  return { program, exitCode: () => code };
}

/** Runs the CLI; resolves with the exit code. Bad settings end with one line on stderr and 1. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const { program, exitCode } = createProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError) {
      io.err(`${PROGRAM}: ${error.message}`);
      return 1;
    }
    io.err(`${PROGRAM}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
