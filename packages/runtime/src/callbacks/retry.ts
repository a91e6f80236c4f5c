export interface RetryPolicy {
  /** Attempts per event, the first included (default 5). */
  maxAttempts?: number;
  /** Delay before the first retry; doubles with each retry (default 1000 ms). */
  baseDelayMs?: number;
  /** Upper bound of the exponential delay (default 60 000 ms). */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` the sender waits (default 300 000 ms). A sink
   * asking for more is treated as failed: waiting would hold back every later
   * event to that sink.
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY: Required<RetryPolicy> = {
  maxAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 300_000,
};

/** What to do with an HTTP answer of the sink. */
export type StatusVerdict = 'delivered' | 'retry' | 'gone' | 'rejected';

/**
 * 2xx delivered; 410 gone (the consumer ends the subscription); 408, 429
 * and 5xx retried; anything else (other 4xx, 3xx: redirects are not
 * followed) rejected without retry.
 */
export function statusVerdict(status: number): StatusVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'rejected';
}

/**
 * Milliseconds to wait from a `Retry-After` value: delay-seconds or an
 * HTTP-date (RFC 9110 §10.2.3). `undefined` when absent or unparsable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP-dates start with the day name; this keeps `Date.parse` from reading `-1` or `1.5` as a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Exponential backoff with jitter for retry number `retry` (1 = first retry):
 * `min(maxDelay, base·2^(retry-1))`, then a random point in its upper half,
 * so senders that failed together do not retry together but never retry
 * much sooner than the schedule.
 */
export function backoffDelay(retry: number, policy: Required<RetryPolicy>, random: () => number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
