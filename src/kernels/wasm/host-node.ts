/** Node-specific parts of the WASM kernels: reading the .wasm file and worker_threads workers. */
import { Worker } from "node:worker_threads";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { WorkerInit, WorkerReply } from "./control.js";
import type { WorkerHandle } from "./pool.js";

export function spawnNodeWorker(init: WorkerInit): WorkerHandle {
  const w = new Worker(new URL("./worker-node.js", import.meta.url), { workerData: init });
  // Idle workers must not keep the process alive if the owner forgets dispose().
  w.unref();
  return {
    onReply(cb: (m: WorkerReply) => void) {
      w.on("message", cb);
      w.on("error", (e) => cb({ kind: "error", message: String(e) }));
    },
    post: (m) => w.postMessage(m),
    terminate: () => w.terminate(),
  };
}

export async function readNodeBytes(url: URL): Promise<Uint8Array> {
  return readFile(url);
}

export function nodeThreads(): number {
  return availableParallelism();
}
