/**
 * Node worker_threads entry of a kernel pool thread (spawned by host-node.ts): the init arrives
 * in workerData, later shard memories as messages. The browser's entry is worker.ts; all logic
 * is in worker-loop.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runWorker } from "./worker-loop.js";
import type { WorkerInit, WorkerReply, WorkerShard } from "./control.js";

runWorker(
  workerData as WorkerInit,
  (m: WorkerReply) => parentPort!.postMessage(m),
  (h) => parentPort!.on("message", (m: WorkerShard) => h(m)),
);
