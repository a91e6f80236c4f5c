import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
} from 'cockatiel';
import { LRUCache } from 'lru-cache';

export interface CircuitBreakerOptions {
  /** Failed attempts in a row to one sink origin that open its circuit (default 5). */
  failures?: number;
  /** How long an open circuit refuses attempts before it lets one probe through (default 30 000 ms). */
  coolDownMs?: number;
  /** Origins whose circuit is remembered, the least recently used forgotten first (default 10 000). */
  maxSinks?: number;
}

/** `open`: attempts are refused without connecting; `half-open`: one probe is in flight, the others wait for it. */
export type SinkCircuitState = 'closed' | 'open' | 'half-open';

export interface SinkCircuitChange {
  /** The sink's origin (`https://host:port`): one circuit per origin, whatever the path. */
  origin: string;
  state: SinkCircuitState;
}

/** An attempt was not made: the sink's circuit is open. */
export class OpenCircuitError extends Error {
  override name = 'OpenCircuitError';
  constructor(readonly origin: string) {
    super(`circuit open for ${origin}: no attempt made`);
  }
}

const STATE_NAME: Partial<Record<CircuitState, SinkCircuitState>> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
};

/**
 * One circuit breaker per sink origin (cockatiel's `ConsecutiveBreaker`):
 * after `failures` failed attempts in a row the circuit opens and attempts are
 * refused (`OpenCircuitError`) without connecting; after `coolDownMs` the next
 * attempt is the probe (the others wait for its outcome): success closes the
 * circuit, failure opens it for another cool-down. What counts as a failure
 * is given by `failed` (the sender: no answer, or a status it would retry).
 */
export class SinkCircuits<R> {
  readonly #circuits: LRUCache<string, CircuitBreakerPolicy>;
  readonly #failures: number;
  readonly #coolDownMs: number;
  readonly #failed: (result: R) => boolean;
  readonly #onChange: ((change: SinkCircuitChange) => void) | undefined;

  constructor(
    options: CircuitBreakerOptions,
    failed: (result: R) => boolean,
    onChange?: (change: SinkCircuitChange) => void,
  ) {
    this.#failures = Math.max(1, options.failures ?? 5);
    this.#coolDownMs = Math.max(0, options.coolDownMs ?? 30_000);
    this.#circuits = new LRUCache({ max: Math.max(1, options.maxSinks ?? 10_000) });
    this.#failed = failed;
    this.#onChange = onChange;
  }

  /** Runs one attempt to `origin` through its circuit; rejects with `OpenCircuitError` when it is open. */
  async run(origin: string, attempt: () => Promise<R>): Promise<R> {
    try {
      return await this.#circuitOf(origin).execute(attempt);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new OpenCircuitError(origin);
      throw error;
    }
  }

  /** The circuit state of `origin` (`closed` when none is remembered). */
  state(origin: string): SinkCircuitState {
    const circuit = this.#circuits.peek(origin);
    return circuit === undefined ? 'closed' : (STATE_NAME[circuit.state] ?? 'closed');
  }

  /** How many remembered circuits are not closed. */
  get openCount(): number {
    let open = 0;
    for (const circuit of this.#circuits.values()) if (circuit.state !== CircuitState.Closed) open++;
    return open;
  }

  #circuitOf(origin: string): CircuitBreakerPolicy {
    let circuit = this.#circuits.get(origin);
    if (circuit === undefined) {
      circuit = circuitBreaker(
        handleAll.orWhenResult((result) => this.#failed(result as R)),
        { halfOpenAfter: this.#coolDownMs, breaker: new ConsecutiveBreaker(this.#failures) },
      );
      const onChange = this.#onChange;
      if (onChange !== undefined) {
        circuit.onStateChange((state) => {
          const name = STATE_NAME[state];
          if (name !== undefined) onChange({ origin, state: name });
        });
      }
      this.#circuits.set(origin, circuit);
    }
    return circuit;
  }
}
