/**
 * Run `cb` in a later macrotask (after pending I/O and messages): Node's setImmediate, or a
 * MessageChannel in browsers and workers (setTimeout(0) is clamped to 4 ms once nested, which
 * would cap decoding speed).
 */
export const nextMacrotask: (cb: () => void) => void =
  typeof setImmediate === "function"
    ? (cb) => void setImmediate(cb)
    : (() => {
        const ch = new MessageChannel();
        const queue: (() => void)[] = [];
        ch.port1.onmessage = () => queue.shift()?.();
        return (cb: () => void) => {
          queue.push(cb);
          ch.port2.postMessage(0);
        };
      })();
