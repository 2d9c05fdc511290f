/**
 * Shard worker: builds its own LlamaTrainModel (activations and gradients in its region of the
 * shared WASM memory, parameters shared with the main thread) and runs forward+backward on the
 * rows the main thread sends, replying with the shard's loss; its gradients stay in memory for
 * the main thread to reduce.
 */
import { parentPort, workerData } from "node:worker_threads";
import { LlamaTrainModel } from "../model/llama.js";
import { paramLayout } from "../model/params.js";
import { WasmArena } from "../wasm/arena.js";
import { wasmKernels } from "../wasm/kernels.js";
import { instantiateTrain } from "../wasm/module.js";
import type { ShardInit, ShardJob, ShardReply } from "./protocol.js";

const port = parentPort!;
const post = (r: ShardReply) => port.postMessage(r);

try {
  const init = workerData as ShardInit;
  const k = instantiateTrain(init.module, init.memory);
  const arena = new WasmArena(init.memory, init.base);
  const P = paramLayout(init.config).total;
  const params = new Float32Array(init.memory.buffer, init.paramsAt, P);
  const model = new LlamaTrainModel(
    init.config,
    init.B,
    init.T,
    arena.alloc,
    params,
    wasmKernels(k, init.memory),
  );
  port.on("message", (job: ShardJob) => {
    try {
      if (job.forwardOnly) {
        const out =
          job.forwardOnly === "probs"
            ? model.probs(job.tokens, job.temperature)
            : model.logprobs(job.tokens, job.targets);
        post({ kind: "done", loss: 0, out });
        return;
      }
      model.zeroGrad();
      const loss = model.forward(job.tokens, job.targets, job.mask, job.denom, job);
      model.backward();
      post({ kind: "done", loss });
    } catch (e) {
      post({ kind: "error", message: (e as Error).stack ?? String(e) });
    }
  });
  post({ kind: "ready", gradsAt: model.grads.byteOffset, end: arena.end });
} catch (e) {
  post({ kind: "error", message: (e as Error).stack ?? String(e) });
}
