/**
 * Browser-specific parts of the WASM kernels: module Web Workers (nested workers when the engine
 * itself runs in a worker) sharing the kernels' memory. Sharing a WebAssembly.Memory with a worker
 * needs cross-origin isolation (COOP `same-origin` + COEP `require-corp`); without it the pool runs
 * on one thread and says why once on the console. The worker script is `worker.js` next to the
 * bundle that contains this file: worker.ts, compiled beside this file or bundled beside the bundle.
 */
import type { WorkerInit, WorkerReply } from "./control.js";
import type { WorkerHandle } from "./pool.js";

export function spawnWebWorker(init: WorkerInit): WorkerHandle {
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  w.postMessage(init);
  return {
    onReply(cb: (m: WorkerReply) => void) {
      w.onmessage = (e: MessageEvent<WorkerReply>) => cb(e.data);
      w.onerror = (e) => cb({ kind: "error", message: e.message || "worker script failed to load" });
    },
    post: (m) => w.postMessage(m),
    terminate: () => w.terminate(),
  };
}

let warned = false;

/** Threads this page can use: the request, or 1 where memory cannot be shared with workers. */
export function webThreads(requested: number): number {
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (requested <= 1 || g.crossOriginIsolated === true) return requested;
  if (!warned) {
    warned = true;
    console.warn(
      `edgellm: running the kernels on 1 thread instead of ${requested}: this page is not cross-origin isolated, so its WebAssembly memory cannot be shared with workers. Serve it with the headers 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp' to use every core.`,
    );
  }
  return 1;
}
