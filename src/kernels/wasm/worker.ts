/**
 * Worker entry script (an ES module) for both hosts: Node worker_threads (init in workerData,
 * later shard memories as messages) and browser Web Workers (init as the first message, shard
 * memories as the next ones). All logic is in worker-loop.ts.
 */
import { runWorker } from "./worker-loop.js";
import type { WorkerInit, WorkerReply, WorkerShard } from "./control.js";

const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;

if (isNode) {
  const { parentPort, workerData } = await import("node:worker_threads");
  runWorker(
    workerData as WorkerInit,
    (m: WorkerReply) => parentPort!.postMessage(m),
    (h) => parentPort!.on("message", (m: WorkerShard) => h(m)),
  );
} else {
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
}
