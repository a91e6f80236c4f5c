/**
 * `npm run test:newcomer`: what a new user sees. Clones the committed HEAD of
 * this checkout into a temporary folder (with no `../shared` beside it), reads
 * the two set-up commands from the README's "Set up" section and runs them as
 * written: the one with `npm start` must bring up a gateway that answers
 * `/healthz` (it is stopped afterwards), the one with `npm test` must exit 0.
 * The clone is removed at the end (kept with TELEGATE_NEWCOMER_KEEP=1).
 *
 * The gateway listens on a free port given in PORT (the README's 8080 may be
 * taken on a shared machine); everything else is the README's command, in
 * this environment.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const started = Date.now();
const log = (line) =>
  process.stdout.write(`newcomer [${Math.round((Date.now() - started) / 1000)}s]: ${line}\n`);

/** The shell commands of the README's "## Set up" section (its first sh block), comments removed. */
function setUpCommands(readme) {
  const section = /^## Set up\n([\s\S]*?)^## /m.exec(readme)?.[1];
  const block = section && /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no ```sh block under "## Set up"');
  const commands = block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
  const start = commands.find((command) => /\bnpm start\b/.test(command));
  const test = commands.find((command) => /\bnpm test\b/.test(command));
  if (commands.length !== 2 || !start || !test) {
    throw new Error(
      `README.md "Set up" should hold two commands, one with npm start, one with npm test: ${JSON.stringify(commands)}`,
    );
  }
  return { start, test };
}

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** Runs `command` in a shell in its own process group; resolves with the exit code. */
function run(command, cwd, env, onOutput) {
  const child = spawn('sh', ['-c', command], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', onOutput ? 'pipe' : 'inherit', onOutput ? 'pipe' : 'inherit'],
  });
  if (onOutput) {
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
  }
  const exited = new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal)));
  return { child, exited };
}

/** Signals the process group of `child` (the shell, npm and node under it), if it still exists. */
function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Runs the gateway command until `/healthz` answers 200 (or it fails), then stops it. */
async function checkGateway(command, cwd, env) {
  let output = '';
  const { child, exited } = run(command, cwd, env, (chunk) => {
    output += chunk.toString();
  });
  let status;
  const deadline = Date.now() + 10 * 60_000;
  let exitedEarly;
  exited.then((code) => {
    exitedEarly = code;
  });
  while (Date.now() < deadline && exitedEarly === undefined) {
    const origin = /listening on (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
    if (origin) {
      status = await fetch(`${origin}/healthz`)
        .then((response) => response.status)
        .catch(() => undefined);
      if (status === 200) break;
    }
    await new Promise((done) => setTimeout(done, 1000));
  }
  signalGroup(child, 'SIGINT');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 60_000);
  const code = await exited;
  clearTimeout(timer);
  if (status !== 200) {
    process.stdout.write(output);
    throw new Error(`the gateway never answered /healthz with 200 (exit ${code})`);
  }
  log(`the gateway answered /healthz with 200; stopped (exit ${code})`);
}

const work = mkdtempSync(join(tmpdir(), 'telegate-newcomer-'));
const clone = join(work, 'telegate');
let failed = false;
try {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  execFileSync('git', ['clone', '--quiet', '--no-checkout', root, clone], { stdio: 'inherit' });
  execFileSync('git', ['checkout', '--quiet', '--detach', head], { cwd: clone, stdio: 'inherit' });
  log(`cloned ${head.slice(0, 12)} into ${clone} (no ../shared beside it)`);

  const commands = setUpCommands(readFileSync(join(clone, 'README.md'), 'utf8'));
  const env = { ...process.env };
  // npm run sets these for this script; a newcomer's shell has none of them.
  for (const name of Object.keys(env)) if (name.startsWith('npm_')) delete env[name];

  const port = String(await freePort());
  log(`$ ${commands.start}   (PORT=${port})`);
  await checkGateway(commands.start, clone, { ...env, PORT: port });

  log(`$ ${commands.test}`);
  const code = await run(commands.test, clone, env).exited;
  if (code !== 0) throw new Error(`\`${commands.test}\` exited with ${code}`);
  log('the tests passed');
} catch (error) {
  failed = true;
  log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  if (process.env.TELEGATE_NEWCOMER_KEEP === '1') log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
log(failed ? 'a newcomer would not get through the README' : 'a newcomer gets through the README');
process.exitCode = failed ? 1 : 0;
