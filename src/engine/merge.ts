/** Interleave several async iterables into one, tagging each item with its source index. */
export async function* mergeIndexed<T>(
  sources: AsyncIterable<T>[],
): AsyncGenerator<{ index: number; item: T }> {
  const its = sources.map((s) => s[Symbol.asyncIterator]());
  const next = (i: number) => its[i].next().then((r) => ({ i, r }));
  const inflight = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  its.forEach((_, i) => inflight.set(i, next(i)));
  try {
    while (inflight.size > 0) {
      const { i, r } = await Promise.race(inflight.values());
      if (r.done) {
        inflight.delete(i);
        continue;
      }
      inflight.set(i, next(i));
      yield { index: i, item: r.value };
    }
  } finally {
    // Early exit: stop every source still running (cancels their sequences).
    for (const i of inflight.keys()) void its[i].return?.();
  }
}
