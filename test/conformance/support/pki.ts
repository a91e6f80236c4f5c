/**
 * A throw-away PKI for the webhook receiver: a self-signed CA and a leaf
 * certificate for 127.0.0.1 / localhost signed by it, made with the `openssl`
 * CLI in a temp folder. The gateway trusts the CA through its CA-file config;
 * nothing else on the machine does.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  dir: string;
  /** PEM file of the CA certificate (what the gateway is told to trust). */
  caFile: string;
  caPem: string;
  /** The receiver's key and certificate (PEM). */
  key: string;
  cert: string;
  cleanup(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`);
  }
}

/** Makes the CA and the 127.0.0.1 leaf (EC P-256: fast to generate, accepted by Node's TLS). */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'telegate-conformance-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=telegate conformance test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl(dir, ['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
  await writeFile(
    join(dir, 'leaf.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.crt',
    '-days',
    '2',
    '-extfile',
    'leaf.ext',
  ]);
  const [caPem, key, cert] = await Promise.all(
    ['ca.crt', 'leaf.key', 'leaf.crt'].map((f) => readFile(join(dir, f), 'utf8')),
  );
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    caPem: caPem!,
    key: key!,
    cert: cert!,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
