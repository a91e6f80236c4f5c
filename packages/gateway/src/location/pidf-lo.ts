import { PHONE_NUMBER_PATTERN } from '../sip/address.js';
import type { Location } from './location.js';

declare const pidfBrand: unique symbol;
/** A PIDF-LO XML document built by `buildPidfLo` (never from raw text). */
export type PidfLo = string & { readonly [pidfBrand]: true };

export const PIDF_LO_CONTENT_TYPE = 'application/pidf+xml';

const EPSG_2D = 'urn:ogc:def:crs:EPSG::4326';
const EPSG_3D = 'urn:ogc:def:crs:EPSG::4979';
const METRE = 'urn:ogc:def:uom:EPSG::9001';
const DEGREE = 'urn:ogc:def:uom:EPSG::9102';

/** Finite numbers only ever reach here (checked by `parseLocation`); no exponent notation in XML. */
const num = (value: number): string => {
  if (!Number.isFinite(value)) throw new Error('PIDF-LO: non-finite number');
  // toFixed never uses exponent notation below 1e21 (ranges are far smaller); drop trailing zeros.
  const fixed = value.toFixed(7).replace(/\.?0+$/, '');
  return fixed === '-0' ? '0' : fixed;
};

/**
 * The PIDF-LO body (RFC 4119, shapes of RFC 5491 §5.2) carried with an
 * emergency INVITE (RFC 6442 location conveyance). Built only from a validated
 * `Location` and an E.164 number: numbers, enumerations and an ISO timestamp,
 * so nothing from a request is copied as text.
 */
export function buildPidfLo(location: Location, phoneNumber: string, now: number): PidfLo {
  if (!PHONE_NUMBER_PATTERN.test(phoneNumber)) throw new Error('buildPidfLo: not an E.164 number');
  const { coordinates } = location;
  const shape =
    location.shape === 'Circle'
      ? [
          `<gs:Circle srsName="${EPSG_2D}">`,
          `<gml:pos>${num(coordinates.latitude)} ${num(coordinates.longitude)}</gml:pos>`,
          `<gs:radius uom="${METRE}">${num(location.coordinates.radius)}</gs:radius>`,
          '</gs:Circle>',
        ]
      : [
          `<gs:Ellipsoid srsName="${EPSG_3D}">`,
          `<gml:pos>${num(coordinates.latitude)} ${num(coordinates.longitude)} ${num(location.coordinates.zAxis)}</gml:pos>`,
          `<gs:semiMajorAxis uom="${METRE}">${num(location.coordinates.semiMajorAxis)}</gs:semiMajorAxis>`,
          `<gs:semiMinorAxis uom="${METRE}">${num(location.coordinates.semiMinorAxis)}</gs:semiMinorAxis>`,
          `<gs:verticalAxis uom="${METRE}">${num(location.coordinates.verticalAxis)}</gs:verticalAxis>`,
          `<gs:orientation uom="${DEGREE}">${num(location.coordinates.orientation)}</gs:orientation>`,
          '</gs:Ellipsoid>',
        ];
  const confidence = location.confidence?.value;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" xmlns:gs="http://www.opengis.net/pidflo/1.0" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:con="urn:ietf:params:xml:ns:geopriv:conf" entity="pres:${phoneNumber}">`,
    '<dm:device id="caller">',
    '<gp:geopriv>',
    '<gp:location-info>',
    ...shape,
    ...(confidence === undefined
      ? []
      : [
          `<con:confidence pdf="${location.confidence?.pdf ?? 'normal'}">${num(confidence)}</con:confidence>`,
        ]),
    '</gp:location-info>',
    '<gp:usage-rules/>',
    ...(location.method === undefined ? [] : [`<gp:method>${location.method}</gp:method>`]),
    '</gp:geopriv>',
    `<dm:timestamp>${location.timestamp ?? new Date(now).toISOString()}</dm:timestamp>`,
    '</dm:device>',
    '</presence>',
  ];
  return `${lines.join('\r\n')}\r\n` as PidfLo;
}
