import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, repoTempDir, typecheck } from '../../test/support/typecheck.js';
import { type CliIo, main } from '../src/cli/main.js';
import { syncHandlerClass } from '../src/scaffold/handler-class.js';
import { insertedLines } from '../src/scaffold/index.js';

const registrationSpec = new URL('../../spec/webrtc-registration.yaml', import.meta.url).pathname;

async function run(args: string[], cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), cwd };
  const code = await main(args, io);
  return { code, out, err };
}

const temps: string[] = [];
afterAll(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));
async function project(prefix: string): Promise<string> {
  const dir = await repoTempDir(prefix);
  temps.push(dir);
  await cp(registrationSpec, join(dir, 'api.yaml'));
  return dir;
}

async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => e.endsWith('.ts')).map((e) => join(dir, e));
}

/** Whether `after` is `before` with lines inserted (nothing changed or removed). */
function onlyInserts(before: string, after: string): boolean {
  const inserted = insertedLines(before, after);
  return after.split('\n').length - inserted.length === before.split('\n').length;
}

const SPEC_EDITS = {
  /** A new operation. */
  addOperation: (yaml: string) =>
    yaml.replace(
      '\ncomponents:\n',
      `
  /devices/{deviceId}/registrations:
    delete:
      summary: End every registration of a device
      operationId: deleteRegistrationsByDeviceId
      parameters:
        - name: deviceId
          in: path
          required: true
          schema:
            type: string
            format: uuid
      security:
        - openId:
            - webrtc-registration:sessions:delete
      responses:
        "204":
          description: Done.
components:
`,
    ),
  /** A new optional field in a response schema. */
  addField: (yaml: string) =>
    yaml.replace(
      '    RegSessionResponse:\n      description: A registration as returned by the server.\n      type: object\n      required:\n        - registrationId\n        - regInfo\n        - expiresAt\n      properties:\n',
      '    RegSessionResponse:\n      description: A registration as returned by the server.\n      type: object\n      required:\n        - registrationId\n        - regInfo\n        - expiresAt\n      properties:\n        label:\n          type: string\n',
    ),
  /** `DELETE /sessions/{registrationId}` leaves the spec. */
  removeOperation: (yaml: string) => {
    const start = yaml.indexOf(
      '    delete:\n      tags:\n        - Registration\n      summary: End a registration',
    );
    const end = yaml.indexOf('\ncomponents:\n');
    return yaml.slice(0, start) + yaml.slice(end + 1);
  },
};

const IMPLEMENTED = `async createRegistration(input: Input<'createRegistration'>): Promise<Result<'createRegistration'>> {
    // Hand-written: keep me exactly.
    const registrationId = \`reg-\${input.body.deviceId}\`;
    if (registrationId.length > 300) throw new ConflictError();
    return {
      status: 201,
      body: {
        registrationId,
        regInfo: { phoneNumber: input.auth.subject, regStatus: 'Registered' },
        expiresAt: new Date().toISOString(),
      },
    };
  }`;

describe('telegate scaffold: round trip', () => {
  it('scaffolds, keeps edits byte for byte across spec changes, adds new methods, warns about removed ones', async () => {
    const dir = await project('scaffold-fastify-');
    const first = await run(['scaffold', 'api.yaml', '--out', 'app'], dir);
    expect(first).toEqual({
      code: 0,
      out: [
        'telegate: create app/api.handlers.ts',
        'telegate: create app/auth.ts',
        'telegate: create app/server.ts',
        'telegate: generate app/gen: 5 files (5 written)',
      ],
      err: [],
    });
    expect(typecheck(await tsFiles(join(dir, 'app')))).toEqual([]);

    // The implementer fills a method, adds a helper, an import and a comment.
    const handlersPath = join(dir, 'app', 'api.handlers.ts');
    const scaffolded = await readFile(handlersPath, 'utf8');
    expect(scaffolded).toContain('export class ApiService implements ApiHandlers<AppAuth, AppRequest> {');
    const edited = scaffolded
      .replace(
        /async createRegistration\(_input[^\n]*\n {4}throw new NotImplementedError\(\);\n {2}\}/,
        IMPLEMENTED,
      )
      .replace(
        "import type { AppAuth, AppRequest } from './auth.js';",
        "import { ConflictError } from '@telegate/runtime/server';\nimport type { AppAuth, AppRequest } from './auth.js';",
      )
      .replace(
        '  /** End a registration',
        '  // A helper of mine.\n  private    now() { return Date.now() }\n\n  /** End a registration',
      );
    expect(edited).toContain(IMPLEMENTED);
    await writeFile(handlersPath, edited);
    expect(typecheck(await tsFiles(join(dir, 'app')))).toEqual([]);

    // The spec changes: an operation added, a field added, an operation removed.
    const spec = join(dir, 'api.yaml');
    let yaml = await readFile(spec, 'utf8');
    yaml = SPEC_EDITS.addOperation(SPEC_EDITS.addField(SPEC_EDITS.removeOperation(yaml)));
    expect(yaml).toContain('deleteRegistrationsByDeviceId');
    expect(yaml).not.toContain('operationId: deleteRegistrationById');
    await writeFile(spec, yaml);

    const second = await run(['scaffold', 'api.yaml', '--out', 'app'], dir);
    expect(second).toEqual({
      code: 0,
      out: [
        'telegate: update app/api.handlers.ts: add deleteRegistrationsByDeviceId',
        'telegate: generate app/gen: 5 files (3 written)',
      ],
      err: [
        'telegate: warning: app/api.handlers.ts: operation "deleteRegistrationById" is no longer in api.yaml; method ApiService.deleteRegistrationById kept (delete it when you no longer need it)',
      ],
    });
    const updated = await readFile(handlersPath, 'utf8');
    expect(onlyInserts(edited, updated)).toBe(true);
    expect(updated).toContain(IMPLEMENTED);
    expect(updated).toContain('  // A helper of mine.\n  private    now() { return Date.now() }\n');
    expect(insertedLines(edited, updated).join('\n')).toBe(
      [
        '',
        '  /** End every registration of a device: `DELETE /devices/{deviceId}/registrations`. */',
        '  async deleteRegistrationsByDeviceId(',
        "    _input: Input<'deleteRegistrationsByDeviceId'>,",
        "  ): Promise<Result<'deleteRegistrationsByDeviceId'>> {",
        '    throw new NotImplementedError();',
        '  }',
      ].join('\n'),
    );
    expect(await readFile(join(dir, 'app', 'gen', 'api.types.gen.ts'), 'utf8')).toContain('label?: string;');
    expect(typecheck(await tsFiles(join(dir, 'app')))).toEqual([]);

    // Nothing new: nothing written, the warning stays.
    const third = await run(['scaffold', 'api.yaml', '--out', 'app'], dir);
    expect(third.out).toEqual([
      'telegate: unchanged app/api.handlers.ts',
      'telegate: generate app/gen: 5 files (0 written)',
    ]);
    expect(third.err).toHaveLength(1);
    expect(await readFile(handlersPath, 'utf8')).toBe(updated);
    // Three type-checks of a whole project: slow on a busy machine.
  }, 120_000);

  it('--dry-run prints the planned edits and writes nothing', async () => {
    const dir = await project('scaffold-dry-');
    expect(await run(['scaffold', 'api.yaml', '--out', 'app', '--dry-run'], dir)).toEqual({
      code: 0,
      out: [
        'telegate: would create app/api.handlers.ts',
        'telegate: would create app/auth.ts',
        'telegate: would create app/server.ts',
        'telegate: would generate app/gen: 5 files (5 to write)',
      ],
      err: [],
    });
    expect(await readdir(dir)).toEqual(['api.yaml']);

    await run(['scaffold', 'api.yaml', '--out', 'app'], dir);
    const before = await readFile(join(dir, 'app', 'api.handlers.ts'), 'utf8');
    await writeFile(
      join(dir, 'api.yaml'),
      SPEC_EDITS.addOperation(await readFile(join(dir, 'api.yaml'), 'utf8')),
    );
    const plan = await run(['scaffold', 'api.yaml', '--out', 'app', '--dry-run'], dir);
    expect(plan.out).toEqual([
      'telegate: would update app/api.handlers.ts: add deleteRegistrationsByDeviceId',
      '+ ',
      '+   /** End every registration of a device: `DELETE /devices/{deviceId}/registrations`. */',
      '+   async deleteRegistrationsByDeviceId(',
      "+     _input: Input<'deleteRegistrationsByDeviceId'>,",
      "+   ): Promise<Result<'deleteRegistrationsByDeviceId'>> {",
      '+     throw new NotImplementedError();',
      '+   }',
      'telegate: would generate app/gen: 5 files (3 to write)',
    ]);
    expect(await readFile(join(dir, 'app', 'api.handlers.ts'), 'utf8')).toBe(before);
  });

  it.each(['fastify', 'express'] as const)(
    '--framework %s: buildServer() serves the stubs (401 from the template auth, 501 once it lets the call in)',
    async (framework) => {
      const dir = await project(`scaffold-${framework}-`);
      const result = await run(
        ['scaffold', 'api.yaml', '--out', 'app', '--framework', framework, '--generated', 'generated'],
        dir,
      );
      expect(result.code).toBe(0);
      expect(await readFile(join(dir, 'app', 'server.ts'), 'utf8')).toContain(
        framework === 'fastify'
          ? "from '../generated/index.js'"
          : 'createApiRouter(new ApiService(), { authenticate })',
      );
      const authPath = join(dir, 'app', 'auth.ts');
      await writeFile(
        authPath,
        (await readFile(authPath, 'utf8')).replace(
          "async function verifyToken(_token: string): Promise<AppAuth> {\n  throw new UnauthenticatedError('Token verification is not configured.');",
          "async function verifyToken(token: string): Promise<AppAuth> {\n  if (token !== 'let-me-in') throw new UnauthenticatedError();\n  return { subject: '+123456789', scopes: ['webrtc-registration:sessions:read'] };",
        ),
      );
      expect(
        typecheck([...(await tsFiles(join(dir, 'app'))), ...(await tsFiles(join(dir, 'generated')))]),
      ).toEqual([]);

      const { buildServer } = await import(join(dir, 'app', 'server.ts'));
      const app = await buildServer();
      const request = async (authorization?: string) => {
        const url = '/webrtc-registration/vwip/sessions?deviceId=4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10';
        const headers = authorization ? { authorization } : {};
        if (framework === 'fastify') {
          const response = await app.inject({ method: 'GET', url, headers });
          return { status: response.statusCode, body: response.json() };
        }
        const server = app.listen(0, '127.0.0.1');
        await new Promise((resolve) => server.once('listening', resolve));
        try {
          const response = await fetch(`http://127.0.0.1:${server.address().port}${url}`, { headers });
          return { status: response.status, body: await response.json() };
        } finally {
          server.close();
        }
      };
      expect(await request()).toMatchObject({ status: 401, body: { status: 401, code: 'UNAUTHENTICATED' } });
      expect(await request('Bearer let-me-in')).toEqual({
        status: 501,
        body: { status: 501, code: 'NOT_IMPLEMENTED', message: 'This functionality is not implemented yet.' },
      });
      if (framework === 'fastify') await app.close();
    },
  );

  it.each(['fastify', 'express'] as const)(
    '--framework %s: the scaffolded project builds with tsc and `node dist/server.js` listens and answers (401, then 501 with DEV_TOKEN)',
    async (framework) => {
      const dir = await project(`scaffold-run-${framework}-`);
      expect((await run(['scaffold', 'api.yaml', '--out', 'src', '--framework', framework], dir)).code).toBe(
        0,
      );
      await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
      await writeFile(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            verbatimModuleSyntax: true,
            skipLibCheck: true,
            types: ['node'],
            rootDir: 'src',
            outDir: 'dist',
          },
          include: ['src'],
        }),
      );
      await promisify(execFile)(process.execPath, [
        join(repoRoot, 'node_modules/typescript/bin/tsc'),
        '-p',
        dir,
      ]);

      const devToken = 'a-development-token-for-tests';
      const server: ChildProcess = spawn(process.execPath, ['dist/server.js'], {
        cwd: dir,
        env: {
          ...process.env,
          HOST: '127.0.0.1',
          PORT: '0',
          DEV_TOKEN: devToken,
          DEV_SUBJECT: '+15550100001',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let errors = '';
      server.stderr?.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
      });
      try {
        let output = '';
        const origin = await new Promise<string>((resolve, reject) => {
          server.stdout?.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
            if (url) resolve(url);
          });
          server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}${errors}`)));
        });
        const request = async (authorization?: string) => {
          const response = await fetch(
            `${origin}/webrtc-registration/vwip/sessions?deviceId=4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10`,
            { headers: authorization ? { authorization } : {} },
          );
          return { status: response.status, body: await response.json() };
        };
        expect(await request()).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
        expect(await request('Bearer not-the-development-token')).toMatchObject({ status: 401 });
        expect(await request(`Bearer ${devToken}`)).toEqual({
          status: 501,
          body: {
            status: 501,
            code: 'NOT_IMPLEMENTED',
            message: 'This functionality is not implemented yet.',
          },
        });
      } finally {
        server.kill('SIGTERM');
        if (server.exitCode === null) await once(server, 'exit');
      }
    },
    120_000,
  );

  it('refuses an unknown framework with one line', async () => {
    const dir = await project('scaffold-bad-');
    expect(await run(['scaffold', 'api.yaml', '--out', 'app', '--framework', 'koa'], dir)).toEqual({
      code: 1,
      out: [],
      err: ['telegate: --framework must be fastify or express, not "koa"'],
    });
  });
});

describe('syncHandlerClass', () => {
  const spec = {
    interfaceName: 'PetsHandlers',
    generatedImport: './gen/index.js',
    runtimePackage: '@telegate/runtime',
    operations: [
      { id: 'listPets', method: 'get', path: '/pets', summary: 'List pets' },
      { id: 'get-pet', method: 'get', path: '/pets/{id}' },
    ],
  };

  it.each([
    [
      'adds missing methods (a string name where the id is not an identifier), keeps 4-space indentation',
      'class Pets implements PetsHandlers<A, R> {\n    listPets = async () => ({ status: 200 });\n}\n',
      {
        added: ['get-pet'],
        removed: [],
        contains:
          "\n    async 'get-pet'(_input: Input<'get-pet'>): Promise<Result<'get-pet'>> {\n        throw new NotImplementedError();\n    }\n",
      },
    ],
    [
      'adds the aliases and imports the methods need when they are missing',
      'export class Pets implements PetsHandlers {\n}\n',
      {
        added: ['listPets', 'get-pet'],
        removed: [],
        contains:
          "import { NotImplementedError, type HandlerInputOf, type HandlerResultOf } from '@telegate/runtime/server';\nimport type { PetsHandlers } from './gen/index.js';\n\ntype Input<K extends string> = HandlerInputOf<PetsHandlers, K>;\ntype Result<K extends string> = HandlerResultOf<PetsHandlers, K>;\n",
      },
    ],
    [
      'reports handler-typed methods of removed operations, not helpers',
      "class Pets implements PetsHandlers {\n  async listPets(i: Input<'listPets'>) {}\n  async 'get-pet'() {}\n  async adoptPet(i: Input<'adoptPet'>) {}\n  private helper(x: number) {}\n}\n",
      { added: [], removed: ['adoptPet'], contains: '  private helper(x: number) {}' },
    ],
  ])('%s', (_, text, expected) => {
    const edit = syncHandlerClass(text, spec);
    expect(edit).toMatchObject({ added: expected.added, removed: expected.removed });
    expect(edit.text).toContain(expected.contains);
    expect(onlyInserts(text, edit.text)).toBe(true);
  });

  it('leaves a file without a class implementing the interface untouched', () => {
    const text = 'export class Other {}\n';
    expect(syncHandlerClass(text, spec)).toEqual({
      text,
      added: [],
      removed: [],
      problem: 'no class implementing PetsHandlers',
    });
  });
});
