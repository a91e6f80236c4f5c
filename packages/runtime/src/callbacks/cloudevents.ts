import { randomUUID } from 'node:crypto';

export const CLOUDEVENTS_MEDIA_TYPE = 'application/cloudevents+json';

/** The context attributes the sender fills in when an event leaves them out. */
type Filled = 'id' | 'time' | 'specversion' | 'source';

/**
 * What a sender method takes for a CloudEvents payload `E` (a union of event
 * types is kept a union): `id`, `time`, `specversion` and `source` become
 * optional, the sender fills them in.
 */
export type CloudEventInput<E> = E extends unknown
  ? Omit<E, Filled> & { [K in Extract<keyof E, Filled>]?: E[K] }
  : never;

export interface CloudEventSenderOptions {
  /** CloudEvents `source` of the events this sender creates when the event gives none (a URI reference). */
  source: string;
}

/** RFC 3339 time in UTC with milliseconds, as CloudEvents `time` wants it. */
export const rfc3339 = (epochMs: number): string => new Date(epochMs).toISOString();

/**
 * Completes a structured-mode CloudEvent: `specversion` `"1.0"`, a unique `id`
 * (a random UUID), `time` now and the sender's `source`, unless given.
 */
export function completeCloudEvent(
  event: Record<string, unknown>,
  defaults: { source: string | undefined; now: number },
): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: randomUUID(),
    time: rfc3339(defaults.now),
    ...(defaults.source === undefined ? {} : { source: defaults.source }),
    ...event,
  };
}

/** Problems with the CloudEvents envelope itself, before any schema validation. */
export function envelopeViolations(event: unknown, allowedTypes: readonly string[]): string[] {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return ['event must be an object'];
  const record = event as Record<string, unknown>;
  const violations: string[] = [];
  if (record.specversion !== '1.0') violations.push('specversion must be "1.0"');
  for (const attribute of ['id', 'source', 'type'] as const) {
    const value = record[attribute];
    if (typeof value !== 'string' || value === '') violations.push(`${attribute} must be a non-empty string`);
  }
  if (
    record.time !== undefined &&
    (typeof record.time !== 'string' || Number.isNaN(Date.parse(record.time)))
  ) {
    violations.push('time must be an RFC 3339 date-time');
  }
  if (
    allowedTypes.length > 0 &&
    typeof record.type === 'string' &&
    record.type !== '' &&
    !allowedTypes.includes(record.type)
  ) {
    violations.push(`type must be one of ${allowedTypes.map((t) => JSON.stringify(t)).join(', ')}`);
  }
  return violations;
}
