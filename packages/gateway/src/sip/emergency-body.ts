import { randomBytes } from 'node:crypto';

/** The headers and body of an emergency INVITE that carries the caller's location by value. */
export interface EmergencyInviteBody {
  /** `Geolocation`: the Content-ID of the PIDF-LO part. */
  geolocation: string;
  /** `Geolocation-Routing`: the location is not for routing decisions by proxies. */
  geolocationRouting: 'no';
  contentType: string;
  body: string;
}

/**
 * RFC 6442: the location travels by value in a multipart/mixed body beside the
 * SDP, referenced by cid from the `Geolocation` header. One builder for every
 * SIP backend, so they put the same message on the wire.
 */
export function emergencyInviteBody(sdp: string, pidfLo: string): EmergencyInviteBody {
  const boundary = `boundary-${randomBytes(6).toString('hex')}`;
  const cid = `location-${randomBytes(6).toString('hex')}@gateway`;
  return {
    geolocation: `<cid:${cid}>`,
    geolocationRouting: 'no',
    contentType: `multipart/mixed;boundary=${boundary}`,
    body: [
      `--${boundary}`,
      'Content-Type: application/sdp',
      '',
      sdp.replace(/\r\n$/, ''),
      `--${boundary}`,
      'Content-Type: application/pidf+xml',
      `Content-ID: <${cid}>`,
      '',
      pidfLo,
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  };
}
