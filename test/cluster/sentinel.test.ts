import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, REGISTRATION } from '../../packages/gateway/test/http/support.js';
import { type LocalRedis, type LocalSentinel, startRedis, startSentinel } from '../support/redis.js';
import { type Answer, call, type GatewayNode, sleep, startNode, tokenFor, until } from './support.js';

/*
 * A gateway node (the built CLI) given `STORE=redis-sentinel://…`: a real
 * redis-server master, a replica of it and one Sentinel (quorum 1), all on
 * 127.0.0.1. The master is killed; Sentinel promotes the replica and the node
 * follows it, answering 503 with Retry-After at most while it switches.
 */

const MASTER_NAME = 'telegate-main';
const PREFIX = 'sentinel:';
const DEVICES = [1, 2, 3, 4].map((n) => `5d1e7c2a-35a4-4a53-9f0e-00000000000${n}`);

describe('a gateway node on Redis through Sentinel', () => {
  let master: LocalRedis;
  let replica: LocalRedis;
  let sentinel: LocalSentinel;
  let node: GatewayNode;
  let token: string;
  const clients: Redis[] = [];
  const client = (port: number) => {
    const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    master = await startRedis();
    replica = await startRedis({ replicaOf: master.port });
    await until('the replica is in sync', () => inSync(replica.port));
    sentinel = await startSentinel(master.port, MASTER_NAME);
    await until('Sentinel knows the replica', () => knowsReplica(replica.port));
    node = await startNode('A', {
      STORE: `redis-sentinel://127.0.0.1:${sentinel.port}/${MASTER_NAME}`,
      STORE_KEY_PREFIX: PREFIX,
    });
    token = await tokenFor(ALICE);
  });
  /** Sentinel's master and replicas, as field maps. */
  const masterPort = async () =>
    ((await client(sentinel.port).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[])[1];
  const knowsReplica = async (port: number) => {
    const replicas = (await client(sentinel.port).call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
    return replicas.some((fields) => {
      const info = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
      return info.port === String(port) && info.flags === 'slave';
    });
  };
  const inSync = async (port: number) => /master_link_status:up/.test(await client(port).info('replication'));

  /**
   * GETs `path` until the node answers 200 while Sentinel names `port` as the
   * master; every answer before is a 503 UNAVAILABLE with Retry-After.
   */
  const servedFrom = async (port: number, path: string) => {
    const answers: Answer[] = [];
    await until(
      `the node serves ${path} from the master on ${port}`,
      async () => {
        const answer = await call(node, token, 'GET', path);
        answers.push(answer);
        return answer.status === 200 && (await masterPort()) === String(port);
      },
      30_000,
    );
    expect(node.alive()).toBe(true);
    expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    for (const answer of answers.filter((a) => a.status === 503)) {
      expect(answer.body.code).toBe('UNAVAILABLE');
      expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    return answers.at(-1)?.body;
  };

  /** POSTs a registration of `deviceId` until created (a 503 while switching is retried); checks it on `port`. */
  const registerOn = async (port: number, deviceId: string) => {
    let created: Answer | undefined;
    for (let i = 0; i < 20 && created?.status !== 201; i++) {
      created = await call(node, token, 'POST', REGISTRATION, { deviceId });
      if (created.status !== 201) {
        expect(created.status).toBe(503);
        await sleep(250);
      }
    }
    expect(created?.status).toBe(201);
    expect(await client(port).exists(`${PREFIX}reg:${created?.body.registrationId}`)).toBe(1);
    return `${REGISTRATION}/${created?.body.registrationId}`;
  };

  afterAll(async () => {
    await node?.stop();
    for (const c of clients) c.disconnect();
    await sentinel?.stop();
    await replica?.stop();
    await master?.stop();
  });

  it('the master killed: the replica is promoted, the node answers 503 with Retry-After at most meanwhile, then 2xx, and the registration is kept', async () => {
    const path = await registerOn(master.port, DEVICES[0]!);
    // Replication is asynchronous: wait until the replica has the registration before the loss.
    expect(await client(master.port).wait(1, 5000)).toBe(1);

    await master.kill();
    expect(await servedFrom(replica.port, path)).toMatchObject({ regInfo: { regStatus: 'Registered' } });
    // Writes go to the new master.
    await registerOn(replica.port, DEVICES[1]!);
  }, 60_000);

  it('a planned switch (SENTINEL FAILOVER) back to the old master, restarted as a replica: the node follows', async () => {
    // The old master comes back empty; Sentinel makes it a replica of the new one.
    await master.restart({ empty: true });
    await until('the old master is a replica in sync', () => inSync(master.port), 30_000);
    await until('Sentinel knows it as a replica', () => knowsReplica(master.port), 30_000);
    const path = await registerOn(replica.port, DEVICES[2]!);
    expect(await client(replica.port).wait(1, 5000)).toBe(1);

    // The current master is demoted to a replica (it would answer writes with READONLY).
    expect(await client(sentinel.port).call('SENTINEL', 'FAILOVER', MASTER_NAME)).toBe('OK');
    await servedFrom(master.port, path);
    // Once the old master is a replica, the node's writes reach the new master (a write it
    // still sent to the old one in between is lost, as with any asynchronous replication).
    await until('the demoted master is a replica in sync', () => inSync(replica.port), 30_000);
    await registerOn(master.port, DEVICES[3]!);
  }, 90_000);
});
