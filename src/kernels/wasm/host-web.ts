/** Browser-specific parts of the WASM kernels: Web Workers (module workers) and fetch. */
import type { WorkerInit, WorkerReply } from "./control.js";
import type { WorkerHandle } from "./pool.js";

export function spawnWebWorker(init: WorkerInit): WorkerHandle {
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  w.postMessage(init);
  return {
    onReply(cb: (m: WorkerReply) => void) {
      w.onmessage = (e: MessageEvent<WorkerReply>) => cb(e.data);
      w.onerror = (e) => cb({ kind: "error", message: e.message });
    },
    terminate: () => w.terminate(),
  };
}
