/**
 * Web Worker entry of a kernel pool thread (an ES module), the one for every browser use: loaded
 * as `worker.js` next to host-web.ts's compiled file (dist/src/kernels/wasm/), or bundled to
 * dist/web/worker.js next to the bundle that spawns it (scripts/build-web.mjs). The first message
 * is the WorkerInit, later ones are shard memories (WorkerShard). No Node code here, so the
 * browser bundle stays free of node:* imports; Node's worker_threads entry is worker-node.ts.
 * All logic is in worker-loop.ts.
 */
import { runWorker } from "./worker-loop.js";
import type { WorkerInit, WorkerReply, WorkerShard } from "./control.js";

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
