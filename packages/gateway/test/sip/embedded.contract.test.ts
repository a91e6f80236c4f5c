import { createSocket } from 'node:dgram';
import { EmbeddedSipBackend } from '../../src/sip/ua/embedded-sip-backend.js';
import { describeSipBackendContract } from './sip-backend-contract.js';

/** True when a UDP socket can bind `port` on 127.0.0.1 again (the backend let go of it). */
async function udpPortFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

describeSipBackendContract('EmbeddedSipBackend', async (env, settings) => {
  const backend = await EmbeddedSipBackend.start({
    listen: ['udp:127.0.0.1:0'],
    ...(settings?.outboundProxy === undefined ? {} : { outboundProxy: settings.outboundProxy }),
    registrar: env.registrar.uri,
    credentials: env.registrar.credentials,
    trustedPeers: ['127.0.0.0/8'],
  });
  const udp = backend.listening.find((l) => l.protocol === 'udp')!;
  return {
    backend,
    address: { host: udp.address, port: udp.port },
    freed: () => udpPortFree(udp.port),
  };
});
