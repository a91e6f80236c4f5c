/*
 * The SipBackend contract against a real drachtio-server, when one runs:
 * DRACHTIO_HOST (admin address), DRACHTIO_PORT (9022), DRACHTIO_SECRET, and
 * DRACHTIO_SIP (`127.0.0.1:5080`, its UDP SIP address; by default the one it
 * reports on connect). drachtio-server is not packaged anywhere we install from,
 * so without it the suite is skipped.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/gateway-config.js';
import { createSipNetwork } from '../../src/config/sip-network.js';
import { silentLogger } from '../../src/core/logger.js';
import { createDrachtioSipBackend, DrachtioSipBackend } from '../../src/sip/drachtio/drachtio-sip-backend.js';
import type { DrachtioSrf } from '../../src/sip/drachtio/drachtio-srf-api.js';
import { describeSipBackendContract } from './sip-backend-contract.js';

const host = process.env.DRACHTIO_HOST;

/** `udp/127.0.0.1:5080` (drachtio's hostport list) or `127.0.0.1:5080` → host and port. */
function sipAddressOf(entries: string[]): { host: string; port: number } {
  const configured = process.env.DRACHTIO_SIP;
  const candidate = configured ?? entries.find((e) => e.startsWith('udp/')) ?? entries[0] ?? '';
  const match = /(?:^|\/)([^/:]+):(\d+)$/.exec(candidate);
  if (!match) throw new Error(`cannot tell drachtio-server's SIP address from ${JSON.stringify(candidate)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

if (host === undefined || host === '') {
  describe('SipBackend contract: DrachtioSipBackend', () => {
    it.skip('needs a drachtio-server: set DRACHTIO_HOST (and DRACHTIO_PORT, DRACHTIO_SECRET)', () => {});
  });
} else {
  describeSipBackendContract('DrachtioSipBackend on drachtio-server', async (env, settings) => {
    let closed = false;
    const backend = await createDrachtioSipBackend({
      host,
      port: Number(process.env.DRACHTIO_PORT ?? 9022),
      secret: process.env.DRACHTIO_SECRET ?? 'cymru',
      registrar: env.registrar.uri,
      credentials: env.registrar.credentials,
      ...(settings?.outboundProxy === undefined ? {} : { outboundProxy: settings.outboundProxy }),
      createSrf: async () => {
        const loaded = (await import('drachtio-srf')) as unknown as { default: new () => DrachtioSrf };
        const srf = new loaded.default();
        srf.on('close', () => {
          closed = true;
        });
        return srf;
      },
    });
    return {
      backend,
      address: sipAddressOf(backend.sipAddresses),
      freed: async () => {
        const deadline = Date.now() + 2_000;
        while (!closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        return closed;
      },
    };
  });
}

describe.skipIf(host === undefined || host === '')('the gateway on drachtio-server', () => {
  it('DRACHTIO_HOST makes the gateway connect its SIP side to drachtio-server, which reports where it listens', async () => {
    const config = resolveConfig({
      drachtioHost: host!,
      drachtioPort: Number(process.env.DRACHTIO_PORT ?? 9022),
      drachtioSecret: process.env.DRACHTIO_SECRET ?? 'cymru',
      devTokenSecret: 'x'.repeat(32),
    });
    expect(config.sipNetwork).toBe('external');
    const network = await createSipNetwork(config, { sip: silentLogger, demo: silentLogger });
    try {
      expect(network?.sip).toBeInstanceOf(DrachtioSipBackend);
      expect(network?.listening.some((l) => /^udp\//.test(l))).toBe(true);
    } finally {
      await network?.sip.close();
      await network?.close();
    }
  });

  it('a wrong DRACHTIO_SECRET stops the start with one line', async () => {
    const config = resolveConfig({
      drachtioHost: host!,
      drachtioSecret: 'not-the-secret',
      devTokenSecret: 'x'.repeat(32),
    });
    await expect(createSipNetwork(config, { sip: silentLogger, demo: silentLogger })).rejects.toThrow(
      /DRACHTIO_HOST: /,
    );
  });
});
