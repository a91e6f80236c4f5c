import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createClientErrorListener } from '../../src/server/index.js';
import { frameworkErrorResponse } from '../../src/server/pipeline.js';

const recorder = () => {
  const entries: { level: string; details: Record<string, unknown>; message: string }[] = [];
  return {
    entries,
    error: (details: Record<string, unknown>, message: string) =>
      entries.push({ level: 'error', details, message }),
    debug: (details: Record<string, unknown>, message: string) =>
      entries.push({ level: 'debug', details, message }),
  };
};

describe('a client that hangs up mid-body', () => {
  it('is logged at debug, without the error (no stack)', () => {
    const logger = recorder();
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    const response = frameworkErrorResponse(aborted, { 'x-correlator': 'c-1' }, logger, () => 'new');
    expect(response.status).toBe(400);
    expect(logger.entries).toEqual([
      { level: 'debug', details: { correlator: 'c-1' }, message: expect.any(String) },
    ]);
  });
});

describe('createClientErrorListener', () => {
  it.each([
    ['HPE_INVALID_HEADER_TOKEN', /not valid HTTP \(HPE_INVALID_HEADER_TOKEN\)/],
    ['HPE_HEADER_OVERFLOW', /larger than the server accepts/],
  ])('%s → 400 INVALID_ARGUMENT ErrorInfo with an x-correlator', async (code, message) => {
    const logger = recorder();
    const socket = new PassThrough();
    let written = '';
    socket.on('data', (chunk: Buffer) => {
      written += chunk.toString();
    });
    createClientErrorListener(logger, () => 'corr-1')(
      Object.assign(new Error('Parse Error'), { code }),
      socket,
    );
    await new Promise((resolve) => setImmediate(resolve));
    const [head = '', body = ''] = written.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(head).toContain('x-correlator: corr-1');
    expect(JSON.parse(body)).toEqual({
      status: 400,
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(message),
    });
    expect(logger.entries.map((e) => e.level)).toEqual(['debug']);
  });

  it('writes nothing to a connection the client already reset', () => {
    const socket = new PassThrough();
    let written = '';
    socket.on('data', (chunk: Buffer) => {
      written += chunk.toString();
    });
    createClientErrorListener()(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), socket);
    expect(written).toBe('');
    expect(socket.destroyed).toBe(true);
  });
});
