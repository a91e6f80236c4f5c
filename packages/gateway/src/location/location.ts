import { parseDateTime } from '../core/time.js';
import { invalidArgument } from '../errors.js';

/** `LocationDetails` of webrtc-call-handling, after validation. */
export type Location = {
  method?: 'GPS' | 'DBH' | 'DBH_HELO' | 'Other';
  confidence?: { pdf?: 'normal' | 'uniform'; value?: number };
  timestamp?: string;
} & (
  | { shape: 'Circle'; coordinates: { latitude: number; longitude: number; radius: number } }
  | {
      shape: 'Ellipsoid';
      coordinates: {
        latitude: number;
        longitude: number;
        zAxis: number;
        semiMajorAxis: number;
        semiMinorAxis: number;
        verticalAxis: number;
        orientation: number;
      };
    }
);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function number(value: unknown, field: string, range: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalidArgument(`${field} must be a number`);
  if (value < range.min || value > range.max) {
    throw invalidArgument(`${field} must be between ${range.min} and ${range.max}`);
  }
  return value;
}

const LAT = { min: -90, max: 90 };
const LON = { min: -180, max: 180 };
/** Lengths in metres: up to the Earth's circumference is more than generous. */
const LENGTH = { min: 0, max: 40_075_000 };
const ALTITUDE = { min: -11_000, max: 100_000 };
const ANGLE = { min: 0, max: 360 };

/**
 * Validates `locationDetails` (RFC 4119 / RFC 5491 shapes) into a `Location`
 * the gateway can store, return and turn into PIDF-LO. Throws
 * `400 INVALID_ARGUMENT` naming the field.
 */
export function parseLocation(value: unknown, field = 'locationDetails'): Location {
  if (!isObject(value)) throw invalidArgument(`${field} must be an object`);
  const { shape, coordinates, method, confidence, timestamp } = value;
  if (shape !== 'Circle' && shape !== 'Ellipsoid')
    throw invalidArgument(`${field}.shape must be Circle or Ellipsoid`);
  if (!isObject(coordinates)) throw invalidArgument(`${field}.coordinates is required with shape ${shape}`);
  const c = `${field}.coordinates`;
  const extras: Omit<Location, 'shape' | 'coordinates'> = {};
  if (method !== undefined) {
    if (method !== 'GPS' && method !== 'DBH' && method !== 'DBH_HELO' && method !== 'Other') {
      throw invalidArgument(`${field}.method must be GPS, DBH, DBH_HELO or Other`);
    }
    extras.method = method;
  }
  if (confidence !== undefined) {
    if (!isObject(confidence)) throw invalidArgument(`${field}.confidence must be an object`);
    const out: NonNullable<Location['confidence']> = {};
    if (confidence.pdf !== undefined) {
      if (confidence.pdf !== 'normal' && confidence.pdf !== 'uniform') {
        throw invalidArgument(`${field}.confidence.pdf must be normal or uniform`);
      }
      out.pdf = confidence.pdf;
    }
    if (confidence.value !== undefined)
      out.value = number(confidence.value, `${field}.confidence.value`, { min: 0, max: 100 });
    extras.confidence = out;
  }
  if (timestamp !== undefined) {
    const ms = parseDateTime(timestamp);
    if (ms === undefined) throw invalidArgument(`${field}.timestamp must be an RFC 3339 date-time`);
    extras.timestamp = new Date(ms).toISOString();
  }
  const latitude = number(coordinates.latitude, `${c}.latitude`, LAT);
  const longitude = number(coordinates.longitude, `${c}.longitude`, LON);
  if (shape === 'Circle') {
    return {
      ...extras,
      shape,
      coordinates: { latitude, longitude, radius: number(coordinates.radius, `${c}.radius`, LENGTH) },
    };
  }
  return {
    ...extras,
    shape,
    coordinates: {
      latitude,
      longitude,
      zAxis: number(coordinates.zAxis, `${c}.zAxis`, ALTITUDE),
      semiMajorAxis: number(coordinates.semiMajorAxis, `${c}.semiMajorAxis`, LENGTH),
      semiMinorAxis: number(coordinates.semiMinorAxis, `${c}.semiMinorAxis`, LENGTH),
      verticalAxis: number(coordinates.verticalAxis, `${c}.verticalAxis`, LENGTH),
      orientation: number(coordinates.orientation, `${c}.orientation`, ANGLE),
    },
  };
}
