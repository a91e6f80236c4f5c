/**
 * How long the device has, once both sides' ICE and DTLS parameters are known, to complete ICE and
 * the DTLS handshake. An ICE-lite gateway (mediasoup) never sends a check itself, so a device that
 * cannot reach it would otherwise leave the call connected and silent for good.
 */
export const CONNECT_TIMEOUT_MS = 10_000;

/** How long a lost connection with the device (consent expired, RFC 7675) may last before the call's media counts as failed. */
export const DISCONNECTED_GRACE_MS = 5_000;

/**
 * The failure of an endpoint's device leg, told once to the call that owns the endpoint (which
 * ends the call): a final state at once, a lost connection only once it has lasted
 * `DISCONNECTED_GRACE_MS`, since it may recover. A failure before anyone listens is kept for them.
 */
export class DeviceLegFailure {
  #listener: ((reason: string) => void) | undefined;
  #failure: string | undefined;
  #lostTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #closed = false;

  onFailure(listener: (reason: string) => void): void {
    this.#listener = listener;
    if (this.#failure !== undefined) this.fail(this.#failure);
  }

  /** A final state: ICE or DTLS failed, or the device closed DTLS. */
  fail(reason: string): void {
    if (this.#closed) return;
    this.#failure ??= reason;
    const listener = this.#listener;
    if (listener === undefined) return;
    this.#listener = undefined;
    listener(this.#failure);
  }

  /** The connection is lost: a failure unless `recovered()` comes within the grace time. */
  lost(reason: string): void {
    if (this.#closed) return;
    clearTimeout(this.#lostTimer);
    this.#lostTimer = setTimeout(() => this.fail(reason), DISCONNECTED_GRACE_MS);
    this.#lostTimer.unref?.();
  }

  /**
   * The device may connect from now on: a failure unless `connected()` comes within `timeoutMs`.
   * A later call (a new offer) starts the wait again.
   */
  awaitConnection(timeoutMs = CONNECT_TIMEOUT_MS): void {
    if (this.#closed) return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = setTimeout(
      () => this.fail(`no ICE and DTLS connection with the device within ${timeoutMs / 1000} s`),
      timeoutMs,
    );
    this.#connectTimer.unref?.();
  }

  /** ICE and DTLS are up (DTLS connected): the connection wait is over. */
  connected(): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
  }

  recovered(): void {
    clearTimeout(this.#lostTimer);
    this.#lostTimer = undefined;
  }

  /** The endpoint closed: nothing is told any more. */
  close(): void {
    this.#closed = true;
    this.recovered();
    this.connected();
    this.#listener = undefined;
  }
}
