/**
 * Data-parallel training step on the WASM kernels. A batch of B rows is always cut into the same
 * `shards` (2 when B is even): shard s runs forward+backward on rows [s B/S, (s+1) B/S) with the
 * whole step's masked-token count as loss denominator, into its own gradient buffer; then
 *   grads = g_0 + g_1 + ...   (fixed order)      loss = l_0 + l_1 + ...
 * With 2 threads shard 1 runs in a worker_threads worker on the same shared memory; with 1 thread
 * the main thread runs both shards in turn. The arithmetic is identical either way, so a run is
 * deterministic given its seed whatever the thread count.
 */
import { Worker } from "node:worker_threads";
import { InputError, KernelError } from "../../errors.js";
import type { Batch } from "../batches.js";
import type { TrainModelConfig } from "../model/config.js";
import { LlamaTrainModel, type LossSpec } from "../model/llama.js";
import { paramLayout, type ParamLayout } from "../model/params.js";
import { WasmArena } from "../wasm/arena.js";
import { wasmKernels } from "../wasm/kernels.js";
import {
  compileTrainModule,
  createTrainMemory,
  instantiateTrain,
  type TrainExports,
} from "../wasm/module.js";
import type { ShardInit, ShardJob, ShardReply } from "./protocol.js";

/** Where each shard's work runs. */
interface Shard {
  run(job: ShardJob): Promise<ShardResult>;
  gradsAt: number;
  close(): Promise<void>;
}

interface ShardResult {
  loss: number;
  out?: Float32Array;
}

function localShard(model: LlamaTrainModel): Shard {
  return {
    gradsAt: model.grads.byteOffset,
    async run(j) {
      if (j.forwardOnly === "probs") return { loss: 0, out: model.probs(j.tokens, j.temperature) };
      if (j.forwardOnly) return { loss: 0, out: model.logprobs(j.tokens, j.targets) };
      model.zeroGrad();
      const loss = model.forward(j.tokens, j.targets, j.mask, j.denom, j);
      model.backward();
      return { loss };
    },
    async close() {},
  };
}

async function workerShard(init: ShardInit): Promise<{ shard: Shard; end: number }> {
  const w = new Worker(new URL("./worker.js", import.meta.url), { workerData: init });
  // a worker its owner forgot to close must not keep the process alive
  w.unref();
  let pending: { resolve: (r: ShardReply) => void; reject: (e: Error) => void } | null = null;
  const next = () => new Promise<ShardReply>((resolve, reject) => (pending = { resolve, reject }));
  w.on("message", (r: ShardReply) => {
    const p = pending;
    pending = null;
    p?.resolve(r);
  });
  w.on("error", (e) => {
    const p = pending;
    pending = null;
    p?.reject(new KernelError(`training worker failed: ${e.message}`));
  });
  const expect = <K extends ShardReply["kind"]>(r: ShardReply, kind: K) => {
    if (r.kind === "error") throw new KernelError(`training worker: ${r.message}`);
    if (r.kind !== kind) throw new KernelError(`training worker: expected ${kind}, got ${r.kind}`);
    return r as Extract<ShardReply, { kind: K }>;
  };
  const ready = expect(await next(), "ready");
  return {
    end: ready.end,
    shard: {
      gradsAt: ready.gradsAt,
      async run(job) {
        const reply = next();
        w.postMessage(job);
        const r = expect(await reply, "done");
        return { loss: r.loss, out: r.out };
      },
      async close() {
        await w.terminate();
      },
    },
  };
}

export interface ShardedOptions {
  /** threads to use: 1 (main only) or 2 (main + one worker); default 2 */
  threads?: number;
}

export class ShardedModel {
  private constructor(
    readonly config: TrainModelConfig,
    readonly layout: ParamLayout,
    /** shared parameters (P) and the reduced gradients (P), both views into the WASM memory */
    readonly params: Float32Array,
    readonly grads: Float32Array,
    /** the main thread's shard-0 model (its params are `params`) */
    readonly model: LlamaTrainModel,
    private readonly shards: Shard[],
    private readonly rows: number,
    private readonly k: TrainExports,
  ) {}

  static async create(
    config: TrainModelConfig,
    B: number,
    T: number,
    o: ShardedOptions = {},
  ): Promise<ShardedModel> {
    const threads = o.threads ?? 2;
    if (threads !== 1 && threads !== 2)
      throw new InputError(`threads must be 1 or 2, got ${threads}`, { field: "threads" });
    const S = B % 2 === 0 ? 2 : 1;
    const rows = B / S;
    const layout = paramLayout(config);
    const module = await compileTrainModule();
    const memory = createTrainMemory();
    const k = instantiateTrain(module, memory);
    const kern = wasmKernels(k, memory);
    const arena = new WasmArena(memory, 1024);
    const params = arena.alloc(layout.total);
    const grads = arena.alloc(layout.total);
    const model = new LlamaTrainModel(config, rows, T, arena.alloc, params, kern);
    const shards: Shard[] = [localShard(model)];
    for (let s = 1; s < S; s++) {
      if (threads === 2) {
        // the worker allocates after everything the main thread owns; nothing is allocated later
        const { shard } = await workerShard({
          module,
          memory,
          config,
          B: rows,
          T,
          paramsAt: params.byteOffset,
          base: arena.end,
        });
        shards.push(shard);
      } else {
        shards.push(localShard(new LlamaTrainModel(config, rows, T, arena.alloc, params, kern)));
      }
    }
    return new ShardedModel(config, layout, params, grads, model, shards, rows, k);
  }

  /** Forward+backward of the whole batch; leaves the summed gradients in `grads`. With `spec`,
   *  the loss is RL-weighted or distillation (LossSpec of model/llama.ts) instead of SFT. */
  async step(b: Batch, spec: LossSpec = {}): Promise<number> {
    const ls = (await this.runShards(b, spec)).map((r) => r.loss);
    const P = this.layout.total;
    const g = this.grads.byteOffset;
    this.grads.set(this.model.grads);
    for (let s = 1; s < this.shards.length; s++) this.k.vadd(g, g, this.shards[s].gradsAt, P);
    let loss = 0;
    for (const l of ls) loss += l;
    return loss;
  }

  /** log p(targets) at every position of the batch (B*T), forward only. */
  async logprobs(b: Pick<Batch, "tokens" | "targets">): Promise<Float32Array> {
    return this.forwardOnly(b.tokens, b.targets, "logprobs", 1, 1);
  }

  /** softmax(logits / temperature) (B*T, V), forward only: soft targets of a teacher. */
  async probs(tokens: Int32Array, temperature = 1): Promise<Float32Array> {
    return this.forwardOnly(tokens, new Int32Array(tokens.length), "probs", temperature, this.config.vocab);
  }

  private async forwardOnly(
    tokens: Int32Array,
    targets: Int32Array,
    kind: "logprobs" | "probs",
    temperature: number,
    width: number,
  ): Promise<Float32Array> {
    const b = { tokens, targets, mask: new Uint8Array(tokens.length), count: 1 };
    const rs = await this.runShards(b, {}, kind, temperature);
    const out = new Float32Array(tokens.length * width);
    const n = this.rows * this.model.T * width;
    rs.forEach((r, s) => out.set(r.out!, s * n));
    return out;
  }

  private async runShards(
    b: Batch,
    spec: LossSpec,
    forwardOnly?: "logprobs" | "probs",
    temperature?: number,
  ): Promise<ShardResult[]> {
    const n = this.rows * this.model.T;
    const V = this.config.vocab;
    const C = this.config.dim;
    const jobs: ShardJob[] = this.shards.map((_, s) => ({
      tokens: b.tokens.slice(s * n, (s + 1) * n),
      targets: b.targets.slice(s * n, (s + 1) * n),
      mask: b.mask.slice(s * n, (s + 1) * n),
      denom: b.count,
      weights: spec.weights?.slice(s * n, (s + 1) * n),
      soft: spec.soft?.slice(s * n * V, (s + 1) * n * V),
      alpha: spec.alpha,
      inputRows: b.inputRows?.slice(s * n * C, (s + 1) * n * C),
      inputAt: b.inputAt?.slice(s * n, (s + 1) * n),
      forwardOnly,
      temperature: forwardOnly ? temperature : spec.temperature,
    }));
    // worker shards start first, so they overlap with the main thread's shard
    const out = new Array<Promise<ShardResult>>(this.shards.length);
    for (let s = this.shards.length - 1; s >= 0; s--) out[s] = this.shards[s].run(jobs[s]);
    return Promise.all(out);
  }

  async close(): Promise<void> {
    for (const s of this.shards) await s.close();
  }
}
