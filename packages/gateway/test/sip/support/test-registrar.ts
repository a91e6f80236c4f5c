/**
 * A SIP registrar on 127.0.0.1/UDP for the SipBackend contract: it challenges
 * every REGISTER without credentials (RFC 3261 §22.2, MD5 with qop=auth), checks
 * the digest response, and grants the Expires asked for. A number listed in
 * `refused` gets 403. It records every REGISTER it accepted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { parseDatagram } from '../../../src/sip/message/parser.js';

export interface RegisteredBinding {
  aor: string;
  contact: string;
  expires: number;
}

export interface TestRegistrar {
  /** `sip:127.0.0.1:<port>`: the registrar's URI. */
  uri: string;
  credentials: { username: string; password: string };
  /** REGISTERs that carried valid credentials, in order. */
  accepted: RegisteredBinding[];
  /** How many REGISTERs were challenged. */
  challenged: () => number;
  /** Users (E.164 numbers) whose REGISTER gets 403 Forbidden. */
  refused: Set<string>;
  /** Users granted fewer seconds than they asked for (the registrar's choice, RFC 3261 §10.3 step 7). */
  grantSeconds: Map<string, number>;
  close(): Promise<void>;
}

const REALM = 'registrar.test';
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

function authParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let m = re.exec(value); m; m = re.exec(value)) params.set(m[1]!.toLowerCase(), m[2] ?? m[3] ?? '');
  return params;
}

export async function startTestRegistrar(): Promise<TestRegistrar> {
  const socket = createSocket('udp4');
  const credentials = { username: 'gateway', password: `pw-${randomBytes(4).toString('hex')}` };
  const nonces = new Set<string>();
  const accepted: RegisteredBinding[] = [];
  const refused = new Set<string>();
  const grantSeconds = new Map<string, number>();
  let challenged = 0;

  const reply = (raw: string, to: RemoteInfo) => socket.send(Buffer.from(raw, 'utf8'), to.port, to.address);

  socket.on('message', (data, from) => {
    let message: ReturnType<typeof parseDatagram>;
    try {
      message = parseDatagram(data);
    } catch {
      return;
    }
    if (message.kind !== 'request' || message.method === 'ACK') return;
    const h = message.headers;
    const head = (status: string, extra: string[] = []) =>
      [
        `SIP/2.0 ${status}`,
        ...h.getAll('via').map((v) => `Via: ${v}`),
        `From: ${h.get('from')}`,
        `To: ${h.get('to')}${/;\s*tag=/i.test(h.get('to') ?? '') ? '' : ';tag=reg'}`,
        `Call-ID: ${h.get('call-id')}`,
        `CSeq: ${h.get('cseq')}`,
        ...extra,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    if (message.method !== 'REGISTER') {
      reply(head('405 Method Not Allowed', ['Allow: REGISTER']), from);
      return;
    }
    const aor = /<([^>]+)>/.exec(h.get('to') ?? '')?.[1] ?? h.get('to') ?? '';
    const user = /^sips?:([^@;]+)/.exec(aor)?.[1] ?? '';
    const authorization = h.get('authorization');
    const params = authorization === undefined ? undefined : authParams(authorization);
    const nonce = params?.get('nonce');
    if (params === undefined || nonce === undefined || !nonces.has(nonce)) {
      challenged += 1;
      const fresh = randomBytes(8).toString('hex');
      nonces.add(fresh);
      reply(
        head('401 Unauthorized', [`WWW-Authenticate: Digest realm="${REALM}", nonce="${fresh}", qop="auth"`]),
        from,
      );
      return;
    }
    // RFC 2617 §3.2.2.1 with qop=auth: KD(H(A1), nonce:nc:cnonce:qop:H(A2)).
    const ha1 = md5(`${credentials.username}:${REALM}:${credentials.password}`);
    const ha2 = md5(`REGISTER:${params.get('uri') ?? ''}`);
    const expected = md5(
      `${ha1}:${nonce}:${params.get('nc') ?? ''}:${params.get('cnonce') ?? ''}:${params.get('qop') ?? ''}:${ha2}`,
    );
    if (params.get('username') !== credentials.username || params.get('response') !== expected) {
      reply(head('403 Forbidden'), from);
      return;
    }
    if (refused.has(user)) {
      reply(head('403 Forbidden'), from);
      return;
    }
    const contact = h.get('contact') ?? '';
    const asked = Number(/;\s*expires=(\d+)/i.exec(contact)?.[1] ?? h.get('expires') ?? 3600);
    const expires = asked === 0 ? 0 : Math.min(asked, grantSeconds.get(user) ?? asked);
    accepted.push({ aor, contact, expires });
    reply(
      head(
        '200 OK',
        expires > 0
          ? [`Contact: ${contact.replace(/;\s*expires=\d+/i, '')};expires=${expires}`, `Expires: ${expires}`]
          : [],
      ),
      from,
    );
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  return {
    uri: `sip:127.0.0.1:${port}`,
    credentials,
    accepted,
    challenged: () => challenged,
    refused,
    grantSeconds,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
