import { describe, expect, it } from 'vitest';
import {
  assertSafeSink,
  blockedAddressKind,
  createSinkGuard,
  InvalidSinkError,
  redactSink,
  type SinkLookup,
} from '../../src/callbacks/index.js';

/** A resolver with fixed answers, so no test needs DNS. */
const fakeDns =
  (table: Record<string, string[]>): SinkLookup =>
  async (hostname) => {
    const addresses = table[hostname];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('blockedAddressKind', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fc00::1', 'private'],
    ['169.254.169.254', 'cloud metadata'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.254', 'shared (CGNAT)'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:10.0.0.1', 'private (IPv4-mapped)'],
    ['::ffff:a00:1', 'private (IPv4-mapped)'],
    ['::ffff:127.0.0.1', 'loopback (IPv4-mapped)'],
    ['::ffff:169.254.169.254', 'cloud metadata (IPv4-mapped)'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::10.0.0.1', 'reserved'],
    ['8.8.8.8', undefined],
    ['172.32.0.1', undefined],
    ['100.128.0.1', undefined],
    ['2606:4700:4700::1111', undefined],
    ['::ffff:8.8.8.8', undefined],
  ])('%s → %s', (address, kind) => {
    expect(blockedAddressKind(address)).toBe(kind);
  });
});

describe('createSinkGuard().vet', () => {
  const lookup = fakeDns({
    'public.example': ['93.184.215.14'],
    'internal.example': ['10.1.2.3'],
    'mixed.example': ['93.184.215.14', '192.168.0.10'],
    'v6-internal.example': ['fd00::5'],
    'mapped.example': ['::ffff:10.0.0.1'],
    'trusted.internal': ['10.9.9.9'],
    localhost: ['127.0.0.1', '::1'],
  });

  it.each([
    ['https://127.0.0.1/sink', /loopback/],
    ['https://10.0.0.1/sink', /private/],
    ['https://169.254.169.254/latest/meta-data', /metadata/],
    ['https://[::1]/sink', /loopback/],
    ['https://[::ffff:10.0.0.1]/sink', /private/],
    ['https://[fd00:ec2::254]/', /metadata/],
    ['https://0x7f.1/sink', /loopback/],
    ['https://2130706433/sink', /loopback/],
    ['https://internal.example/sink', /must resolve to public addresses only/],
    ['https://mixed.example/sink', /must resolve to public addresses only/],
    ['https://v6-internal.example/sink', /public addresses only/],
    ['https://mapped.example/sink', /public addresses only/],
    ['https://localhost/sink', /public addresses only/],
    ['http://public.example/sink', /must use https/],
    ['ftp://public.example/sink', /must use https/],
    ['https://user:secret@public.example/sink', /must not contain credentials/],
    ['not a url', /not a valid absolute URL/],
  ])('refuses %s', async (sink, message) => {
    const error = await createSinkGuard({ lookup })
      .vet(sink)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSinkError);
    expect((error as InvalidSinkError).message).toMatch(message);
    expect((error as InvalidSinkError).message).not.toContain('secret');
    expect(error).toMatchObject({ status: 400, code: 'INVALID_SINK' });
  });

  it('accepts public hosts and returns every checked address', async () => {
    const vetted = await createSinkGuard({ lookup }).vet('https://public.example/sink?x=1');
    expect(vetted.addresses).toEqual([{ address: '93.184.215.14', family: 4 }]);
    expect(vetted.url.hostname).toBe('public.example');
  });

  it.each([
    [['127.0.0.1'], 'http://127.0.0.1:8080/sink'],
    [['::1'], 'http://[::1]:8080/sink'],
    [['10.0.0.0/8'], 'http://internal.example/sink'],
    [['trusted.internal'], 'http://trusted.internal/sink'],
  ])('allowlist %j admits %s', async (allowlist, sink) => {
    await expect(createSinkGuard({ lookup, allowHttp: true, allowlist }).vet(sink)).resolves.toBeDefined();
  });

  it('allowlisting one address does not admit its neighbours', async () => {
    const guard = createSinkGuard({ lookup, allowHttp: true, allowlist: ['127.0.0.1'] });
    await expect(guard.vet('http://127.0.0.2/')).rejects.toThrow(InvalidSinkError);
    await expect(guard.vet('http://localhost/')).rejects.toThrow(/public addresses only/);
  });

  it('refuses bad allowlist entries at creation', () => {
    expect(() => createSinkGuard({ allowlist: ['10.0.0.0/99'] })).toThrow(/prefix/);
    expect(() => createSinkGuard({ allowlist: ['http://x'] })).toThrow(/allowlist/);
  });

  it('assertSafeSink maps an unresolvable host to INVALID_SINK', async () => {
    await expect(assertSafeSink('https://nowhere.example/', { lookup })).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_SINK',
      message: 'sink https://nowhere.example/ is not allowed: its host must resolve to public addresses only',
    });
    await expect(assertSafeSink('https://public.example/', { lookup })).resolves.toBeUndefined();
  });

  it('toErrorInfo gives the CAMARA error body', () => {
    expect(new InvalidSinkError('sink x is not allowed').toErrorInfo()).toEqual({
      status: 400,
      code: 'INVALID_SINK',
      message: 'sink x is not allowed',
    });
  });
});

describe('redactSink', () => {
  it.each([
    ['https://user:pw@hooks.example/a/b?token=abc#frag', 'https://hooks.example/a/b'],
    ['https://hooks.example:8443/', 'https://hooks.example:8443/'],
    ['garbage', '(invalid URL)'],
  ])('%s → %s', (url, shown) => {
    expect(redactSink(url)).toBe(shown);
  });
});
