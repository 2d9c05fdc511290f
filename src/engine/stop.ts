/**
 * Stop strings over streamed text: text is released as soon as it cannot be the start of a stop
 * string; when a stop string appears, the text before it is released and generation ends (the
 * stop string itself is not part of the output, as in OpenAI's API).
 */
export class StopMatcher {
  private pending = "";
  constructor(private readonly stops: readonly string[]) {}

  /** Feed new text; returns what may be shown now and whether a stop string matched. */
  push(delta: string): { text: string; stopped: boolean } {
    this.pending += delta;
    if (this.stops.length === 0) {
      const text = this.pending;
      this.pending = "";
      return { text, stopped: false };
    }
    let at = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      const text = this.pending.slice(0, at);
      this.pending = "";
      return { text, stopped: true };
    }
    // Hold back the longest tail that is a proper prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    const text = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text, stopped: false };
  }

  /** End of generation (no stop matched): release the held tail. */
  flush(): string {
    const t = this.pending;
    this.pending = "";
    return t;
  }
}
