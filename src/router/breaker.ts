/**
 * Circuit breaker for the cloud endpoint. States:
 *   closed    - calls go through; `failureThreshold` consecutive failures open it
 *   open      - calls are refused at once (no waiting on a dead endpoint) until `cooldownMs` passes
 *   half_open - after the cooldown one trial call is let through; success closes, failure re-opens
 * A "failure" is a call whose final outcome (after retries) was unreachable/timeout/5xx/429;
 * 4xx answers are the request's fault and count as success for the endpoint's health.
 */

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  /** Consecutive failed calls that open the circuit (default 5). */
  failureThreshold: number;
  /** How long it stays open before a trial call (default 30 s). */
  cooldownMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, cooldownMs: 30_000 };

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private _state: BreakerState = "closed";
  /** Times the circuit opened (for metrics and tests). */
  opens = 0;

  constructor(
    readonly opts: BreakerOptions = DEFAULT_BREAKER,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get state(): BreakerState {
    if (this._state === "open" && this.now() - this.openedAt >= this.opts.cooldownMs)
      this._state = "half_open";
    return this._state;
  }

  /** May a call go out now? In half_open only one trial at a time is admitted. */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === "closed") return true;
    if (s === "open") return false;
    if (this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Milliseconds until a trial call is allowed (0 when not open). */
  retryInMs(): number {
    return this.state === "open" ? Math.max(0, this.opts.cooldownMs - (this.now() - this.openedAt)) : 0;
  }

  onSuccess(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this._state = "closed";
  }

  /** The call ended without telling anything about the endpoint (the caller cancelled). */
  release(): void {
    this.trialInFlight = false;
  }

  onFailure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this._state === "half_open" || this.failures >= this.opts.failureThreshold) {
      if (this._state !== "open") this.opens++;
      this._state = "open";
      this.openedAt = this.now();
    }
  }
}
