import { existsSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestPki } from '../../../../test/conformance/support/pki.js';
import {
  type ClosableTransport,
  createWorkerTransport,
  type TransportRequest,
  type VettedSink,
} from '../../src/callbacks/index.js';
import { startSink } from './support.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function transportUnderTest(options?: Parameters<typeof createWorkerTransport>[0]): ClosableTransport {
  const transport = createWorkerTransport(options);
  cleanup.push(() => transport.close());
  return transport;
}

/** A sink whose host name is not resolvable: only the vetted (pinned) address can reach it. */
const pinned = (port: number, protocol = 'http'): VettedSink => ({
  url: new URL(`${protocol}://sink.invalid:${port}/sink?x=1`),
  addresses: [{ address: '127.0.0.1', family: 4 }],
});

const request = (sink: VettedSink, init: Partial<Omit<TransportRequest, 'sink'>> = {}): TransportRequest => ({
  sink,
  method: 'POST',
  headers: { 'content-type': 'application/cloudevents+json', 'webhook-id': 'msg_1' },
  body: new TextEncoder().encode('{"specversion":"1.0","id":"é"}'),
  signal: new AbortController().signal,
  ...init,
});

describe('createWorkerTransport (the node transport on a thread of its own)', () => {
  it('sends the request as given to the pinned address and answers with the status and headers', async () => {
    const sink = await startSink(() => ({
      status: 503,
      headers: { 'retry-after': '7', 'x-seen': 'yes' },
    }));
    cleanup.push(sink.close);
    const transport = transportUnderTest();
    const body = Buffer.from('{"specversion":"1.0","id":"é"}');
    // A view into a larger buffer: only its own bytes go.
    const view = Buffer.concat([Buffer.from('xx'), body, Buffer.from('yy')]).subarray(2, 2 + body.length);
    const response = await transport.send(request(pinned(sink.port), { body: view }));
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('7');
    expect(response.headers.get('x-seen')).toBe('yes');
    expect(response.headers.get('x-absent')).toBeNull();
    expect(sink.requests).toHaveLength(1);
    expect(sink.requests[0]).toMatchObject({ method: 'POST', url: '/sink?x=1', body: body.toString() });
    expect(sink.requests[0]!.headers).toMatchObject({
      host: `sink.invalid:${sink.port}`,
      'content-type': 'application/cloudevents+json',
      'content-length': String(body.length),
      'webhook-id': 'msg_1',
    });
  });

  it('keeps its connection alive across requests, in flight at once or one after another', async () => {
    const sink = await startSink(() => ({ status: 204 }));
    cleanup.push(sink.close);
    const transport = transportUnderTest();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => transport.send(request(pinned(sink.port))).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array(20).fill(204));
    expect((await transport.send(request(pinned(sink.port)))).status).toBe(204);
    expect(sink.requests).toHaveLength(21);
  });

  it('fails with the network error and its code (a refused connection)', async () => {
    const sink = await startSink();
    const port = sink.port;
    await sink.close();
    const transport = transportUnderTest();
    await expect(transport.send(request(pinned(port)))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('verifies https sinks against the CAs it is given, and says why when it cannot', async () => {
    const pki = await createTestPki();
    cleanup.push(pki.cleanup);
    const server = createHttpsServer({ key: pki.key, cert: pki.cert }, (_req, res) => {
      res.writeHead(202);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const { port } = server.address() as AddressInfo;
    const sink: VettedSink = {
      url: new URL(`https://127.0.0.1:${port}/sink`),
      addresses: [{ address: '127.0.0.1', family: 4 }],
    };
    expect((await transportUnderTest({ ca: pki.caPem }).send(request(sink))).status).toBe(202);
    // Without the private CA: the certificate's own error code comes back (the sender treats it as final).
    await expect(transportUnderTest().send(request(sink))).rejects.toMatchObject({
      code: expect.stringMatching(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/),
    });
  });

  it('an aborted request fails at once with the abort reason, and the thread drops the exchange', async () => {
    const sink = await startSink(() => ({ status: 204, delayMs: 5_000 }));
    cleanup.push(sink.close);
    const transport = transportUnderTest();
    const abort = new AbortController();
    const sent = transport.send(request(pinned(sink.port), { signal: abort.signal }));
    while (sink.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    abort.abort(new Error('timed out after 100 ms'));
    await expect(sent).rejects.toThrow('timed out after 100 ms');
    const already = new AbortController();
    already.abort(new Error('sender closed'));
    await expect(transport.send(request(pinned(sink.port), { signal: already.signal }))).rejects.toThrow(
      'sender closed',
    );
    expect(sink.requests).toHaveLength(1);
  });

  it('a request the thread cannot even start fails alone; the thread goes on serving', async () => {
    const sink = await startSink(() => ({ status: 204 }));
    cleanup.push(sink.close);
    const transport = transportUnderTest();
    const broken = { url: { href: 'not a url' }, addresses: [] } as unknown as VettedSink;
    await expect(transport.send(request(broken))).rejects.toMatchObject({ code: 'ERR_INVALID_URL' });
    expect((await transport.send(request(pinned(sink.port)))).status).toBe(204);
  });

  it('a thread that cannot start fails the requests given to it, and the next request starts one again', async () => {
    const sink = await startSink(() => ({ status: 204 }));
    cleanup.push(sink.close);
    // Not a certificate list: building the thread's TLS context throws, and the thread ends.
    const transport = transportUnderTest({ ca: 42 as never });
    for (let i = 0; i < 2; i++) {
      await expect(transport.send(request(pinned(sink.port)))).rejects.toThrow(
        /callback transport thread (failed|exited)/,
      );
    }
    expect(sink.requests).toHaveLength(0);
  });

  it('start() starts the thread ahead of the first request; one that cannot start rejects it', async () => {
    const sink = await startSink(() => ({ status: 204 }));
    cleanup.push(sink.close);
    const transport = transportUnderTest();
    await transport.start!();
    await transport.start!(); // already running: resolves at once
    expect(sink.requests).toHaveLength(0);
    expect((await transport.send(request(pinned(sink.port)))).status).toBe(204);

    const broken = transportUnderTest({ ca: 42 as never });
    await expect(broken.start!()).rejects.toThrow(/callback transport thread (failed|exited)/);
    transport.close();
    await expect(transport.start!()).rejects.toThrow('transport closed');
  });

  it('close() fails what is in flight and refuses later requests', async () => {
    const sink = await startSink(() => ({ status: 204, delayMs: 5_000 }));
    cleanup.push(sink.close);
    const transport = transportUnderTest();
    const sent = transport.send(request(pinned(sink.port)));
    while (sink.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    transport.close();
    await expect(sent).rejects.toThrow('transport closed');
    await expect(transport.send(request(pinned(sink.port)))).rejects.toThrow('transport closed');
  });
});

// The built package (npm test builds it first) starts the thread from its compiled module, not through tsx.
const built = new URL('../../dist/callbacks/index.js', import.meta.url);
describe.skipIf(!existsSync(built))('createWorkerTransport from the built package', () => {
  it('starts its thread from dist/callbacks/transport-thread.js and delivers', async () => {
    const { createWorkerTransport: fromDist } = (await import(
      built.href
    )) as typeof import('../../src/callbacks/index.js');
    const sink = await startSink(() => ({ status: 201 }));
    cleanup.push(sink.close);
    const transport = fromDist();
    cleanup.push(() => transport.close());
    await transport.start!();
    expect((await transport.send(request(pinned(sink.port)))).status).toBe(201);
  });
});
