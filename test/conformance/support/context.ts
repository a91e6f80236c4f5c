/**
 * The shared fixture of a conformance test file: a throw-away PKI, the HTTPS
 * webhook receiver, the main gateway and, on demand, gateways with special
 * configurations (limits, policies) that some documented errors need.
 */
import { ALL_SCOPES, type GatewayConfig } from '../../../packages/gateway/src/index.js';
import { baseConfig, type GatewayUnderTest, startGateway } from './gateway.js';
import { createTestPki, type TestPki } from './pki.js';
import { startWebhookReceiver, type WebhookReceiver } from './receiver.js';

export const SINK_TOKEN = 'conformance-sink-token';

export interface Fixture {
  pki: TestPki;
  receiver: WebhookReceiver;
  gw: GatewayUnderTest;
  /** A gateway with `overrides` on top of the suite's base config, started once per key. */
  special(key: string, overrides: Partial<GatewayConfig>): Promise<GatewayUnderTest>;
  close(): Promise<void>;
}

export async function startFixture(overrides: Partial<GatewayConfig> = {}): Promise<Fixture> {
  const pki = await createTestPki();
  const receiver = await startWebhookReceiver(pki, SINK_TOKEN);
  const gw = await startGateway(merge(baseConfig(pki), overrides));
  const specials = new Map<string, Promise<GatewayUnderTest>>();
  return {
    pki,
    receiver,
    gw,
    special(key, extra) {
      let started = specials.get(key);
      if (started === undefined) {
        started = startGateway(merge(baseConfig(pki), extra));
        specials.set(key, started);
      }
      return started;
    },
    async close() {
      const all = [gw, ...(await Promise.all(specials.values()))];
      await Promise.allSettled(all.map((g) => g.close()));
      await receiver.close();
      await pki.cleanup();
    },
  };
}

/** Deep merge of plain config objects (arrays and values of `extra` win). */
export function merge<T>(base: T, extra: Partial<T>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(extra as Record<string, unknown>)) {
    const current = out[key];
    out[key] = isPlain(current) && isPlain(value) ? merge(current, value as Record<string, unknown>) : value;
  }
  return out as T;
}

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** Every scope except `without`. */
export const scopesWithout = (...without: string[]): string[] =>
  ALL_SCOPES.filter((s) => !without.includes(s));
