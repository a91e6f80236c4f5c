import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, typecheck } from '../support/typecheck.js';

const exec = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('@telegate/webrtc-client as an installed package', () => {
  let project = '';
  afterAll(() => (project ? rm(project, { recursive: true, force: true }) : undefined));

  it('packs, installs from the tarball into a fresh project, imports and calls a local server', async () => {
    project = await mkdtemp(join(tmpdir(), 'telegate-pack-'));
    const tarballs = join(project, 'tarballs');
    await mkdir(tarballs);
    await exec(
      npm,
      ['pack', '-w', '@telegate/runtime', '-w', '@telegate/webrtc-client', '--pack-destination', tarballs],
      {
        cwd: repoRoot,
      },
    );
    const packed = (await readdir(tarballs)).sort();
    expect(packed).toEqual(['telegate-runtime-0.1.0.tgz', 'telegate-webrtc-client-0.1.0.tgz']);

    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await exec(
      npm,
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...packed.map((file) => join(tarballs, file)),
      ],
      { cwd: project },
    );

    await writeFile(
      join(project, 'call.mjs'),
      `import { createServer } from 'node:http';
import { createRegistrationClient } from '@telegate/webrtc-client';
const server = createServer((req, res) => {
  res.writeHead(201, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ registrationId: 'a1b2c3d4-1234-4678-abcd-ef0123456789', auth: req.headers.authorization, url: req.url }));
});
server.listen(0, '127.0.0.1', async () => {
  const api = createRegistrationClient({ apiRoot: 'http://127.0.0.1:' + server.address().port, token: 'abc' });
  const { data, response } = await api.createRegistration({ body: { deviceId: '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10' } });
  console.log(JSON.stringify({ status: response.status, data }));
  server.close();
});
`,
    );
    const { stdout } = await exec(process.execPath, ['call.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      status: 201,
      data: {
        registrationId: 'a1b2c3d4-1234-4678-abcd-ef0123456789',
        auth: 'Bearer abc',
        url: '/webrtc-registration/vwip/sessions',
      },
    });

    // The published .d.ts files type a consumer's code.
    await writeFile(
      join(project, 'typed.ts'),
      `import { createRegistrationClient, type Registration } from '@telegate/webrtc-client';
const api = createRegistrationClient({ apiRoot: 'http://127.0.0.1:1' });
const body: Registration.RegSessionRequest = { deviceId: '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10' };
export const ok = () => api.createRegistration({ body });
// @ts-expect-error: unknown body field
export const bad = () => api.createRegistration({ body: { deviceId: 'x', nope: 1 } });
`,
    );
    expect(typecheck([join(project, 'typed.ts')])).toEqual([]);
  }, 180_000);
});
