import type { Duplex } from 'node:stream';
import { newCorrelator } from './correlator.js';
import type { ServerLogger } from './pipeline.js';

/**
 * A Node `clientError` listener (and Fastify's `clientErrorHandler`): a request the
 * HTTP parser refuses (a bare CR, LF or NUL in a header, Content-Length with
 * Transfer-Encoding, an unknown transfer coding, headers or a URL over the limit, a
 * request target that is not a path) is answered with a CAMARA `ErrorInfo` and an
 * `x-correlator`, not Node's or Fastify's own body. Such requests never reach a route,
 * so no operation answers them: `400 INVALID_ARGUMENT`, documented for every operation.
 * Logged at debug without a stack: it is the client's doing.
 */
export function createClientErrorListener(
  logger?: Pick<ServerLogger, 'debug'>,
  generate: () => string = newCorrelator,
): (error: Error & { code?: string }, socket: Duplex) => void {
  return (error, socket) => {
    const code = typeof error.code === 'string' ? error.code : 'unknown';
    const correlator = generate();
    logger?.debug?.({ correlator, code }, 'refused a request the HTTP parser could not read');
    // A connection already gone (ECONNRESET), or one a response has begun on, has nobody left to answer.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const message =
      code === 'HPE_HEADER_OVERFLOW'
        ? 'The request headers or URL are larger than the server accepts.'
        : code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'The request was not received in time.'
          : `The request is not valid HTTP (${code}).`;
    const body = JSON.stringify({ status: 400, code: 'INVALID_ARGUMENT', message });
    socket.end(
      'HTTP/1.1 400 Bad Request\r\n' +
        'content-type: application/json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-correlator: ${correlator}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  };
}
