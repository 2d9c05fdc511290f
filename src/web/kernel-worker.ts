/**
 * Browser entry of a kernel pool thread (bundled to dist/web/worker.js, next to the bundle that
 * spawns it: see host-web.ts). The same loop as Node's worker.ts, without any Node branch: the
 * first message is the WorkerInit, later ones are shard memories (WorkerShard).
 */
import { runWorker } from "../kernels/wasm/worker-loop.js";
import type { WorkerInit, WorkerReply, WorkerShard } from "../kernels/wasm/control.js";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<WorkerInit | WorkerShard>) => void) | null;
  postMessage(m: WorkerReply): void;
};
scope.onmessage = (e) => {
  scope.onmessage = null;
  runWorker(
    e.data as WorkerInit,
    (m) => scope.postMessage(m),
    (h) => {
      scope.onmessage = (ev) => h(ev.data as WorkerShard);
    },
  );
};
