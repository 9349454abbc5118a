// Reconnect delays: exponential with jitter, capped, reset after a healthy connection.

export interface BackoffOptions {
  /** First delay, ms. */
  initialMs: number;
  /** Cap, ms. */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
  /** Fraction of the delay that is randomised (0 = none, 0.5 = ±50 % down). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.5 };

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, and count it. */
  next(): number {
    const { initialMs, maxMs, factor, jitter } = this.options;
    const raw = Math.min(maxMs, initialMs * Math.pow(factor, this.attempt));
    this.attempt += 1;
    const spread = raw * jitter;
    return Math.round(raw - spread * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }
}
