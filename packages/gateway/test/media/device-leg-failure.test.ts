import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CONNECT_TIMEOUT_MS,
  DeviceLegFailure,
  DISCONNECTED_GRACE_MS,
} from '../../src/media/device-leg-failure.js';

describe('DeviceLegFailure: a device leg failing is told once', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a final state is told at once, and only the first one', () => {
    const failure = new DeviceLegFailure();
    const reasons: string[] = [];
    failure.onFailure((reason) => reasons.push(reason));
    failure.fail('DTLS failed');
    failure.fail('the device closed its media connection');
    expect(reasons).toEqual(['DTLS failed']);
  });

  it('a failure before anyone listens is told to the first listener', () => {
    const failure = new DeviceLegFailure();
    failure.fail('DTLS failed');
    const reasons: string[] = [];
    failure.onFailure((reason) => reasons.push(reason));
    expect(reasons).toEqual(['DTLS failed']);
  });

  it('a lost connection counts once it lasted the grace time; a recovery within it does not', () => {
    const failure = new DeviceLegFailure();
    const reasons: string[] = [];
    failure.onFailure((reason) => reasons.push(reason));
    failure.lost('lost');
    vi.advanceTimersByTime(DISCONNECTED_GRACE_MS - 1);
    failure.recovered();
    vi.advanceTimersByTime(DISCONNECTED_GRACE_MS);
    expect(reasons).toEqual([]);
    failure.lost('lost');
    vi.advanceTimersByTime(DISCONNECTED_GRACE_MS);
    expect(reasons).toEqual(['lost']);
  });

  it('nothing is told after close', () => {
    const failure = new DeviceLegFailure();
    const reasons: string[] = [];
    failure.onFailure((reason) => reasons.push(reason));
    failure.lost('lost');
    failure.close();
    vi.advanceTimersByTime(DISCONNECTED_GRACE_MS);
    failure.fail('DTLS failed');
    expect(reasons).toEqual([]);
  });

  it('a device that never connects fails once the connect time is over; one that connects in time does not', () => {
    const failure = new DeviceLegFailure();
    const reasons: string[] = [];
    failure.onFailure((reason) => reasons.push(reason));
    failure.awaitConnection();
    vi.advanceTimersByTime(CONNECT_TIMEOUT_MS - 1);
    failure.connected();
    vi.advanceTimersByTime(CONNECT_TIMEOUT_MS);
    expect(reasons).toEqual([]);
    failure.awaitConnection(2_000);
    vi.advanceTimersByTime(1_999);
    expect(reasons).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reasons).toEqual(['no ICE and DTLS connection with the device within 2 s']);
  });

  it('a new offer starts the connect wait again; close ends it', () => {
    const failure = new DeviceLegFailure();
    const reasons: string[] = [];
    failure.onFailure((reason) => reasons.push(reason));
    failure.awaitConnection(2_000);
    vi.advanceTimersByTime(1_500);
    failure.awaitConnection(2_000);
    vi.advanceTimersByTime(1_500);
    expect(reasons).toEqual([]);
    failure.close();
    vi.advanceTimersByTime(5_000);
    expect(reasons).toEqual([]);
  });
});
