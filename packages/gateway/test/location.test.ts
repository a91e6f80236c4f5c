/** locationDetails validation and the PIDF-LO body of emergency calls. */
import { describe, expect, it } from 'vitest';
import { buildPidfLo, parseLocation } from '../src/index.js';

const NOW = Date.parse('2025-10-06T19:32:00Z');

describe('parseLocation', () => {
  it('accepts a circle and an ellipsoid as the spec defines them', () => {
    expect(
      parseLocation({
        shape: 'Circle',
        coordinates: { latitude: 40.7128, longitude: -74.006, radius: 50 },
        method: 'GPS',
        confidence: { pdf: 'normal', value: 88 },
        timestamp: '2025-10-06T19:32:10+02:00',
      }),
    ).toEqual({
      shape: 'Circle',
      coordinates: { latitude: 40.7128, longitude: -74.006, radius: 50 },
      method: 'GPS',
      confidence: { pdf: 'normal', value: 88 },
      timestamp: '2025-10-06T17:32:10.000Z',
    });
    const ellipsoid = {
      shape: 'Ellipsoid',
      coordinates: {
        latitude: 1,
        longitude: 2,
        zAxis: 30,
        semiMajorAxis: 10,
        semiMinorAxis: 5,
        verticalAxis: 3,
        orientation: 45,
      },
    };
    expect(parseLocation(ellipsoid)).toEqual(ellipsoid);
  });

  it.each([
    ['no shape', { coordinates: { latitude: 1, longitude: 2, radius: 3 } }],
    ['unknown shape', { shape: 'Polygon', coordinates: {} }],
    ['latitude out of range', { shape: 'Circle', coordinates: { latitude: 90.5, longitude: 0, radius: 1 } }],
    ['longitude as a string', { shape: 'Circle', coordinates: { latitude: 0, longitude: '0', radius: 1 } }],
    ['negative radius', { shape: 'Circle', coordinates: { latitude: 0, longitude: 0, radius: -1 } }],
    ['NaN', { shape: 'Circle', coordinates: { latitude: Number.NaN, longitude: 0, radius: 1 } }],
    [
      'Infinity',
      { shape: 'Circle', coordinates: { latitude: 0, longitude: Number.POSITIVE_INFINITY, radius: 1 } },
    ],
    [
      'circle coordinates for an ellipsoid',
      { shape: 'Ellipsoid', coordinates: { latitude: 0, longitude: 0, radius: 1 } },
    ],
    [
      'unknown method',
      { shape: 'Circle', coordinates: { latitude: 0, longitude: 0, radius: 1 }, method: '<GPS/>' },
    ],
    [
      'confidence over 100',
      { shape: 'Circle', coordinates: { latitude: 0, longitude: 0, radius: 1 }, confidence: { value: 101 } },
    ],
    [
      'timestamp with XML',
      {
        shape: 'Circle',
        coordinates: { latitude: 0, longitude: 0, radius: 1 },
        timestamp: '2025-10-06T19:32:10Z</dm:timestamp>',
      },
    ],
    ['an array', []],
  ])('refuses %s with 400', (_name, value) => {
    expect(() => parseLocation(value)).toThrowError(
      expect.objectContaining({ status: 400, code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('buildPidfLo', () => {
  it('builds RFC 4119 / RFC 5491 XML from numbers and enumerations only', () => {
    const xml = buildPidfLo(
      parseLocation({
        shape: 'Ellipsoid',
        coordinates: {
          latitude: 1e-7,
          longitude: 2,
          zAxis: 30,
          semiMajorAxis: 10,
          semiMinorAxis: 5,
          verticalAxis: 3,
          orientation: 45,
        },
        method: 'DBH_HELO',
      }),
      '+818000000001',
      NOW,
    );
    expect(xml).toContain('<gs:Ellipsoid srsName="urn:ogc:def:crs:EPSG::4979">');
    expect(xml).toContain('<gml:pos>0.0000001 2 30</gml:pos>');
    expect(xml).toContain('<gs:orientation uom="urn:ogc:def:uom:EPSG::9102">45</gs:orientation>');
    expect(xml).toContain('<gp:method>DBH_HELO</gp:method>');
    expect(xml).toContain('<dm:timestamp>2025-10-06T19:32:00.000Z</dm:timestamp>');
    expect(xml).not.toMatch(/e-\d/);
  });

  it('refuses a number that is not E.164 as the entity', () => {
    const location = parseLocation({
      shape: 'Circle',
      coordinates: { latitude: 0, longitude: 0, radius: 1 },
    });
    expect(() => buildPidfLo(location, '+81"/><x', NOW)).toThrow();
  });
});
