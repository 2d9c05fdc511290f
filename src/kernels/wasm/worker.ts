/**
 * Worker entry script (an ES module) for both hosts: Node worker_threads (init in workerData)
 * and browser Web Workers (init as the first message). All logic is in worker-loop.ts.
 */
import { runWorker } from "./worker-loop.js";
import type { WorkerInit, WorkerReply } from "./control.js";

const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;

if (isNode) {
  const { parentPort, workerData } = await import("node:worker_threads");
  runWorker(workerData as WorkerInit, (m: WorkerReply) => parentPort!.postMessage(m));
} else {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent<WorkerInit>) => void) | null;
    postMessage(m: WorkerReply): void;
  };
  scope.onmessage = (e) => {
    scope.onmessage = null;
    runWorker(e.data, (m) => scope.postMessage(m));
  };
}
