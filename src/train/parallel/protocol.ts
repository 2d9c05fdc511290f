/** Messages between the training main thread and a shard worker (worker_threads). */
import type { TrainModelConfig } from "../model/config.js";

export interface ShardInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  config: TrainModelConfig;
  /** rows of this shard and tokens per row */
  B: number;
  T: number;
  /** byte offset of the shared parameters, and where this worker's own buffers may start */
  paramsAt: number;
  base: number;
}

/** One forward+backward of the shard's rows; `denom` is the whole step's masked-token count. */
export interface ShardJob {
  tokens: Int32Array;
  targets: Int32Array;
  mask: Uint8Array;
  denom: number;
  /** RL / distillation losses (model/llama.ts LossSpec), this shard's rows only */
  weights?: Float32Array;
  soft?: Float32Array;
  alpha?: number;
  /** input rows replacing token embeddings (model/llama.ts LossSpec), this shard's rows only */
  inputRows?: Float32Array;
  inputAt?: Uint8Array;
  /** forward only, no gradients: reply with log p(targets) per position, or with
   *  softmax(logits / temperature) (N, V) */
  forwardOnly?: "logprobs" | "probs";
  temperature?: number;
}

export type ShardReply =
  | { kind: "ready"; gradsAt: number; end: number }
  | { kind: "done"; loss: number; out?: Float32Array }
  | { kind: "error"; message: string };
