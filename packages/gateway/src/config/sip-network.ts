import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { rootCertificates } from 'node:tls';
import type { Logger } from '../core/logger.js';
import { createMediasoupMediaBackend } from '../media/mediasoup/mediasoup-backend.js';
import { portBlocks } from '../media/port-allocator.js';
import { checkNicePermitted, setHelperThreadsRealtime } from '../media/priority.js';
import { createThreadedWeriftMediaBackend } from '../media/werift/threaded-werift-backend.js';
import { createWeriftMediaBackend } from '../media/werift/werift-media-backend.js';
import { LoopbackMediaBackend } from '../network/loopback/loopback-media.js';
import type { MediaBackend } from '../network/media-backend.js';
import type { SipBackend } from '../network/sip-backend.js';
import { DemoTelcoNetwork } from '../sip/demo/demo-telco-network.js';
import { createDrachtioSipBackend } from '../sip/drachtio/drachtio-sip-backend.js';
import { EmbeddedSipBackend } from '../sip/ua/embedded-sip-backend.js';
import { demoNetworkBehaviours } from './demo-numbers.js';
import { ConfigError, type GatewayConfig } from './gateway-config.js';

/** The TLS key, certificate and extra CA of SIP over TLS, read from their files. */
async function sipTls(
  config: GatewayConfig,
): Promise<{ tls?: { key?: string; cert?: string; ca?: string } }> {
  const read = async (path: string | undefined, name: string) => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `${name} ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  };
  const key = await read(config.sipTlsKeyFile, 'SIP_TLS_KEY_FILE');
  const cert = await read(config.sipTlsCertFile, 'SIP_TLS_CERT_FILE');
  const ca = await read(config.sipTlsCaFile, 'SIP_TLS_CA_FILE');
  if (key === undefined && cert === undefined && ca === undefined) return {};
  return {
    tls: {
      ...(key === undefined ? {} : { key }),
      ...(cert === undefined ? {} : { cert }),
      ...(ca === undefined ? {} : { ca: [...rootCertificates, ca].join('\n') }),
    },
  };
}

/** The media backend `MEDIA_BACKEND` names, on the configured address and ports. */
async function createMediaBackend(config: GatewayConfig, logger: Logger): Promise<MediaBackend> {
  const announced =
    config.mediaAnnouncedAddress === undefined ? {} : { announcedAddress: config.mediaAnnouncedAddress };
  switch (config.mediaBackend) {
    case 'werift': {
      const options = {
        bindAddress: config.mediaBindAddress,
        ...announced,
        rtpPortMin: config.rtpPortMin,
        rtpPortMax: config.rtpPortMax,
      };
      // By default one thread per core, as far as the port range holds a call for each.
      const threads =
        config.mediaThreads ??
        Math.min(availableParallelism(), portBlocks(config.rtpPortMin, config.rtpPortMax).count);
      if (threads === 0) return createWeriftMediaBackend(options);
      if (config.mediaNice !== undefined) {
        try {
          checkNicePermitted(config.mediaNice);
        } catch (error) {
          throw new ConfigError(`MEDIA_NICE=${config.mediaNice}: ${(error as Error).message}`);
        }
      }
      if (config.mediaRealtime !== undefined) {
        // V8's helper threads collect garbage with each media thread: they run as it does. Their
        // change is also the check that this process may: a refusal stops the start.
        try {
          setHelperThreadsRealtime(config.mediaRealtime);
        } catch (error) {
          throw new ConfigError(`MEDIA_REALTIME=${config.mediaRealtime}: ${(error as Error).message}`);
        }
      }
      return createThreadedWeriftMediaBackend({
        ...options,
        threads,
        logger,
        ...(config.mediaNice === undefined ? {} : { nice: config.mediaNice }),
        ...(config.mediaRealtime === undefined ? {} : { realtime: config.mediaRealtime }),
      });
    }
    case 'mediasoup':
      try {
        return await createMediasoupMediaBackend({
          ...(config.mediasoupWorkerBin === undefined ? {} : { workerBin: config.mediasoupWorkerBin }),
          ...(config.mediasoupWorkers === undefined ? {} : { workers: config.mediasoupWorkers }),
          ...(config.mediaNice === undefined ? {} : { nice: config.mediaNice }),
          ...(config.mediaRealtime === undefined ? {} : { realtime: config.mediaRealtime }),
          listenIp: config.mediaBindAddress,
          ...announced,
          rtcMinPort: config.rtpPortMin,
          rtcMaxPort: config.rtpPortMax,
        });
      } catch (error) {
        throw new ConfigError(`MEDIA_BACKEND=mediasoup: ${(error as Error).message}`);
      }
    case 'loopback':
      // SDP only: answers and offers name the bind address, no packet is relayed.
      return new LoopbackMediaBackend({ address: config.mediaAnnouncedAddress ?? config.mediaBindAddress });
  }
}

/** The SIP side a gateway runs on, made from its configuration. */
export interface SipNetwork {
  sip: SipBackend;
  media: MediaBackend;
  /** The demo telco network, when `sipNetwork` is `demo`. */
  demo: DemoTelcoNetwork | undefined;
  /** Where the gateway's SIP listens (for logs and banners). */
  listening: string[];
  /** Closes what the gateway does not own (the demo network), after the gateway closed. */
  close(): Promise<void>;
}

/**
 * Starts the embedded SIP user agent for `external` and `demo` networks (and
 * the demo network itself), or connects to drachtio-server when `drachtioHost`
 * is set; `undefined` for `loopback`, where the gateway makes its in-process network.
 */
export async function createSipNetwork(
  config: GatewayConfig,
  loggers: { sip: Logger; demo: Logger },
): Promise<SipNetwork | undefined> {
  const logger = loggers.sip;
  if (config.sipNetwork === 'loopback') return undefined;
  const media = await createMediaBackend(config, logger);
  if (config.drachtioHost !== undefined) {
    try {
      const sip = await createDrachtioSipBackend({
        host: config.drachtioHost,
        port: config.drachtioPort,
        secret: config.drachtioSecret ?? '',
        ...(config.sipOutboundProxy === undefined ? {} : { outboundProxy: config.sipOutboundProxy }),
        ...(config.sipRegistrar === undefined ? {} : { registrar: config.sipRegistrar }),
        ...(config.sipUsername === undefined || config.sipPassword === undefined
          ? {}
          : { credentials: { username: config.sipUsername, password: config.sipPassword } }),
        logger,
      });
      return { sip, media, demo: undefined, listening: sip.sipAddresses, close: async () => {} };
    } catch (error) {
      await media.close().catch(() => {});
      throw new ConfigError(`DRACHTIO_HOST: ${(error as Error).message}`);
    }
  }
  let demo: DemoTelcoNetwork | undefined;
  let sip: EmbeddedSipBackend;
  try {
    if (config.sipNetwork === 'demo') {
      demo = await DemoTelcoNetwork.start({
        behaviours: demoNetworkBehaviours(),
        domain: config.sipNetworkDomain,
        logger: loggers.demo,
      });
      sip = await EmbeddedSipBackend.start({
        listen: config.sipListen.length > 0 ? config.sipListen : ['udp:127.0.0.1:0'],
        outboundProxy: demo.uri,
        trustedPeers: config.sipTrustedPeers ?? [demo.address],
        logger,
      });
      const udp = sip.listening.find((l) => l.protocol === 'udp') ?? sip.listening[0]!;
      await demo.connect(
        `sip:${udp.address}:${udp.port}${udp.protocol === 'udp' ? '' : `;transport=${udp.protocol}`}`,
      );
    } else {
      sip = await EmbeddedSipBackend.start({
        listen: config.sipListen.length > 0 ? config.sipListen : ['udp:127.0.0.1:5060'],
        ...(await sipTls(config)),
        ...(config.sipOutboundProxy === undefined ? {} : { outboundProxy: config.sipOutboundProxy }),
        ...(config.sipRegistrar === undefined ? {} : { registrar: config.sipRegistrar }),
        ...(config.sipUsername === undefined || config.sipPassword === undefined
          ? {}
          : { credentials: { username: config.sipUsername, password: config.sipPassword } }),
        ...(config.sipTrustedPeers === undefined ? {} : { trustedPeers: config.sipTrustedPeers }),
        logger,
      });
    }
  } catch (error) {
    await demo?.close().catch(() => {});
    await media.close().catch(() => {});
    throw new ConfigError(`SIP: ${(error as Error).message}`);
  }
  return {
    sip,
    media,
    demo,
    listening: sip.listening.map((l) => `${l.protocol}:${l.address}:${l.port}`),
    close: async () => {
      await demo?.close();
    },
  };
}
