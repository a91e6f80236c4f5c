import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, typecheck } from '../support/typecheck.js';

const exec = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

const PUBLIC_PACKAGES = [
  'telegate',
  '@telegate/runtime',
  '@telegate/webrtc-api',
  '@telegate/webrtc-client',
  '@telegate/webrtc-server',
  '@telegate/device-sdk',
  '@telegate/gateway',
];
const tarballName = (name: string) => `${name.replace(/^@/, '').replace('/', '-')}-0.1.0.tgz`;
const deviceId = '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10';
/** The dev-token key the installed gateway and its `token` command share (no key file written). */
const DEV_TOKEN_SECRET = 'pack-test-dev-token-secret-0123456789';

/** Runs the `telegate-gateway` bin of `project`; resolves with its origin once it listens. */
async function startGateway(project: string): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(join(project, 'node_modules/.bin/telegate-gateway'), ['start', '--port', '0'], {
    cwd: project,
    env: { ...process.env, DEV_TOKEN_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const origin = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (listening) resolve(listening[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`telegate-gateway exited with ${code}:\n${output}`)));
  });
  return { child, origin };
}

describe('the packages as installed from their tarballs (npm run pack, npm install, no workspace links)', () => {
  let work = '';
  let project = '';
  let tarballs: string[] = [];
  let gateway: ChildProcess | undefined;

  beforeAll(async () => {
    // Outside the repository: nothing resolves through the workspace's node_modules.
    work = await mkdtemp(join(tmpdir(), 'telegate-pack-'));
    project = join(work, 'consumer');
    await mkdir(join(project, 'spec'), { recursive: true });
    const { stdout } = await exec(npm, ['run', '--silent', 'pack', '--', join(work, 'tarballs')], {
      cwd: repoRoot,
      maxBuffer: 16 * 1024 * 1024,
    });
    tarballs = stdout.split('\n').filter((line) => line.endsWith('.tgz'));
  }, 300_000);

  afterAll(async () => {
    gateway?.kill('SIGKILL');
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('npm run pack writes one tarball per public package into the folder given', () => {
    expect(tarballs.map((file) => basename(file)).sort()).toEqual(PUBLIC_PACKAGES.map(tarballName).sort());
    for (const file of tarballs) expect(file.startsWith(join(work, 'tarballs'))).toBe(true);
  });

  it('they install together into an empty project on this Node.js with no EBADENGINE warning', async () => {
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    const { stderr } = await exec(
      npm,
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional', ...tarballs],
      { cwd: project, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stderr).not.toMatch(/EBADENGINE/);
    const installed = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(installed.dependencies).sort()).toEqual([...PUBLIC_PACKAGES].sort());
  }, 300_000);

  it('the installed telegate generates a client; it, every package README example and misuse type-check', async () => {
    await copyFile(join(repoRoot, 'spec/webrtc-registration.yaml'), join(project, 'spec/api.yaml'));
    // As the generator's README says.
    const { stdout } = await exec(
      npx,
      [
        '--no-install',
        'telegate',
        'generate',
        'spec/api.yaml',
        '--out',
        'src/gen',
        '--emit',
        'types,validators,client',
      ],
      { cwd: project },
    );
    expect(stdout).toMatch(/src\/gen: 4 files \(4 written, 0 unchanged\)/);
    const generated = ['api.types.gen.ts', 'api.validators.gen.ts', 'api.client.gen.ts', 'index.ts'].map(
      (file) => join(project, 'src/gen', file),
    );

    // Each package's README ships, and its TypeScript examples compile against what is installed.
    const examples: string[] = [];
    for (const name of PUBLIC_PACKAGES) {
      const readme = await readFile(join(project, 'node_modules', name, 'README.md'), 'utf8');
      const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
      for (const [i, block] of blocks.entries()) {
        const file = join(project, 'src', `readme-${name.replace(/\W/g, '-')}-${i}.ts`);
        await writeFile(file, block.includes('export ') ? block : `${block}\nexport {};\n`);
        examples.push(file);
      }
    }
    expect(examples.length).toBeGreaterThanOrEqual(PUBLIC_PACKAGES.length);

    await writeFile(
      join(project, 'src/typed.ts'),
      `import { createRegistrationClient, type Registration } from '@telegate/webrtc-client';
import { createClient } from './gen/index.js';
const api = createRegistrationClient({ apiRoot: 'http://127.0.0.1:1' });
const body: Registration.RegSessionRequest = { deviceId: '${deviceId}' };
export const ok = () => api.createRegistration({ body });
// @ts-expect-error: unknown body field
export const bad = () => api.createRegistration({ body: { deviceId: 'x', nope: 1 } });
// @ts-expect-error: the generated client knows its operations
export const unknown = () => createClient({ apiRoot: 'http://127.0.0.1:1' }).deleteEverything();
`,
    );
    expect(typecheck([...generated, ...examples, join(project, 'src/typed.ts')])).toEqual([]);
  }, 120_000);

  it('the installed gateway answers /healthz, and the installed client registers a device on it', async () => {
    const started = await startGateway(project);
    gateway = started.child;
    expect((await fetch(`${started.origin}/healthz`)).status).toBe(200);

    const { stdout: token } = await exec(
      join(project, 'node_modules/.bin/telegate-gateway'),
      ['token', '--phone', '+818000000001'],
      { cwd: project, env: { ...process.env, DEV_TOKEN_SECRET } },
    );
    await writeFile(
      join(project, 'call.mjs'),
      `import { createRegistrationClient } from '@telegate/webrtc-client';
const [apiRoot, token] = process.argv.slice(2);
const api = createRegistrationClient({ apiRoot, token });
const { data, error, response } = await api.createRegistration({ body: { deviceId: '${deviceId}' } });
console.log(JSON.stringify({ status: response.status, data, error }));
`,
    );
    const { stdout } = await exec(process.execPath, ['call.mjs', started.origin, token.trim()], {
      cwd: project,
    });
    expect(JSON.parse(stdout)).toMatchObject({
      status: 201,
      data: {
        registrationId: expect.any(String),
        regInfo: { phoneNumber: '+818000000001', regStatus: 'Registered' },
      },
    });

    const exited = new Promise<number | null>((resolve) => gateway?.once('exit', resolve));
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
    gateway = undefined;
  }, 120_000);

  it('npx on the generator and runtime tarballs generates code in an empty folder', async () => {
    const empty = join(work, 'empty');
    await mkdir(empty);
    await copyFile(join(repoRoot, 'spec/webrtc-events.yaml'), join(empty, 'events.yaml'));
    const tarball = (name: string) => tarballs.find((file) => basename(file) === tarballName(name))!;
    const { stdout } = await exec(
      npx,
      [
        '--yes',
        '--prefer-offline',
        '-p',
        tarball('telegate'),
        '-p',
        tarball('@telegate/runtime'),
        'telegate',
        'generate',
        'events.yaml',
        '--out',
        'gen',
      ],
      { cwd: empty },
    );
    expect(stdout).toMatch(/gen: 3 files \(3 written, 0 unchanged\)/);
    expect(await readFile(join(empty, 'gen/events.client.gen.ts'), 'utf8')).toContain(
      'export function createEventsClient(',
    );
  }, 180_000);
});
