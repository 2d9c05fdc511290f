/**
 * A push/pull queue that turns engine callbacks into an async iterator for one consumer.
 * The producer pushes items and finally close()s (or fail()s); the consumer iterates.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;
  private error: unknown;
  /** Called when the consumer stops iterating early (break / return). */
  onCancel: (() => void) | undefined;

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wake();
  }
  close(): void {
    this.closed = true;
    this.wake();
  }
  fail(e: unknown): void {
    this.error = e;
    this.close();
  }
  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let done = false;
    try {
      for (;;) {
        if (this.items.length > 0) {
          yield this.items.shift()!;
          continue;
        }
        if (this.closed) {
          done = true;
          if (this.error !== undefined) throw this.error;
          return;
        }
        await new Promise<void>((r) => (this.waiter = r));
      }
    } finally {
      if (!done) this.onCancel?.();
    }
  }
}
