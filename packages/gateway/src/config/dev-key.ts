import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, type GatewayConfig } from './gateway-config.js';

const KEY_BYTES = 32;

/**
 * The HS256 key of dev tokens, shared by `telegate-gateway token` and a
 * gateway started later on the same machine: `DEV_TOKEN_SECRET` when set,
 * else the key file (`DEV_KEY_FILE`), created with 32 random bytes on first
 * use and readable by its owner only, so only the user who runs the gateway
 * can mint tokens for it. `undefined` when neither is configured (a random
 * key per process).
 */
export async function devTokenKey(
  config: Pick<GatewayConfig, 'devTokenSecret' | 'devKeyFile'>,
): Promise<Uint8Array | undefined> {
  if (config.devTokenSecret !== undefined) return new TextEncoder().encode(config.devTokenSecret);
  if (config.devKeyFile === undefined) return undefined;
  return readOrCreateKeyFile(config.devKeyFile);
}

async function readKeyFile(path: string): Promise<Uint8Array> {
  if (process.platform !== 'win32') {
    const info = await stat(path);
    if (typeof process.getuid === 'function' && info.uid !== process.getuid()) {
      throw new ConfigError(`DEV_KEY_FILE ${path} belongs to another user; remove it or set DEV_KEY_FILE`);
    }
    if ((info.mode & 0o077) !== 0) {
      throw new ConfigError(`DEV_KEY_FILE ${path} is readable by other users; run chmod 600 on it`);
    }
  }
  const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
  if (key.length !== KEY_BYTES) {
    throw new ConfigError(
      `DEV_KEY_FILE ${path} does not hold a ${KEY_BYTES}-byte key; delete it to make a new one`,
    );
  }
  return new Uint8Array(key);
}

async function readOrCreateKeyFile(path: string): Promise<Uint8Array> {
  try {
    return await readKeyFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(error, path);
  }
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // Written aside and linked into place: a concurrent reader never sees a half-written key,
    // and of two processes creating it at once one wins (`link` fails with EEXIST for the other).
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(temporary, `${randomBytes(KEY_BYTES).toString('base64url')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    try {
      await link(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temporary).catch(() => {});
    }
    return await readKeyFile(path);
  } catch (error) {
    throw wrap(error, path);
  }
}

function wrap(error: unknown, path: string): ConfigError {
  if (error instanceof ConfigError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new ConfigError(
    `cannot read or create the dev token key ${path} (${code}); set DEV_KEY_FILE to a writable path or DEV_TOKEN_SECRET`,
  );
}
