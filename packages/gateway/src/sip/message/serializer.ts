import { type SipMessage, wireName } from './message.js';

/**
 * Writes a message for the wire. Content-Length always counts the body's
 * bytes (not characters), whatever the message carried before.
 */
export function serializeMessage(message: SipMessage): Buffer {
  const startLine =
    message.kind === 'request'
      ? `${message.method} ${message.uri} SIP/2.0`
      : `SIP/2.0 ${message.status} ${message.reason}`;
  const lines = [startLine];
  for (const [name, value] of message.headers.entries()) {
    if (name === 'content-length') continue;
    lines.push(`${wireName(name)}: ${value}`);
  }
  lines.push(`Content-Length: ${message.body.length}`, '', '');
  const head = Buffer.from(lines.join('\r\n'), 'utf8');
  return message.body.length === 0 ? head : Buffer.concat([head, message.body]);
}
